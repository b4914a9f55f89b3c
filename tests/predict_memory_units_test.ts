/**
 * Issue 27, finding 11 (streaming prediction's 500 MB bound), the pieces that do not need a
 * child process: the projection table keeps its most used tokens when full (so a small cap
 * costs little speed) and its cap can be set per thread; the prediction pool shares one copy of
 * the weights with its workers, builds caseless members only when a caseless sentence comes
 * (with the same results), and `poolForJob` gives `"auto"` no more workers than fit in a memory
 * budget. (The bound itself, measured on `deno task predict`, is in
 * tests/e2e/predict_memory_default_model_test.ts.)
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { disposeLoadedModel } from "../lib/io/ensemble_folder.ts";
import {
  disposeInferenceWeights,
  inferenceWeights,
  MAX_TABLE_BYTES,
  ProjectionCache,
  setMaxTableBytes,
} from "../lib/model/_projection_cache.ts";
import type { Predictor } from "../lib/model/mapped.ts";
import { wirePredictor } from "../lib/predict/_pool_wire.ts";
import {
  poolForJob,
  WORKER_BASE_BYTES,
  workerMemoryEstimate,
  workersWithinBudget,
} from "../lib/predict/pool.ts";
import { predictTexts } from "../lib/predict/predict_text.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";

await initBackend({ backend: "wasm" });

/** The largest absolute difference of two equally long lists. */
function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

/** A BiLSTM layer's six weights (input `inputDim`, 4 units), seeded. */
function randomLayer(inputDim: number, seed: number): tf.Tensor[] {
  const shapes = [[inputDim, 16], [4, 16], [16], [inputDim, 16], [4, 16], [16]];
  return shapes.map((shape, k) => tf.randomNormal(shape, 0, 1, "float32", seed + k));
}

Deno.test("a full projection table keeps the tokens batches use most, and every row stays right", () => {
  const maxChars = 2;
  const embedding = tf.randomNormal([40, 5], 0, 1, "float32", 21) as tf.Tensor2D;
  // Input: 5 embedding values, then 2 features of the token's chars and casing.
  const layer = randomLayer(7, 22);
  const weights = inferenceWeights(5, layer);
  // 8 rows at most (16 floats per direction, 4 bytes each).
  const cache = new ProjectionCache(16, [embedding, ...layer], 8 * 32 * 4);
  const FREQUENT = 30;
  /** A token: its word id, char ids and casing (all from the id). */
  const token = (id: number) => ({ id, chars: [id % 7, (id * 3) % 5], casing: id % 3 });
  const features = (t: ReturnType<typeof token>) => [(t.chars[0] + t.chars[1]) / 10, t.casing];
  // Round 1 holds four rare tokens; from round 2 on, the frequent token comes in every batch
  // with three new ones, so the table overflows in round 3 and again later.
  const rounds = [
    [1, 2, 3, 4],
    ...Array.from({ length: 6 }, (_, r) => [FREQUENT, ...[5, 6, 7].map((k) => k + 3 * r)]),
  ];
  rounds.push([FREQUENT, 1, 2, 39]); // rare tokens kept or dropped: right either way
  const recomputed: number[][] = [];
  for (const ids of rounds) {
    const picked = ids.map(token);
    const tokens = {
      wordIds: Int32Array.from(picked, (t) => t.id),
      charIds: Int32Array.from(picked.flatMap((t) => t.chars)),
      maxChars,
      casingIds: Int32Array.from(picked, (t) => t.casing),
    };
    const asked: number[] = [];
    const otherFeatures = (indices: Int32Array) => {
      asked.push(...Array.from(indices, (i) => picked[i].id));
      return tf.tensor2d(Array.from(indices, (i) => features(picked[i])));
    };
    const time = picked.length;
    const zxF = new Float32Array(time * 16);
    const zxB = new Float32Array(time * 16);
    cache.projectInto(embedding, weights, tokens, [1, time], otherFeatures, zxF, zxB);
    recomputed.push(asked);
    const expected = tf.tidy(() =>
      tf.add(
        tf.add(
          tf.matMul(tf.gather(embedding, tokens.wordIds), weights.wordKernel),
          tf.matMul(tf.tensor2d(picked.map(features)), weights.restKernel!),
        ),
        weights.bias,
      )
    ).arraySync() as number[][];
    for (let t = 0; t < time; t++) {
      const got = [...zxF.subarray(t * 16, (t + 1) * 16), ...zxB.subarray(t * 16, (t + 1) * 16)];
      assert.ok(maxDifference(got, expected[t]) < 1e-5, `round ${ids}, token ${ids[t]}`);
    }
    assert.ok(cache.size <= 8, `size ${cache.size} within the cap`);
  }
  assert.deepEqual(recomputed[1], [30, 5, 6, 7], "the frequent token is computed once");
  recomputed.slice(2).forEach((asked, round) => {
    assert.ok(!asked.includes(FREQUENT), `round ${round + 3} recomputed the frequent token`);
  });
  disposeInferenceWeights(weights);
  tf.dispose([embedding, ...layer]);
});

