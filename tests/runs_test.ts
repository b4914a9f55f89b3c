import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import {
  CHECKPOINT_POINTER,
  fileSha256,
  readRunEvaluation,
  readRunEvaluations,
  type RunFileEvaluation,
  writeRunEvaluation,
  writeRunFileEvaluation,
} from "../lib/io/mod.ts";
import { listRuns, settingsDiff } from "../lib/train/runs.ts";
import { toConll } from "../lib/data/write.ts";
import { readPointer } from "../lib/train/checkpoint.ts";
import { main as evaluateCli } from "../lib/cli/evaluate.ts";
import { main as runsCli } from "../lib/cli/runs.ts";
import { train } from "../lib/train/train.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";
import { denoJSON } from "./fixtures/deno_child.ts";

const TASK_PERMISSIONS = (() => {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string | { command: string }> };
  const entry = config.tasks.runs;
  const task = typeof entry === "string" ? entry : entry?.command;
  assert.ok(task?.endsWith(" lib/cli/runs.ts"), `deno.json has the runs task: ${task}`);
  return task.replace(/^deno run /, "").replace(/ lib\/cli\/runs\.ts$/, "").split(" ");
})();

/** The resolved v2 tagger config of a default tagger, with some settings changed. */
function v2Tagger(changes: Record<string, unknown> = {}) {
  return {
    maxLen: 50,
    embeddingDim: 100,
    units: 100,
    biLstmLayers: 1,
    recurrentDropout: 0.1,
    recurrentActivation: "sigmoid",
    unitForgetBias: true,
    layer: "fast",
    seed: 42,
    maskPadding: true,
    modelType: "bilstm",
    charFeatures: false,
    numChars: 0,
    maxChars: 16,
    charDim: 25,
    charFilters: 50,
    charWidth: 3,
    charActivation: "tanh",
    casingDim: 8,
    dropout: 0,
    outputDropout: 0,
    vocabSize: 2664,
    numTags: 18,
    ...changes,
  };
}

/** The v2 training record of a default run, with some settings changed. */
function v2Training(epochsDone: number, changes: Record<string, unknown> = {}) {
  return {
    epochs: 5,
    batchSize: 32,
    validationSplit: 0.1,
    limit: null,
    seed: 42,
    learningRate: 0.001,
    learningRateDecay: 1,
    minFrequency: 1,
    lowercase: false,
    unknownWordRate: 0.5,
    countPadding: false,
    ...changes,
    epochsDone,
  };
}

/** Writes a run folder by hand: pointer, checkpoint config, history, evaluation (each optional). */
async function writeRun(
  directory: string,
  files: {
    epoch: number;
    config?: unknown;
    history?: unknown;
    evaluation?: unknown;
    pointerExtra?: Record<string, unknown>;
  },
): Promise<void> {
  const latest = `checkpoints/epoch-${String(files.epoch).padStart(3, "0")}`;
  await Deno.mkdir(`${directory}/${latest}`, { recursive: true });
  await Deno.writeTextFile(
    `${directory}/checkpoint.json`,
    JSON.stringify({ latest, epoch: files.epoch, ...files.pointerExtra }),
  );
  if (files.config !== undefined) {
    await Deno.writeTextFile(`${directory}/${latest}/config.json`, JSON.stringify(files.config));
  }
  if (files.history !== undefined) {
    await Deno.writeTextFile(`${directory}/history.json`, JSON.stringify(files.history));
  }
  if (files.evaluation !== undefined) {
    await Deno.writeTextFile(`${directory}/evaluation.json`, JSON.stringify(files.evaluation));
  }
}

/** A history of `valF1` (and a loss) per epoch; `valF1` left out when undefined. */
function history(valF1: (number | null)[] | undefined, epochs = valF1?.length ?? 2) {
  const epoch = Array.from({ length: epochs }, (_, index) => index + 1);
  return {
    epoch,
    loss: epoch.map((e) => 1 / e),
    accuracy: epoch.map(() => 0.9),
    valLoss: epoch.map((e) => 2 / e),
    valAccuracy: epoch.map(() => 0.8),
    seconds: epoch.map(() => 1),
    msPerStep: epoch.map(() => 10),
    numTensors: epoch.map(() => 9),
    ...(valF1 === undefined ? {} : { valF1 }),
  };
}

function evaluation(f1: number, epoch: number) {
  return {
    split: "test",
    epoch,
    scheme: "strict",
    entity: { precision: f1, recall: f1, f1, support: 100 },
    tokenAccuracy: 0.95,
    evaluatedAt: "2026-01-01T00:00:00.000Z",
  };
}

/**
 * A root with: a v2 run (units, CRF, seed, learning rate, limit; valF1 with nulls; evaluated),
 * a v1 run (no valF1; not evaluated), a v2 run with char features and countPadding whose
 * pointer has a `partial` record, a run with all-null valF1 evaluated at an older epoch, a
 * corrupt run, and a folder and a file that are not runs.
 */
