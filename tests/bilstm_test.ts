/**
 * `FastBiLSTM` against tfjs-layers' own `bidirectional(lstm)`: same outputs and same gradients
 * (inputs and all six weights), with and without a padding mask, and layout compatibility.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { FastBiLSTM, fastBiLstm, gatherRows, referenceBiLstm } from "../lib/model/bilstm/mod.ts";
import { drawDropoutValues } from "../lib/model/bilstm/dropout.ts";
import { seededRandom } from "../lib/data/random.ts";
import type { RecurrentActivation } from "../lib/model/bilstm/mod.ts";

const BATCH = 3;
const TIME = 6;
const FEATURES = 5;
const UNITS = 4;
const TOLERANCE = 1e-4;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function stockBiLstm(activation: RecurrentActivation): tf.layers.Layer {
  return tf.layers.bidirectional({
    layer: tf.layers.lstm({
      units: UNITS,
      returnSequences: true,
      recurrentActivation: activation,
    }) as tf.RNN,
    mergeMode: "concat",
  });
}

/** Post-padded mask: sequence lengths TIME, 3, 1. */
function paddingMask(): tf.Tensor2D {
  const lengths = [TIME, 3, 1];
  const values = lengths.flatMap((n) => Array.from({ length: TIME }, (_, t) => (t < n ? 1 : 0)));
  return tf.tensor2d(values, [BATCH, TIME], "bool");
}

/** Output and gradients of `sum(layer(x) * probe)` w.r.t. x and the layer's weights. */
function outputAndGrads(
  layer: tf.layers.Layer,
  x: tf.Variable,
  probe: tf.Tensor,
  mask: tf.Tensor | null,
): { y: tf.Tensor; grads: tf.Tensor[] } {
  const y = tf.tidy(() => layer.apply(x, mask === null ? {} : { mask }) as tf.Tensor);
  const vars = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(x, mask === null ? {} : { mask }) as tf.Tensor;
    return tf.sum(tf.mul(out, probe)) as tf.Scalar;
  }, vars);
  value.dispose();
  return { y, grads: vars.map((v) => grads[v.name]) };
}

for (const activation of ["hardSigmoid", "sigmoid"] as const) {
  for (const masked of [false, true]) {
    Deno.test(`FastBiLSTM matches stock bidirectional LSTM (${activation}, mask: ${masked})`, async () => {
      await initBackend();
      const stock = stockBiLstm(activation);
      const fast = new FastBiLSTM({ units: UNITS, recurrentActivation: activation, seed: 7 });
      const x = tf.variable(tf.randomNormal([BATCH, TIME, FEATURES], 0, 1, "float32", 1));
      const probe = tf.randomNormal([BATCH, TIME, 2 * UNITS], 0, 1, "float32", 2);
      const mask = masked ? paddingMask() : null;
      tf.dispose([stock.apply(x), fast.apply(x)] as tf.Tensor[]);
      // Biases are zero by default: give them values so their gradients are exercised.
      const biases = stock.getWeights().map((w, i) =>
        w.rank === 1 ? tf.randomNormal(w.shape, 0, 0.5, "float32", 10 + i) : w
      );
      stock.setWeights(biases);
      tf.dispose(biases.filter((w) => w.rank === 1));
      fast.setWeights(stock.getWeights());
      const before = tf.memory().numTensors;
      assert.equal(fast.countParams(), stock.countParams());

      const a = outputAndGrads(stock, x, probe, mask);
      const b = outputAndGrads(fast, x, probe, mask);
      assert.ok(maxAbsDiff(a.y, b.y) < TOLERANCE, `outputs differ by ${maxAbsDiff(a.y, b.y)}`);
      const names = [
        "x",
        "fwd kernel",
        "fwd recurrent",
        "fwd bias",
        "bwd kernel",
        "bwd recurrent",
        "bwd bias",
      ];
      assert.equal(b.grads.length, 7);
      b.grads.forEach((g, i) => {
        const diff = maxAbsDiff(a.grads[i], g);
        assert.ok(diff < TOLERANCE, `gradient of ${names[i]} differs by ${diff}`);
        assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0, `${names[i]} grad is zero`);
      });
      if (masked) {
        // Backward direction over trailing padding outputs zeros; forward carries the last h.
        const y = b.y.arraySync() as number[][][];
        assert.deepEqual(y[2][5].slice(UNITS), new Array(UNITS).fill(0));
        assert.deepEqual(y[2][5].slice(0, UNITS), y[2][0].slice(0, UNITS));
      }
      tf.dispose([a.y, b.y, ...a.grads, ...b.grads]);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
      tf.dispose([x, probe, ...(mask ? [mask] : [])]);
    });
  }
}

