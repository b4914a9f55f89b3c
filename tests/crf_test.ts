/**
 * `lib/model/crf/` against brute force over all K^T tag paths on tiny sizes: logZ, NLL, Viterbi,
 * gradients (= marginals − one-hot gold), padding (masked steps and the padding label) and leaks,
 * for both loss implementations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import {
  createCrfParameters,
  crfGoldScore,
  type CrfHostParameters,
  type CrfImplementation,
  crfLogPartition,
  crfMarginals,
  crfNegLogLikelihood,
  type CrfParameters,
  crfSequenceNegLogLikelihoods,
  disposeCrfParameters,
  PADDING_TAG_PENALTY,
  readCrfParameters,
  viterbiDecode,
  viterbiDecodeBatch,
} from "../lib/model/crf/mod.ts";
import { seededRandom } from "../lib/data/random.ts";

const K = 4;
const T = 5;
const LENGTHS = [5, 3, 1];
const BATCH = LENGTHS.length;
const IMPLEMENTATIONS: CrfImplementation[] = ["fast", "ops"];

/** A tiny random problem: emissions, gold tags (never the padding label on real steps), mask. */
interface Problem {
  emissions: Float32Array;
  tags: Int32Array;
  mask: Float32Array;
  params: CrfParameters;
}

function makeProblem(seed: number, paddingTagId: number | null = 0): Problem {
  const random = seededRandom(seed);
  const emissions = new Float32Array(BATCH * T * K).map(() => 4 * random() - 2);
  const tags = new Int32Array(BATCH * T);
  const mask = new Float32Array(BATCH * T);
  const firstTag = paddingTagId === null ? 0 : 1;
  for (let b = 0; b < BATCH; b++) {
    for (let t = 0; t < T; t++) {
      const real = t < LENGTHS[b];
      mask[b * T + t] = real ? 1 : 0;
      tags[b * T + t] = real ? firstTag + Math.floor(random() * (K - firstTag)) : 0;
    }
  }
  const params = createCrfParameters(K, { seed, initScale: 1, paddingTagId });
  return { emissions, tags, mask, params };
}

function tensors(problem: Problem) {
  return {
    emissions: tf.tensor3d(problem.emissions, [BATCH, T, K]),
    tags: tf.tensor2d(problem.tags, [BATCH, T], "int32"),
    mask: tf.tensor2d(problem.mask, [BATCH, T]),
  };
}

/** Score of `path` for row `b` (padding penalty included), in float64. */
function pathScore(
  problem: Problem,
  host: CrfHostParameters,
  b: number,
  path: number[],
): number {
  const pad = problem.params.paddingTagId;
  let score = host.start[path[0]] + host.end[path[path.length - 1]];
  path.forEach((tag, t) => {
    score += problem.emissions[(b * T + t) * K + tag] + (tag === pad ? PADDING_TAG_PENALTY : 0);
    if (t > 0) score += host.transitions[path[t - 1] * K + tag];
  });
  return score;
}

/** Every tag path of length `length`. */
function allPaths(length: number): number[][] {
  let paths: number[][] = [[]];
  for (let t = 0; t < length; t++) {
    paths = paths.flatMap((path) => Array.from({ length: K }, (_, tag) => [...path, tag]));
  }
  return paths;
}

