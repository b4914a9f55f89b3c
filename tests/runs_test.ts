import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { CHECKPOINT_POINTER, listRuns, settingsDiff } from "../lib/io/mod.ts";
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
  ) as { tasks: Record<string, string> };
  const task = config.tasks.runs;
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
    assert.equal(chars.error, undefined);

    assert.deepEqual(nulls.settings, {});
    assert.equal(nulls.validationF1, null, "all-null valF1 (nothing held out)");
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

Deno.test("deno task runs --json prints one array of {dir, settings, epochs, validationF1, testF1}", async () => {
  await withTempDir(async (root) => {
    await writeRoot(root);
    const { result, logs, errors } = await withCapturedConsole(() =>
      runsCli(["--root", root, "--json"])
    );
    assert.equal(result, 0, errors.join("\n"));
    assert.equal(logs.length, 1);
    const runs = JSON.parse(logs[0]) as Record<string, unknown>[];
    assert.ok(Array.isArray(runs));
    assert.deepEqual(runs.map((run) => Object.keys(run)), [
      ["dir", "settings", "epochs", "validationF1", "testF1"],
      ["dir", "settings", "epochs", "validationF1", "testF1"],
      ["dir", "settings", "epochs", "validationF1", "testF1"],
      ["dir", "settings", "epochs", "validationF1", "testF1"],
      ["dir", "settings", "epochs", "validationF1", "testF1", "error"],
    ]);
    assert.deepEqual(runs[1], {
      dir: "b-crf",
      settings: { units: 64, modelType: "bilstm-crf", seed: 7, learningRate: 0.002, limit: 400 },
      epochs: 3,
      validationF1: 0.72,
      testF1: 0.7,
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
    assert.match(lines[2], /^run\s+settings\s+epochs\s+best val F1\s+test F1$/);
    const row = (dir: string) => lines.find((line) => line.startsWith(`${dir} `)) ?? "";
    assert.match(
      row("b-crf"),
      /^b-crf\s+units=64 modelType=bilstm-crf limit=400 seed=7 learningRate=0\.002\s+3\s+72\.00%\s+70\.00%$/,
    );
    assert.match(row("a-v1"), /maxLen=40 units=32 .*\s+2\s+—\s+—$/);
    assert.match(row("d-nulls"), /\(defaults\)\s+2\s+—\s+40\.00% \(epoch 1\)$/, "a stale test F1");
    assert.match(row("e-corrupt"), /\(unreadable\)/);
    assert.match(logs[0], /\nerror: e-corrupt: .*e-corrupt\/history\.json: not valid JSON/);
    const usage = await withCapturedConsole(() => runsCli(["--colour"]));
    assert.equal(usage.result, 2);
    assert.match(usage.errors[0], /unknown flag --colour[\s\S]*usage: deno task runs/);
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
      "entity",
      "epoch",
      "evaluatedAt",
      "scheme",
      "split",
      "tokenAccuracy",
    ]);
    assert.equal(stored.split, "test");
    assert.equal(stored.epoch, 2);
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
    assert.equal(after.testEpoch, 2);

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
