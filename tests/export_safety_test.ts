/**
 * Exports never lose the old folder (issue 16, findings 1 and 2): `deno task export` and
 * `saveEnsembleFolder` build the new folder beside the target, load it back and tag a sentence
 * before any swap; a failure leaves the old folder byte-identical (a file of the user's in it
 * included) and no staging folder behind; a file at `--to` is an error and is never deleted; a
 * replaced folder is replaced whole, so a single model exported over an ensemble is what loads
 * afterwards. A run folder, the `--from` run itself among them, is never replaced (issue 28;
 * tests/export_data_loss_test.ts has the rest of what export refuses).
 */
import { checksums, namesIn } from "./fixtures/folders.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import {
  CHECKPOINT_POINTER,
  disposeLoadedModel,
  ENSEMBLE_FILE,
  loadModelFolder,
  loadTaggerFolder,
  projectPath,
  replaceFolder,
  saveEnsembleFolder,
} from "../lib/io/mod.ts";
import { main as exportCli } from "../lib/cli/export.ts";
import { main as predictCli } from "../lib/cli/predict.ts";
import { train, type TrainConfig } from "../lib/train/mod.ts";
import type { TaggerOptions } from "../lib/model/mod.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

/** Trains a tiny one-epoch run into `out` (a run folder with `checkpoint.json`). */
async function tinyRun(out: string, model: Partial<TaggerOptions> = {}, seed = 5): Promise<void> {
  const config: TrainConfig = {
    epochs: 1,
    batchSize: 8,
    maxLen: 10,
    seed,
    learningRate: 0.01,
    model: { embeddingDim: 8, units: 6, ...model },
  };
  const result = await train({
    trainSentences: syntheticSentences(60),
    config,
    out,
    progress: null,
  });
  result.tagger.dispose();
}

/** Runs the export CLI with its output captured. */
async function runExport(args: string[]) {
  const { result, logs, errors } = await withCapturedConsole(() => exportCli(args));
  return { code: result, logs, errors: errors.join("\n") };
}