/** Brute force for row `b`: logZ, the best path and its score, the per-token marginals. */
function bruteForce(problem: Problem, host: CrfHostParameters, b: number) {
  const paths = allPaths(LENGTHS[b]);
  const scores = paths.map((path) => pathScore(problem, host, b, path));
  const max = Math.max(...scores);
  const logZ = max + Math.log(scores.reduce((sum, s) => sum + Math.exp(s - max), 0));
  const best = scores.indexOf(max);
  const marginals = new Float64Array(T * K);
  paths.forEach((path, p) => {
    const prob = Math.exp(scores[p] - logZ);
    path.forEach((tag, t) => marginals[t * K + tag] += prob);
  });
  const goldPath = Array.from({ length: LENGTHS[b] }, (_, t) => problem.tags[b * T + t]);
  const gold = pathScore(problem, host, b, goldPath);
  return { logZ, bestPath: paths[best], bestScore: max, marginals, nll: logZ - gold };
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`,
  );
}

/** Gradients of the mean NLL w.r.t. the emissions and the three parameters. */
function lossGradients(
  problem: Problem,
  implementation: CrfImplementation,
  emissionsValues = problem.emissions,
  tagValues = problem.tags,
) {
  return tf.tidy(() => {
    const emissions = tf.tensor3d(emissionsValues, [BATCH, T, K]);
    const tags = tf.tensor2d(tagValues, [BATCH, T], "int32");
    const mask = tf.tensor2d(problem.mask, [BATCH, T]);
    const lossOf = (e: tf.Tensor) =>
      crfNegLogLikelihood(e as tf.Tensor3D, tags, mask, problem.params, { implementation });
    const { value, grad } = tf.valueAndGrad(lossOf)(emissions);
    const { grads } = tf.variableGrads(() => lossOf(emissions));
    return {
      loss: value.dataSync()[0],
      emissions: grad.dataSync(),
      transitions: grads[problem.params.transitions.name].dataSync(),
      start: grads[problem.params.startTransitions.name].dataSync(),
      end: grads[problem.params.endTransitions.name].dataSync(),
    };
  });
}

Deno.test("crf: logZ from the forward algorithm equals brute force, with masking", async () => {
  await initBackend();
  for (const paddingTagId of [0, null]) {
    const problem = makeProblem(11, paddingTagId);
    const host = readCrfParameters(problem.params);
    const logZ = tf.tidy(() => {
      const { emissions, mask } = tensors(problem);
      return crfLogPartition(emissions, mask, problem.params).dataSync();
    });
    for (let b = 0; b < BATCH; b++) {
      assertClose(logZ[b], bruteForce(problem, host, b).logZ, 1e-4, `logZ row ${b}`);
    }
    disposeCrfParameters(problem.params);
  }
});

for (const implementation of IMPLEMENTATIONS) {
  Deno.test(`crf (${implementation}): NLL equals brute force, per sequence and mean/sum`, async () => {
    await initBackend();
    const problem = makeProblem(12);
    const host = readCrfParameters(problem.params);
    const expected = LENGTHS.map((_, b) => bruteForce(problem, host, b).nll);
    const [perSequence, mean, sum] = tf.tidy(() => {
      const { emissions, tags, mask } = tensors(problem);
      const { params } = problem;
      return [
        crfSequenceNegLogLikelihoods(emissions, tags, mask, params, implementation).dataSync(),
        crfNegLogLikelihood(emissions, tags, mask, params, { implementation }).dataSync()[0],
        crfNegLogLikelihood(emissions, tags, mask, params, { implementation, reduction: "sum" })
          .dataSync()[0],
      ] as const;
    });
    expected.forEach((nll, b) => {
      assert.ok(nll > 0);
      assertClose(perSequence[b], nll, 1e-4, `NLL row ${b}`);
    });
    const total = expected.reduce((a, c) => a + c, 0);
    assertClose(mean, total / BATCH, 1e-4, "mean NLL");
    assertClose(sum, total, 1e-4, "summed NLL");
    disposeCrfParameters(problem.params);
  });
}

Deno.test("crf: gold score equals the brute-force path score", async () => {
  await initBackend();
  const problem = makeProblem(13);
  const host = readCrfParameters(problem.params);
  const gold = tf.tidy(() => {
    const { emissions, tags, mask } = tensors(problem);
    return crfGoldScore(emissions, tags, mask, problem.params).dataSync();
  });
  for (let b = 0; b < BATCH; b++) {
    const path = Array.from({ length: LENGTHS[b] }, (_, t) => problem.tags[b * T + t]);
    assertClose(gold[b], pathScore(problem, host, b, path), 1e-4, `gold row ${b}`);
  }
  disposeCrfParameters(problem.params);
});

Deno.test("crf: Viterbi path and score equal the brute-force argmax", async () => {
  await initBackend();
  for (const seed of [21, 22, 23, 24]) {
    const problem = makeProblem(seed);
    const host = readCrfParameters(problem.params);
    const decoded = viterbiDecodeBatch(problem.emissions, LENGTHS, host, K, 0);
    const emissionsTensor = tf.tensor3d(problem.emissions, [BATCH, T, K]);
    const fromTensor = viterbiDecodeBatch(emissionsTensor, LENGTHS, host, K, 0);
    emissionsTensor.dispose();
    assert.deepEqual(fromTensor, decoded);
    LENGTHS.forEach((length, b) => {
      const expected = bruteForce(problem, host, b);
      assert.deepEqual(decoded[b].tags, expected.bestPath);
      assert.equal(decoded[b].tags.length, length);
      assertClose(decoded[b].score, expected.bestScore, 1e-4, `Viterbi score row ${b}`);
    });
    disposeCrfParameters(problem.params);
  }
});

for (const implementation of IMPLEMENTATIONS) {
  Deno.test(`crf (${implementation}): gradients equal marginals − one-hot gold`, async () => {
    await initBackend();
    const problem = makeProblem(31);
    const host = readCrfParameters(problem.params);
    const grads = lossGradients(problem, implementation);
    const expectedStart = new Float64Array(K);
    const expectedEnd = new Float64Array(K);
    const expectedTransitions = new Float64Array(K * K);
    for (let b = 0; b < BATCH; b++) {
      const { marginals } = bruteForce(problem, host, b);
      const length = LENGTHS[b];
      // Same marginals from the WebAssembly forward–backward.
      const fb = crfMarginals(problem.emissions, length, host, K, 0, b * T * K);
      for (let i = 0; i < length * K; i++) assertClose(fb[i], marginals[i], 1e-5, "marginal");
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < K; j++) {
          const gold = t < length && problem.tags[b * T + t] === j ? 1 : 0;
          const expected = t < length ? (marginals[t * K + j] - gold) / BATCH : 0;
          const actual = grads.emissions[(b * T + t) * K + j];
          assertClose(actual, expected, 1e-5, `dLoss/demit[${b},${t},${j}]`);
        }
      }
      for (let j = 0; j < K; j++) {
        expectedStart[j] += (marginals[j] - (problem.tags[b * T] === j ? 1 : 0)) / BATCH;
        const lastGold = problem.tags[b * T + length - 1];
        expectedEnd[j] += (marginals[(length - 1) * K + j] - (lastGold === j ? 1 : 0)) / BATCH;
      }
      // Transition gradient: brute-force expected pair counts − gold pair counts.
      const paths = allPaths(length);
      const scores = paths.map((path) => pathScore(problem, host, b, path));
      const logZ = bruteForce(problem, host, b).logZ;
      paths.forEach((path, p) => {
        const prob = Math.exp(scores[p] - logZ);
        for (let t = 1; t < length; t++) {
          expectedTransitions[path[t - 1] * K + path[t]] += prob / BATCH;
        }
      });
      for (let t = 1; t < length; t++) {
        expectedTransitions[problem.tags[b * T + t - 1] * K + problem.tags[b * T + t]] -= 1 /
          BATCH;
      }
    }
    for (let j = 0; j < K; j++) {
      assertClose(grads.start[j], expectedStart[j], 1e-5, `dLoss/dstart[${j}]`);
      assertClose(grads.end[j], expectedEnd[j], 1e-5, `dLoss/dend[${j}]`);
    }
    for (let i = 0; i < K * K; i++) {
      assertClose(grads.transitions[i], expectedTransitions[i], 1e-5, `dLoss/dtrans[${i}]`);
    }
    disposeCrfParameters(problem.params);
  });
}

Deno.test("crf: the gradient of the loss matches central finite differences", async () => {
  await initBackend();
  const problem = makeProblem(32);
  const grads = lossGradients(problem, "fast");
  const loss = (values: Float32Array) =>
    tf.tidy(() => {
      const emissions = tf.tensor3d(values, [BATCH, T, K]);
      const { tags, mask } = tensors(problem);
      return crfNegLogLikelihood(emissions, tags, mask, problem.params).dataSync()[0];
    });
  const step = 1e-2;
  for (const index of [0, 7, 13, 22, 45]) {
    const plus = problem.emissions.slice();
    const minus = problem.emissions.slice();
    plus[index] += step;
    minus[index] -= step;
    const numeric = (loss(plus) - loss(minus)) / (2 * step);
    assertClose(grads.emissions[index], numeric, 1e-3, `finite difference at ${index}`);
  }
  disposeCrfParameters(problem.params);
});

for (const implementation of IMPLEMENTATIONS) {
  Deno.test(`crf (${implementation}): padded steps contribute nothing`, async () => {
    await initBackend();
    const problem = makeProblem(41);
    const before = lossGradients(problem, implementation);
    const changedEmissions = problem.emissions.slice();
    const changedTags = problem.tags.slice();
    const random = seededRandom(99);
    for (let b = 0; b < BATCH; b++) {
      for (let t = LENGTHS[b]; t < T; t++) {
        changedTags[b * T + t] = 1 + Math.floor(random() * (K - 1));
        for (let j = 0; j < K; j++) changedEmissions[(b * T + t) * K + j] = 50 * random() - 25;
      }
    }
    const after = lossGradients(problem, implementation, changedEmissions, changedTags);
    assert.equal(after.loss, before.loss);
    assert.deepEqual(after.emissions, before.emissions);
    assert.deepEqual(after.transitions, before.transitions);
    assert.deepEqual(after.start, before.start);
    assert.deepEqual(after.end, before.end);
    for (let b = 0; b < BATCH; b++) {
      for (let t = LENGTHS[b]; t < T; t++) {
        for (let j = 0; j < K; j++) assert.equal(after.emissions[(b * T + t) * K + j], 0);
      }
    }
    disposeCrfParameters(problem.params);
  });
}

Deno.test("crf: the padding label is never decoded and has ~0 marginal", async () => {
  await initBackend();
  const problem = makeProblem(51);
  // Make the padding label by far the best emission everywhere, and its transitions attractive.
  for (let i = 0; i < BATCH * T; i++) problem.emissions[i * K] = 30;
  const host = readCrfParameters(problem.params);
  host.start[0] = 30;
  host.end[0] = 30;
  for (let i = 0; i < K; i++) host.transitions[i * K] = 30;
  const decoded = viterbiDecodeBatch(problem.emissions, LENGTHS, host, K, 0);
  decoded.forEach((result, b) => {
    assert.equal(result.tags.length, LENGTHS[b]);
    assert.ok(result.tags.every((tag) => tag !== 0), `row ${b}: ${result.tags}`);
  });
  const marginals = crfMarginals(problem.emissions, T, host, K, 0);
  for (let t = 0; t < T; t++) {
    assert.ok(marginals[t * K] < 1e-6);
    const rowSum = marginals.slice(t * K, (t + 1) * K).reduce((a, c) => a + c, 0);
    assertClose(rowSum, 1, 1e-5, `marginals row ${t}`);
  }
  // Without a padding label the same scores do pick tag 0.
  assert.ok(viterbiDecode(problem.emissions, T, host, K, null).tags.every((tag) => tag === 0));
  disposeCrfParameters(problem.params);
});

Deno.test("crf: seeded parameters are reproducible and in range", async () => {
  await initBackend();
  const a = createCrfParameters(5, { seed: 7 });
  const b = createCrfParameters(5, { seed: 7 });
  const c = createCrfParameters(5, { seed: 8 });
  const zeros = createCrfParameters(5, { seed: 7, initScale: 0 });
  const [ha, hb, hc, hz] = [a, b, c, zeros].map(readCrfParameters);
  assert.deepEqual(ha, hb);
  assert.notDeepEqual(ha.transitions, hc.transitions);
  assert.ok(ha.transitions.every((v) => Math.abs(v) <= 0.1));
  assert.ok(hz.transitions.every((v) => v === 0) && hz.start.every((v) => v === 0));
  assert.deepEqual(a.transitions.shape, [5, 5]);
  assert.deepEqual(a.startTransitions.shape, [5]);
  assert.throws(() => createCrfParameters(5, { paddingTagId: 5 }));
  [a, b, c, zeros].forEach(disposeCrfParameters);
});

for (const implementation of IMPLEMENTATIONS) {
  Deno.test(`crf (${implementation}): a tidy'd loss + gradient leaks no tensors`, async () => {
    await initBackend();
    const problem = makeProblem(61);
    const { emissions, tags, mask } = tensors(problem);
    const before = tf.memory().numTensors;
    for (let repeat = 0; repeat < 2; repeat++) {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() =>
          crfNegLogLikelihood(emissions, tags, mask, problem.params, { implementation })
        );
        assert.equal(Object.keys(grads).length, 3);
        return value.dataSync()[0];
      });
      assert.ok(Number.isFinite(loss) && loss > 0);
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([emissions, tags, mask]);
    disposeCrfParameters(problem.params);
  });
}