async function writeRoot(root: string): Promise<void> {
  await writeRun(`${root}/b-crf`, {
    epoch: 3,
    config: {
      format: "bilstm-ner-model",
      version: 2,
      tagger: v2Tagger({ units: 64, modelType: "bilstm-crf", seed: 7, vocabSize: 900 }),
      training: v2Training(3, { epochs: 3, seed: 7, learningRate: 0.002, limit: 400 }),
    },
    history: history([0.5, null, 0.72]),
    evaluation: evaluation(0.7, 3),
  });
  await writeRun(`${root}/a-v1`, {
    epoch: 2,
    config: {
      format: "bilstm-ner-model",
      version: 1,
      maxLen: 40,
      modelType: "bilstm",
      model: { units: 32, maxLen: 40, seed: 42, numChars: 0, recurrentActivation: "hardSigmoid" },
      training: {
        epochs: 2,
        batchSize: 8,
        validationSplit: 0,
        limit: null,
        seed: 42,
        learningRate: 0.003,
        learningRateDecay: 0.6,
        maxLen: 40,
        minFrequency: 1,
        lowercase: false,
        unknownWordRate: 0.5,
        countPadding: false,
        model: { units: 32, recurrentActivation: "hardSigmoid" },
        epochsDone: 2,
      },
    },
    history: history(undefined, 2),
  });
  await writeRun(`${root}/c-chars`, {
    epoch: 4,
    pointerExtra: { partial: { epoch: 5, step: 120 } },
    config: {
      format: "bilstm-ner-model",
      version: 2,
      tagger: v2Tagger({
        charFeatures: true,
        numChars: 80,
        charFilters: 30,
        maskPadding: false,
        seed: 9,
      }),
      training: v2Training(4, { countPadding: true }),
    },
    history: history([0.1, 0.2, 0.3, 0.25]),
  });
  await writeRun(`${root}/d-nulls`, {
    epoch: 2,
    config: { format: "bilstm-ner-model", version: 2, tagger: v2Tagger(), training: v2Training(2) },
    history: history([null, null]),
    evaluation: evaluation(0.4, 1),
  });
  await writeRun(`${root}/e-corrupt`, {
    epoch: 1,
    config: { format: "bilstm-ner-model", version: 2, tagger: v2Tagger(), training: v2Training(1) },
  });
  await Deno.writeTextFile(`${root}/e-corrupt/history.json`, '{"epoch": [1], "loss": [');
  await Deno.mkdir(`${root}/not-a-run/checkpoints`, { recursive: true });
  await Deno.writeTextFile(`${root}/notes.txt`, "not a run");
}

Deno.test("listRuns lists run folders by name with settings diffs, best validation F1 and test F1", async () => {
  await withTempDir(async (root) => {
    await writeRoot(root);
    const runs = await listRuns(root);
    assert.deepEqual(runs.map((run) => run.dir), [
      "a-v1",
      "b-crf",
      "c-chars",
      "d-nulls",
      "e-corrupt",
    ]);
    const [v1, crf, chars, nulls, corrupt] = runs;

    assert.deepEqual(crf.settings, {
      units: 64,
      modelType: "bilstm-crf",
      seed: 7,
      learningRate: 0.002,
      limit: 400,
    }, "sizes (vocabSize) and epochs are not settings; the tagger seed follows the run's");
    assert.equal(crf.path, `${root}/b-crf`);
    assert.equal(crf.epochs, 3);
    assert.equal(crf.validationF1, 0.72);
    assert.equal(crf.testF1, 0.7);
    assert.equal(crf.testEpoch, 3);
    assert.equal(crf.testFile, null, "the tutorial's test split");
    assert.deepEqual(crf.tests, []);
    assert.equal(crf.bestEpoch, 3, "no best in the pointer: the history's best epoch");
    assert.equal(crf.checkpointEpoch, 3, "no best kept: the latest is loaded");
    assert.deepEqual(crf.history, {
      epoch: [1, 2, 3],
      loss: [1, 1 / 2, 1 / 3],
      valLoss: [2, 1, 2 / 3],
      valF1: [0.5, null, 0.72],
    });
    assert.equal(crf.error, undefined);

    assert.deepEqual(v1.settings, {
      maxLen: 40,
      units: 32,
      recurrentActivation: "hardSigmoid",
      batchSize: 8,
      validationSplit: 0,
      learningRate: 0.003,
      learningRateDecay: 0.6,
    }, "a version 1 config: maxLen once, numChars is a size");
    assert.equal(v1.epochs, 2);
    assert.equal(v1.validationF1, null, "a run older than valF1");
    assert.equal(v1.bestEpoch, null);
    assert.deepEqual(v1.history?.valF1, [null, null]);
    assert.equal(v1.testF1, null);

    assert.deepEqual(chars.settings, {
      modelSeed: 9,
      maskPadding: false,
      charFeatures: true,
      charFilters: 30,
      countPadding: true,
    });
    assert.equal(chars.epochs, 4, "a partial (mid-epoch) record does not count as an epoch done");
    assert.equal(chars.validationF1, 0.3);
    assert.equal(chars.bestEpoch, 3);
    assert.equal(chars.error, undefined);

    assert.deepEqual(nulls.settings, {});
    assert.equal(nulls.validationF1, null, "all-null valF1 (nothing held out)");
    assert.equal(nulls.bestEpoch, null);
    assert.equal(nulls.testF1, 0.4);
    assert.equal(nulls.testEpoch, 1);

    assert.match(corrupt.error ?? "", /e-corrupt\/history\.json: not valid JSON/);
    assert.deepEqual(corrupt.settings, {}, "what could be read still is");
    assert.equal(corrupt.epochs, 1);
    assert.equal(corrupt.validationF1, null);
    assert.equal(corrupt.history, null);
  });
});

