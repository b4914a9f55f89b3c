/**
 * Distillation (issue 17): the soft-target CRF loss against a reference built from tf ops, the
 * teacher's distributions laid out in the student's tag order, and `deno task distill` end to
 * end (teacher distributions cached in the run folder and read back on resume).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { loadSentences } from "../lib/data/formats.ts";
import { buildVocab } from "../lib/data/vocab.ts";
import {
  createCrfParameters,
  crfGoldScore,
  crfLogPartition,
  crfSequenceNegLogLikelihoods,
  disposeCrfParameters,
} from "../lib/model/crf/mod.ts";
import { disposeLoadedModel } from "../lib/io/ensemble_folder.ts";
import { teacherDistributions } from "../lib/train/distill.ts";
import { TEACHER_TARGETS_FILE, TEACHER_TARGETS_META } from "../lib/train/distill.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";
import { runTask } from "./fixtures/task.ts";

await initBackend({ backend: "wasm" });

const BATCH = 3;
const TIME = 5;
const K = 4;
const LENGTHS = [5, 3, 1];

/** Random emissions, gold tags (never the padding label 0), mask and soft targets. */
function lossInputs(seed: number) {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const emissions = Float32Array.from({ length: BATCH * TIME * K }, () => 4 * random() - 2);
  const tags = new Int32Array(BATCH * TIME);
  const mask = new Float32Array(BATCH * TIME);
  const soft = new Float32Array(BATCH * TIME * K);
  LENGTHS.forEach((length, b) => {
    for (let t = 0; t < length; t++) {
      const cell = b * TIME + t;
      tags[cell] = 1 + Math.floor(random() * (K - 1));
      mask[cell] = 1;
      const weights = Array.from({ length: K - 1 }, () => random() + 0.05);
      const total = weights.reduce((a, w) => a + w, 0);
      weights.forEach((w, k) => (soft[cell * K + k + 1] = w / total));
    }
  });
  return { emissions, tags, mask, soft };
}

Deno.test("CRF loss with soft targets equals logZ minus the mixed gold term, in value and gradient", () => {
  const { emissions, tags, mask, soft } = lossInputs(7);
  const params = createCrfParameters(K, { seed: 3, paddingTagId: 0 });
  const weight = 0.3;
  const e = tf.tensor3d(emissions, [BATCH, TIME, K]);
  const tagTensor = tf.tensor2d(tags, [BATCH, TIME], "int32");
  const maskTensor = tf.tensor2d(mask, [BATCH, TIME]);
  const softTensor = tf.tensor3d(soft, [BATCH, TIME, K]);
  const scale = tf.tensor1d([1, 2, 3]); // per-sequence weights, as the trainer's reduction applies
  const host = (x: tf.Tensor) =>
    tf.sum(tf.mul(
      crfSequenceNegLogLikelihoods(x as tf.Tensor3D, tagTensor, maskTensor, params, "fast", {
        targets: soft,
        weight,
      }),
      scale,
    ));
  // Reference: logZ − [(1 − w)·emit(gold) + w·Σ_k q_k·emit(k) + transitions, start, end of gold].
  const reference = (x: tf.Tensor) => {
    const x3 = x as tf.Tensor3D;
    const gold = crfGoldScore(x3, tagTensor, maskTensor, params);
    const oneHot = tf.oneHot(tagTensor, K);
    const real = tf.reshape(maskTensor, [BATCH, TIME, 1]);
    const emitGold = tf.sum(tf.mul(tf.mul(x3, oneHot), real), [1, 2]);
    const emitSoft = tf.sum(tf.mul(tf.mul(x3, softTensor), real), [1, 2]);
    const mixedGold = tf.add(gold, tf.mul(tf.sub(emitSoft, emitGold), weight));
    return tf.sum(tf.mul(tf.sub(crfLogPartition(x3, maskTensor, params), mixedGold), scale));
  };
  const hostValue = host(e).dataSync()[0];
  const referenceValue = reference(e).dataSync()[0];
  assert.ok(Math.abs(hostValue - referenceValue) < 1e-3, `${hostValue} vs ${referenceValue}`);
  const hostGrad = tf.grad(host)(e).dataSync();
  const referenceGrad = tf.grad(reference)(e).dataSync();
  for (let i = 0; i < hostGrad.length; i++) {
    assert.ok(Math.abs(hostGrad[i] - referenceGrad[i]) < 1e-4, `gradient ${i}`);
  }
  // The soft targets moved the gradient: at weight 0.3 it differs from the gold-only one.
  const goldGrad = tf.grad((x: tf.Tensor) =>
    tf.sum(tf.mul(
      crfSequenceNegLogLikelihoods(x as tf.Tensor3D, tagTensor, maskTensor, params, "fast"),
      scale,
    ))
  )(e).dataSync();
  assert.ok(goldGrad.some((g, i) => Math.abs(g - hostGrad[i]) > 1e-3));
  tf.dispose([e, tagTensor, maskTensor, softTensor, scale]);
  disposeCrfParameters(params);
});

