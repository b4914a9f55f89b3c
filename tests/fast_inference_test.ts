/**
 * The inference pass (issue 17): the tagger's forward pass without training and without a
 * gradient tape runs lib/model/bilstm/inference.ts with the first BiLSTM's word projections
 * looked up per word id (lib/model/_projection_cache.ts). It must give what the training-path
 * forward (the layers, as run under a tape) gives, for every variant; notice changed weights;
 * keep no tensors; and the prediction pool (lib/predict/pool.ts) must give what the calling
 * thread gives.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab, encodeWordChars, wordCasing } from "../lib/data/chars.ts";
import { buildVocab, wordId } from "../lib/data/vocab.ts";
import type { TaggerOptions } from "../lib/model/config.ts";
import { Tagger } from "../lib/model/tagger.ts";
import type { TaggerBatch } from "../lib/model/forward.ts";
import { PredictPool } from "../lib/predict/pool.ts";
import {
  disposeInferenceWeights,
  inferenceWeights,
  ProjectionCache,
} from "../lib/model/_projection_cache.ts";
import { predictWordIds } from "../lib/predict/predict.ts";
import { evaluateModel, evaluateWithPool } from "../lib/evaluate/evaluate.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";

await initBackend({ backend: "wasm" });

const B = 6;
const T = 9;

/** A batch of post-padded rows of varied lengths (ids from 1 to vocabSize−1). */
function rows(vocabSize: number, seed: number): { ids: Int32Array; lengths: Int32Array } {
  const ids = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    lengths[b] = 1 + ((b * 5 + seed) % T);
    for (let t = 0; t < lengths[b]; t++) {
      ids[b * T + t] = 1 + ((b * 31 + t * 17 + seed * 7) % (vocabSize - 1));
    }
  }
  return { ids, lengths };
}

/** Char and casing ids for rows of made-up words. */
function features(ids: Int32Array, maxChars: number) {
  const words = Array.from(ids, (id) => id === 0 ? "" : `W${"abcdefg"[id % 7]}${id}`);
  const chars = buildCharVocab([{ words }]);
  const charIds = new Int32Array(ids.length * maxChars);
  words.forEach((word, cell) =>
    encodeWordChars(word, chars, { maxChars }, charIds, cell * maxChars)
  );
  return { charIds, casingIds: Int32Array.from(words, (w) => w === "" ? 0 : wordCasing(w)) };
}

