/**
 * `tagScores` (the tagger's forward pass) against `tagger.model.predict`, and `predictWordIds`
 * with length bucketing against per-row `tagger.model.predict` results, for fast and stock
 * BiLSTM taggers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { tagScores } from "../lib/predict/inference.ts";
import { Tagger } from "../lib/model/tagger.ts";
import type { TaggerOptions } from "../lib/model/config.ts";
import type { MappedTagger } from "../lib/model/mapped.ts";
import { FastBiLSTM } from "../lib/model/bilstm/mod.ts";
import { argmaxDecoder, planWindows, predictWordIds } from "../lib/predict/predict.ts";
import { seededRandom } from "../lib/data/random.ts";
import type { Vocab } from "../lib/data/vocab.ts";

const MAX_LEN = 8;
const NUM_TAGS = 6;
const SMALL: TaggerOptions = {
  vocabSize: 30,
  numTags: NUM_TAGS,
  maxLen: MAX_LEN,
  embeddingDim: 5,
  units: 4,
  seed: 11,
};

/** A tagger whose biases are non-zero, so every weight matters. */
function model(config: Partial<TaggerOptions> = {}): Tagger {
  const m = new Tagger({ ...SMALL, ...config });
  const weights = m.model.getWeights().map((w, i) =>
    w.rank === 1 ? tf.randomNormal(w.shape, 0, 0.5, "float32", 100 + i) : tf.mul(w, 2)
  );
  m.model.setWeights(weights);
  tf.dispose(weights);
  return m;
}

/** `tagger.model.predict` on rows padded to MAX_LEN with PAD (0). */
function predictRows(m: Tagger, rows: number[][]): Float32Array {
  const ids = new Int32Array(rows.length * MAX_LEN);
  rows.forEach((row, r) => ids.set(row, r * MAX_LEN));
  return tf.tidy(() =>
    (m.model.predict(tf.tensor2d(ids, [rows.length, MAX_LEN], "int32")) as tf.Tensor).dataSync()
  ) as Float32Array;
}

function randomRows(seed: number, count: number, longest: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const length = Math.floor(random() * (longest + 1));
    return Array.from({ length }, () => 1 + Math.floor(random() * (SMALL.vocabSize - 1)));
  });
}

for (const layer of ["fast", "stock"] as const) {
  Deno.test(`tagScores equals model.predict on real tokens (${layer})`, async () => {
    await initBackend();
    const m = model({ layer });
    // Was `hasFastPath(m) === (layer === "fast")`: there is one path now, through the tagger's
    // BiLSTM layer of the kind asked for (ours for "fast", tfjs-layers' for "stock").
    assert.equal(m.config.layer, layer);
    assert.equal(m.parts.biLstms.length, 1);
    assert.equal(m.parts.biLstms[0] instanceof FastBiLSTM, layer === "fast");
    // The first stock predict creates lasting layer state; warm up before counting tensors.
    tagScores(m, new Int32Array([2]), [1], 1);
    for (const [seed, longest] of [[1, 5], [2, MAX_LEN], [3, 1]]) {
      const rows = randomRows(seed, 7, longest);
      const rowLength = Math.max(1, ...rows.map((r) => r.length));
      const ids = new Int32Array(rows.length * rowLength).fill(0);
      // Garbage after each row's length must be ignored.
      rows.forEach((row, r) => {
        ids.fill(3, r * rowLength, (r + 1) * rowLength);
        ids.set(row, r * rowLength);
      });
      const before = tf.memory().numTensors;
      const out = tagScores(m, ids, rows.map((r) => r.length), rows.length);
      assert.equal(tf.memory().numTensors, before, "tagScores leaked tensors");
      // Was `out.fast === (layer === "fast")` and `time` MAX_LEN for stock: `TagScores.fast` is
      // gone, and every masking tagger (stock too) now computes only up to the longest row.
      assert.equal(out.output, "probabilities");
      assert.equal(out.numTags, NUM_TAGS);
      const longestRow = Math.max(...rows.map((r) => r.length));
      assert.equal(out.time, Math.max(1, longestRow));
      const expected = predictRows(m, rows);
      let worst = 0;
      let compared = 0;
      rows.forEach((row, r) => {
        for (let t = 0; t < row.length; t++) {
          for (let k = 0; k < NUM_TAGS; k++) {
            const a = out.scores[(r * out.time + t) * NUM_TAGS + k];
            const b = expected[(r * MAX_LEN + t) * NUM_TAGS + k];
            worst = Math.max(worst, Math.abs(a - b));
            compared++;
          }
        }
      });
      assert.ok(compared > 0);
      assert.ok(worst < 1e-5, `seed ${seed}: max difference ${worst}`);
    }
    m.dispose();
  });
}