Deno.test("crf: per-sequence weights give the same gradients in both implementations", async () => {
  await initBackend();
  const problem = makeProblem(71);
  const weights = tf.tensor1d([0.5, -2, 3]);
  const { emissions, tags, mask } = tensors(problem);
  const gradsOf = (implementation: CrfImplementation) =>
    tf.tidy(() => {
      const weighted = (e: tf.Tensor, trans: tf.Tensor) => {
        const params = { ...problem.params, transitions: trans as tf.Variable<tf.Rank.R2> };
        const perSequence = crfSequenceNegLogLikelihoods(
          e as tf.Tensor3D,
          tags,
          mask,
          params,
          implementation,
        );
        return tf.sum(tf.mul(perSequence, weights));
      };
      const [gEmit, gTrans] = tf.grads(weighted)([emissions, problem.params.transitions]);
      return [gEmit.dataSync(), gTrans.dataSync()];
    });
  const [host, ops] = [gradsOf("fast"), gradsOf("ops")];
  for (let part = 0; part < 2; part++) {
    assert.ok(host[part].some((v) => Math.abs(v) > 1e-2));
    host[part].forEach((v, i) => assertClose(v, ops[part][i], 1e-5, `part ${part} index ${i}`));
  }
  tf.dispose([weights, emissions, tags, mask]);
  disposeCrfParameters(problem.params);
});

