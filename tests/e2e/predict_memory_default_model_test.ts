/**
 * Issue 27, finding 11: streaming prediction stays under 500 MB of peak resident memory with the
 * default model (data/model: two members and two caseless members) and the default workers,
 * measured on exactly the command of the finding:
 *
 * ```sh
 * printf 'Officials from Kenya met %d people .\n' $(seq 20000) | deno task predict --jsonl
 * ```
 *
 * It peaked at about 1,270 MB (one prediction-pool worker per core, each with its own copy of
 * the model and 64 MB projection tables). The peak is the `deno run` process's `VmHWM`
 * (`/proc/PID/status`, Linux), read every 50 ms while it runs; it needs --allow-all.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const COMMAND =
  "printf 'Officials from Kenya met %d people .\\n' $(seq 20000) | deno task predict --jsonl";
const BOUND_MB = 500;

/** The ids of a process's children (all its threads'). */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const text = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`)
        .catch(() => "");
      children.push(...text.split(" ").filter(Boolean).map(Number));
    }
  } catch {
    // the process has ended
  }
  return children;
}

/** The first descendant of `pid` whose command line contains `needle`, or null. */
async function findDescendant(pid: number, needle: string): Promise<number | null> {
  for (const child of await childrenOf(pid)) {
    const cmdline = await Deno.readTextFile(`/proc/${child}/cmdline`).catch(() => "");
    if (cmdline.includes(needle)) return child;
    const deeper = await findDescendant(child, needle);
    if (deeper !== null) return deeper;
  }
  return null;
}

/** A process's peak resident memory so far in MB, or null once it has ended. */
async function peakMb(pid: number): Promise<number | null> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => null);
  const match = status && /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : null;
}

Deno.test({
  name: "printf … $(seq 20000) | deno task predict --jsonl peaks under 500 MB (default model)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const shell = new Deno.Command("bash", {
      args: ["-c", COMMAND],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let peak = 0;
    let predictPid: number | null = null;
    let stopped: string | null = null;
    const started = Date.now();
    const watch = setInterval(async () => {
      predictPid ??= await findDescendant(shell.pid, "lib/cli/predict.ts");
      if (predictPid === null) return;
      const mb = await peakMb(predictPid);
      if (mb !== null) peak = Math.max(peak, mb);
      // A guard, not a measure: far past the bound, or hung, the command is stopped.
      const why = peak > 4 * BOUND_MB
        ? `it grew to ${peak.toFixed(0)} MB`
        : Date.now() - started > 600_000
        ? "it ran past 10 minutes"
        : null;
      if (why !== null && stopped === null) {
        stopped = why;
        Deno.kill(predictPid, "SIGKILL");
      }
    }, 50);
    let output: Deno.CommandOutput;
    try {
      output = await shell.output();
    } finally {
      clearInterval(watch);
    }
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(stopped, null, `stopped: ${stopped}`);
    assert.equal(output.code, 0, stderr);
    const lines = new TextDecoder().decode(output.stdout).trimEnd().split("\n");
    assert.equal(lines.length, 20_000);
    assert.equal(JSON.parse(lines[19_999]).text, "Officials from Kenya met 20000 people .");
    assert.ok(predictPid !== null, "the predict process was found");
    assert.ok(peak > 0, "its peak memory was read");
    assert.ok(
      peak <= BOUND_MB,
      `deno task predict --jsonl peaked at ${peak.toFixed(0)} MB, over ${BOUND_MB} MB`,
    );
  },
});
