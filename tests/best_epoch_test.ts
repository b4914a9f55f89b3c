/**
 * Early stopping and the best epoch (issue 26): a run keeps the checkpoint of its best
 * validation entity F1 beside the latest, `checkpoint.json` names both, loading a run folder
 * gives the best one unless asked for the last, `--resume` continues from the last, and
 * `patience` stops a run by itself. Presets fill in what a config leaves out.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { loadModelFolder } from "../lib/io/ensemble_folder.ts";
import { disposeLoadedModel } from "../lib/io/ensemble_folder.ts";
import { bestEpochOf, readPointer } from "../lib/train/checkpoint.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { PRESETS } from "../lib/train/presets.ts";
import { train } from "../lib/train/train.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm", threads: 1 });

const TINY = {
  batchSize: 8,
  maxLen: 12,
  seed: 5,
  learningRate: 0.02,
  model: { embeddingDim: 8, units: 8 },
};

Deno.test("presets: tutorial on the bundled corpus, accurate with your own file; given settings win", () => {
  const bundled = resolveTrainConfig({});
  assert.equal(bundled.preset, "tutorial");
  assert.equal(bundled.epochs, 5);
  assert.equal(bundled.patience, 0);
  assert.equal(bundled.learningRate, 0.001);
  assert.deepEqual(bundled.model, {});

  const own = resolveTrainConfig({ data: { train: "my.conll" } });
  assert.equal(own.preset, "accurate");
  assert.equal(own.epochs, PRESETS.accurate.train.epochs);
  assert.equal(own.patience, PRESETS.accurate.train.patience);
  assert.equal(own.learningRate, PRESETS.accurate.train.learningRate);
  assert.equal(own.model.modelType, "bilstm-crf");
  assert.equal(own.model.charFeatures, true);

  const tutorialOnOwn = resolveTrainConfig({ preset: "tutorial", data: { train: "my.conll" } });
  assert.equal(tutorialOnOwn.learningRate, 0.001);
  assert.deepEqual(tutorialOnOwn.model, {});

  const overridden = resolveTrainConfig({
    data: { train: "my.conll" },
    learningRate: 0.002,
    model: { modelType: "bilstm", units: 50 },
  });
  assert.equal(overridden.preset, "accurate");
  assert.equal(overridden.learningRate, 0.002);
  assert.equal(overridden.model.modelType, "bilstm");
  assert.equal(overridden.model.units, 50);
  assert.equal(overridden.model.charFeatures, true, "the preset's other model settings stay");

  assert.throws(
    () => resolveTrainConfig({ preset: "fast" as "tutorial" }),
    /preset must be one of tutorial, accurate, got "fast"/,
  );
  assert.throws(() => resolveTrainConfig({ patience: -1 }), /patience must be an integer >= 0/);
  assert.throws(() => resolveTrainConfig({ patience: 1.5 }), /patience must be an integer >= 0/);
});

Deno.test("bestEpochOf: the earliest epoch of the highest finite validation F1, null without any", () => {
  const history = (valF1: number[]) => ({
    epoch: valF1.map((_, index) => index + 1),
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    valF1,
    seconds: [],
    msPerStep: [],
    numTensors: [],
  });
  assert.deepEqual(bestEpochOf(history([0.1, 0.5, 0.5, 0.4])), { epoch: 2, valF1: 0.5 });
  assert.deepEqual(bestEpochOf(history([NaN, NaN])), null);
  assert.deepEqual(bestEpochOf(history([0, 0])), { epoch: 1, valF1: 0 });
});

Deno.test("patience stops a run by itself; the best epoch's checkpoint is the run's model", async () => {
  await withTempDir(async (out) => {
    const sentences = syntheticSentences(240, 7);
    const result = await train({
      trainSentences: sentences.slice(0, 200),
      devSentences: sentences.slice(200),
      config: { ...TINY, epochs: 40, patience: 2 },
      out,
      progress: null,
    });
    try {
      const { history } = result;
      const epochsRun = history.epoch.length;
      assert.ok(result.stoppedEarlyAfter !== null, "the run stopped by itself");
      assert.equal(result.stoppedEarlyAfter, epochsRun);
      assert.ok(epochsRun < 40, `stopped before its maximum: ${epochsRun} epochs`);
      const best = bestEpochOf(history)!;
      assert.deepEqual(result.bestEpoch, best);
      assert.equal(epochsRun - best.epoch, 2, "stopped exactly `patience` epochs after the best");
      assert.ok(history.valF1!.slice(best.epoch).every((value) => value <= best.valF1));

      const pointer = (await readPointer(out))!;
      assert.equal(pointer.epoch, epochsRun);
      assert.equal(pointer.best?.epoch, best.epoch);
      assert.equal(pointer.best?.valF1, best.valF1);
      const kept = [];
      for await (const entry of Deno.readDir(`${out}/checkpoints`)) kept.push(entry.name);
      assert.deepEqual(
        kept.sort(),
        [pointer.best!.checkpoint, pointer.latest].map((path) => path.split("/")[1]).sort(),
        "the best and the latest checkpoints are kept, no others",
      );

      const loadedBest = await loadModelFolder(out);
      const loadedLast = await loadModelFolder(out, { checkpoint: "last" });
      try {
        assert.equal(loadedBest.members[0].config.training?.epochsDone, best.epoch);
        assert.equal(loadedLast.members[0].config.training?.epochsDone, epochsRun);
      } finally {
        disposeLoadedModel(loadedBest);
        disposeLoadedModel(loadedLast);
      }

      // Resuming continues from the last checkpoint: with a higher patience it trains on.
      const resumed = await train({
        trainSentences: sentences.slice(0, 200),
        devSentences: sentences.slice(200),
        config: { ...TINY, epochs: epochsRun + 1, patience: 10 },
        out,
        resume: true,
        progress: null,
      });
      try {
        assert.equal(resumed.resumedFromEpoch, epochsRun);
        assert.equal(resumed.history.epoch.length, epochsRun + 1);
        assert.deepEqual(
          resumed.history.valF1!.slice(0, epochsRun),
          history.valF1,
          "the resumed run keeps the history it continues",
        );
        const after = (await readPointer(out))!;
        assert.equal(after.best?.epoch, bestEpochOf(resumed.history)!.epoch);
      } finally {
        resumed.tagger.dispose();
      }
    } finally {
      result.tagger.dispose();
    }
  });
});

Deno.test("a run without validation keeps no best: its model is the last epoch", async () => {
  await withTempDir(async (out) => {
    const result = await train({
      trainSentences: syntheticSentences(60, 9),
      config: { ...TINY, epochs: 2, validationSplit: 0, patience: 1 },
      out,
      progress: null,
    });
    try {
      assert.equal(result.bestEpoch, null);
      assert.equal(result.stoppedEarlyAfter, null, "no validation F1: nothing to stop on");
      assert.equal(result.history.epoch.length, 2);
      const pointer = (await readPointer(out))!;
      assert.equal(pointer.best, undefined);
      const loaded = await loadModelFolder(out);
      try {
        assert.equal(loaded.members[0].config.training?.epochsDone, 2);
      } finally {
        disposeLoadedModel(loaded);
      }
    } finally {
      result.tagger.dispose();
    }
  });
});

Deno.test("a validation F1 of 0 after two epochs warns, naming what to try", async () => {
  await withTempDir(async (out) => {
    const lines: string[] = [];
    const sentences = syntheticSentences(80, 4);
    const result = await train({
      trainSentences: sentences.slice(0, 60),
      devSentences: sentences.slice(60),
      // A rate so small that nothing is learned in two epochs.
      config: { ...TINY, epochs: 2, learningRate: 1e-6 },
      out,
      progress: (text) => lines.push(text),
    });
    try {
      assert.deepEqual(result.history.valF1, [0, 0]);
      const warning = lines.find((line) => line.startsWith("warning: validation entity F1"));
      assert.ok(warning, lines.join(""));
      assert.match(warning, /still 0 after 2 epochs/);
      assert.match(warning, /--learning-rate 0\.01/);
    } finally {
      result.tagger.dispose();
    }
  });
});
