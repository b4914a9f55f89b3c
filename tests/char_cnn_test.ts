/**
 * `lib/model/char_cnn.ts` on wasm: shapes, the fast path against the unfolded one-matMul reference and
 * against finite differences, padding invariance, seeding, weights I/O, the `CharCnn` layer in a
 * saved and reloaded `LayersModel`, and no tensor leaks.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { CharCnn } from "../lib/model/char_cnn_layer.ts";
import {
  charCnnForward,
  charCnnForwardUnfolded,
  type CharCnnParameters,
  charCnnVariables,
  charCnnWeights,
  createCharCnnParameters,
  disposeCharCnnParameters,
  setCharCnnWeights,
} from "../lib/model/char_cnn.ts";
import { seededRandom } from "../lib/data/random.ts";

const TINY = { numChars: 7, charDim: 3, filters: 4, width: 3 };

/** Words of lengths 3, 0 (padding word), 5 (full), 1, in `C = 5` columns. */
function tinyIds(): tf.Tensor2D {
  return tf.tensor2d(
    [[2, 3, 4, 0, 0], [0, 0, 0, 0, 0], [5, 6, 1, 3, 2], [6, 0, 0, 0, 0]],
    [4, 5],
    "int32",
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** A random linear read-out of the features, so every output feeds the loss differently. */
function readout(shape: [number, number], seed: number): tf.Tensor2D {
  const random = seededRandom(seed);
  const values = Float32Array.from({ length: shape[0] * shape[1] }, () => random() * 2 - 1);
  return tf.tensor2d(values, shape);
}

for (const activation of ["tanh", "relu"] as const) {
  Deno.test(`charCnnForward (${activation}): shape, zeros for padding words, equals the unfolded reference`, async () => {
    await initBackend({ backend: "wasm" });
    const params = createCharCnnParameters({ ...TINY, activation, seed: 3 });
    const ids = tinyIds();
    const fast = charCnnForward(params, ids);
    const reference = charCnnForwardUnfolded(params, ids);
    assert.deepEqual(fast.shape, [4, TINY.filters]);
    assert.equal(fast.dtype, "float32");
    assert.deepEqual([...fast.arraySync()[1]], [0, 0, 0, 0]);
    assert.ok(fast.arraySync()[0].some((v) => v !== 0), "a real word has non-zero features");
    assert.ok(maxAbsDiff(fast, reference) < 1e-6, `differs by ${maxAbsDiff(fast, reference)}`);
    const weights = readout([4, TINY.filters], 11);
    const loss = (forward: typeof charCnnForward) => () =>
      tf.sum(tf.mul(forward(params, ids), weights)) as tf.Scalar;
    const fastGrads = tf.variableGrads(loss(charCnnForward), charCnnVariables(params));
    const refGrads = tf.variableGrads(loss(charCnnForwardUnfolded), charCnnVariables(params));
    for (const variable of charCnnVariables(params)) {
      const [a, b] = [fastGrads.grads[variable.name], refGrads.grads[variable.name]];
      assert.ok(maxAbsDiff(a, b) < 1e-5, `${variable.name}: gradients differ`);
      assert.ok(tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]) > 0, `${variable.name}: zero grad`);
    }
    tf.dispose([fast, reference, ids, weights, fastGrads.value, refGrads.value]);
    tf.dispose([...Object.values(fastGrads.grads), ...Object.values(refGrads.grads)]);
    disposeCharCnnParameters(params);
  });
}

Deno.test("charCnnForward: gradients match central finite differences within 1e-3", async () => {
  await initBackend({ backend: "wasm" });
  const params = createCharCnnParameters({ ...TINY, seed: 5 });
  const ids = tinyIds();
  const weights = readout([4, TINY.filters], 12);
  const loss = () => tf.sum(tf.mul(charCnnForward(params, ids), weights)) as tf.Scalar;
  const { value, grads } = tf.variableGrads(loss, charCnnVariables(params));
  const epsilon = 1e-2;
  let worst = 0;
  for (const variable of charCnnVariables(params)) {
    const original = variable.dataSync().slice();
    const analytic = grads[variable.name].dataSync();
    for (let i = 0; i < original.length; i++) {
      const at = (delta: number) => {
        const moved = original.slice();
        moved[i] += delta;
        variable.assign(tf.tensor(moved, variable.shape));
        return tf.tidy(() => loss().dataSync()[0]);
      };
      const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
      worst = Math.max(worst, Math.abs(numeric - analytic[i]));
    }
    variable.assign(tf.tensor(original, variable.shape));
  }
  assert.ok(worst < 1e-3, `worst |numeric - analytic| = ${worst}`);
  tf.dispose([value, ...Object.values(grads), ids, weights]);
  disposeCharCnnParameters(params);
});