Deno.test("tagScores: a tagger without padding mask computes all maxLen steps", async () => {
  await initBackend();
  const m = model({ maskPadding: false });
  // Was `hasFastPath(m) === false` and `out.fast === false` (the "generic path"): one path now;
  // what set it apart is that it does not mask padding, so it runs all maxLen steps.
  assert.equal(m.config.maskPadding, false);
  const out = tagScores(m, new Int32Array([4, 5, 0, 0]), [2], 1);
  assert.equal(out.time, MAX_LEN);
  const expected = predictRows(m, [[4, 5]]);
  for (let i = 0; i < 2 * NUM_TAGS; i++) assert.ok(Math.abs(out.scores[i] - expected[i]) < 1e-6);
  assert.throws(() => tagScores(m, new Int32Array(3), [1, 1], 2), RangeError);
  m.dispose();
});

Deno.test("predictWordIds with length bucketing equals per-window model.predict", async () => {
  await initBackend();
  const m = model();
  const vocab = {
    words: Array.from({ length: SMALL.vocabSize }, (_, i) => `w${i}`),
    tags: Array.from({ length: NUM_TAGS }, (_, i) => `t${i}`),
    padId: 0,
    unknownId: 1,
    padTagId: 0,
  } as unknown as Vocab;
  const loaded: MappedTagger = { tagger: m, vocab, chars: null };
  // Mixed lengths, some longer than MAX_LEN (windows), one empty.
  const sentences = [...randomRows(5, 20, 2 * MAX_LEN + 3), [], [7]].map((s) => Int32Array.from(s));
  const progress: number[] = [];
  const before = tf.memory().numTensors;
  const got = predictWordIds(loaded, sentences, {
    batchSize: 3,
    onProgress: (done) => progress.push(done),
  });
  assert.equal(tf.memory().numTensors, before);
  const totalRows = sentences.reduce((n, ids) => n + planWindows(ids.length, MAX_LEN).length, 0);
  const batches = Math.ceil(totalRows / 3);
  assert.deepEqual(
    progress,
    Array.from({ length: batches }, (_, k) => Math.min(3 * (k + 1), totalRows)),
  );
  sentences.forEach((ids, s) => {
    assert.equal(got[s].tagIds.length, ids.length);
    for (const window of planWindows(ids.length, MAX_LEN)) {
      const row = Array.from(ids.subarray(window.start, window.start + window.length));
      const scores = predictRows(m, [row]);
      const expected = argmaxDecoder(scores, row.length, NUM_TAGS);
      for (let t = window.keepFrom; t < window.keepTo; t++) {
        assert.equal(
          got[s].tagIds[t],
          expected.tagIds[t - window.start],
          `sentence ${s} token ${t}`,
        );
        assert.ok(
          Math.abs(got[s].probabilities[t] - expected.probabilities[t - window.start]) < 1e-5,
        );
      }
      if (window.start === 0) {
        assert.deepEqual([...got[s].firstWindowTagIds], [...expected.tagIds]);
      }
    }
  });
  m.dispose();
});