/** The forward pass's scores two ways: inference, and the layers under a gradient tape. */
function bothWays(tagger: Tagger, ids: Int32Array, extra?: ReturnType<typeof features>) {
  const { maxChars } = tagger.config;
  const batch = (): TaggerBatch => ({
    batchSize: B,
    time: T,
    wordIds: tf.tensor2d(ids, [B, T], "int32"),
    charIds: extra ? tf.tensor2d(extra.charIds, [B * T, maxChars], "int32") : null,
    casingIds: extra ? tf.tensor1d(extra.casingIds, "int32") : null,
  });
  const before = tf.memory().numTensors;
  const scores = tf.tidy(() => tagger.forward(batch()));
  const inference = scores.dataSync();
  scores.dispose();
  const kept = tf.memory().numTensors - before;
  let taped: Float32Array | null = null;
  tf.tidy(() =>
    tf.grad((x: tf.Tensor) => {
      taped = tagger.forward(batch()).dataSync() as Float32Array;
      return tf.sum(x);
    })(tf.scalar(1))
  );
  return { inference, taped: taped!, kept };
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const VARIANTS: [string, TaggerOptions][] = [
  ["tutorial (softmax)", { vocabSize: 40, numTags: 5, maxLen: T, units: 6, embeddingDim: 7 }],
  [
    "two layers, no padding mask",
    { vocabSize: 40, numTags: 5, maxLen: T, units: 5, biLstmLayers: 2, maskPadding: false },
  ],
  ["hard-sigmoid gates (no inference sweep)", {
    vocabSize: 40,
    numTags: 5,
    maxLen: T,
    units: 4,
    recurrentActivation: "hardSigmoid",
  }],
  ["CRF + char CNN + casing", {
    vocabSize: 40,
    numTags: 5,
    maxLen: T,
    units: 6,
    modelType: "bilstm-crf",
    charFeatures: true,
    numChars: 20,
    maxChars: 6,
  }],
];

for (const [name, options] of VARIANTS) {
  Deno.test(`inference pass equals the layers' forward pass: ${name}`, () => {
    const tagger = new Tagger({ ...options, seed: 5 });
    // Non-zero biases, so the folded bias is exercised.
    const weights = tagger.model.getWeights().map((w, i) =>
      w.rank === 1 ? tf.randomNormal(w.shape, 0, 0.5, "float32", 40 + i) : tf.mul(w, 2)
    );
    tagger.model.setWeights(weights);
    tf.dispose(weights);
    for (const seed of [1, 2]) {
      const { ids } = rows(options.vocabSize, seed);
      const extra = options.charFeatures ? features(ids, options.maxChars!) : undefined;
      const { inference, taped, kept } = bothWays(tagger, ids, extra);
      assert.ok(maxDifference(inference, taped) < 1e-4, `${name}: scores differ`);
      assert.equal(kept, 0, "the inference pass keeps no tensors");
    }
    tagger.dispose();
  });
}

Deno.test("the per-word projections follow the weights: after a training step, after setWeights", () => {
  const sentences = syntheticSentences(40);
  const vocab = buildVocab(sentences);
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: T,
    units: 6,
    seed: 3,
  });
  const { ids } = rows(vocab.words.length, 4);
  const first = bothWays(tagger, ids);
  assert.ok(maxDifference(first.inference, first.taped) < 1e-5);
  // A training step moves the weights in place (the embedding rows too).
  const trainer = createTrainer(tagger, { learningRate: 0.05 });
  const tagIds = Int32Array.from(ids, (id) => id === 0 ? 0 : 1 + (id % (vocab.tags.length - 1)));
  const mask = Float32Array.from(ids, (id) => id === 0 ? 0 : 1);
  trainer.trainBatch(ids, tagIds, mask, B);
  const trained = bothWays(tagger, ids);
  assert.ok(maxDifference(trained.inference, first.inference) > 1e-4, "the step changed scores");
  assert.ok(maxDifference(trained.inference, trained.taped) < 1e-5, "no stale projections");
  // Weights assigned through tfjs directly (no Tagger method) are noticed too.
  const zeros = tagger.model.getWeights().map((w) => tf.zerosLike(w));
  tagger.model.setWeights(zeros);
  tf.dispose(zeros);
  const zeroed = bothWays(tagger, ids);
  assert.ok(maxDifference(zeroed.inference, zeroed.taped) < 1e-6);
  assert.ok(zeroed.inference.every((v) => v === 0), "zero weights give zero logits");
  tagger.dispose();
});

/** A small untrained tagger with the maps of `count` synthetic sentences. */
function syntheticPredictor(count: number, corpusSeed: number, maxLen: number, units: number) {
  const sentences = syntheticSentences(count, corpusSeed);
  const vocab = buildVocab(sentences);
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen,
    units,
    seed: corpusSeed,
  });
  return { sentences, vocab, tagger, predictor: { tagger, vocab, chars: null } };
}

