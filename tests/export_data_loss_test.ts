/**
 * `deno task export` never loses what is at `--to` or beside it (issue 28, findings 1–4):
 *
 * 1. it replaces only a missing path, an empty folder or a model folder: a folder of the user's
 *    files, a training run folder, the `--from` run itself, a folder inside it or one that holds
 *    it is refused, naming the path, and left byte-identical;
 * 2. a folder a training holds (its `train.lock` held) is refused naming the holder, even when it
 *    holds a model;
 * 3. a kill between the two renames of the swap leaves the old model whole beside `--to`:
 *    loading `--to` (predict, evaluate) names it, and the next export puts it back first;
 * 4. what interrupted exports left beside `--to` is removed by the next export to it, which says
 *    so; an old folder that cannot be removed is named in a warning, never left silently.
 *
 * @module
 */
import { checksums, namesIn } from "./fixtures/folders.ts";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import {
  cleanFolderLeftovers,
  disposeLoadedModel,
  findFolderLeftovers,
  loadModelFolder,
  replaceFolder,
} from "../lib/io/mod.ts";
import { main as exportCli } from "../lib/cli/export.ts";
import { main as predictCli } from "../lib/cli/predict.ts";
import { main as evaluateCli } from "../lib/cli/evaluate.ts";
import { acquireRunLock, LOCK_FILE } from "../lib/io/run_lock.ts";
import { train } from "../lib/train/mod.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

const TRAIN_TINY = new URL("./fixtures/train_tiny.ts", import.meta.url).pathname;

/** Trains a tiny one-epoch run into `out` (a run folder with `checkpoint.json`). */
async function tinyRun(out: string, seed = 5): Promise<void> {
  const result = await train({
    trainSentences: syntheticSentences(60),
    config: {
      epochs: 1,
      batchSize: 8,
      maxLen: 10,
      seed,
      learningRate: 0.01,
      model: { embeddingDim: 8, units: 6 },
    },
    out,
    progress: null,
  });
  result.tagger.dispose();
}

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Runs the export CLI in this process with its output captured. */
async function runExport(args: string[]) {
  const { result, logs, errors } = await withCapturedConsole(() => exportCli(args));
  return { code: result, logs, errors };
}

/** The weights of a loaded folder's first member, as plain arrays. */
async function weightsAt(directory: string): Promise<number[][]> {
  const loaded = await loadModelFolder(directory);
  try {
    return loaded.members[0].tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
  } finally {
    disposeLoadedModel(loaded);
  }
}

/** Asserts an export was refused with one `error: PATH: …` line, no stack trace. */
function assertRefused(
  result: { code: number; errors: string[] },
  path: string,
  reason: RegExp,
): void {
  assert.equal(result.code, 1, result.errors.join("\n"));
  assert.equal(result.errors.length, 1, result.errors.join("\n"));
  assert.ok(result.errors[0].startsWith(`error: ${path}: `), result.errors[0]);
  assert.match(result.errors[0], reason);
  assert.doesNotMatch(result.errors[0], /\n\s+at /, "no stack trace");
}