Deno.test("an unreadable pointer, config or evaluation is named in the run's error", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(`${root}/bad-pointer`);
    await Deno.writeTextFile(`${root}/bad-pointer/checkpoint.json`, "{latest");
    await writeRun(`${root}/bad-config`, { epoch: 2, history: history([0.3, 0.4]) });
    await Deno.writeTextFile(`${root}/bad-config/checkpoints/epoch-002/config.json`, "[");
    await writeRun(`${root}/missing-config`, { epoch: 1 });
    await writeRun(`${root}/bad-evaluation`, {
      epoch: 1,
      config: { format: "bilstm-ner-model", version: 2, tagger: v2Tagger({ units: 8 }) },
    });
    await Deno.writeTextFile(`${root}/bad-evaluation/evaluation.json`, "not json");
    await writeRun(`${root}/wrong-format`, { epoch: 1, config: { format: "other", version: 2 } });
    const runs = Object.fromEntries((await listRuns(root)).map((run) => [run.dir, run]));
    assert.match(runs["bad-pointer"].error ?? "", /bad-pointer\/checkpoint\.json: not valid JSON/);
    assert.equal(runs["bad-pointer"].epochs, null);
    assert.match(
      runs["bad-config"].error ?? "",
      /bad-config\/checkpoints\/epoch-002\/config\.json: not valid JSON/,
    );
    assert.equal(runs["bad-config"].validationF1, 0.4, "the history still reads");
    assert.match(
      runs["missing-config"].error ?? "",
      /missing-config\/checkpoints\/epoch-001\/config\.json: not found/,
    );
    assert.match(runs["bad-evaluation"].error ?? "", /bad-evaluation\/evaluation\.json/);
    assert.deepEqual(runs["bad-evaluation"].settings, { units: 8 });
    assert.equal(runs["bad-evaluation"].testF1, null);
    assert.match(runs["wrong-format"].error ?? "", /config\.json: not a bilstm-ner model config/);
  });
});

Deno.test("a missing root lists no runs", async () => {
  assert.deepEqual(await listRuns("/nonexistent/runs"), []);
  const { result, logs } = await withCapturedConsole(() =>
    runsCli(["--root", "/nonexistent/runs"])
  );
  assert.equal(result, 0);
  assert.deepEqual(logs, ["no runs under /nonexistent/runs"]);
  const json = await withCapturedConsole(() => runsCli(["--root", "/nonexistent/runs", "--json"]));
  assert.deepEqual(json.logs, ["[]"]);
});

Deno.test("settingsDiff refuses what is not a model config", () => {
  assert.throws(() => settingsDiff({ format: "bilstm-ner-model", version: 3 }), /version 1 or 2/);
  assert.throws(() => settingsDiff(null), /not a bilstm-ner model config/);
});

Deno.test("deno task runs --json prints one array of {dir, settings, epochs, validationF1, testF1, …}", async () => {
  await withTempDir(async (root) => {
    await writeRoot(root);
    const { result, logs, errors } = await withCapturedConsole(() =>
      runsCli(["--root", root, "--json"])
    );
    assert.equal(result, 0, errors.join("\n"));
    assert.equal(logs.length, 1);
    const runs = JSON.parse(logs[0]) as Record<string, unknown>[];
    assert.ok(Array.isArray(runs));
    const keys = [
      "dir",
      "settings",
      "epochs",
      "validationF1",
      "testF1",
      "bestEpoch",
      "testEpoch",
      "testFile",
      "tests",
    ];
    assert.deepEqual(runs.map((run) => Object.keys(run)), [
      keys,
      keys,
      keys,
      keys,
      [...keys, "error"],
    ], "the older keys first, unchanged");
    assert.deepEqual(runs[1], {
      dir: "b-crf",
      settings: { units: 64, modelType: "bilstm-crf", seed: 7, learningRate: 0.002, limit: 400 },
      epochs: 3,
      validationF1: 0.72,
      testF1: 0.7,
      bestEpoch: 3,
      testEpoch: 3,
      testFile: null,
      tests: [],
    });
    assert.deepEqual(runs[0].validationF1, null);
    assert.deepEqual(runs[0].testF1, null);
  });
});

Deno.test("deno task runs prints a table: settings as k=v, — for no score, errors below", async () => {
  await withTempDir(async (root) => {
    await writeRoot(root);
    const { result, logs } = await withCapturedConsole(() => runsCli(["--root", root]));
    assert.equal(result, 0);
    assert.equal(logs.length, 1);
    const lines = logs[0].split("\n");
    assert.equal(lines[0], `Runs under ${root}:`);
    assert.match(lines[2], /^run\s+settings\s+epochs\s+best val F1\s+best epoch\s+test F1$/);
    const row = (dir: string) => lines.find((line) => line.startsWith(`${dir} `)) ?? "";
    assert.match(
      row("b-crf"),
      /^b-crf\s+units=64 modelType=bilstm-crf limit=400 seed=7 learningRate=0\.002\s+3\s+0\.7200\s+3\s+0\.7000$/,
    );
    assert.match(row("a-v1"), /maxLen=40 units=32 .*\s+2\s+—\s+—\s+—$/);
    assert.match(row("c-chars"), /\s+4\s+0\.3000\s+3\s+—$/);
    assert.match(
      row("d-nulls"),
      /\(defaults\)\s+2\s+—\s+—\s+0\.4000 \(epoch 1\)$/,
      "a test F1 of another epoch than the run's model",
    );
    assert.doesNotMatch(logs[0], /%/, "F1 as a fraction, never a percentage");
    assert.match(row("e-corrupt"), /\(unreadable\)/);
    assert.match(logs[0], /\nerror: e-corrupt: .*e-corrupt\/history\.json: not valid JSON/);
    const usage = await withCapturedConsole(() => runsCli(["--colour"]));
    assert.equal(usage.result, 2);
    assert.match(usage.errors[0], /unknown flag --colour[\s\S]*deno task runs --help/);
  });
});

