/**
 * Issue 27, finding 8: every file a model folder's loader reads (`config.json`, `vocab.json`,
 * `chars.json`, `model.json`, `weights.bin`, `ensemble.json`) must be a regular file inside the
 * folder once links are followed, no larger than it can be, checked before it is read. A link to
 * `/dev/zero` or a FIFO made `predict` and `serve` grow to gigabytes or wait forever; a link to a
 * valid file outside the folder loaded. Each case runs the CLI as a child process, stopped by a
 * generous guard (time and resident memory) so that the code before the fix fails the test
 * instead of exhausting the machine; no test asserts on elapsed time.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildCharVocab } from "../lib/data/chars.ts";
import { buildVocab } from "../lib/data/vocab.ts";
import {
  disposeLoadedModel,
  ENSEMBLE_FILE,
  loadModelFolder,
  MAX_MODEL_JSON_BYTES,
  saveEnsembleFolder,
  saveModelFolder,
} from "../lib/io/mod.ts";
import { Tagger } from "../lib/model/mod.ts";
import { buildLookupModel, withTempDir } from "./fixtures/tiny_model/build.ts";
import { LOOKUP, TRAINING } from "./fixtures/predict_cli.ts";

const PREDICT = new URL("../lib/cli/predict.ts", import.meta.url).pathname;
const SERVE = new URL("../lib/cli/serve.ts", import.meta.url).pathname;

/** The guard: a child still running after this long, or holding more memory, has failed. */
const GUARD_MS = 90_000;
const GUARD_RSS_MB = 1_500;

/** What a guarded child did. */
interface Guarded {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why the guard stopped it, or null when it ended by itself. */
  stopped: string | null;
}

/**
 * The child's resident memory in MB, from /proc (which Deno lets a test read only with
 * --allow-all) or else from `ps`; 0 when neither can tell.
 */
async function residentMb(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    try {
      const ps = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
      return Number(new TextDecoder().decode(ps.stdout).trim() || 0) / 1024;
    } catch {
      return 0;
    }
  }
}

/** Runs a CLI with stdin closed, killing it past the guard's time or memory. */
async function runGuarded(script: string, args: string[]): Promise<Guarded> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stopped: string | null = null;
  const started = Date.now();
  const watch = setInterval(async () => {
    if (stopped !== null) return;
    const rss = await residentMb(child.pid);
    if (rss > GUARD_RSS_MB) stopped = `it grew to ${rss.toFixed(0)} MB`;
    else if (Date.now() - started > GUARD_MS) stopped = `it ran past ${GUARD_MS} ms`;
    if (stopped !== null) child.kill("SIGKILL");
  }, 100);
  try {
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: stopped === null ? output.code : null,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
      stopped,
    };
  } finally {
    clearInterval(watch);
  }
}

/** A literal pattern for a path. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Asserts that a guarded run failed at once with one `error:` line that matches `pattern`. */
function assertRefused(result: Guarded, pattern: RegExp, what: string): void {
  assert.equal(result.stopped, null, `${what}: the guard had to stop it (${result.stopped})`);
  assert.equal(result.code, 1, `${what}: exit code ${result.code}, stderr: ${result.stderr}`);
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("error: "));
  assert.equal(errors.length, 1, `${what}: one error line, got:\n${result.stderr}`);
  assert.match(errors[0], pattern, what);
  assert.doesNotMatch(result.stderr, /\n\s+at /, `${what}: no stack trace`);
}

/** How a file is replaced. */
type Replacement = "dev-zero" | "fifo" | "outside" | "oversized";

/**
 * Replaces `${folder}/${name}` as asked: a link to /dev/zero, a FIFO, a link to a valid copy
 * of it outside the folder (in `outside`), or the file made larger than it may be.
 */
async function replace(
  folder: string,
  name: string,
  how: Replacement,
  outside: string,
): Promise<void> {
  const path = `${folder}/${name}`;
  if (how === "outside") {
    await Deno.mkdir(outside, { recursive: true });
    await Deno.rename(path, `${outside}/${name}`);
    await Deno.symlink(`${outside}/${name}`, path);
    return;
  }
  if (how === "oversized") {
    const { size } = await Deno.stat(path);
    // weights.bin one byte longer; a JSON file past the cap (sparse: no disk used)
    await Deno.truncate(path, name.endsWith(".json") ? MAX_MODEL_JSON_BYTES + 1 : size + 1);
    return;
  }
  await Deno.remove(path);
  if (how === "dev-zero") await Deno.symlink("/dev/zero", path);
  else {
    const made = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.ok(made.success, "mkfifo");
  }
}