Deno.test("crf: fast and ops agree on a larger batch with wide score ranges", async () => {
  await initBackend();
  const [batch, time, numTags] = [4, 12, 6];
  const random = seededRandom(81);
  const emissionValues = new Float32Array(batch * time * numTags).map(() => 40 * random() - 20);
  const lengths = [12, 7, 1, 0];
  const tagValues = new Int32Array(batch * time);
  const maskValues = new Float32Array(batch * time);
  lengths.forEach((length, b) => {
    for (let t = 0; t < length; t++) {
      maskValues[b * time + t] = 1;
      tagValues[b * time + t] = 1 + Math.floor(random() * (numTags - 1));
    }
  });
  const params = createCrfParameters(numTags, { seed: 81, initScale: 8 });
  const emissions = tf.tensor3d(emissionValues, [batch, time, numTags]);
  const tags = tf.tensor2d(tagValues, [batch, time], "int32");
  const mask = tf.tensor2d(maskValues, [batch, time]);
  const run = (implementation: CrfImplementation) =>
    tf.tidy(() => {
      const lossOf = (e: tf.Tensor) =>
        crfSequenceNegLogLikelihoods(e as tf.Tensor3D, tags, mask, params, implementation);
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => tf.sum(lossOf(e)))(emissions);
      return [lossOf(emissions).dataSync(), value.dataSync(), grad.dataSync()];
    });
  const [host, ops] = [run("fast"), run("ops")];
  assert.equal(host[0][3], 0, "a row with no real token has loss 0");
  host[0].forEach((v, b) => assertClose(v, ops[0][b], 1e-3 * Math.max(1, Math.abs(v)), "NLL"));
  host[2].forEach((v, i) => assertClose(v, ops[2][i], 1e-4, `gradient ${i}`));
  tf.dispose([emissions, tags, mask]);
  disposeCrfParameters(params);
});

