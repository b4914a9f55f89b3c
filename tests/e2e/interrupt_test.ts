/**
 * Stopping training at a step boundary (Ctrl-C / Jupyter's Interrupt / an AbortSignal) writes a
 * mid-epoch checkpoint, and resuming from it reaches exactly the uninterrupted run's weights and
 * history, whatever step it stopped at and whatever dropout the tagger uses.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { train, type TrainConfig } from "../../lib/train/mod.ts";
import { syntheticSentences } from "../fixtures/synthetic_corpus.ts";
import { weightsOf } from "../fixtures/resume.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";

await initBackend({ backend: "wasm" });

const SENTENCES = syntheticSentences(60);

/** Trains straight, then trains again stopping at `stopAt` (epoch, step) and resumes. */
async function stopAndResume(config: TrainConfig, stopAt: { epoch: number; step: number }) {
  return await withTempDir(async (directory) => {
    const straight = await train({
      trainSentences: SENTENCES,
      config,
      out: `${directory}/straight`,
      progress: null,
    });
    const controller = new AbortController();
    const out = `${directory}/stopped`;
    const stopped = await train({
      trainSentences: SENTENCES,
      config,
      out,
      progress: null,
      signal: controller.signal,
      onStep: (epoch, step) => {
        if (epoch === stopAt.epoch && step === stopAt.step) controller.abort();
      },
    });
    const pointer = JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`));
    const resumed = await train({
      trainSentences: SENTENCES,
      config,
      out,
      resume: true,
      progress: null,
    });
    return { straight, stopped, resumed, pointer };
  });
}

const CASES: { name: string; config: TrainConfig; stopAt: { epoch: number; step: number } }[] = [
  {
    name: "softmax, stopped in epoch 1",
    config: { epochs: 2, batchSize: 8, maxLen: 10, seed: 5, model: { embeddingDim: 8, units: 6 } },
    stopAt: { epoch: 1, step: 2 },
  },
  {
    name: "CRF + chars + both dropouts, stopped in epoch 2",
    config: {
      epochs: 3,
      batchSize: 8,
      maxLen: 10,
      seed: 9,
      learningRate: 0.01,
      model: {
        embeddingDim: 8,
        units: 6,
        modelType: "bilstm-crf",
        charFeatures: true,
        charFilters: 5,
        dropout: 0.5,
        outputDropout: 0.3,
      },
    },
    stopAt: { epoch: 2, step: 3 },
  },
  {
    name: "stock BiLSTM with recurrent dropout, stopped in epoch 2",
    config: {
      epochs: 2,
      batchSize: 8,
      maxLen: 10,
      seed: 3,
      model: { embeddingDim: 8, units: 6, layer: "stock", recurrentDropout: 0.2 },
    },
    stopAt: { epoch: 2, step: 1 },
  },
];

for (const { name, config, stopAt } of CASES) {
  Deno.test(`a stopped run resumes to the uninterrupted weights: ${name}`, async () => {
    const { straight, stopped, resumed, pointer } = await stopAndResume(config, stopAt);
    assert.deepEqual(stopped.interrupted, { ...stopAt, reason: "abort" });
    assert.equal(
      stopped.history.epoch.length,
      stopAt.epoch - 1,
      "the stopped epoch is not recorded",
    );
    assert.deepEqual(pointer.partial, stopAt, "checkpoint.json points at the mid-epoch checkpoint");
    assert.equal(pointer.epoch, stopAt.epoch - 1);
    assert.equal(resumed.interrupted, null);
    assert.deepEqual(resumed.history.loss, straight.history.loss);
    assert.deepEqual(resumed.history.valF1, straight.history.valF1);
    assert.deepEqual(weightsOf(resumed.tagger), weightsOf(straight.tagger));
    for (const result of [straight, stopped, resumed]) result.tagger.dispose();
  });
}

Deno.test("the history records validation entity F1 per epoch, null-free when a tail is held out", async () => {
  await withTempDir(async (out) => {
    const result = await train({
      trainSentences: SENTENCES,
      config: {
        epochs: 2,
        batchSize: 8,
        maxLen: 10,
        seed: 5,
        model: { embeddingDim: 8, units: 6 },
      },
      out,
      progress: null,
    });
    assert.equal(result.history.valF1.length, 2);
    for (const f1 of result.history.valF1) assert.ok(f1 >= 0 && f1 <= 1, `valF1 ${f1}`);
    const saved = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    assert.deepEqual(saved.valF1, result.history.valF1);
    result.tagger.dispose();
  });
});