Deno.test("finding 1: a failed ensemble export leaves the existing --to folder byte-identical", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/softmax`);
    await tinyRun(`${root}/crf`, { modelType: "bilstm-crf" });
    const existing = `${root}/existing`;
    assert.equal((await runExport(["--from", `${root}/softmax`, "--to", existing])).code, 0);
    await Deno.writeTextFile(`${existing}/mine.txt`, "a file of the user's");
    const before = await checksums(existing);
    const parentBefore = namesIn(root);

    // The reproduction: a softmax run and the shipped CRF member-1 cannot be averaged.
    const shipped = await runExport([
      "--from",
      `${root}/softmax`,
      "--from",
      projectPath("data/model/member-1"),
      "--to",
      existing,
    ]);
    assert.equal(shipped.code, 1);
    assert.match(shipped.errors, /^error: .*cannot join the ensemble/);
    assert.deepEqual(await checksums(existing), before, "the old folder is byte-identical");
    assert.deepEqual(namesIn(root), parentBefore, "no staging folder is left beside it");

    // Two runs of this session: a softmax head and a CRF head.
    const heads = await runExport([
      "--from",
      `${root}/softmax`,
      "--from",
      `${root}/crf`,
      "--to",
      existing,
    ]);
    assert.equal(heads.code, 1);
    assert.match(
      heads.errors,
      /crf\/checkpoints\/epoch-001: cannot join the ensemble: its CRF head/,
    );
    assert.deepEqual(await checksums(existing), before);
    assert.equal(await Deno.readTextFile(`${existing}/mine.txt`), "a file of the user's");
    assert.deepEqual(namesIn(root), parentBefore);
    const loaded = await loadModelFolder(existing);
    assert.equal(loaded.ensemble, null, "the old single model still loads");
    disposeLoadedModel(loaded);
  });
});

Deno.test("a new folder that fails its check before the swap leaves the old one as it was", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/softmax`);
    await tinyRun(`${root}/crf`, { modelType: "bilstm-crf" });
    const target = `${root}/ensemble`;
    await Deno.mkdir(target);
    await Deno.writeTextFile(`${target}/mine.txt`, "keep me");
    const before = await checksums(target);
    const softmax = await loadTaggerFolder(`${root}/softmax`);
    const crf = await loadTaggerFolder(`${root}/crf`);
    const tensors = tf.memory().numTensors;
    // saveEnsembleFolder with a check that loads the folder back: heads differ, so it throws
    // after the folder is written beside the target, before any swap.
    await assert.rejects(
      saveEnsembleFolder(target, [softmax, crf], {
        verify: async (staging) => disposeLoadedModel(await loadModelFolder(staging)),
      }),
      /member-2: cannot join the ensemble/,
    );
    assert.equal(tf.memory().numTensors, tensors, "nothing half-loaded stays");
    assert.deepEqual(await checksums(target), before);
    assert.deepEqual(namesIn(root), ["crf", "ensemble", "softmax"], "the staging folder is gone");
    // A failure while writing (here: the build itself throws half-way) does the same.
    await assert.rejects(
      replaceFolder(target, async (staging) => {
        await Deno.writeTextFile(`${staging}/half.json`, "{");
        throw new Error("disk full");
      }),
      /disk full/,
    );
    assert.deepEqual(await checksums(target), before);
    assert.deepEqual(namesIn(root), ["crf", "ensemble", "softmax"]);
    // Without a failing check the same call replaces the folder whole.
    await saveEnsembleFolder(target, [softmax, softmax], {
      verify: async (staging) => disposeLoadedModel(await loadModelFolder(staging)),
    });
    assert.deepEqual(namesIn(target), [ENSEMBLE_FILE, "member-1", "member-2"]);
    assert.deepEqual(namesIn(root), ["crf", "ensemble", "softmax"]);
    softmax.tagger.dispose();
    crf.tagger.dispose();
  });
});

Deno.test("an existing file at --to is an error naming it, and is never deleted", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/run`);
    const file = `${root}/model.txt`;
    await Deno.writeTextFile(file, "not a model");
    for (
      const from of [["--from", `${root}/run`], ["--from", `${root}/run`, "--from", `${root}/run`]]
    ) {
      const result = await runExport([...from, "--to", file]);
      assert.equal(result.code, 1);
      assert.match(result.errors, new RegExp(`^error: ${file}: exists and is a file`));
      assert.equal(await Deno.readTextFile(file), "not a model");
    }
    assert.deepEqual(namesIn(root), ["model.txt", "run"]);
    // The library refuses it as well.
    const member = await loadTaggerFolder(`${root}/run`);
    await assert.rejects(saveEnsembleFolder(file, [member]), /model\.txt: exists and is a file/);
    assert.equal(await Deno.readTextFile(file), "not a model");
    member.tagger.dispose();
  });
});

Deno.test("finding 2: a single model exported over an ensemble replaces it whole; a run folder is refused", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/a`, { modelType: "bilstm-crf" }, 1);
    await tinyRun(`${root}/b`, { modelType: "bilstm-crf" }, 2);
    await tinyRun(`${root}/single`, {}, 3);
    const out = `${root}/out`;
    assert.equal(
      (await runExport(["--from", `${root}/a`, "--from", `${root}/b`, "--to", out])).code,
      0,
    );
    assert.deepEqual(namesIn(out), [ENSEMBLE_FILE, "member-1", "member-2"]);

    // Over the ensemble: no ensemble.json or member folder stays; the new model loads.
    assert.equal((await runExport(["--from", `${root}/single`, "--to", out])).code, 0);
    const files = ["config.json", "history.json", "model.json", "vocab.json", "weights.bin"];
    assert.deepEqual(namesIn(out), files);
    const source = await loadModelFolder(`${root}/single`);
    const exported = await loadModelFolder(out);
    assert.equal(exported.ensemble, null);
    assert.equal(exported.members.length, 1);
    assert.equal(exported.members[0].tagger.hasCrf, false, "the new softmax model, not the CRFs");
    const weights = (loaded: typeof source) =>
      loaded.members[0].tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(weights(exported), weights(source));
    disposeLoadedModel(exported);

    // predict loads the new model too.
    const predicted = await withCapturedConsole(() =>
      predictCli(["--model", out, "--json", "Mr Smith met people in Paris"])
    );
    assert.equal(predicted.result, 0);
    assert.ok(
      predicted.errors.some((line) => line.startsWith(`model ${out} `)),
      predicted.errors.join(),
    );

    // Over a run folder: refused, the run's checkpoints kept (issue 28).
    const run = `${root}/a`;
    const runBefore = await checksums(run);
    const overRun = await runExport(["--from", `${root}/single`, "--to", run]);
    assert.equal(overRun.code, 1);
    assert.match(overRun.errors, /^error: .*\/a: is a training run folder \(checkpoint\.json/);
    assert.deepEqual(await checksums(run), runBefore);
    disposeLoadedModel(source);
    assert.deepEqual(namesIn(root), ["a", "b", "out", "single"], "no staging or old folder left");
  });
});