Deno.test("soft targets equal to the gold tags leave the CRF loss as it was", () => {
  const { emissions, tags, mask } = lossInputs(11);
  const oneHot = new Float32Array(BATCH * TIME * K);
  tags.forEach((tag, cell) => {
    if (mask[cell] === 1) oneHot[cell * K + tag] = 1;
  });
  const params = createCrfParameters(K, { seed: 5, paddingTagId: 0 });
  const e = tf.tensor3d(emissions, [BATCH, TIME, K]);
  const t = tf.tensor2d(tags, [BATCH, TIME], "int32");
  const m = tf.tensor2d(mask, [BATCH, TIME]);
  const plain = crfSequenceNegLogLikelihoods(e, t, m, params, "fast").dataSync();
  const soft = crfSequenceNegLogLikelihoods(e, t, m, params, "fast", {
    targets: oneHot,
    weight: 1,
  }).dataSync();
  plain.forEach((value, b) => assert.ok(Math.abs(value - soft[b]) < 1e-5));
  // The tf-ops reference takes soft targets too, with the same values.
  const ops = crfSequenceNegLogLikelihoods(e, t, m, params, "ops", { targets: oneHot, weight: 1 })
    .dataSync();
  plain.forEach((value, b) => assert.ok(Math.abs(value - ops[b]) < 1e-4, `${value} vs ${ops[b]}`));
  tf.dispose([e, t, m]);
  disposeCrfParameters(params);
});

const PAIRS: [string, string][][] = [
  [["Anna", "B-per"], ["visited", "O"], ["Paris", "B-geo"]],
  [["Paris", "B-geo"], ["is", "O"], ["big", "O"]],
  [["Anna", "B-per"], ["sleeps", "O"]],
];

Deno.test("CRF loss with soft targets: the fast path equals the tf-ops reference within 1e-4", () => {
  const { emissions, tags, mask, soft } = lossInputs(13);
  const params = createCrfParameters(K, { seed: 9, paddingTagId: 0, initScale: 1 });
  const e = tf.tensor3d(emissions, [BATCH, TIME, K]);
  const t = tf.tensor2d(tags, [BATCH, TIME], "int32");
  const m = tf.tensor2d(mask, [BATCH, TIME]);
  const scale = tf.tensor1d([1, -2, 0.5]);
  const run = (implementation: "fast" | "ops") =>
    tf.tidy(() => {
      const lossOf = (x: tf.Tensor) =>
        tf.sum(tf.mul(
          crfSequenceNegLogLikelihoods(x as tf.Tensor3D, t, m, params, implementation, {
            targets: soft,
            weight: 0.7,
          }),
          scale,
        ));
      const { value, grad } = tf.valueAndGrad(lossOf)(e);
      const { grads } = tf.variableGrads(() => lossOf(e) as tf.Scalar);
      return [
        value.dataSync(),
        grad.dataSync(),
        grads[params.transitions.name].dataSync(),
        grads[params.startTransitions.name].dataSync(),
        grads[params.endTransitions.name].dataSync(),
      ];
    });
  const [fast, ops] = [run("fast"), run("ops")];
  fast.forEach((part, p) =>
    part.forEach((v, i) => assert.ok(Math.abs(v - ops[p][i]) < 1e-4, `part ${p} [${i}]`))
  );
  tf.dispose([e, t, m, scale]);
  disposeCrfParameters(params);
});