Deno.test("the prediction pool gives what the calling thread gives, in input order", async () => {
  const { sentences, vocab, tagger, predictor } = syntheticPredictor(300, 9, 12, 8);
  const ids = sentences.map((s) => Int32Array.from(s.words, (w) => wordId(vocab, w)));
  const local = predictWordIds(predictor, ids, { batchSize: 32, distributions: true });
  const pool = await PredictPool.create(predictor, { workers: 2 });
  try {
    assert.equal(pool.size, 2);
    const seen: number[] = [];
    const pooled = await pool.predictWordIds(ids, {
      batchSize: 32,
      distributions: true,
      onProgress: (done) => seen.push(done),
    });
    assert.equal(pooled.length, local.length);
    pooled.forEach((prediction, i) => {
      assert.deepEqual(prediction.tagIds, local[i].tagIds, `sentence ${i} tags`);
      assert.deepEqual(prediction.probabilities, local[i].probabilities);
      assert.deepEqual(prediction.firstWindowTagIds, local[i].firstWindowTagIds);
      assert.deepEqual(prediction.distributions, local[i].distributions);
    });
    assert.equal(seen.at(-1), ids.length, "progress reaches every sentence");
    // A worker's error reaches the caller as an error (a word id outside the vocabulary).
    await assert.rejects(
      pool.predictWordIds([Int32Array.of(vocab.words.length + 5)]),
      /outside the vocabulary/,
    );
    // The pool still works after a failed chunk.
    const again = await pool.predictWordIds(ids.slice(0, 3));
    assert.deepEqual(again[2].tagIds, local[2].tagIds);
  } finally {
    await pool.close();
    tagger.dispose();
  }
  await assert.rejects(pool.predictWordIds(ids), /closed/);
});

/** Runs `deno task predict ARGS` with `input` on stdin. */
async function predictWithInput(input: string, ...args: string[]): Promise<Deno.CommandOutput> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "predict", ...args],
    cwd: new URL("..", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  return await child.output();
}

Deno.test("predict tags a long stdin on the pool with the same output as on one thread", async () => {
  const sentences = syntheticSentences(300, 4).map((s) => s.words.join(" "));
  const input = sentences.join("\n") + "\n";
  const one = await predictWithInput(input, "--jsonl", "--workers", "1");
  const two = await predictWithInput(input, "--jsonl", "--workers", "2");
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.equal(one.code, 0, decode(one.stderr));
  assert.equal(two.code, 0, decode(two.stderr));
  const lines = decode(two.stdout).trimEnd().split("\n");
  assert.equal(lines.length, 300);
  assert.equal(JSON.parse(lines[299]).line, 300);
  assert.equal(decode(two.stdout), decode(one.stdout));
  const bad = await predictWithInput("x\n", "--workers", "0");
  assert.equal(bad.code, 2);
  assert.match(decode(bad.stderr), /--workers must be a positive integer or auto/);
});

Deno.test("evaluateWithPool scores as evaluateModel does", async () => {
  const { sentences, tagger, predictor } = syntheticPredictor(120, 6, 10, 6);
  const pool = await PredictPool.create(predictor, { workers: 2 });
  try {
    for (const casing of ["original", "upper"] as const) {
      const local = evaluateModel(predictor, sentences, { casing });
      const pooled = await evaluateWithPool(pool, predictor, sentences, { casing });
      assert.deepEqual(pooled.predictions, local.predictions);
      assert.deepEqual(pooled.entity, local.entity);
      assert.equal(pooled.paddedAccuracy, local.paddedAccuracy);
      assert.equal(pooled.casing, casing);
    }
  } finally {
    await pool.close();
    tagger.dispose();
  }
});

/**
 * A 4-unit BiLSTM layer's six weights (kernel, recurrent kernel, bias per direction), seeded
 * `seed`, `seed + 1`, ….
 */
function randomLayer(inputDim: number, seed: number): tf.Tensor[] {
  const shapes = [[inputDim, 16], [4, 16], [16], [inputDim, 16], [4, 16], [16]];
  return shapes.map((shape, k) => tf.randomNormal(shape, 0, 1, "float32", seed + k));
}