/** The error each replacement gives for `path` holding `what`. */
function expected(path: string, what: string, how: Replacement): RegExp {
  const at = `^error: ${literal(path)}: `;
  switch (how) {
    case "dev-zero":
      return new RegExp(`${at}${what} is a character device \\(a link to /dev/zero\\)`);
    case "fifo":
      return new RegExp(`${at}${what} is a FIFO \\(named pipe\\), not a regular file`);
    case "outside":
      return new RegExp(`${at}${what} resolves to .*, outside .*refusing to read it`);
    case "oversized":
      return what === "weights"
        ? new RegExp(`${at}weights are \\d+ bytes, the manifest in model\\.json describes \\d+`)
        : new RegExp(`${at}${what} is \\d+ bytes, more than the ${MAX_MODEL_JSON_BYTES}`);
  }
}

/** Copies a folder tree (files only). */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Builds the tiny lookup model folder in `directory`. */
async function tinyModel(directory: string): Promise<void> {
  await tf.setBackend("cpu");
  disposeLoadedModel(await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP }));
}

/** Runs cases two at a time (the children are separate processes); throws the first failure. */
async function inPairs<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let from = 0; from < items.length; from += 2) {
    // Both settle before the next pair (no child is left running), then a failure is thrown.
    const settled = await Promise.allSettled(items.slice(from, from + 2).map(run));
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

for (
  const [name, what] of [["weights.bin", "weights"], ["vocab.json", "vocabulary"]] as const
) {
  Deno.test(`finding 8: predict refuses ${name} as a link to /dev/zero, a FIFO, a link outside, or oversized`, async () => {
    await withTempDir(async (root) => {
      await tinyModel(`${root}/model`);
      const cases: Replacement[] = ["dev-zero", "fifo", "outside", "oversized"];
      await inPairs(cases, async (how) => {
        const folder = `${root}/${how}`;
        await copyFolder(`${root}/model`, folder);
        await replace(folder, name, how, `${root}/elsewhere-${how}`);
        const result = await runGuarded(PREDICT, ["--model", folder, "Paris"]);
        assertRefused(result, expected(`${folder}/${name}`, what, how), `${name} ${how}`);
      });
    });
  });
}

Deno.test("finding 8: config.json, model.json, chars.json and ensemble.json are checked before they are read", async () => {
  await withTempDir(async (root) => {
    // A tagger with char features (it reads chars.json), saved as an ensemble's only member.
    await tf.setBackend("cpu");
    const vocab = buildVocab(TRAINING);
    const chars = buildCharVocab(TRAINING);
    const tagger = new Tagger({
      vocabSize: vocab.words.length,
      numTags: vocab.tags.length,
      numChars: chars.chars.length,
      maxLen: 8,
      embeddingDim: 4,
      units: 3,
      charFeatures: true,
      charDim: 3,
      charFilters: 4,
      maxChars: 6,
    });
    await saveModelFolder(`${root}/single`, { tagger, vocab, chars });
    tagger.dispose();
    const single = await loadModelFolder(`${root}/single`);
    await saveEnsembleFolder(`${root}/ensemble`, single.members);
    disposeLoadedModel(single);
    const cases: [string, string, string, Replacement][] = [
      ["member-1", "config.json", "model config", "fifo"],
      ["member-1", "model.json", "model topology", "dev-zero"],
      ["member-1", "chars.json", "character map", "fifo"],
      ["member-1", "chars.json", "character map", "outside"],
      ["", ENSEMBLE_FILE, "ensemble config", "dev-zero"],
      ["", ENSEMBLE_FILE, "ensemble config", "oversized"],
    ];
    await inPairs(cases.map((c, index) => [index, ...c] as const), async (item) => {
      const [index, member, name, what, how] = item;
      const folder = `${root}/case-${index}`;
      await copyFolder(`${root}/ensemble`, folder);
      const holder = member === "" ? folder : `${folder}/${member}`;
      await replace(holder, name, how, `${root}/elsewhere-${index}`);
      const result = await runGuarded(PREDICT, ["--model", folder, "Paris"]);
      assertRefused(result, expected(`${holder}/${name}`, what, how), `${name} ${how}`);
    });
  });
});

Deno.test("finding 8: serve refuses a model whose weights.bin is a link to /dev/zero", async () => {
  await withTempDir(async (root) => {
    await tinyModel(`${root}/model`);
    await replace(`${root}/model`, "weights.bin", "dev-zero", `${root}/elsewhere`);
    const result = await runGuarded(SERVE, ["--model", `${root}/model`, "--port", "0"]);
    assertRefused(
      result,
      expected(`${root}/model/weights.bin`, "weights", "dev-zero"),
      "serve weights.bin dev-zero",
    );
  });
});