Deno.test("finding 1: a folder that is not a model folder is refused and left as it was", async () => {
  await withTempDir(async (root) => {
    const runs = `${root}/runs`;
    const a = `${runs}/a`;
    const b = `${runs}/b`;
    await tinyRun(a, 1);
    await tinyRun(b, 2);
    const runA = await checksums(a);
    const runB = await checksums(b);

    // The reproduction: a folder of the user's files.
    const u = `${root}/u`;
    await Deno.mkdir(u);
    await Deno.writeTextFile(`${u}/thesis.txt`, "precious");
    for (const from of [["--from", a], ["--from", a, "--from", b]]) {
      assertRefused(
        await runExport([...from, "--to", u]),
        u,
        /holds files that are not a model folder \(thesis\.txt\); export writes only to a new, empty or model folder/,
      );
      assert.equal(await Deno.readTextFile(`${u}/thesis.txt`), "precious");
      assert.deepEqual(namesIn(u), ["thesis.txt"]);
    }

    // The --from run itself (with a trailing slash too), a folder inside it, the folder of runs
    // that holds it.
    assertRefused(await runExport(["--from", a, "--to", a]), a, /is the --from folder/);
    assertRefused(await runExport(["--from", a, "--to", `${a}/`]), a, /is the --from folder/);
    assertRefused(
      await runExport(["--from", a, "--to", `${a}/exported`]),
      `${a}/exported`,
      /lies inside the --from folder/,
    );
    assertRefused(await runExport(["--from", a, "--to", runs]), runs, /contains the --from folder/);
    assertRefused(
      await runExport(["--from", a, "--caseless-from", b, "--to", b]),
      b,
      /is the --from folder/,
    );

    // Another run's folder: its checkpoints would go.
    assertRefused(
      await runExport(["--from", a, "--to", b]),
      b,
      /is a training run folder \(checkpoint\.json, checkpoints\/\); exporting there would delete the run's checkpoints/,
    );
    assert.deepEqual(await checksums(a), runA);
    assert.deepEqual(await checksums(b), runB);
    assert.deepEqual(namesIn(root), ["runs", "u"], "nothing written beside any of them");
    assert.deepEqual(namesIn(runs), ["a", "b"]);

    // What export may replace: a missing path, an empty folder, a model folder.
    const empty = `${root}/empty`;
    await Deno.mkdir(empty);
    assert.equal((await runExport(["--from", a, "--to", empty])).code, 0);
    assert.equal((await runExport(["--from", a, "--to", `${root}/new`])).code, 0);
    assert.equal((await runExport(["--from", b, "--to", empty])).code, 0, "over a model folder");
    assert.deepEqual(await weightsAt(empty), await weightsAt(b));
    assert.deepEqual(namesIn(root), ["empty", "new", "runs", "u"]);
  });
});

Deno.test("finding 2: a folder a training holds is refused naming the holder; the training's files stay", async () => {
  await withTempDir(async (root) => {
    const source = `${root}/source`;
    await tinyRun(source);
    // A real training in another process, held mid-epoch 2 (epoch 1's checkpoint written).
    const live = `${root}/live`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", TRAIN_TINY, live, "--hold-at", "2:1"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      let text = "";
      for await (const piece of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += piece;
        if (text.includes("held at epoch 2 step 1")) break;
      }
      assert.match(text, /held at epoch 2 step 1/, "the training held where asked");
      const before = await checksums(live);
      assert.ok(before[`/${LOCK_FILE}`] && before["/checkpoint.json"]);
      const result = await runExport(["--from", source, "--to", live]);
      assertRefused(
        result,
        live,
        new RegExp(
          `a training is running in this folder \\(pid ${child.pid} on host .*lock ${live}/` +
            `${LOCK_FILE}\\); export never writes into a training's folder`,
        ),
      );
      assert.deepEqual(await checksums(live), before, "lock and checkpoint untouched");
      assert.deepEqual(namesIn(root), ["live", "source"]);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdin.abort().catch(() => {});
      await child.stdout.cancel().catch(() => {});
    }

    // Held by a training even though the folder holds a model: still refused, naming it.
    const model = `${root}/model`;
    assert.equal((await runExport(["--from", source, "--to", model])).code, 0);
    const lock = await acquireRunLock(model);
    try {
      const before = await checksums(model);
      assertRefused(
        await runExport(["--from", source, "--to", model]),
        model,
        new RegExp(`a training is running in this folder \\(pid ${Deno.pid} on host`),
      );
      assert.deepEqual(await checksums(model), before);
    } finally {
      await lock.release();
    }
    // Its holder gone, the model folder may be replaced again.
    assert.equal((await runExport(["--from", source, "--to", model])).code, 0);
  });
});