Deno.test("the per-token projection table gives each token's own rows, also past its cap", () => {
  const vocabSize = 60;
  const embedding = tf.randomNormal([vocabSize, 5], 0, 1, "float32", 3) as tf.Tensor2D;
  const layer = randomLayer(5, 4);
  const weights = inferenceWeights(5, layer);
  // A cap of 24 rows (16 per direction, 4-byte floats): the batches below hold up to 18
  // distinct tokens each and 50 together.
  const cache = new ProjectionCache(16, [embedding, ...layer], 24 * 32 * 4);
  const [batch, time] = [3, 6];
  for (let round = 0; round < 5; round++) {
    const wordIds = Int32Array.from(
      { length: batch * time },
      (_, i) => 1 + (i * 7 + round * 11) % 50,
    );
    const tokens = { wordIds, charIds: null, maxChars: 0, casingIds: null };
    const zxF = new Float32Array(time * batch * 16);
    const zxB = new Float32Array(time * batch * 16);
    cache.projectInto(embedding, weights, tokens, [batch, time], () => null, zxF, zxB);
    // Expected: E[id]·W_word + b, both directions side by side, candidate block doubled.
    const expected = tf.tidy(() =>
      tf.add(tf.matMul(tf.gather(embedding, wordIds), weights.wordKernel), weights.bias)
    ).arraySync() as number[][];
    for (let t = 0; t < time; t++) {
      for (let b = 0; b < batch; b++) {
        const want = expected[b * time + t];
        const at = (t * batch + b) * 16;
        const forward = zxF.subarray(at, at + 16);
        const backward = zxB.subarray(at, at + 16);
        assert.ok(maxDifference(forward, want.slice(0, 16)) < 1e-5, `round ${round}, forward`);
        assert.ok(maxDifference(backward, want.slice(16)) < 1e-5, `round ${round}, backward`);
      }
    }
    assert.ok(cache.size <= Math.max(24, batch * time), `size ${cache.size} within the cap`);
  }
  disposeInferenceWeights(weights);
  tf.dispose([embedding, ...layer]);
});

Deno.test("the projection table keeps tokens apart that share a word id but not their chars or casing", () => {
  const [vocabSize, maxChars] = [8, 3];
  const embedding = tf.randomNormal([vocabSize, 5], 0, 1, "float32", 13) as tf.Tensor2D;
  // Input: 5 embedding values, then 2 features of the token's chars and casing.
  const layer = randomLayer(7, 14);
  const weights = inferenceWeights(5, layer);
  const cache = new ProjectionCache(16, [embedding, ...layer]);
  // Word id 1 (unknown words) spelled three ways, word 2 in two casings; each round reorders them.
  const spellings = [[1, [4, 5, 6], 1], [1, [7, 0, 0], 2], [1, [4, 5, 7], 1], [2, [3, 3, 0], 1], [
    2,
    [3, 3, 0],
    3,
  ]] as const;
  const featureOf = (chars: readonly number[], casing: number) => [
    chars.reduce((a, b) => a + b, 0) / 10,
    casing,
  ];
  for (const order of [[0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [1, 1, 3, 4, 0]]) {
    const picked = order.map((k) => spellings[k]);
    const tokens = {
      wordIds: Int32Array.from(picked, ([id]) => id),
      charIds: Int32Array.from(picked.flatMap(([, chars]) => chars)),
      maxChars,
      casingIds: Int32Array.from(picked, ([, , casing]) => casing),
    };
    const featuresOf = (indices: Int32Array) =>
      tf.tensor2d(Array.from(indices, (i) => featureOf(picked[i][1], picked[i][2])));
    const time = picked.length;
    const zxF = new Float32Array(time * 16);
    const zxB = new Float32Array(time * 16);
    cache.projectInto(embedding, weights, tokens, [1, time], featuresOf, zxF, zxB);
    const expected = tf.tidy(() =>
      tf.add(
        tf.add(
          tf.matMul(tf.gather(embedding, tokens.wordIds), weights.wordKernel),
          tf.matMul(
            tf.tensor2d(picked.map(([, chars, casing]) => featureOf(chars, casing))),
            weights.restKernel!,
          ),
        ),
        weights.bias,
      )
    ).arraySync() as number[][];
    for (let t = 0; t < time; t++) {
      const got = [...zxF.subarray(t * 16, (t + 1) * 16), ...zxB.subarray(t * 16, (t + 1) * 16)];
      assert.ok(maxDifference(got, expected[t]) < 1e-5, `order ${order}, token ${t}`);
    }
  }
  assert.equal(cache.size, 5, "one row per distinct token");
  disposeInferenceWeights(weights);
  tf.dispose([embedding, ...layer]);
});