Deno.test("crf: fast equals the tf-ops reference within 1e-4 for every variant", async () => {
  await initBackend();
  const [batch, time] = [5, 9];
  const lengths = [9, 4, 1, 0, 7];
  for (const numTags of [3, 4, 9, 18]) {
    for (const paddingTagId of [0, null]) {
      for (const softWeight of [0, 0.5]) {
        const random = seededRandom(100 * numTags + (paddingTagId ?? 7) + 10 * softWeight);
        const cells = batch * time * numTags;
        const emissionValues = new Float32Array(cells).map(() => 6 * random() - 3);
        const tagValues = new Int32Array(batch * time);
        const maskValues = new Float32Array(batch * time);
        const soft = new Float32Array(cells);
        const first = paddingTagId === null ? 0 : 1;
        lengths.forEach((length, b) => {
          for (let t = 0; t < length; t++) {
            maskValues[b * time + t] = 1;
            tagValues[b * time + t] = first + Math.floor(random() * (numTags - first));
            const row = Array.from({ length: numTags - first }, () => random() + 0.05);
            const total = row.reduce((a, v) => a + v, 0);
            row.forEach((v, k) => soft[(b * time + t) * numTags + first + k] = v / total);
          }
        });
        const params = createCrfParameters(numTags, { seed: numTags, initScale: 1, paddingTagId });
        const emissions = tf.tensor3d(emissionValues, [batch, time, numTags]);
        const tags = tf.tensor2d(tagValues, [batch, time], "int32");
        const mask = tf.tensor2d(maskValues, [batch, time]);
        const weights = tf.tensor1d([1, -0.5, 2, 3, 0.25]);
        const run = (implementation: CrfImplementation) =>
          tf.tidy(() => {
            const perSequence = (e: tf.Tensor) =>
              crfSequenceNegLogLikelihoods(
                e as tf.Tensor3D,
                tags,
                mask,
                params,
                implementation,
                softWeight > 0 ? { targets: soft, weight: softWeight } : undefined,
              );
            const lossOf = (e: tf.Tensor) => tf.sum(tf.mul(perSequence(e), weights)) as tf.Scalar;
            const { grad } = tf.valueAndGrad(lossOf)(emissions);
            const { grads } = tf.variableGrads(() => lossOf(emissions));
            return [
              perSequence(emissions).dataSync(),
              grad.dataSync(),
              grads[params.transitions.name].dataSync(),
              grads[params.startTransitions.name].dataSync(),
              grads[params.endTransitions.name].dataSync(),
            ];
          });
        const [fast, ops] = [run("fast"), run("ops")];
        const what = `K ${numTags}, padding ${paddingTagId}, soft ${softWeight}`;
        assert.equal(fast[0][3], 0, `${what}: a row with no real token has loss 0`);
        ["loss", "emissions", "transitions", "start", "end"].forEach((part, p) => {
          fast[p].forEach((v, i) => assertClose(v, ops[p][i], 1e-4, `${what}: ${part}[${i}]`));
        });
        tf.dispose([emissions, tags, mask, weights]);
        disposeCrfParameters(params);
      }
    }
  }
});