Deno.test("setMaxTableBytes caps the tables made after it in this thread", () => {
  const embedding = tf.randomNormal([300, 5], 0, 1, "float32", 31) as tf.Tensor2D;
  const layer = randomLayer(5, 32);
  const weights = inferenceWeights(5, layer);
  const previous = setMaxTableBytes(16 * 32 * 4);
  try {
    assert.equal(previous, MAX_TABLE_BYTES);
    const cache = new ProjectionCache(16, [embedding, ...layer]);
    for (let round = 0; round < 10; round++) {
      const wordIds = Int32Array.from({ length: 12 }, (_, i) => 1 + round * 12 + i);
      const tokens = { wordIds, charIds: null, maxChars: 0, casingIds: null };
      const zxF = new Float32Array(12 * 16);
      const zxB = new Float32Array(12 * 16);
      cache.projectInto(embedding, weights, tokens, [1, 12], () => null, zxF, zxB);
      assert.ok(cache.size <= 16, `size ${cache.size} within the cap set`);
    }
    assert.throws(() => setMaxTableBytes(0), RangeError);
  } finally {
    setMaxTableBytes(previous);
  }
  disposeInferenceWeights(weights);
  tf.dispose([embedding, ...layer]);
});

/** Two tiny lookup models: members tag "Paris" as a place, caseless members as a person. */
async function ensembleWithCaseless(directory: string) {
  const sentences = sentencesOf([
    [["Paris", "B-geo"], ["is", "O"], ["nice", "O"], ["PARIS", "B-geo"], ["paris", "B-geo"]],
    [["Barack", "B-per"], ["Obama", "I-per"], ["visited", "O"], ["New", "B-geo"], [
      "York",
      "I-geo",
    ]],
  ]);
  const cased = await buildLookupModel(`${directory}/cased`, {
    sentences,
    lookup: { Paris: "B-geo", PARIS: "B-geo", paris: "B-geo" },
  });
  const caseless = await buildLookupModel(`${directory}/caseless`, {
    sentences,
    lookup: { Paris: "B-per", PARIS: "B-per", paris: "B-per" },
  });
  const predictor: Predictor = { members: cased.members, caseless: caseless.members };
  return { predictor, dispose: () => [cased, caseless].forEach(disposeLoadedModel) };
}

Deno.test("the pool shares its weights with the workers and tags caseless sentences as the calling thread does", async () => {
  await withTempDir(async (directory) => {
    const { predictor, dispose } = await ensembleWithCaseless(directory);
    try {
      const wire = wirePredictor(predictor);
      for (const tagger of [...wire.members, ...wire.caseless]) {
        for (const weight of tagger.weights) {
          assert.ok(weight.values.buffer instanceof SharedArrayBuffer, `${weight.name} is shared`);
        }
      }
      const pool = await poolForJob(predictor, { workers: 2, backend: "wasm" });
      assert.ok(pool, "two workers asked for");
      try {
        // First chunks without a caseless sentence, then with some (the workers build their
        // caseless members then).
        for (
          const texts of [["Paris is nice", "Obama visited Paris"], [
            "PARIS IS NICE",
            "paris",
            "Paris",
          ]]
        ) {
          const pooled = await pool.predictTexts(texts);
          const local = predictTexts(predictor, texts);
          // The routing shows: "Paris" is a place in cased sentences, a person in caseless ones.
          const paris = local.flatMap((p) => p.tokens).filter((t) => /paris/i.test(t.text));
          assert.ok(paris.every((t) => t.tag === (t.text === "Paris" ? "B-geo" : "B-per")));
          assert.deepEqual(
            pooled.map((p) => p.tokens.map((t) => t.tag)),
            local.map((p) => p.tokens.map((t) => t.tag)),
            `${texts}`,
          );
        }
      } finally {
        await pool.close();
      }
    } finally {
      dispose();
    }
  });
});

Deno.test("poolForJob gives auto workers no more than fit in a memory budget; a count asked for is kept", async () => {
  await withTempDir(async (directory) => {
    const { predictor, dispose } = await ensembleWithCaseless(directory);
    try {
      const each = workerMemoryEstimate(predictor);
      assert.ok(each > WORKER_BASE_BYTES, "a worker holds its runtime and its model");
      const held = 100 * 2 ** 20;
      // The shared copy of the tiny weights is far less than half a worker.
      assert.equal(workersWithinBudget(predictor, held + 3.5 * each, held), 3);
      assert.equal(workersWithinBudget(predictor, held + 0.9 * each, held), 0);
      // Under a budget nothing fits in: no pool, "auto" or not asked.
      const job = { backend: "wasm", items: 1000, minItems: 256, memoryBudget: 1 };
      assert.equal(await poolForJob(predictor, { ...job, workers: "auto" }), null);
      const asked = await poolForJob(predictor, { ...job, workers: 2 });
      assert.ok(asked, "an explicit count ignores the budget");
      assert.equal(asked.size, 2);
      await asked.close();
    } finally {
      dispose();
    }
  });
});