Deno.test("the runs task's permissions suffice to list runs", async () => {
  await withTempDir(async (root) => {
    await writeRoot(root);
    const runs = await denoJSON([
      "run",
      ...TASK_PERMISSIONS,
      new URL("../lib/cli/runs.ts", import.meta.url).pathname,
      "--root",
      root,
      "--json",
    ]) as { dir: string }[];
    assert.equal(runs.length, 5);
    assert.equal(runs[0].dir, "a-v1");
  });
});

Deno.test("a trained run is listed, and evaluate records its full test-split scores only", async () => {
  await initBackend({ backend: "wasm" });
  await withTempDir(async (root) => {
    const out = `${root}/tiny`;
    const result = await train({
      trainSentences: syntheticSentences(60),
      config: {
        epochs: 2,
        batchSize: 8,
        maxLen: 10,
        seed: 5,
        learningRate: 0.01,
        model: { embeddingDim: 8, units: 6 },
      },
      out,
      progress: null,
    });
    result.tagger.dispose();
    const [before] = await listRuns(root);
    assert.equal(CHECKPOINT_POINTER, "checkpoint.json");
    assert.deepEqual(before.settings, {
      maxLen: 10,
      embeddingDim: 8,
      units: 6,
      seed: 5,
      batchSize: 8,
      learningRate: 0.01,
    });
    assert.equal(before.epochs, 2);
    assert.equal(before.error, undefined);
    assert.equal(before.testF1, null);
    assert.deepEqual(before.history?.epoch, [1, 2]);
    const saved = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    const recorded = ((saved.valF1 ?? []) as (number | null)[]).filter((f1) => f1 !== null);
    assert.equal(before.validationF1, recorded.length > 0 ? Math.max(...recorded) : null);
    assert.deepEqual(before.history?.loss, saved.loss);

    const evaluate = (args: string[]) =>
      withCapturedConsole(() => evaluateCli(["--model", out, "--threads", "1", "--json", ...args]));
    const limited = await evaluate(["--limit", "20"]);
    assert.equal(limited.result, 0, limited.errors.join("\n"));
    assert.ok(limited.errors.some((line) => /evaluation\.json not updated/.test(line)));
    await assert.rejects(Deno.stat(`${out}/evaluation.json`), Deno.errors.NotFound);

    const full = await evaluate([]);
    assert.equal(full.result, 0, full.errors.join("\n"));
    const scores = JSON.parse(full.logs[0]);
    const stored = JSON.parse(await Deno.readTextFile(`${out}/evaluation.json`));
    assert.deepEqual(Object.keys(stored).sort(), [
      "casing",
      "checkpoint",
      "entity",
      "epoch",
      "evaluatedAt",
      "scheme",
      "split",
      "tokenAccuracy",
    ]);
    const pointer = await readPointer(out);
    const model = pointer?.best ?? { checkpoint: pointer?.latest, epoch: 2 };
    assert.equal(stored.split, "test");
    assert.equal(stored.checkpoint, model.checkpoint, "the checkpoint loaded: the best one");
    assert.equal(stored.epoch, model.epoch);
    assert.equal(stored.scheme, "strict");
    assert.equal(stored.casing, "original");
    assert.deepEqual(stored.entity, {
      precision: scores.entity.precision,
      recall: scores.entity.recall,
      f1: scores.entity.f1,
      support: scores.entity.support,
    });
    assert.equal(stored.tokenAccuracy, scores.tokenAccuracy);
    assert.ok(!Number.isNaN(Date.parse(stored.evaluatedAt)));
    const [after] = await listRuns(root);
    assert.equal(after.testF1, scores.entity.f1);
    assert.equal(after.testEpoch, model.epoch);
    assert.equal(after.testFile, null);

    const text = await Deno.readTextFile(`${out}/evaluation.json`);
    assert.equal((await evaluate(["--limit", "20"])).result, 0);
    assert.equal(await Deno.readTextFile(`${out}/evaluation.json`), text, "--limit keeps it");
    assert.equal((await evaluate(["--scheme", "conlleval"])).result, 0);
    assert.equal(
      await Deno.readTextFile(`${out}/evaluation.json`),
      text,
      "another scheme keeps it",
    );
    assert.equal((await evaluate(["--split", "validation"])).result, 0);
    assert.equal(await Deno.readTextFile(`${out}/evaluation.json`), text, "validation keeps it");
    assert.equal((await evaluate(["--casing", "upper"])).result, 0);
    assert.equal(await Deno.readTextFile(`${out}/evaluation.json`), text, "upper casing keeps it");

    // A file of one's own is recorded beside the split's record, which runs keeps showing.
    const file = `${root}/mine.conll`;
    await Deno.writeTextFile(file, toConll(syntheticSentences(30, 9)));
    const onFile = await evaluate(["--test", file]);
    assert.equal(onFile.result, 0, onFile.errors.join("\n"));
    assert.ok(onFile.errors.some((line) => line.includes(`recorded the scores on ${file}`)));
    const both = JSON.parse(await Deno.readTextFile(`${out}/evaluation.json`));
    const { tests, ...split } = both;
    assert.deepEqual(split, stored, "the split's record is kept as it was");
    assert.deepEqual(Object.keys(tests), [await fileSha256(file)]);
    assert.equal(tests[await fileSha256(file)].entity.f1, JSON.parse(onFile.logs[0]).entity.f1);
    const [withFile] = await listRuns(root);
    assert.equal(withFile.testF1, scores.entity.f1, "the tutorial split's score first");
    assert.equal(withFile.testFile, null);
    assert.deepEqual(withFile.tests.map((test) => test.name), ["mine.conll"]);
  });
});

