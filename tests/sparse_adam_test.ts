/**
 * Lazy `SparseAdam` and in-place `DenseAdam` against `tf.train.adam`: equal updates on touched
 * rows, untouched rows and their moments unchanged, state save/restore, and no aliasing writes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { DenseAdam, SparseAdam } from "../lib/train/sparse_adam.ts";

const ROWS = 7;
const DIM = 3;
/** float32 rounding over a few steps on weights of magnitude ~1 (one step agrees to ~2e-7). */
const TOLERANCE = 1e-5;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** A dense `[ROWS, DIM]` gradient that is zero outside `rows`, and its rows. */
function rowGradient(rows: number[], seed: number): { dense: tf.Tensor2D; sparse: tf.Tensor2D } {
  const sparse = tf.randomNormal([rows.length, DIM], 0, 1, "float32", seed) as tf.Tensor2D;
  const dense = tf.tidy(() =>
    tf.scatterND(tf.tensor2d(rows, [rows.length, 1], "int32"), sparse, [ROWS, DIM])
  ) as tf.Tensor2D;
  return { dense, sparse };
}

function initial(): tf.Tensor2D {
  return tf.randomNormal([ROWS, DIM], 0, 1, "float32", 99) as tf.Tensor2D;
}

Deno.test("SparseAdam: one step equals tf.train.adam on touched rows, others untouched", async () => {
  await initBackend();
  const start = initial();
  const sparseVar = tf.variable(start.clone());
  const denseVar = tf.variable(start.clone());
  const rows = [1, 4, 5];
  const { dense, sparse } = rowGradient(rows, 1);
  const reference = tf.train.adam(0.01);
  reference.applyGradients([{ name: denseVar.name, tensor: dense }]);
  const opt = new SparseAdam(sparseVar, { learningRate: 0.01 });
  opt.update(Int32Array.from(rows), sparse);
  assert.ok(maxAbsDiff(sparseVar, denseVar) < TOLERANCE);
  const before = start.arraySync() as number[][];
  const after = sparseVar.arraySync() as number[][];
  for (let r = 0; r < ROWS; r++) {
    if (rows.includes(r)) assert.notDeepEqual(after[r], before[r]);
    else assert.deepEqual(after[r], before[r], `row ${r} must not move`);
  }
  const { moments: [moments] } = opt.getState();
  for (let r = 0; r < ROWS; r++) {
    const m = Array.from(moments.m.subarray(r * DIM, (r + 1) * DIM));
    if (!rows.includes(r)) assert.deepEqual(m, [0, 0, 0], `moments of row ${r} must stay 0`);
    else assert.ok(m.some((x) => x !== 0));
  }
  tf.dispose([start, sparseVar, denseVar, dense, sparse]);
  reference.dispose();
});

Deno.test("SparseAdam: several steps touching every row equal tf.train.adam", async () => {
  await initBackend();
  const start = initial();
  const sparseVar = tf.variable(start.clone());
  const denseVar = tf.variable(start.clone());
  const reference = tf.train.adam(0.05);
  const opt = new SparseAdam(sparseVar, { learningRate: 0.05 });
  const order = [6, 0, 3, 1, 5, 2, 4]; // rows in any order
  for (let step = 0; step < 5; step++) {
    const { dense, sparse } = rowGradient(order, 10 + step);
    reference.applyGradients([{ name: denseVar.name, tensor: dense }]);
    opt.update(Int32Array.from(order), sparse);
    tf.dispose([dense, sparse]);
  }
  assert.ok(maxAbsDiff(sparseVar, denseVar) < TOLERANCE);
  assert.ok(maxAbsDiff(sparseVar, start) > 0.1);
  tf.dispose([start, sparseVar, denseVar]);
  reference.dispose();
});

Deno.test("SparseAdam: lazy — a row's moments do not decay while it is absent", async () => {
  await initBackend();
  const variable = tf.variable(initial());
  const opt = new SparseAdam(variable);
  const g = tf.ones([1, DIM]);
  opt.update(Int32Array.of(2), g);
  const m1 = opt.getState().moments[0].m.slice(2 * DIM, 3 * DIM);
  opt.update(Int32Array.of(3), g);
  const m2 = opt.getState().moments[0].m.slice(2 * DIM, 3 * DIM);
  assert.deepEqual(m2, m1);
  assert.equal(opt.getState().iterations, 2);
  tf.dispose([variable, g]);
});

Deno.test("SparseAdam: getState/setState resumes exactly", async () => {
  await initBackend();
  const a = tf.variable(initial());
  const optA = new SparseAdam(a, { learningRate: 0.02 });
  const grads = [0, 1, 2, 3].map((s) => rowGradient([0, 2, 6], 20 + s));
  optA.update(Int32Array.of(0, 2, 6), grads[0].sparse);
  optA.update(Int32Array.of(0, 2, 6), grads[1].sparse);
  const b = tf.variable(a.clone());
  const optB = new SparseAdam(b, { learningRate: 0.02 });
  optB.setState(optA.getState());
  for (const g of grads.slice(2)) {
    optA.update(Int32Array.of(0, 2, 6), g.sparse);
    optB.update(Int32Array.of(0, 2, 6), g.sparse);
  }
  assert.equal(maxAbsDiff(a, b), 0);
  tf.dispose([a, b, ...grads.flatMap((g) => [g.dense, g.sparse])]);
});

Deno.test("DenseAdam equals tf.train.adam over several steps and keeps state", async () => {
  await initBackend();
  const w1 = tf.randomNormal([4, 5], 0, 1, "float32", 1);
  const w2 = tf.randomNormal([5], 0, 1, "float32", 2);
  const ours = [tf.variable(w1.clone()), tf.variable(w2.clone())];
  const ref = [tf.variable(w1.clone()), tf.variable(w2.clone())];
  const opt = new DenseAdam(ours, { learningRate: 0.03 });
  const reference = tf.train.adam(0.03);
  for (let step = 0; step < 4; step++) {
    const g = [
      tf.randomNormal([4, 5], 0, 1, "float32", 30 + step),
      tf.randomNormal([5], 0, 1, "float32", 40 + step),
    ];
    opt.update(g);
    reference.applyGradients(ref.map((v, i) => ({ name: v.name, tensor: g[i] })));
    tf.dispose(g);
  }
  ours.forEach((v, i) => assert.ok(maxAbsDiff(v, ref[i]) < TOLERANCE));
  const state = opt.getState();
  assert.equal(state.iterations, 4);
  assert.equal(state.moments[0].m.length, 20);
  tf.dispose([w1, w2, ...ours, ...ref]);
  reference.dispose();
});

Deno.test("in-place updates never write into tensors that share a variable's memory", async () => {
  await initBackend();
  const source = initial();
  const variable = tf.variable(tf.zeros([ROWS, DIM]));
  variable.assign(source); // now shares source's memory
  const snapshot = source.arraySync();
  const opt = new SparseAdam(variable);
  const g = tf.ones([1, DIM]);
  opt.update(Int32Array.of(0), g);
  assert.deepEqual(source.arraySync(), snapshot);
  assert.ok(maxAbsDiff(variable, source) > 0);
  tf.dispose([source, variable, g]);
});
