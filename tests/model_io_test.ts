import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { fileIOHandler, float32ToFloat16, MODEL_FILES } from "../lib/io/model_io.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

function smallModel(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: 20, outputDim: 4, inputLength: 3, maskZero: true }));
  model.add(tf.layers.dense({ units: 5, activation: "softmax" }));
  return model;
}

Deno.test("a saved model loads back with identical weights and predictions", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const model = smallModel();
    await model.save(fileIOHandler(directory));
    const names = [...Deno.readDirSync(directory)].map((entry) => entry.name).sort();
    assert.deepEqual(
      names,
      [MODEL_FILES.topology, MODEL_FILES.weights].sort(),
      "no temp files left",
    );
    const loaded = await tf.loadLayersModel(fileIOHandler(directory));
    const input = tf.tensor2d([[1, 5, 0], [19, 2, 3]], [2, 3], "int32");
    const [expected, actual] = [model, loaded].map((m) =>
      (m.predict(input) as tf.Tensor).arraySync()
    );
    assert.deepEqual(actual, expected);
    tf.dispose([input]);
  });
});

Deno.test("float16 storage halves the weights file and stays within half precision", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const model = smallModel();
    await model.save(fileIOHandler(`${directory}/full`));
    await model.save(fileIOHandler(`${directory}/half`, { float16: true }));
    const full = (await Deno.stat(`${directory}/full/${MODEL_FILES.weights}`)).size;
    const half = (await Deno.stat(`${directory}/half/${MODEL_FILES.weights}`)).size;
    assert.equal(half * 2, full);
    const loaded = await tf.loadLayersModel(fileIOHandler(`${directory}/half`));
    const original = model.getWeights().map((w) => w.dataSync());
    loaded.getWeights().forEach((weight, index) => {
      const values = weight.dataSync();
      values.forEach((value, i) => {
        assert.ok(Math.abs(value - original[index][i]) <= 1e-3 * Math.max(1, Math.abs(value)));
      });
    });
  });
});

Deno.test("float32ToFloat16 rounds exactly representable values and specials", () => {
  assert.equal(float32ToFloat16(1), 0x3c00);
  assert.equal(float32ToFloat16(-2), 0xc000);
  assert.equal(float32ToFloat16(0.5), 0x3800);
  assert.equal(float32ToFloat16(65504), 0x7bff);
  assert.equal(float32ToFloat16(1e6), 0x7c00);
  assert.equal(float32ToFloat16(0), 0);
  assert.equal(float32ToFloat16(2 ** -24), 1, "smallest subnormal");
  assert.equal(float32ToFloat16(NaN) & 0x7c00, 0x7c00);
});

Deno.test("a missing folder, a non-model JSON and truncated weights give clear errors", async () => {
  await tf.setBackend("cpu");
  await assert.rejects(
    tf.loadLayersModel(fileIOHandler("/nonexistent/model")),
    /\/nonexistent\/model\/model\.json: cannot read model topology \(not found\)/,
  );
  await withTempDir(async (directory) => {
    await smallModel().save(fileIOHandler(directory));
    const weightsPath = `${directory}/${MODEL_FILES.weights}`;
    const weights = await Deno.readFile(weightsPath);
    await Deno.writeFile(weightsPath, weights.slice(0, weights.length - 8));
    await assert.rejects(
      tf.loadLayersModel(fileIOHandler(directory)),
      /corrupt or mismatched files/,
    );
    await Deno.writeTextFile(`${directory}/${MODEL_FILES.topology}`, '{"hello": 1}');
    await assert.rejects(tf.loadLayersModel(fileIOHandler(directory)), /not a tfjs layers model/);
  });
});