Deno.test("settingsDiff shows a run's own data file by file, and nothing for the bundled corpus", () => {
  const tagger = { modelType: "bilstm", units: 100, maxLen: 50, vocabSize: 9, numTags: 3 };
  const own = settingsDiff({
    format: "bilstm-ner-model",
    version: 2,
    tagger,
    training: {
      seed: 42,
      data: { train: "my.conll", dev: null, format: "conll", tagScheme: "iob1" },
    },
  });
  assert.deepEqual(own, {
    "data.train": "my.conll",
    "data.format": "conll",
    "data.tagScheme": "iob1",
  });
  const bundled = settingsDiff({
    format: "bilstm-ner-model",
    version: 2,
    tagger,
    training: { seed: 42, data: null },
  });
  assert.deepEqual(bundled, {});
});

/** An `evaluation.json` as versions before file scores wrote it (only the split's record). */
const OLD_EVALUATION = new URL("./fixtures/runs_old_evaluation.json", import.meta.url);

/** A record of a test file of one's own, as `evaluation.json` keeps it under `tests`. */
function fileEvaluation(
  file: string,
  sha: string,
  f1: number,
  evaluatedAt: string,
  epoch = 4,
): RunFileEvaluation {
  return {
    file,
    name: file.split("/").at(-1)!,
    sha256: sha.repeat(64 / sha.length),
    checkpoint: `checkpoints/epoch-00${epoch}`,
    epoch,
    scheme: "strict",
    casing: "original",
    sentences: 150,
    entity: { precision: f1, recall: f1, f1, support: 300 },
    tokenAccuracy: 0.9,
    evaluatedAt,
  };
}

/** The v2 config of a run with the given tagger and training changes. */
function v2Config(epochsDone: number, tagger: Record<string, unknown>, training = {}) {
  return {
    format: "bilstm-ner-model",
    version: 2,
    tagger: v2Tagger(tagger),
    training: v2Training(epochsDone, training),
  };
}

/** The tagger settings of the accurate preset (lib/train/presets.ts), resolved. */
const ACCURATE_TAGGER = {
  modelType: "bilstm-crf",
  charFeatures: true,
  numChars: 70,
  dropout: 0.5,
};

/** The training settings of the accurate preset, resolved. */
const ACCURATE_TRAINING = {
  preset: "accurate",
  epochs: 40,
  patience: 4,
  learningRate: 0.01,
  learningRateDecay: 0.8,
};

Deno.test("runs shows a run's own files by base name instead of validationSplit=0, and a preset only when not the data's default", async () => {
  await withTempDir(async (root) => {
    await writeRun(`${root}/own-accurate`, {
      epoch: 6,
      pointerExtra: { best: { checkpoint: "checkpoints/epoch-004", epoch: 4, valF1: 0.61 } },
      config: v2Config(6, ACCURATE_TAGGER, {
        ...ACCURATE_TRAINING,
        validationSplit: 0,
        data: {
          train: "/data/mine/train.conll",
          dev: "/data/mine/dev.conll",
          format: "conll",
        },
      }),
      history: history([0.4, 0.5, 0.55, 0.61, 0.6, 0.59]),
    });
    await writeRun(`${root}/own-tutorial`, {
      epoch: 2,
      config: v2Config(2, { units: 50 }, {
        preset: "tutorial",
        patience: 0,
        data: { train: "mine/train.conll", dev: null },
      }),
      history: history([0.3, 0.2]),
    });
    await writeRun(`${root}/bundled-accurate`, {
      epoch: 3,
      pointerExtra: { best: { checkpoint: "checkpoints/epoch-003", epoch: 3, valF1: 0.8 } },
      config: v2Config(3, ACCURATE_TAGGER, { ...ACCURATE_TRAINING, learningRate: 0.005 }),
      history: history([0.7, 0.75, 0.8]),
    });
    await writeRun(`${root}/bundled-tutorial`, {
      epoch: 5,
      config: v2Config(5, {}, { preset: "tutorial", patience: 0, data: null }),
      history: history([0.5, 0.6, 0.6, 0.55, 0.58]),
    });
    const runs = Object.fromEntries((await listRuns(root)).map((run) => [run.dir, run]));
    assert.deepEqual(runs["own-accurate"].settings, {
      "data.train": "/data/mine/train.conll",
      "data.dev": "/data/mine/dev.conll",
      "data.format": "conll",
    }, "the accurate preset is the default for one's own data; its settings are not changes");
    assert.equal(runs["own-accurate"].bestEpoch, 4, "the pointer's best epoch");
    assert.equal(runs["own-accurate"].checkpointEpoch, 4);
    assert.equal(runs["own-accurate"].validationF1, 0.61);
    assert.deepEqual(runs["own-tutorial"].settings, {
      "data.train": "mine/train.conll",
      preset: "tutorial",
      units: 50,
    });
    assert.equal(runs["own-tutorial"].bestEpoch, 1, "an old run: the history's best epoch");
    assert.deepEqual(runs["bundled-accurate"].settings, {
      preset: "accurate",
      learningRate: 0.005,
    });
    assert.deepEqual(runs["bundled-tutorial"].settings, {});
    assert.equal(runs["bundled-tutorial"].bestEpoch, 2, "the earliest of equal F1s");

    const { result, logs } = await withCapturedConsole(() => runsCli(["--root", root]));
    assert.equal(result, 0);
    const row = (dir: string) => logs[0].split("\n").find((line) => line.startsWith(`${dir} `));
    assert.match(
      row("own-accurate") ?? "",
      /^own-accurate\s+train=train\.conll dev=dev\.conll format=conll\s+6\s+0\.6100\s+4\s+—$/,
    );
    assert.doesNotMatch(logs[0], /validationSplit|data\.|preset=accurate\s.*train=/);
    assert.match(row("own-tutorial") ?? "", /\strain=train\.conll preset=tutorial units=50\s/);
    assert.match(row("bundled-accurate") ?? "", /\spreset=accurate learningRate=0\.005\s+3\s/);
    assert.match(row("bundled-tutorial") ?? "", /\s\(defaults\)\s+5\s+0\.6000\s+2\s+—$/);

    const json = await withCapturedConsole(() => runsCli(["--root", root, "--json"]));
    const own = (JSON.parse(json.logs[0]) as Record<string, unknown>[])
      .find((run) => run.dir === "own-accurate");
    assert.deepEqual(own?.settings, runs["own-accurate"].settings, "JSON: the paths as recorded");
    assert.equal(own?.bestEpoch, 4);
  });
});