Deno.test("teacher distributions: one distribution per real token, in the student's tag order", async () => {
  await withTempDir(async (dir) => {
    const sentences = sentencesOf(PAIRS);
    const teacher = await buildLookupModel(`${dir}/teacher`, {
      sentences,
      maxLen: 4,
      lookup: { Anna: "B-per", Paris: "B-geo" },
      scale: 6,
    });
    try {
      // A student whose tags come in another order than the teacher's.
      const teacherTags = teacher.members[0].vocab.tags;
      const reordered = [teacherTags[0], ...teacherTags.slice(1).reverse()];
      const student = buildVocab(sentences, { tags: reordered.slice(1) });
      assert.deepEqual(student.tags, reordered);
      const maxLen = 4;
      const values = teacherDistributions(teacher, sentences, student, maxLen);
      assert.equal(values.length, sentences.length * maxLen * student.tags.length);
      const K = student.tags.length;
      sentences.forEach((sentence, row) => {
        for (let t = 0; t < maxLen; t++) {
          const cells = values.subarray((row * maxLen + t) * K, (row * maxLen + t + 1) * K);
          const total = cells.reduce((a, v) => a + v, 0);
          if (t >= sentence.words.length) {
            assert.equal(total, 0, "padding positions stay zero");
            continue;
          }
          assert.ok(Math.abs(total - 1) < 1e-5, "each real token's row sums to 1");
          const best = cells.indexOf(Math.max(...cells));
          assert.equal(student.tags[best], sentence.tags[t], `${sentence.words[t]}`);
        }
      });
      const other = buildVocab(sentencesOf([[["x", "B-org"]]]));
      assert.throws(
        () => teacherDistributions(teacher, sentences, other, maxLen),
        /other tags than the training data; it lacks B-org; the data lacks/,
      );
    } finally {
      disposeLoadedModel(teacher);
    }
  });
});

Deno.test("deno task distill trains on a teacher, caches its distributions and reuses them on resume", async () => {
  await withTempDir(async (dir) => {
    const trainFile = "tests/fixtures/own_data/train.conll";
    const { sentences } = await loadSentences(trainFile);
    const teacher = await buildLookupModel(`${dir}/teacher`, { sentences, maxLen: 50 });
    disposeLoadedModel(teacher);
    const out = `${dir}/student`;
    const common = ["--teacher", `${dir}/teacher`, "--train", trainFile, "--limit", "60"];
    const small = ["--units", "8", "--embedding-dim", "8", "--validation-split", "0", "--out", out];
    const first = await runTask("distill", ...common, ...small, "--epochs", "1", "--json");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /tags 60 training sentences \(once per run\)/);
    const history = JSON.parse(first.stdout);
    assert.equal(history.history.epoch.length, 1);
    const meta = JSON.parse(await Deno.readTextFile(`${out}/${TEACHER_TARGETS_META}`));
    const tokens = sentences.slice(0, 60).reduce((n, s) => n + Math.min(s.words.length, 50), 0);
    assert.equal(meta.tokens, tokens);
    const bytes = (await Deno.stat(`${out}/${TEACHER_TARGETS_FILE}`)).size;
    assert.equal(bytes, tokens * meta.tags.length * 4);
    const resumed = await runTask("distill", "--resume", "--out", out, "--epochs", "2");
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /teacher distributions read from/);
    assert.doesNotMatch(resumed.stderr, /once per run/);
    const changed = await runTask(
      "distill",
      "--resume",
      "--out",
      out,
      "--epochs",
      "3",
      "--distill-weight",
      "0.9",
      "--teacher",
      `${dir}/teacher`,
    );
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /--distill-weight: saved 0\.5, given 0\.9/);
  });
});

Deno.test("distill and train refuse teacher flags that cannot work, naming them", async () => {
  const noTeacher = await runTask("distill", "--epochs", "1");
  assert.equal(noTeacher.code, 2);
  assert.match(noTeacher.stderr, /--teacher DIR is required/);
  const weightAlone = await runTask("train", "--distill-weight", "0.5");
  assert.equal(weightAlone.code, 2);
  assert.match(weightAlone.stderr, /--distill-weight needs --teacher DIR/);
  const badWeight = await runTask("distill", "--teacher", "data/model", "--distill-weight", "1.5");
  assert.equal(badWeight.code, 2);
  assert.match(badWeight.stderr, /--distill-weight must be in \(0, 1\]/);
  const missing = await runTask("distill", "--teacher", "no/such/folder", "--limit", "20");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no\/such\/folder/);
  assert.doesNotMatch(missing.stderr, /^\s+at /m, "no stack trace");
});
