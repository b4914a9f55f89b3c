/**
 * `buildModel`: the tutorial's parameter count for both BiLSTM kinds, seeded weights, same
 * function for both kinds, padding masked through the BiLSTM, and save/load of the fast layer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { buildModel } from "../lib/model/build.ts";

const SMALL = { vocabSize: 30, numTags: 5, maxLen: 6, embeddingDim: 4, units: 3 };

function ids(): tf.Tensor2D {
  return tf.tensor2d([[5, 9, 2, 0, 0, 0], [7, 1, 3, 4, 8, 6]], [2, 6], "int32");
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

for (const layer of ["fast", "stock"] as const) {
  Deno.test(`buildModel (${layer}) has the tutorial's 3,682,017 parameters`, async () => {
    await initBackend();
    const model = buildModel({ vocabSize: 35178, numTags: 17, layer });
    assert.equal(model.countParams(), 3_682_017);
    assert.deepEqual(model.outputs[0].shape, [null, 50, 17]);
    model.dispose();
  });
}

Deno.test("buildModel: same seed gives the same weights, for both kinds alike", async () => {
  await initBackend();
  const a = buildModel({ ...SMALL, seed: 3 });
  const b = buildModel({ ...SMALL, seed: 3 });
  const c = buildModel({ ...SMALL, seed: 4 });
  const s = buildModel({ ...SMALL, seed: 3, layer: "stock" });
  const [wa, wb, wc, ws] = [a, b, c, s].map((m) => m.getWeights());
  assert.equal(wa.length, 9);
  wa.forEach((w, i) => {
    assert.equal(maxAbsDiff(w, wb[i]), 0);
    assert.equal(maxAbsDiff(w, ws[i]), 0);
  });
  assert.ok(maxAbsDiff(wa[0], wc[0]) > 0);
  assert.ok(maxAbsDiff(wa[1], wc[1]) > 0);
  [a, b, c, s].forEach((m) => m.dispose());
});

Deno.test("buildModel: fast and stock predict the same; padding is masked", async () => {
  await initBackend();
  const fast = buildModel({ ...SMALL, seed: 5 });
  const stock = buildModel({ ...SMALL, seed: 5, layer: "stock" });
  const x = ids();
  const pf = fast.predict(x) as tf.Tensor;
  const ps = stock.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(pf, ps) < 1e-5, `predictions differ by ${maxAbsDiff(pf, ps)}`);
  // Without the mask the backward direction reads the padding, so real tokens change.
  const unmasked = buildModel({ ...SMALL, seed: 5, maskPadding: false });
  const pu = unmasked.predict(x) as tf.Tensor;
  const real = (p: tf.Tensor) => tf.slice(p, [0, 0, 0], [1, 3, SMALL.numTags]);
  assert.ok(maxAbsDiff(real(pf), real(pu)) > 1e-6, "masking should change real-token outputs");
  tf.dispose([x, pf, ps, pu]);
  [fast, stock, unmasked].forEach((m) => m.dispose());
});

Deno.test("buildModel: a fast model saves and loads (FastBiLSTM is registered)", async () => {
  await initBackend();
  const model = buildModel({ ...SMALL, seed: 8 });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({
      modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
    });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.ok(loaded.layers.some((l) => l.getClassName() === "FastBiLSTM"));
  const x = ids();
  const [p1, p2] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
  assert.equal(maxAbsDiff(p1, p2), 0);
  tf.dispose([x, p1, p2]);
  loaded.dispose();
  model.dispose();
});