Deno.test("evaluation.json: the old layout still reads; file scores are keyed; runs shows the split's, else the latest file's", async () => {
  await withTempDir(async (root) => {
    const config = v2Config(4, {});
    await writeRun(`${root}/old`, { epoch: 5, config });
    await Deno.copyFile(OLD_EVALUATION, `${root}/old/evaluation.json`);
    const older = fileEvaluation("data/b.conll", "b", 0.51234, "2026-01-01T00:00:00.000Z", 3);
    const newer = fileEvaluation("/abs/tests/a.conll.gz", "a", 0.6, "2026-01-02T00:00:00.000Z");
    await writeRun(`${root}/files`, {
      epoch: 4,
      config,
      // written out of order: the latest evaluation is the one shown
      evaluation: { tests: { [newer.sha256]: newer, [older.sha256]: older } },
    });
    await writeRun(`${root}/both`, {
      epoch: 4,
      config,
      evaluation: { ...evaluation(0.7, 4), tests: { [newer.sha256]: newer } },
    });

    const old = await readRunEvaluation(`${root}/old`);
    assert.equal(old?.entity.f1, 0.8067523456);
    assert.equal(old?.epoch, 5);
    assert.deepEqual((await readRunEvaluations(`${root}/old`)).tests, []);
    assert.equal(await readRunEvaluation(`${root}/files`), null, "no split record");
    assert.deepEqual(
      (await readRunEvaluations(`${root}/files`)).tests.map((test) => test.file),
      ["data/b.conll", "/abs/tests/a.conll.gz"],
      "oldest first",
    );

    const runs = Object.fromEntries((await listRuns(root)).map((run) => [run.dir, run]));
    assert.equal(runs.old.error, undefined);
    assert.equal(runs.old.testF1, 0.8067523456);
    assert.equal(runs.old.testEpoch, 5);
    assert.equal(runs.old.testFile, null);
    assert.equal(runs.files.testF1, 0.6, "the latest file's score");
    assert.equal(runs.files.testEpoch, 4);
    assert.equal(runs.files.testFile, "/abs/tests/a.conll.gz");
    assert.deepEqual(runs.files.tests, [
      {
        file: "data/b.conll",
        name: "b.conll",
        sha256: older.sha256,
        f1: 0.51234,
        epoch: 3,
        evaluatedAt: older.evaluatedAt,
      },
      {
        file: "/abs/tests/a.conll.gz",
        name: "a.conll.gz",
        sha256: newer.sha256,
        f1: 0.6,
        epoch: 4,
        evaluatedAt: newer.evaluatedAt,
      },
    ]);
    assert.equal(runs.both.testF1, 0.7, "the tutorial split's score first");
    assert.equal(runs.both.testFile, null);
    assert.equal(runs.both.tests.length, 1);

    const { logs } = await withCapturedConsole(() => runsCli(["--root", root]));
    const row = (dir: string) => logs[0].split("\n").find((line) => line.startsWith(`${dir} `));
    assert.match(row("old") ?? "", /\s0\.8068$/);
    assert.match(row("files") ?? "", /\s0\.6000 \(a\.conll\.gz\)$/);
    assert.match(row("both") ?? "", /\s0\.7000$/);
    const json = await withCapturedConsole(() => runsCli(["--root", root, "--json"]));
    const files = (JSON.parse(json.logs[0]) as Record<string, unknown>[])
      .find((run) => run.dir === "files");
    assert.equal(files?.testF1, 0.6);
    assert.equal(files?.testFile, "/abs/tests/a.conll.gz");
    assert.deepEqual(files?.tests, [
      {
        file: "data/b.conll",
        name: "b.conll",
        sha256: older.sha256,
        f1: 0.5123,
        epoch: 3,
        evaluatedAt: older.evaluatedAt,
      },
      {
        file: "/abs/tests/a.conll.gz",
        name: "a.conll.gz",
        sha256: newer.sha256,
        f1: 0.6,
        epoch: 4,
        evaluatedAt: newer.evaluatedAt,
      },
    ], "F1 with 4 decimals in the JSON too");
  });
});

