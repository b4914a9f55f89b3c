/**
 * Least privilege: every task in `deno.json` but `test` runs with the Deno permissions it needs
 * instead of `-A`, and none reaches the network.
 *
 * - the task strings themselves: no `-A` / `--allow-all`; `--deny-net`, or `--allow-net` naming
 *   loopback `host:port` pairs only (`notebooks` binds `127.0.0.1:0` to pick free ports for its
 *   Jupyter kernel), or for `serve`, whose port is chosen at run time (`--port`), loopback hosts;
 * - `predict`, `evaluate`, `train`, `export`, `runs`, `stats` and `env` run a small real job
 *   with their task's flags (plus `--deny-net`, as the issue asked) without a permission error;
 * - with each task's flags, a script that tries the network (a TCP connection and a `fetch` to a
 *   port this test listens on; only `serve` may reach loopback), a non-loopback address (a
 *   connection, and listening on all interfaces), an environment variable outside the task's
 *   list, a subprocess and a write outside the project is refused where the task does not need
 *   it;
 * - `predict` and `serve` start a launcher (lib/cli/_scoped_read.ts) that runs the CLI in a child
 *   whose reads are limited to the project and the paths given on the command line: the probe
 *   runs with the child's flags as the launcher computes them, and a file outside the project is
 *   refused; the launcher itself may run `deno` only, and nothing else the probe tries.
 *   (tests/e2e/scoped_read_task_test.ts runs the tasks themselves and reads their child's flags
 *   from the running process.)
 *
 * `deno eval` always runs with every permission (it ignores `--deny-*`), so the children here are
 * `deno run FLAGS -` with the script on stdin.
 *
 * @module
 */
import assert from "node:assert/strict";
import { scopedChild } from "../../lib/cli/_scoped_read.ts";

/** The project root: tasks run here (`deno task` starts them in the config file's folder). */
const PROJECT_ROOT = new URL("../..", import.meta.url);

/** The `tasks` of `deno.json`: each a command, or `{ description, command }`. */
const TASKS: Record<string, string> = Object.fromEntries(
  Object.entries(
    (JSON.parse(await Deno.readTextFile(new URL("deno.json", PROJECT_ROOT))) as {
      tasks: Record<string, string | { command: string; description?: string }>;
    }).tasks,
  ).map(([name, task]) => [name, typeof task === "string" ? task : task.command]),
);

/** The launcher that runs a CLI with its reads scoped (`deno run … LAUNCHER CHILD_FLAGS SCRIPT`). */
const LAUNCHER = "lib/cli/_scoped_read.ts";

/** The tasks whose reads are limited to the project and the paths given (through the launcher). */
const SCOPED_TASKS = ["predict", "serve"];

/** A `deno run` task split into its permission flags and its script. */
interface RunTask {
  flags: string[];
  script: string;
  /**
   * For a task started through {@linkcode LAUNCHER}: the flags it passes on to its child (the
   * launcher adds the reads) and the child's script.
   */
  child?: { flags: string[]; script: string };
}

/**
 * Splits `deno run FLAGS SCRIPT`, or `deno run FLAGS LAUNCHER CHILD_FLAGS SCRIPT` (the tasks here
 * use no quoting).
 */
function parseRunTask(name: string): RunTask {
  const words = TASKS[name].trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], `task ${name} is a deno run task`);
  const scriptAt = words.findIndex((word, i) => i >= 2 && !word.startsWith("-"));
  assert.ok(scriptAt > 0, `task ${name} names its script`);
  const flags = words.slice(2, scriptAt);
  if (words[scriptAt] === LAUNCHER) {
    const childAt = words.findIndex((word, i) => i > scriptAt && !word.startsWith("-"));
    assert.equal(childAt, words.length - 1, `task ${name}: the launcher's child script comes last`);
    const child = { flags: words.slice(scriptAt + 1, childAt), script: words[childAt] };
    return { flags, script: LAUNCHER, child };
  }
  assert.equal(scriptAt, words.length - 1, `task ${name}: flags come before the script only`);
  return { flags, script: words[scriptAt] };
}

/** The words after `deno run FLAGS`: the script, or the launcher, its child's flags and script. */
function scriptWords({ script, child }: RunTask): string[] {
  return child ? [script, ...child.flags, child.script] : [script];
}

