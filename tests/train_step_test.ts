/**
 * `createTrainer`: learns a fixed batch for both BiLSTM kinds, fast and stock give the same
 * trajectory, the loss equals the masked cross-entropy of `tagger.model.predict`, dropout is
 * reproducible by seed, optimiser state resumes exactly, and no tensors leak.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { Tagger } from "../lib/model/tagger.ts";
import type { TaggerOptions } from "../lib/model/config.ts";
import { createTrainer, trimmedLength } from "../lib/train/trainer.ts";
import { seededRandom } from "../lib/data/random.ts";

const MAX_LEN = 8;
const BATCH = 4;
const SMALL: TaggerOptions = {
  vocabSize: 40,
  numTags: 6,
  maxLen: MAX_LEN,
  embeddingDim: 6,
  units: 5,
  recurrentDropout: 0,
  seed: 3,
};

/** A post-padded batch: ids in [2, vocab), tags in [1, numTags), PAD (0) after each length. */
function batch(seed: number) {
  const random = seededRandom(seed);
  const n = BATCH * MAX_LEN;
  const wordIds = new Int32Array(n);
  const tagIds = new Int32Array(n);
  const mask = new Float32Array(n);
  for (let b = 0; b < BATCH; b++) {
    const length = 3 + Math.floor(random() * (MAX_LEN - 2));
    for (let t = 0; t < length; t++) {
      const i = b * MAX_LEN + t;
      wordIds[i] = 2 + Math.floor(random() * 38);
      tagIds[i] = 1 + (wordIds[i] % 5);
      mask[i] = 1;
    }
  }
  return { wordIds, tagIds, mask };
}

for (const layer of ["fast", "stock"] as const) {
  Deno.test(`trainer (${layer}) learns a batch and leaks no tensors`, async () => {
    await initBackend();
    const tagger = new Tagger({ ...SMALL, layer, recurrentDropout: 0.1 });
    const trainer = createTrainer(tagger, { learningRate: 0.05, seed: 1 });
    const { wordIds, tagIds, mask } = batch(1);
    const losses: number[] = [];
    let tensorsAfterStep2 = -1;
    for (let step = 1; step <= 10; step++) {
      const { loss, accuracy } = trainer.trainBatch(wordIds, tagIds, mask, BATCH);
      assert.ok(Number.isFinite(loss) && accuracy >= 0 && accuracy <= 1);
      losses.push(loss);
      if (step === 2) tensorsAfterStep2 = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensorsAfterStep2, "tensors leaked between steps");
    assert.ok(losses[9] < losses[0] * 0.7, `loss should fall: ${losses[0]} -> ${losses[9]}`);
    const evaluated = trainer.evaluateBatch(wordIds, tagIds, mask, BATCH);
    assert.ok(evaluated.accuracy > 0.5, `accuracy ${evaluated.accuracy}`);
    assert.equal(tf.memory().numTensors, tensorsAfterStep2, "evaluateBatch leaked");
    tagger.dispose();
  });
}

Deno.test("trainer: fast and stock taggers follow the same loss trajectory", async () => {
  await initBackend();
  const taggers = [
    new Tagger({ ...SMALL, layer: "fast" }),
    new Tagger({ ...SMALL, layer: "stock" }),
  ];
  const [fast, stock] = taggers.map((tagger) => createTrainer(tagger, { learningRate: 0.01 }));
  for (let step = 0; step < 4; step++) {
    const { wordIds, tagIds, mask } = batch(10 + step);
    const a = fast.trainBatch(wordIds, tagIds, mask, BATCH);
    const b = stock.trainBatch(wordIds, tagIds, mask, BATCH);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `step ${step}: ${a.loss} vs ${b.loss}`);
    assert.equal(a.accuracy, b.accuracy);
  }
  taggers.forEach((tagger) => tagger.dispose());
});

Deno.test("trainer: evaluateBatch is the masked cross-entropy of tagger.model.predict", async () => {
  await initBackend();
  const tagger = new Tagger({ ...SMALL, numTags: 6 });
  const trainer = createTrainer(tagger);
  const { wordIds, tagIds, mask } = batch(5);
  const { loss, accuracy } = trainer.evaluateBatch(wordIds, tagIds, mask, BATCH);
  const probs = tf.tidy(() =>
    (tagger.model.predict(tf.tensor2d(wordIds, [BATCH, MAX_LEN], "int32")) as tf.Tensor)
      .dataSync()
  );
  let sum = 0;
  let hits = 0;
  let real = 0;
  for (let i = 0; i < BATCH * MAX_LEN; i++) {
    if (mask[i] === 0) continue;
    const row = Array.from(probs.subarray(i * 6, i * 6 + 6));
    sum -= Math.log(row[tagIds[i]]);
    hits += row.indexOf(Math.max(...row)) === tagIds[i] ? 1 : 0;
    real++;
  }
  assert.ok(Math.abs(loss - sum / real) < 1e-5, `${loss} vs ${sum / real}`);
  assert.ok(Math.abs(accuracy - hits / real) < 1e-6);
  tagger.dispose();
});