Deno.test("a malformed evaluation.json is named in the run's error, with the field", async () => {
  await withTempDir(async (root) => {
    const config = v2Config(1, { units: 8 });
    const good = fileEvaluation("a.conll", "a", 0.5, "2026-01-01T00:00:00.000Z");
    const cases: Record<string, unknown> = {
      "tests-array": { tests: [good] },
      "no-f1": { tests: { [good.sha256]: { ...good, entity: { f1: "high" } } } },
      "wrong-key": { tests: { ["b".repeat(64)]: good } },
      "not-an-object": [evaluation(0.5, 1)],
      "split-no-f1": { ...evaluation(0.5, 1), entity: {} },
    };
    for (const [dir, stored] of Object.entries(cases)) {
      await writeRun(`${root}/${dir}`, { epoch: 1, config, evaluation: stored });
    }
    const runs = Object.fromEntries((await listRuns(root)).map((run) => [run.dir, run]));
    const errorOf = (dir: string) => runs[dir].error ?? "";
    assert.match(errorOf("tests-array"), /tests-array\/evaluation\.json: "tests" is not an object/);
    assert.match(errorOf("no-f1"), /no-f1\/evaluation\.json: tests\["a+"\]\.entity\.f1/);
    assert.match(errorOf("wrong-key"), /wrong-key\/evaluation\.json: tests\["b+"\]\.sha256/);
    assert.match(errorOf("not-an-object"), /not-an-object\/evaluation\.json: not a JSON object/);
    assert.match(errorOf("split-no-f1"), /split-no-f1\/evaluation\.json: entity\.f1/);
    for (const run of Object.values(runs)) {
      assert.deepEqual(run.settings, { units: 8 }, "the rest still reads");
      assert.equal(run.testF1, null);
    }
  });
});

Deno.test("writeRunFileEvaluation replaces the same bytes' record and adds another file's; writeRunEvaluation keeps them", async () => {
  await withTempDir(async (root) => {
    const run = `${root}/run`;
    await writeRun(run, { epoch: 5, config: v2Config(5, {}) });
    await Deno.copyFile(OLD_EVALUATION, `${run}/evaluation.json`);
    const oldText = await Deno.readTextFile(OLD_EVALUATION);
    const stored = async () => JSON.parse(await Deno.readTextFile(`${run}/evaluation.json`));

    const first = fileEvaluation("a.conll", "a", 0.5, "2026-01-01T00:00:00.000Z");
    await writeRunFileEvaluation(run, first);
    const afterFirst = await stored();
    const { tests, ...split } = afterFirst;
    assert.deepEqual(split, JSON.parse(oldText), "the old split record is kept as it was");
    assert.deepEqual(tests, { [first.sha256]: first });

    const again = {
      ...first,
      file: "renamed.conll",
      name: "renamed.conll",
      entity: { ...first.entity, f1: 0.55 },
    };
    await writeRunFileEvaluation(run, again);
    assert.deepEqual((await stored()).tests, { [first.sha256]: again }, "same bytes: replaced");

    const other = fileEvaluation("b.conll", "b", 0.4, "2026-01-02T00:00:00.000Z");
    await writeRunFileEvaluation(run, other);
    assert.deepEqual(Object.keys((await stored()).tests), [first.sha256, other.sha256]);

    const split2 = {
      ...evaluation(0.9, 5),
      checkpoint: "checkpoints/epoch-005",
      casing: "original",
    };
    await writeRunEvaluation(run, split2 as Parameters<typeof writeRunEvaluation>[1]);
    const latest = await stored();
    assert.equal(latest.entity.f1, 0.9);
    assert.equal(latest.checkpoint, "checkpoints/epoch-005");
    assert.deepEqual(latest.tests, { [first.sha256]: again, [other.sha256]: other });
    const names = [];
    for await (const entry of Deno.readDir(run)) names.push(entry.name);
    assert.ok(!names.some((name) => name.endsWith(".tmp")), `no temporary file left: ${names}`);

    await assert.rejects(
      writeRunFileEvaluation(run, { ...other, sha256: "not-hex" }),
      /not a SHA-256/,
    );
    await Deno.writeTextFile(`${run}/evaluation.json`, "{broken");
    await assert.rejects(
      writeRunFileEvaluation(run, other),
      /run\/evaluation\.json: not valid JSON/,
    );
    await assert.rejects(
      writeRunEvaluation(run, split2 as Parameters<typeof writeRunEvaluation>[1]),
      /evaluation\.json/,
    );
    assert.equal(await Deno.readTextFile(`${run}/evaluation.json`), "{broken", "left as it was");
  });
});