/**
 * The permission flags the task's code runs with: the task's own, or for a launched task its
 * child's, as the launcher computes them for `args` (the reads: the project and the paths given).
 */
async function codeFlags(name: string, args: string[] = []): Promise<string[]> {
  const task = parseRunTask(name);
  if (!task.child) return task.flags;
  const child = await scopedChild([...task.child.flags, task.child.script, ...args]);
  return child.args.slice(1, child.args.indexOf(child.script));
}

/**
 * Tasks that reach loopback at a port chosen at run time: the HTTP server (`serve`), the static
 * file server (`serve-static`) and the load benchmark that drives the server (`bench-serve`).
 */
const LOOPBACK_TASKS = new Set(["serve", "bench-serve", "serve-static"]);

/**
 * Every `deno run` task: not the tests (`test` keeps `--allow-all`: they spawn children and
 * write; `test:unit` runs `deno test` with its own list) nor the kernel build (bash).
 */
const RUN_TASKS = Object.keys(TASKS).filter((name) => TASKS[name].startsWith("deno run "));

/** Output of a finished child. */
interface ChildOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno ...args` in the project root, `stdin` written to it. */
async function runDeno(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<ChildOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Runs a task's script with its own flags plus `extraFlags`, as `deno task NAME ...args` would. */
async function runTask(
  name: string,
  args: string[],
  extraFlags: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildOutput> {
  const task = parseRunTask(name);
  const words = ["run", ...task.flags, ...extraFlags, ...scriptWords(task), ...args];
  const output = await runDeno(words, { env });
  assert.equal(output.code, 0, `task ${name} ${args.join(" ")}:\n${output.stderr.slice(-3000)}`);
  assert.doesNotMatch(
    output.stderr,
    /NotCapable|PermissionDenied|Requires \w+ access|threaded wasm failed/,
    `task ${name} ran into a permission it lacks`,
  );
  return output;
}

Deno.test("no task but test runs with every permission or reaches the network", () => {
  assert.ok(RUN_TASKS.length >= 9, "the tasks are there");
  assert.match(TASKS.test, /^deno test /);
  // The fast tests name the permissions they need instead of all of them.
  assert.match(TASKS["test:unit"], /^deno test /);
  assert.doesNotMatch(TASKS["test:unit"], /\s(-A|--allow-all)(\s|$)/);
  assert.match(TASKS["test:unit"], /--ignore=tests\/e2e\//);
  for (const name of RUN_TASKS) {
    const task = parseRunTask(name);
    // A launched task: the launcher's flags and its child's, each checked.
    for (const flags of task.child ? [task.flags, task.child.flags] : [task.flags]) {
      checkNetFlags(name, flags);
    }
  }
});

/** Checks one `deno run`'s flags: no `-A` or short flags, no network but loopback where allowed. */
function checkNetFlags(name: string, flags: readonly string[]): void {
  for (const flag of flags) {
    assert.ok(!/^-A$|^--allow-all\b|^-[a-zA-Z]+$/.test(flag), `task ${name} uses ${flag}`);
  }
  const allowNet = flags.filter((flag) => flag.startsWith("--allow-net") || flag === "-N");
  if (allowNet.length === 0) {
    assert.ok(flags.includes("--deny-net"), `task ${name} denies the network outright`);
    return;
  }
  // The server's port is chosen at run time (`--port`, 0 for a free one): its task (and the
  // load benchmark that drives it) may name loopback hosts without ports. Every other task
  // names host:port pairs.
  const entryPattern = LOOPBACK_TASKS.has(name)
    ? /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/
    : /^(127\.0\.0\.1|localhost|\[::1\]):\d+$/;
  for (const flag of allowNet) {
    const [, list] = flag.split("=", 2);
    assert.ok(list, `task ${name}: ${flag} names the hosts and ports it may use`);
    for (const entry of list.split(",")) {
      assert.match(entry, entryPattern, `task ${name}: ${entry} is a loopback host:port`);
    }
  }
}

Deno.test("predict and serve read only the project and the paths given: their tasks start the launcher", () => {
  assert.deepEqual(RUN_TASKS.filter((name) => parseRunTask(name).child), SCOPED_TASKS);
  for (const name of SCOPED_TASKS) {
    const { flags, child } = parseRunTask(name);
    // The launcher resolves paths (any path given: a bare --allow-read) and runs deno, nothing
    // else; the child's reads are the launcher's to set.
    assert.deepEqual(flags, ["--deny-net", "--allow-read", "--allow-run=deno"], `task ${name}`);
    assert.equal(child?.script, `lib/cli/${name}.ts`);
    for (const flag of child?.flags ?? []) {
      assert.doesNotMatch(flag, /^(-A|-R|--allow-all|--allow-read|--deny-read)/, `task ${name}`);
    }
  }
});

Deno.test("predict works with its task's permissions and --deny-net", async () => {
  const { stdout } = await runTask("predict", ["--json", "Narendra Modi visited India"], [
    "--deny-net",
  ]);
  const result = JSON.parse(stdout) as { entities: { text: string; type: string }[] };
  assert.deepEqual(
    result.entities.map((e) => `${e.text}/${e.type}`),
    ["Narendra Modi/per", "India/geo"],
  );
});

Deno.test("evaluate works with its task's permissions and --deny-net", async () => {
  const { stdout } = await runTask("evaluate", ["--json", "--limit", "20"], ["--deny-net"]);
  const result = JSON.parse(stdout) as {
    sentences: number;
    entity: { f1: number };
    backend: { backend: string; threads: number };
  };
  assert.equal(result.sentences, 20);
  assert.ok(result.entity.f1 > 0.5, `entity F1 ${result.entity.f1}`);
  assert.equal(result.backend.backend, "wasm");
  assert.equal(result.backend.threads, Math.min(navigator.hardwareConcurrency, 8));
});

Deno.test("train, export, runs, stats and env work with their tasks' permissions", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "permissions-test-" });
  try {
    const run = `${tmp}/runs/small`;
    await t.step("train", async () => {
      const { stdout } = await runTask("train", [
        "--json",
        "--limit",
        "100",
        "--epochs",
        "1",
        "--out",
        run,
      ], ["--deny-net"]);
      assert.ok(JSON.parse(stdout), "train printed its JSON report");
      assert.ok((await Deno.stat(`${run}/checkpoint.json`)).isFile);
    });
    await t.step("export", async () => {
      await runTask("export", ["--from", run, "--to", `${tmp}/model`], ["--deny-net"]);
      assert.ok((await Deno.stat(`${tmp}/model/config.json`)).isFile);
    });
    await t.step("runs", async () => {
      const { stdout } = await runTask("runs", ["--json"], ["--deny-net"], {
        BILSTM_NER_RUNS: `${tmp}/runs`,
      });
      assert.match(stdout, /small/);
    });
    await t.step("stats", async () => {
      const { stdout } = await runTask("stats", ["--json"], ["--deny-net"]);
      assert.match(stdout, /47959/);
    });
    await t.step("env", async () => {
      const { stdout } = await runTask("env", ["--json"], ["--deny-net"]);
      const report = JSON.parse(stdout) as { backend: string; threads: number };
      assert.equal(report.backend, "wasm");
      assert.equal(report.threads, Math.min(navigator.hardwareConcurrency, 8));
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** What a probe script tried, by name: `"ok"` or the error's name. */
type ProbeReport = Record<string, string>;

/**
 * A script that tries the network (TCP and HTTP to `port` on loopback), the environment, a
 * subprocess, a write to `outside`, reading `unrelated` (a file outside the project) and the
 * project's `deno.json`, and prints what each gave.
 */
function probeSource(port: number, outside: string, unrelated: string): string {
  return `
    const report = {};
    async function attempt(name, action) {
      try {
        await action();
        report[name] = "ok";
      } catch (error) {
        report[name] = error?.name ?? String(error);
      }
    }
    await attempt("connect", async () => (await Deno.connect({ hostname: "127.0.0.1", port: ${port} })).close());
    await attempt("fetch", async () => await (await fetch("http://127.0.0.1:${port}/")).body?.cancel());
    // TEST-NET-1 (RFC 5737): never routed; a refusal comes from Deno before any packet is sent.
    let timer;
    await attempt("remote", () => Promise.race([
      Deno.connect({ hostname: "192.0.2.1", port: 80 }).then((c) => c.close()),
      new Promise((_, reject) => timer = setTimeout(() => reject({ name: "timeout" }), 2000)),
    ]));
    clearTimeout(timer);
    await attempt("listenAll", () => Deno.listen({ hostname: "0.0.0.0", port: 0 }).close());
    await attempt("env", () => Deno.env.get("HOME"));
    await attempt("run", async () => await new Deno.Command("true").output());
    await attempt("write", () => Deno.writeTextFileSync(${JSON.stringify(outside)}, "x"));
    await attempt("readOutside", () => Deno.readTextFileSync(${JSON.stringify(unrelated)}));
    await attempt("readProject", () => Deno.readTextFileSync(${
    JSON.stringify(decodeURIComponent(new URL("deno.json", PROJECT_ROOT).pathname))
  }));
    console.log(JSON.stringify(report));
  `;
}

Deno.test("with each task's permissions, the network and what it does not need are refused", async (t) => {
  // A real listener, so a refused connection is refused by Deno, not by the port being closed.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepting = (async () => {
    for await (const connection of listener) connection.close();
  })();
  const tmp = await Deno.makeTempDir({ prefix: "permissions-probe-" });
  // Tasks whose job is writing where they are told (`--out`, `--to`, notebooks in place); `distill`
  // is `train` with a teacher (tests/distill_test.ts runs it with its task's permissions).
  const writers = new Set(["train", "distill", "export", "export-web", "notebooks"]);
  const unrelated = `${tmp}/unrelated.txt`;
  await Deno.writeTextFile(unrelated, "not the task's to read");
  /** Runs the probe with `flags`. */
  const probe = async (flags: string[], outside: string): Promise<ProbeReport> => {
    const { code, stdout, stderr } = await runDeno(["run", ...flags, "-"], {
      stdin: probeSource(port, outside, unrelated),
    });
    assert.equal(code, 0, stderr.slice(-2000));
    return JSON.parse(stdout) as ProbeReport;
  };
  try {
    for (const name of RUN_TASKS) {
      await t.step(name, async () => {
        // What the task's code runs with: for predict and serve, the launcher's child.
        const report = await probe(await codeFlags(name), `${tmp}/${name}-wrote-here`);
        assert.equal(report.readProject, "ok", `${name}: reading the project's deno.json`);
        if (SCOPED_TASKS.includes(name)) {
          assert.equal(report.readOutside, "NotCapable", `${name}: reading ${unrelated}`);
        }
        // The server (and its load benchmark) may reach loopback; nothing reaches beyond it.
        // (The listener here closes every connection, so a permitted fetch fails otherwise.)
        const reach = (what: string) =>
          LOOPBACK_TASKS.has(name)
            ? assert.notEqual(report[what], "NotCapable", `${name}: ${what} to 127.0.0.1:${port}`)
            : assert.equal(report[what], "NotCapable", `${name}: ${what} to 127.0.0.1:${port}`);
        reach("connect");
        reach("fetch");
        assert.equal(report.remote, "NotCapable", `${name}: TCP to 192.0.2.1:80`);
        assert.equal(report.listenAll, "NotCapable", `${name}: listening on 0.0.0.0`);
        assert.equal(report.env, "NotCapable", `${name}: reading $HOME`);
        assert.equal(report.run, name === "notebooks" ? "ok" : "NotCapable", `${name}: subprocess`);
        assert.equal(
          report.write,
          writers.has(name) ? "ok" : "NotCapable",
          `${name}: writing outside the project`,
        );
      });
    }
    for (const name of SCOPED_TASKS) {
      await t.step(`${name}'s launcher`, async () => {
        // It resolves the paths given and starts deno: nothing else the probe tries.
        const report = await probe(parseRunTask(name).flags, `${tmp}/${name}-launcher-wrote-here`);
        const refused = ["connect", "fetch", "remote", "listenAll", "env", "run", "write"];
        for (const what of refused) assert.equal(report[what], "NotCapable", `${name}: ${what}`);
        assert.equal(report.readOutside, "ok");
      });
    }
  } finally {
    listener.close();
    await accepting.catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});