for (const activation of ["hardSigmoid", "sigmoid"] as const) {
  for (const masked of [false, true]) {
    Deno.test(`fastBiLstm's WebAssembly sweeps equal the tf-ops reference with recurrent dropout (${activation}, mask: ${masked})`, async () => {
      await initBackend();
      // 9 rows (not a multiple of the GEMM's 4), 5 units (a padded panel), rows of mixed lengths.
      const [batch, time, features, units] = [9, 7, 5, 5];
      const x = tf.variable(tf.randomNormal([batch, time, features], 0, 1, "float32", 21));
      const weights = [features, units, 0, features, units, 0].map((rows, i) =>
        tf.variable(
          rows === 0
            ? tf.randomNormal([4 * units], 0, 0.5, "float32", 30 + i)
            : tf.randomNormal([rows, 4 * units], 0, 0.5, "float32", 30 + i),
        )
      );
      const probe = tf.randomNormal([batch, time, 2 * units], 0, 1, "float32", 22);
      const lengths = [7, 3, 1, 0, 5, 7, 2, 6, 4];
      const mask = masked
        ? tf.tensor2d(
          lengths.flatMap((n) => Array.from({ length: time }, (_, t) => t < n ? 1 : 0)),
          [
            batch,
            time,
          ],
        )
        : null;
      const random = seededRandom(5);
      const dropout = [0, 1].map(() => drawDropoutValues(random, batch, units, 0.3)) as [
        Float32Array,
        Float32Array,
      ];
      const options = { units, recurrentActivation: activation, mask, dropout };
      const run = (f: typeof fastBiLstm) => {
        const vars = [x, ...weights];
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(f(x as tf.Tensor3D, weights, options), probe)) as tf.Scalar,
          vars,
        );
        const y = f(x as tf.Tensor3D, weights, options);
        return { value, y, grads: vars.map((v) => grads[v.name]) };
      };
      const before = tf.memory().numTensors;
      const fast = run(fastBiLstm);
      const reference = run(referenceBiLstm);
      assert.ok(maxAbsDiff(fast.y, reference.y) < TOLERANCE, `outputs differ`);
      fast.grads.forEach((g, i) => {
        const diff = maxAbsDiff(g, reference.grads[i]);
        assert.ok(diff < TOLERANCE, `gradient ${i} differs by ${diff}`);
        assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0, `gradient ${i} is zero`);
      });
      tf.dispose([
        fast.value,
        fast.y,
        ...fast.grads,
        reference.value,
        reference.y,
        ...reference.grads,
      ]);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
      tf.dispose([x, ...weights, probe, ...(mask ? [mask] : [])]);
    });
  }
}

Deno.test("FastBiLSTM weights have the stock layout and parameter count", async () => {
  await initBackend();
  const fast = new FastBiLSTM({ units: 100, seed: 1 });
  fast.build([null, 50, 100]);
  assert.equal(fast.countParams(), 2 * (4 * 100 * (100 + 100 + 1)));
  assert.deepEqual(fast.getWeights().map((w) => w.shape), [
    [100, 400],
    [100, 400],
    [400],
    [100, 400],
    [100, 400],
    [400],
  ]);
});

Deno.test("FastBiLSTM recurrent dropout is seeded, training-only and one mask per sequence", async () => {
  await initBackend();
  const x = tf.randomNormal([BATCH, TIME, FEATURES], 0, 1, "float32", 3) as tf.Tensor3D;
  const make = () => {
    const layer = new FastBiLSTM({ units: UNITS, recurrentDropout: 0.5, seed: 11 });
    tf.dispose(layer.apply(x) as tf.Tensor);
    return layer;
  };
  const [l1, l2] = [make(), make()];
  const y1 = l1.apply(x, { training: true }) as tf.Tensor;
  const y2 = l2.apply(x, { training: true }) as tf.Tensor;
  const yEval = l1.apply(x) as tf.Tensor;
  const noDrop = new FastBiLSTM({ units: UNITS, seed: 11 });
  const yRef = noDrop.apply(x) as tf.Tensor;
  assert.equal(maxAbsDiff(y1, y2), 0, "same seed must give the same dropout");
  assert.ok(maxAbsDiff(y1, yEval) > 1e-3, "training output should differ from inference");
  assert.equal(maxAbsDiff(yEval, yRef), 0, "no dropout at inference");
  // At t=0 the recurrent input is the zero state, so dropout cannot change forward outputs there.
  const first = (y: tf.Tensor) => tf.slice(y, [0, 0, 0], [BATCH, 1, UNITS]);
  assert.ok(maxAbsDiff(first(y1), first(yRef)) < 1e-6);
  tf.dispose([x, y1, y2, yEval, yRef]);
});

Deno.test("gatherRows equals tf.gather, and its gradient scatter-adds repeated rows", async () => {
  await initBackend();
  const table = tf.randomNormal([7, 3], 0, 1, "float32", 5) as tf.Tensor2D;
  const ids = tf.tensor2d([[4, 0, 4], [6, 4, 1]], [2, 3], "int32");
  const probe = tf.randomNormal([6, 3], 0, 1, "float32", 6);
  const before = tf.memory().numTensors;
  const loss = (gather: (t: tf.Tensor2D) => tf.Tensor) => (t: tf.Tensor) =>
    tf.sum(tf.mul(gather(t as tf.Tensor2D), probe));
  const ours = tf.valueAndGrad(loss((t) => gatherRows(t, ids)))(table);
  const stock = tf.valueAndGrad(loss((t) => tf.gather(t, tf.reshape(ids, [-1]))))(table);
  tf.tidy(() => {
    const rows = gatherRows(table, ids);
    assert.deepEqual(rows.shape, [6, 3]);
    assert.equal(maxAbsDiff(rows, tf.gather(table, tf.reshape(ids, [-1]))), 0);
    assert.ok(Math.abs(ours.value.dataSync()[0] - stock.value.dataSync()[0]) < 1e-6);
    assert.ok(maxAbsDiff(ours.grad, stock.grad) < 1e-6);
    // Row 4 appears three times: its gradient is the sum of three probe rows.
    const row4 = tf.addN([0, 2, 4].map((i) => tf.slice(probe, [i, 0], [1, 3])));
    assert.ok(maxAbsDiff(tf.slice(ours.grad, [4, 0], [1, 3]), row4) < 1e-6);
    assert.equal(tf.sum(tf.abs(tf.slice(ours.grad, [2, 0], [2, 3]))).dataSync()[0], 0);
  });
  tf.dispose([ours.value, ours.grad, stock.value, stock.grad]);
  assert.equal(tf.memory().numTensors, before, "gatherRows leaked tensors");
  tf.dispose([table, ids, probe]);
});