Deno.test("finding 3: a kill between the two renames leaves the old model whole; loading names it, export puts it back", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/a`, 1);
    await tinyRun(`${root}/b`, 2);
    const model = `${root}/model`;
    assert.equal((await runExport(["--from", `${root}/a`, "--to", model])).code, 0);
    const oldModel = await checksums(model);

    // The swap itself, stopped where a kill would stop it: the old folder renamed aside, the new
    // one not yet renamed into place (every later rename fails, as if the process were gone).
    const rename = Deno.rename;
    let renames = 0;
    Deno.rename = (from: string | URL, to: string | URL) => {
      if (++renames > 1) return Promise.reject(new Error("killed"));
      return rename(from, to);
    };
    try {
      await assert.rejects(
        replaceFolder(model, async (staging) => {
          await Deno.writeTextFile(`${staging}/config.json`, "{}");
        }),
        /killed/,
      );
    } finally {
      Deno.rename = rename;
    }
    assert.equal(await exists(model), false, "the target is missing, as after the kill");
    const [previous] = await findFolderLeftovers(model);
    assert.match(
      previous.path,
      new RegExp(`^${root}/\\.model\\.previous-${Deno.pid}-[0-9a-f]{8}$`),
    );
    assert.deepEqual(await checksums(previous.path), oldModel, "the old model, whole");

    // Loading names it: the library, predict and evaluate.
    const named = new RegExp(
      `${model}: model folder not found; an interrupted export left the previous model in ` +
        `${previous.path.replace(/[.]/g, "\\.")}: rename it back`,
    );
    await assert.rejects(loadModelFolder(model), named);
    for (const cli of [predictCli, evaluateCli]) {
      const args = cli === predictCli ? ["--model", model, "Mr Smith"] : ["--model", model];
      const { result, errors } = await withCapturedConsole(() => cli(args));
      assert.equal(result, 1);
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.ok(errors[0].startsWith(`error: ${model}: `), errors[0]);
      assert.match(errors[0], named);
    }

    // Putting it back (what export does first) restores it byte for byte.
    const cleanup = await cleanFolderLeftovers(model);
    assert.equal(cleanup.restored, previous.path);
    assert.deepEqual(await checksums(model), oldModel);
    assert.deepEqual(namesIn(root), ["a", "b", "model"]);

    // The on-disk state of a kill built by hand (an older export's names), with the unfinished
    // new folder beside it: the next export puts the old one back, then replaces it.
    await Deno.rename(model, `${root}/.model.previous-4242-0badc0de`);
    await Deno.mkdir(`${root}/.model.staging-4242-0badc0de`);
    await Deno.writeTextFile(`${root}/.model.staging-4242-0badc0de/model.json`, "{");
    await assert.rejects(loadModelFolder(model), /\.model\.previous-4242-0badc0de: rename it back/);
    const again = await runExport(["--from", `${root}/b`, "--to", model]);
    assert.equal(again.code, 0, again.errors.join("\n"));
    assert.match(
      again.errors.join("\n"),
      new RegExp(
        `note: ${model} was missing: .*\\.model\\.previous-4242-0badc0de; renamed it back`,
      ),
    );
    assert.match(again.errors.join("\n"), /removed .*\.model\.staging-4242-0badc0de/);
    assert.deepEqual(await weightsAt(model), await weightsAt(`${root}/b`));
    assert.deepEqual(namesIn(root), ["a", "b", "model"], "nothing left beside it");

    // A first export killed before its swap: nothing to restore, the unfinished folder named.
    await Deno.mkdir(`${root}/.fresh.staging-4242-0badc0de`);
    await assert.rejects(
      loadModelFolder(`${root}/fresh`),
      /fresh: model folder not found; an export to it was interrupted before it finished .*\.fresh\.staging-4242-0badc0de/,
    );
  });
});

Deno.test("finding 4: leftovers of earlier exports are removed and reported; an old folder that cannot be removed is named", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/a`, 1);
    await tinyRun(`${root}/b`, 2);
    const model = `${root}/model`;
    assert.equal((await runExport(["--from", `${root}/a`, "--to", model])).code, 0);

    // What kills left beside it (its own names), and things that only look like them.
    const ours = [
      ".model.previous-11-bbbbbbbb",
      ".model.staging-11-aaaaaaaa",
      ".model.trash-11-cccccccc",
    ];
    for (const name of ours) {
      await Deno.mkdir(`${root}/${name}/sub`, { recursive: true });
      await Deno.writeTextFile(`${root}/${name}/sub/weights.bin`, "x");
    }
    const others = [
      ".model.staging-notes",
      ".other.staging-11-aaaaaaaa",
      "model.previous-11-aaaaaaaa",
    ];
    for (const name of others) await Deno.mkdir(`${root}/${name}`);
    await Deno.writeTextFile(`${root}/.model.staging-11-dddddddd`, "a file, not ours");

    const cleaned = await runExport(["--from", `${root}/b`, "--to", model]);
    assert.equal(cleaned.code, 0, cleaned.errors.join("\n"));
    const removed = cleaned.errors.find((line) => line.startsWith("note: removed"));
    assert.equal(
      removed,
      `note: removed what interrupted exports to ${model} left beside it: ` +
        ours.map((name) => `${root}/${name}`).join(", "),
    );
    assert.deepEqual(
      namesIn(root),
      [".model.staging-11-dddddddd", ...others, "a", "b", "model"].sort(),
      "only its own leftovers removed",
    );

    // One held by an export running now is never touched: this export refuses to start.
    const running = `${root}/.model.staging-22-eeeeeeee`;
    await Deno.mkdir(running);
    const held = await Deno.open(running, { read: true });
    try {
      assert.ok(await held.tryLock(true));
      const before = await checksums(model);
      assertRefused(
        await runExport(["--from", `${root}/a`, "--to", model]),
        model,
        new RegExp(`another process is replacing it right now \\(it holds ${running}\\)`),
      );
      assert.ok(await exists(running));
      assert.deepEqual(await checksums(model), before);
    } finally {
      held.close();
    }

    // The old folder cannot be removed after the swap: the new model is in place, a warning
    // names where the old one is (as trash: never under a name that says it is whole).
    const remove = Deno.remove;
    Deno.remove = (path: string | URL, options?: Deno.RemoveOptions) =>
      String(path).includes(".model.trash-")
        ? Promise.reject(new Error("Permission denied (simulated)"))
        : remove(path, options);
    let stuck;
    try {
      stuck = await runExport(["--from", `${root}/a`, "--to", model]);
    } finally {
      Deno.remove = remove;
    }
    assert.equal(stuck.code, 0, stuck.errors.join("\n"));
    assert.match(stuck.errors.join("\n"), /removed .*\.model\.staging-22-eeeeeeee/);
    const warning = stuck.errors.find((line) => line.startsWith("warning:"));
    assert.match(
      warning ?? "",
      new RegExp(
        `^warning: ${model}: the new model is in place, but the old folder could not be ` +
          `removed: it is left at ${root}/\\.model\\.trash-${Deno.pid}-[0-9a-f]{8}; remove it`,
      ),
    );
    assert.deepEqual(await weightsAt(model), await weightsAt(`${root}/a`));
    const [left] = await findFolderLeftovers(model);
    assert.equal(left.kind, "trash");

    // The next export removes it and says so.
    const next = await runExport(["--from", `${root}/b`, "--to", model]);
    assert.equal(next.code, 0, next.errors.join("\n"));
    assert.ok(next.errors.some((line) => line.includes(left.path)), next.errors.join("\n"));
    assert.deepEqual(await findFolderLeftovers(model), []);
  });
});