Deno.test("charCnnForward: trailing padding and other words do not change a word's features", async () => {
  await initBackend({ backend: "wasm" });
  const params = createCharCnnParameters({ ...TINY, seed: 6 });
  const short = tf.tensor2d([[2, 3, 4]], [1, 3], "int32");
  const padded = tf.tensor2d([[2, 3, 4, 0, 0, 0, 0, 0], [5, 5, 5, 5, 5, 5, 5, 5]], [2, 8], "int32");
  const a = charCnnForward(params, short);
  const b = tf.slice(charCnnForward(params, padded), [0, 0], [1, TINY.filters]);
  assert.ok(maxAbsDiff(a, b) < 1e-6, `features differ by ${maxAbsDiff(a, b)}`);
  const c = charCnnForwardUnfolded(params, padded);
  assert.ok(maxAbsDiff(a, tf.slice(c, [0, 0], [1, TINY.filters])) < 1e-6);
  // a different last character does change them
  const other = charCnnForward(params, tf.tensor2d([[2, 3, 5]], [1, 3], "int32"));
  assert.ok(maxAbsDiff(a, other) > 1e-4);
  assert.throws(
    () => charCnnForward(params, tf.tensor2d([[7]], [1, 1], "int32")),
    /outside 0\.\.6/,
  );
  disposeCharCnnParameters(params);
});

Deno.test("createCharCnnParameters: deterministic by seed, same start as the CharCnn layer", async () => {
  await initBackend({ backend: "wasm" });
  const a = createCharCnnParameters({ ...TINY, seed: 9 });
  const b = createCharCnnParameters({ ...TINY, seed: 9 });
  const c = createCharCnnParameters({ ...TINY, seed: 10 });
  const layer = new CharCnn({ ...TINY, seed: 9 });
  layer.build([null, 4, 5]);
  const fromLayer = layer.parameters();
  const [va, vb, vc, vl] = [a, b, c, fromLayer].map(charCnnVariables);
  assert.deepEqual(va.map((v) => v.shape), [[7, 3], [9, 4], [4]]);
  va.forEach((v, i) => {
    assert.equal(maxAbsDiff(v, vb[i]), 0);
    assert.equal(maxAbsDiff(v, vl[i]), 0);
  });
  assert.ok(maxAbsDiff(va[0], vc[0]) > 0 && maxAbsDiff(va[1], vc[1]) > 0);
  const limit = Math.sqrt(3 / TINY.charDim);
  assert.ok(Math.max(...a.charEmbedding.dataSync().map(Math.abs)) <= limit);
  assert.throws(() => createCharCnnParameters({ ...TINY, width: 2 }), /odd/);
  [a, b, c].forEach(disposeCharCnnParameters);
  tf.dispose(vl);
});

Deno.test("charCnnWeights / setCharCnnWeights round-trip through tf.io encoding", async () => {
  await initBackend({ backend: "wasm" });
  const source = createCharCnnParameters({ ...TINY, seed: 1 });
  const target: CharCnnParameters = createCharCnnParameters({ ...TINY, seed: 2 });
  const { data, specs } = await tf.io.encodeWeights(charCnnWeights(source));
  const decoded = tf.io.decodeWeights(data, specs);
  setCharCnnWeights(target, decoded);
  const ids = tinyIds();
  assert.equal(maxAbsDiff(charCnnForward(source, ids), charCnnForward(target, ids)), 0);
  const { bias: _bias, ...missing } = decoded;
  assert.throws(() => setCharCnnWeights(target, missing), /"bias" is missing/);
  assert.throws(
    () => setCharCnnWeights(target, { ...decoded, kernel: tf.zeros([3, 3]) }),
    /"kernel" has shape/,
  );
  tf.dispose(Object.values(decoded));
  [source, target].forEach(disposeCharCnnParameters);
});

Deno.test("CharCnn layer: [batch, time, C] → [batch, time, filters]; saves and loads in a model", async () => {
  await initBackend({ backend: "wasm" });
  const input = tf.input({ shape: [2, 5], dtype: "int32", name: "char_ids" });
  const layer = new CharCnn({ ...TINY, name: "char_cnn", seed: 4 });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  assert.deepEqual(model.outputs[0].shape, [null, 2, TINY.filters]);
  const ids = tf.reshape(tinyIds(), [2, 2, 5]);
  const predicted = model.predict(ids) as tf.Tensor;
  const direct = charCnnForward(layer.parameters(), tinyIds());
  assert.equal(maxAbsDiff(tf.reshape(predicted, [4, TINY.filters]), direct), 0);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((saved) => {
    artifacts = saved;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.equal(loaded.layers[1].getClassName(), "CharCnn");
  assert.equal(loaded.layers[1].getConfig().filters, TINY.filters);
  assert.equal(maxAbsDiff(loaded.predict(ids) as tf.Tensor, predicted), 0);
  model.dispose();
  loaded.dispose();
});

Deno.test("charCnnForward and its gradients leak no tensors", async () => {
  await initBackend({ backend: "wasm" });
  const params = createCharCnnParameters({ ...TINY, seed: 8 });
  const ids = tinyIds();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.dispose(charCnnForward(params, ids));
    const { value, grads } = tf.variableGrads(
      () => tf.sum(charCnnForward(params, ids)) as tf.Scalar,
      charCnnVariables(params),
    );
    tf.dispose([value, ...Object.values(grads)]);
    const engineGrads = tf.tidy(() =>
      tf.engine().gradients(() => tf.sum(charCnnForward(params, ids)), charCnnVariables(params))
    );
    tf.dispose([engineGrads.value, ...engineGrads.grads]);
  }
  assert.equal(tf.memory().numTensors, before);
  ids.dispose();
  disposeCharCnnParameters(params);
});
