/**
 * `Tagger` and its tfjs-layers graph (`tagger.model`): the tutorial's parameter count for both
 * BiLSTM kinds, seeded weights, same function for both kinds, padding masked through the BiLSTM,
 * and save/load of the fast layer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { Tagger } from "../lib/model/tagger.ts";

const SMALL = { vocabSize: 30, numTags: 5, maxLen: 6, embeddingDim: 4, units: 3 };

function ids(): tf.Tensor2D {
  return tf.tensor2d([[5, 9, 2, 0, 0, 0], [7, 1, 3, 4, 8, 6]], [2, 6], "int32");
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

for (const layer of ["fast", "stock"] as const) {
  Deno.test(`Tagger (${layer}) has the tutorial's 3,682,017 parameters`, async () => {
    await initBackend();
    const tagger = new Tagger({ vocabSize: 35178, numTags: 17, layer });
    assert.equal(tagger.model.countParams(), 3_682_017);
    assert.deepEqual(tagger.model.outputs[0].shape, [null, 50, 17]);
    tagger.dispose();
  });
}

Deno.test("Tagger: same seed gives the same weights, for both kinds alike", async () => {
  await initBackend();
  const a = new Tagger({ ...SMALL, seed: 3 });
  const b = new Tagger({ ...SMALL, seed: 3 });
  const c = new Tagger({ ...SMALL, seed: 4 });
  const s = new Tagger({ ...SMALL, seed: 3, layer: "stock" });
  const [wa, wb, wc, ws] = [a, b, c, s].map((t) => t.model.getWeights());
  assert.equal(wa.length, 9);
  wa.forEach((w, i) => {
    assert.equal(maxAbsDiff(w, wb[i]), 0);
    assert.equal(maxAbsDiff(w, ws[i]), 0);
  });
  assert.ok(maxAbsDiff(wa[0], wc[0]) > 0);
  assert.ok(maxAbsDiff(wa[1], wc[1]) > 0);
  [a, b, c, s].forEach((t) => t.dispose());
});

Deno.test("Tagger: fast and stock predict the same; padding is masked", async () => {
  await initBackend();
  const fast = new Tagger({ ...SMALL, seed: 5 });
  const stock = new Tagger({ ...SMALL, seed: 5, layer: "stock" });
  const x = ids();
  const pf = fast.model.predict(x) as tf.Tensor;
  const ps = stock.model.predict(x) as tf.Tensor;
  assert.ok(maxAbsDiff(pf, ps) < 1e-5, `predictions differ by ${maxAbsDiff(pf, ps)}`);
  // Without the mask the backward direction reads the padding, so real tokens change.
  const unmasked = new Tagger({ ...SMALL, seed: 5, maskPadding: false });
  const pu = unmasked.model.predict(x) as tf.Tensor;
  const real = (p: tf.Tensor) => tf.slice(p, [0, 0, 0], [1, 3, SMALL.numTags]);
  assert.ok(maxAbsDiff(real(pf), real(pu)) > 1e-6, "masking should change real-token outputs");
  tf.dispose([x, pf, ps, pu]);
  [fast, stock, unmasked].forEach((t) => t.dispose());
});

Deno.test("Tagger: a fast tagger's model saves and loads (FastBiLSTM is registered)", async () => {
  await initBackend();
  const tagger = new Tagger({ ...SMALL, seed: 8 });
  const model = tagger.model;
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
  tagger.dispose();
});