Deno.test("evaluate --test FILE on a run of one's own records a keyed score that runs shows", async () => {
  await initBackend({ backend: "wasm" });
  await withTempDir(async (root) => {
    const files = `${root}/files`;
    await Deno.mkdir(files);
    const write = (name: string, count: number, seed: number) =>
      Deno.writeTextFile(`${files}/${name}`, toConll(syntheticSentences(count, seed)));
    await write("train.conll", 60, 3);
    await write("dev.conll", 16, 4);
    await write("test.conll", 24, 5);
    await write("other.conll", 12, 6);
    const out = `${root}/runs/mine`;
    const trained = await train({
      config: {
        preset: "tutorial",
        epochs: 3,
        batchSize: 8,
        maxLen: 12,
        seed: 5,
        learningRate: 0.05,
        data: { train: `${files}/train.conll`, dev: `${files}/dev.conll` },
        model: { embeddingDim: 8, units: 6 },
      },
      out,
      progress: null,
    });
    trained.tagger.dispose();
    const pointer = await readPointer(out);
    const model = pointer?.best ?? { checkpoint: pointer?.latest, epoch: 3 };
    const [before] = await listRuns(`${root}/runs`);
    assert.equal(before.error, undefined);
    assert.equal(before.settings["data.dev"], `${files}/dev.conll`);
    assert.equal(before.settings.preset, "tutorial");
    assert.ok(!("validationSplit" in before.settings), "dev= instead of validationSplit=0");
    assert.equal(before.bestEpoch, pointer?.best?.epoch ?? null);

    const evaluate = (args: string[]) =>
      withCapturedConsole(() => evaluateCli(["--model", out, "--threads", "1", "--json", ...args]));
    const stored = async () => JSON.parse(await Deno.readTextFile(`${out}/evaluation.json`));
    const test = `${files}/test.conll`;
    const sha = await fileSha256(test);
    assert.match(sha, /^[0-9a-f]{64}$/);

    const limited = await evaluate(["--test", test, "--limit", "5"]);
    assert.equal(limited.result, 0, limited.errors.join("\n"));
    assert.ok(limited.errors.some((line) => /evaluation\.json not updated/.test(line)));
    await assert.rejects(Deno.stat(`${out}/evaluation.json`), Deno.errors.NotFound);

    const first = await evaluate(["--test", test]);
    assert.equal(first.result, 0, first.errors.join("\n"));
    const scores = JSON.parse(first.logs[0]);
    const once = await stored();
    assert.deepEqual(Object.keys(once), ["tests"], "no tutorial split record");
    assert.deepEqual(Object.keys(once.tests), [sha]);
    const entry = once.tests[sha];
    assert.equal(entry.file, test, "the path as given");
    assert.equal(entry.name, "test.conll");
    assert.equal(entry.sha256, sha);
    assert.equal(entry.checkpoint, model.checkpoint);
    assert.equal(entry.epoch, model.epoch);
    assert.equal(entry.scheme, "strict");
    assert.equal(entry.casing, "original");
    assert.equal(entry.sentences, 24);
    assert.equal(entry.sentences, scores.sentences);
    assert.deepEqual(entry.entity, {
      precision: scores.entity.precision,
      recall: scores.entity.recall,
      f1: scores.entity.f1,
      support: scores.entity.support,
    });
    assert.equal(entry.tokenAccuracy, scores.tokenAccuracy);
    assert.ok(scores.entity.f1 > 0, `a score worth recording: ${scores.entity.f1}`);

    const listed = await withCapturedConsole(() => runsCli(["--root", `${root}/runs`]));
    const row = listed.logs[0].split("\n").find((line) => line.startsWith("mine "));
    assert.match(
      row ?? "",
      /\strain=train\.conll dev=dev\.conll format=conll tagScheme=iob2 preset=tutorial maxLen=12 /,
      "the files by base name, how they were read, the preset: not the default for one's own data",
    );
    assert.match(row ?? "", new RegExp(`\\s${scores.entity.f1.toFixed(4)} \\(test\\.conll\\)$`));

    // The same file again, then the same bytes under another name: one record, replaced.
    assert.equal((await evaluate(["--test", test])).result, 0);
    assert.deepEqual(Object.keys((await stored()).tests), [sha]);
    assert.ok((await stored()).tests[sha].evaluatedAt >= entry.evaluatedAt);
    const renamed = `${root}/renamed.conll`;
    await Deno.copyFile(test, renamed);
    assert.equal((await evaluate(["--test", renamed])).result, 0);
    const moved = await stored();
    assert.deepEqual(Object.keys(moved.tests), [sha]);
    assert.equal(moved.tests[sha].file, renamed);
    assert.equal(moved.tests[sha].name, "renamed.conll");

    // Another file adds a record; runs shows the latest.
    const other = `${files}/other.conll`;
    const second = await evaluate(["--test", other]);
    assert.equal(second.result, 0, second.errors.join("\n"));
    const otherF1 = JSON.parse(second.logs[0]).entity.f1;
    assert.deepEqual(Object.keys((await stored()).tests), [sha, await fileSha256(other)]);
    const json = await withCapturedConsole(() => runsCli(["--root", `${root}/runs`, "--json"]));
    const [run] = JSON.parse(json.logs[0]);
    assert.equal(run.testFile, other);
    assert.equal(run.testF1, Math.round(otherF1 * 10_000) / 10_000);
    assert.equal(run.testEpoch, model.epoch);
    assert.deepEqual(
      run.tests.map((test: { name: string; sha256: string }) => [test.name, test.sha256]),
      [["renamed.conll", sha], ["other.conll", await fileSha256(other)]],
    );
  });
});