Deno.test("crf: a batch that underflows float32 in the kernel gets the tf-ops reference's loss", async () => {
  await initBackend();
  // Tag 1 then tag 2 is all the emissions allow, and the transition 1 → 2 scores 200 below the
  // others: every path of step 2 is below float32's range in the scaled forward–backward.
  const params = createCrfParameters(3, { initScale: 0, paddingTagId: null });
  params.transitions.assign(tf.tensor2d([0, 0, 0, 0, 0, -200, 0, 0, 0], [3, 3]));
  const emissions = tf.tensor3d([-300, 0, -300, -300, -300, 0], [1, 2, 3]);
  const tags = tf.tensor2d([1, 2], [1, 2], "int32");
  const mask = tf.tensor2d([1, 1], [1, 2]);
  const run = (implementation: CrfImplementation) =>
    tf.tidy(() => {
      const lossOf = (e: tf.Tensor) =>
        crfNegLogLikelihood(e as tf.Tensor3D, tags, mask, params, { implementation });
      const { value, grad } = tf.valueAndGrad(lossOf)(emissions);
      return [value.dataSync()[0], ...grad.dataSync()];
    });
  const [fast, ops] = [run("fast"), run("ops")];
  assert.ok(fast.every(Number.isFinite), `${fast}`);
  fast.forEach((v, i) => assertClose(v, ops[i], 1e-4, `value ${i}`));
  tf.dispose([emissions, tags, mask]);
  disposeCrfParameters(params);
});