Deno.test("trainer: dropout is reproducible by seed", async () => {
  await initBackend();
  const run = (seed: number) => {
    const tagger = new Tagger({ ...SMALL, recurrentDropout: 0.3 });
    const trainer = createTrainer(tagger, { seed });
    const { wordIds, tagIds, mask } = batch(7);
    const losses = [0, 1, 2].map(() => trainer.trainBatch(wordIds, tagIds, mask, BATCH).loss);
    tagger.dispose();
    return losses;
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
});

Deno.test("trainer: getState/setState resumes training exactly", async () => {
  await initBackend();
  const taggerA = new Tagger(SMALL);
  const trainerA = createTrainer(taggerA, { learningRate: 0.02 });
  for (let s = 0; s < 3; s++) {
    const { wordIds, tagIds, mask } = batch(20 + s);
    trainerA.trainBatch(wordIds, tagIds, mask, BATCH);
  }
  const taggerB = new Tagger({ ...SMALL, seed: 99 });
  const weights = taggerA.model.getWeights().map((w) => w.clone());
  taggerB.model.setWeights(weights);
  tf.dispose(weights);
  const trainerB = createTrainer(taggerB, { learningRate: 0.02 });
  trainerB.setState(trainerA.getState());
  for (let s = 3; s < 5; s++) {
    const { wordIds, tagIds, mask } = batch(20 + s);
    const a = trainerA.trainBatch(wordIds, tagIds, mask, BATCH);
    const b = trainerB.trainBatch(wordIds, tagIds, mask, BATCH);
    assert.equal(a.loss, b.loss);
  }
  taggerA.dispose();
  taggerB.dispose();
});

Deno.test("trainer: updated weights are what the model's matMuls use (no stale packed weights)", async () => {
  await initBackend();
  const trained = new Tagger(SMALL);
  const trainer = createTrainer(trained, { learningRate: 0.05 });
  const { wordIds, tagIds, mask } = batch(30);
  for (let s = 0; s < 3; s++) trainer.trainBatch(wordIds, tagIds, mask, BATCH);
  // A fresh model holding copies of the trained weights must predict exactly the same.
  const copy = new Tagger({ ...SMALL, seed: 77 });
  const weights = trained.model.getWeights().map((w) => tf.add(w, 0));
  copy.model.setWeights(weights);
  tf.dispose(weights);
  const x = tf.tensor2d(wordIds, [BATCH, MAX_LEN], "int32");
  const [a, b] = [trained.model.predict(x) as tf.Tensor, copy.model.predict(x) as tf.Tensor];
  assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
  tf.dispose([x, a, b]);
  trained.dispose();
  copy.dispose();
});

/** A batch whose sentences are all at most `longest` tokens (so trimming has work to do). */
function shortBatch(seed: number, longest: number) {
  const b = batch(seed);
  for (let row = 0; row < BATCH; row++) {
    for (let t = longest; t < MAX_LEN; t++) {
      const i = row * MAX_LEN + t;
      b.wordIds[i] = 0;
      b.tagIds[i] = 0;
      b.mask[i] = 0;
    }
  }
  return b;
}

Deno.test("trimmedLength: one past the last non-padding position of any row", () => {
  const ids = new Int32Array([5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0]);
  assert.equal(trimmedLength(ids, null, 3, 4), 3);
  assert.equal(trimmedLength(new Int32Array(8), null, 2, 4), 1);
  const mask = new Float32Array(12);
  mask[11] = 1;
  assert.equal(trimmedLength(ids, mask, 3, 4), 4);
});

for (const layer of ["fast", "stock"] as const) {
  Deno.test(`trainer (${layer}): trimming padding changes neither losses nor updates`, async () => {
    await initBackend();
    const run = (trimPadding: boolean) => {
      const tagger = new Tagger({ ...SMALL, layer, recurrentDropout: 0.2 });
      const trainer = createTrainer(tagger, { learningRate: 0.01, seed: 4, trimPadding });
      const metrics = [];
      for (let step = 0; step < 3; step++) {
        const { wordIds, tagIds, mask } = shortBatch(40 + step, 5);
        metrics.push(trainer.trainBatch(wordIds, tagIds, mask, BATCH));
      }
      const { wordIds, tagIds, mask } = shortBatch(50, 4);
      metrics.push(trainer.evaluateBatch(wordIds, tagIds, mask, BATCH));
      const weights = tagger.model.getWeights().map((w) => w.dataSync().slice());
      tagger.dispose();
      return { metrics, weights };
    };
    const trimmed = run(true);
    const full = run(false);
    trimmed.metrics.forEach((m, i) => {
      assert.ok(
        Math.abs(m.loss - full.metrics[i].loss) < 1e-5,
        `${m.loss} vs ${full.metrics[i].loss}`,
      );
      assert.equal(m.accuracy, full.metrics[i].accuracy);
    });
    let worst = 0;
    trimmed.weights.forEach((w, k) => {
      w.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - full.weights[k][i]))));
    });
    assert.ok(worst < 1e-5, `weights differ by ${worst}`);
    // The updates were real: the weights moved away from the initial ones.
    const initial = new Tagger({ ...SMALL, layer });
    const moved = initial.model.getWeights().some((w, k) =>
      w.dataSync().some((v, i) => Math.abs(v - trimmed.weights[k][i]) > 1e-4)
    );
    initial.dispose();
    assert.ok(moved);
  });
}