Deno.test("exporting a run onto its own folder is refused; a trailing slash on --to leaves nothing beside", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/run`);
    const source = await loadModelFolder(`${root}/run`);
    const expected = source.members[0].tagger.model.getWeights().map((w) =>
      Array.from(w.dataSync())
    );
    disposeLoadedModel(source);
    // Replacing the run by its own export would delete its checkpoints (issue 28).
    const before = await checksums(`${root}/run`);
    const own = await runExport(["--from", `${root}/run`, "--to", `${root}/run/`]);
    assert.equal(own.code, 1);
    assert.match(own.errors, /^error: .*\/run: is the --from folder/);
    assert.deepEqual(await checksums(`${root}/run`), before);
    // "model/" stages beside "model", not inside it.
    assert.equal((await runExport(["--from", `${root}/run`, "--to", `${root}/model/`])).code, 0);
    assert.ok(!namesIn(`${root}/model`).includes(CHECKPOINT_POINTER));
    const exported = await loadModelFolder(`${root}/model`);
    const actual = exported.members[0].tagger.model.getWeights().map((w) =>
      Array.from(w.dataSync())
    );
    assert.deepEqual(actual, expected);
    disposeLoadedModel(exported);
    assert.deepEqual(namesIn(root), ["model", "run"]);
  });
});

Deno.test("the export CLI names the file and the field of a bad source, without a stack trace", async () => {
  await withTempDir(async (root) => {
    await tinyRun(`${root}/run`);
    const pointer = JSON.parse(await Deno.readTextFile(`${root}/run/${CHECKPOINT_POINTER}`));
    const vocabPath = `${root}/run/${pointer.latest}/vocab.json`;
    const vocab = JSON.parse(await Deno.readTextFile(vocabPath));
    // An earlier export of the run (a model folder export may replace), with a file of the user's.
    assert.equal((await runExport(["--from", `${root}/run`, "--to", `${root}/out`])).code, 0);
    await Deno.writeTextFile(`${root}/out/mine.txt`, "keep");
    const before = await checksums(`${root}/out`);
    await Deno.writeTextFile(vocabPath, JSON.stringify({ ...vocab, options: { lowercase: "no" } }));
    const result = await runExport(["--from", `${root}/run`, "--to", `${root}/out`]);
    assert.equal(result.code, 1);
    assert.match(result.errors, /^error: .*vocab\.json: .*"options\.minFrequency"/);
    assert.doesNotMatch(result.errors, /\n\s+at /, "no stack trace");
    assert.deepEqual(await checksums(`${root}/out`), before);
  });
});
