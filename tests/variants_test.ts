import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab, encodeCasing, encodeChars } from "../lib/data/chars.ts";
import type { Sentence } from "../lib/data/corpus.ts";
import { CrfLayer } from "../lib/model/crf_layer.ts";
import { evaluateModel } from "../lib/evaluate/evaluate.ts";
import { hasFastPath, tagScores } from "../lib/predict/inference.ts";
import { buildModel, type ModelConfig } from "../lib/model/build.ts";
import { type LoadedModel, loadModelFolder, saveModelFolder } from "../lib/io/model_folder.ts";
import { crfDecoder, predictText, predictTokens } from "../lib/predict/predict.ts";
import { train, type TrainConfig } from "../lib/train/train.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import { createTrainer, taggerParts } from "../lib/train/trainer.ts";
import { buildVocab, wordId } from "../lib/data/vocab.ts";
import { encodeSentences } from "../lib/data/encode.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { denoJSON } from "./fixtures/deno_child.ts";
import { straightAndResumed, weightsOf } from "./fixtures/resume.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm" });

const VARIANTS: { name: string; model: Partial<ModelConfig> }[] = [
  { name: "bilstm", model: {} },
  { name: "bilstm-crf", model: { modelType: "bilstm-crf" } },
  { name: "bilstm+chars", model: { charFeatures: true, dropout: 0.5 } },
  { name: "bilstm-crf+chars", model: { modelType: "bilstm-crf", charFeatures: true } },
  { name: "2 × bilstm-crf", model: { modelType: "bilstm-crf", biLstmLayers: 2 } },
  {
    name: "bilstm-crf+chars+both dropouts",
    model: { modelType: "bilstm-crf", charFeatures: true, dropout: 0.5, outputDropout: 0.5 },
  },
];

const SMALL = { embeddingDim: 8, units: 6, charDim: 5, charFilters: 7, casingDim: 3, maxChars: 8 };

/** Encoded batch of sentences for the trainer, with char features. */
function batchOf(sentences: Sentence[], maxLen: number, model: tf.LayersModel) {
  const vocab = buildVocab(sentences);
  const chars = buildCharVocab(sentences);
  const encoded = encodeSentences(sentences, vocab, { maxLen });
  const extras = {
    charIds: encodeChars(sentences, chars, { maxLen, maxChars: SMALL.maxChars }),
    casingIds: encodeCasing(sentences, { maxLen }),
  };
  return { vocab, chars, encoded, extras, model };
}

Deno.test("every variant builds with the expected layers, inputs and output", () => {
  const config = { vocabSize: 30, numTags: 5, maxLen: 7, numChars: 20, ...SMALL };
  for (const { name, model: variant } of VARIANTS) {
    const model = buildModel({ ...config, ...variant });
    const classes = model.layers.map((l) => l.getClassName());
    assert.equal(model.inputs.length, variant.charFeatures ? 3 : 1, name);
    assert.deepEqual(model.outputs[0].shape, [null, 7, 5], name);
    assert.equal(classes.includes("CrfLayer"), variant.modelType === "bilstm-crf", name);
    assert.equal(classes.includes("CharCnn"), variant.charFeatures === true, name);
    const parts = taggerParts(model);
    assert.equal(parts.reprDim, 8 + (variant.charFeatures ? 7 + 3 : 0), name);
    assert.equal(parts.dropout, variant.dropout ?? 0, name);
    assert.equal(parts.outputDropout, variant.outputDropout ?? 0, name);
    assert.equal(
      classes.filter((c) => c === "Dropout").length,
      Number((variant.dropout ?? 0) > 0) + Number((variant.outputDropout ?? 0) > 0),
      name,
    );
    assert.equal(parts.biLstms.length, variant.biLstmLayers ?? 1, name);
    assert.deepEqual(
      parts.biLstms.map((layer) => layer.name),
      ["bilstm", "bilstm_2"].slice(0, variant.biLstmLayers ?? 1),
      name,
    );
    assert.ok(hasFastPath(model), `${name} takes the fast inference path`);
    model.dispose();
  }
  assert.throws(() => buildModel({ vocabSize: 9, numTags: 3, charFeatures: true }), /numChars/);
});

Deno.test("building and disposing any variant frees every tensor it made", () => {
  const config = { vocabSize: 30, numTags: 5, maxLen: 7, numChars: 20, ...SMALL };
  for (const { name, model: variant } of VARIANTS) {
    const before = tf.memory().numTensors;
    const model = buildModel({ ...config, ...variant });
    assert.equal(tf.memory().numTensors - before, model.weights.length, `${name}: weights only`);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, name);
  }
});

Deno.test("the default model is unchanged: 3,682,017 parameters and a softmax head", () => {
  const model = buildModel({ vocabSize: 35178, numTags: 17 });
  assert.equal(model.countParams(), 3682017);
  assert.equal(model.name, "ner_bilstm_fast");
  assert.equal(model.layers.length, 4);
  model.dispose();
});

/** A SMALL-sized model of a variant, with maps built from `sentences`. */
function smallModel(
  sentences: Sentence[],
  maxLen: number,
  variant: Partial<ModelConfig>,
): tf.LayersModel {
  const vocab = buildVocab(sentences);
  return buildModel({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen,
    numChars: buildCharVocab(sentences).chars.length,
    ...SMALL,
    ...variant,
  });
}

Deno.test("a few training steps lower the loss of every variant; no tensor leaks", () => {
  const sentences = syntheticSentences(32);
  const maxLen = 12;
  for (const { name, model: variant } of VARIANTS) {
    const model = smallModel(sentences, maxLen, variant);
    const { encoded, extras } = batchOf(sentences, maxLen, model);
    const trainer = createTrainer(model, { learningRate: 0.02, seed: 9 });
    const args = [encoded.wordIds, encoded.tagIds, encoded.mask, sentences.length] as const;
    const before = trainer.evaluateBatch(...args, extras);
    trainer.trainBatch(...args, extras); // first step allocates optimiser-side tensors
    const tensors = tf.memory().numTensors;
    for (let step = 0; step < 30; step++) trainer.trainBatch(...args, extras);
    assert.equal(tf.memory().numTensors, tensors, `${name}: no tensors leak per step`);
    const after = trainer.evaluateBatch(...args, extras);
    assert.equal(tf.memory().numTensors, tensors, `${name}: no tensors leak in evaluation`);
    assert.ok(after.loss < 0.7 * before.loss, `${name}: loss ${before.loss} → ${after.loss}`);
    assert.ok(after.accuracy > 0.8, `${name}: accuracy ${after.accuracy}`);
    if (variant.charFeatures) {
      assert.throws(() => trainer.trainBatch(...args), /charIds/, `${name} needs char ids`);
    }
    model.dispose();
  }
});

Deno.test("output dropout acts in training steps only", () => {
  const sentences = syntheticSentences(16, 13);
  const maxLen = 12;
  const [plain, dropped] = [0, 0.5].map((outputDropout) => {
    const model = smallModel(sentences, maxLen, { modelType: "bilstm-crf", outputDropout });
    const { encoded } = batchOf(sentences, maxLen, model);
    const trainer = createTrainer(model, { learningRate: 0.01, seed: 4 });
    const args = [encoded.wordIds, encoded.tagIds, encoded.mask, sentences.length] as const;
    const evaluated = trainer.evaluateBatch(...args).loss;
    const trained = trainer.trainBatch(...args).loss;
    model.dispose();
    return { evaluated, trained };
  });
  assert.equal(dropped.evaluated, plain.evaluated, "same weights, no dropout in evaluation");
  assert.notEqual(dropped.trained, plain.trained, "the training step drops BiLSTM outputs");
  assert.throws(
    () => buildModel({ vocabSize: 9, numTags: 3, outputDropout: 1 }),
    /outputDropout must be in \[0, 1\)/,
  );
});

Deno.test("CRF training trims padding exactly: same losses and weights as untrimmed", () => {
  const sentences = syntheticSentences(8, 11);
  const maxLen = 16;
  const runs = [true, false].map((trimPadding) => {
    const model = smallModel(sentences, maxLen, {
      modelType: "bilstm-crf",
      charFeatures: true,
      recurrentDropout: 0,
    });
    const { encoded, extras } = batchOf(sentences, maxLen, model);
    const trainer = createTrainer(model, { learningRate: 0.01, trimPadding });
    const losses = [0, 1, 2].map(() =>
      trainer.trainBatch(encoded.wordIds, encoded.tagIds, encoded.mask, 8, extras).loss
    );
    const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return { losses, weights };
  });
  runs[0].losses.forEach((loss, i) => assert.ok(Math.abs(loss - runs[1].losses[i]) < 1e-4));
  runs[0].weights.forEach((w, i) =>
    w.forEach((value, k) => assert.ok(Math.abs(value - runs[1].weights[i][k]) < 1e-4))
  );
});

/** Trains a variant briefly into a run folder and loads it back. */
async function trainedVariant(
  directory: string,
  variant: Partial<ModelConfig>,
): Promise<{ loaded: LoadedModel; trained: tf.LayersModel; sentences: Sentence[] }> {
  const sentences = syntheticSentences(48);
  const result = await train({
    trainSentences: sentences,
    config: {
      epochs: 2,
      batchSize: 8,
      maxLen: 10,
      seed: 5,
      learningRate: 0.02,
      model: { ...SMALL, ...variant },
    },
    out: directory,
    progress: null,
  });
  return { loaded: await loadModelFolder(directory), trained: result.model, sentences };
}

Deno.test("save → load round trip gives identical predictions for every variant", async () => {
  await withTempDir(async (directory) => {
    for (const [index, { name, model: variant }] of VARIANTS.entries()) {
      const { loaded, trained, sentences } = await trainedVariant(`${directory}/${index}`, variant);
      assert.equal(loaded.config.modelType, variant.modelType ?? "bilstm", name);
      assert.equal(loaded.chars !== undefined, variant.charFeatures === true, name);
      const words = sentences.slice(0, 12).map((s) => s.words);
      const fromDisk = predictTokens(loaded, words);
      const inMemory = predictTokens({ ...loaded, model: trained }, words);
      assert.deepEqual(fromDisk, inMemory, `${name}: same tags and probabilities`);
      // Fast path and model.predict agree on the loaded model.
      const ids = new Int32Array(10).fill(0);
      words[0].forEach((word, i) => (ids[i] = wordId(loaded.vocab, word)));
      const features = loaded.chars
        ? {
          charIds: encodeChars([sentences[0]], loaded.chars, { maxLen: 10, maxChars: 8 }),
          casingIds: encodeCasing([sentences[0]], { maxLen: 10 }),
        }
        : {};
      const fast = tagScores(loaded.model, ids, [words[0].length], 1, features);
      const slow = tf.tidy(() => {
        const inputs = loaded.chars
          ? [
            tf.tensor2d(ids, [1, 10], "int32"),
            tf.tensor3d(features.charIds!, [1, 10, 8], "int32"),
            tf.tensor2d(features.casingIds!, [1, 10], "int32"),
          ]
          : tf.tensor2d(ids, [1, 10], "int32");
        return (loaded.model.predict(inputs) as tf.Tensor).dataSync();
      });
      assert.equal(fast.output, variant.modelType === "bilstm-crf" ? "emissions" : "probabilities");
      for (let i = 0; i < words[0].length * fast.numTags; i++) {
        assert.ok(Math.abs(fast.scores[i] - slow[i]) < 1e-4, `${name}: fast = predict at ${i}`);
      }
      const evaluation = evaluateModel(loaded, sentences.slice(40));
      assert.ok(evaluation.tokenAccuracy > 0.6, `${name}: accuracy ${evaluation.tokenAccuracy}`);
      const text = predictText(loaded, "We met Mr Smith in Paris today.");
      assert.equal(text.tokens.length, 8, name);
      assert.ok(text.tokens.every((t) => t.tag !== "<pad>" && t.probability > 0), name);
      trained.dispose();
      loaded.model.dispose();
    }
  });
});

Deno.test("CRF decoding never outputs <pad>, even when its emission dominates", () => {
  const model = buildModel({ vocabSize: 10, numTags: 4, maxLen: 5, modelType: "bilstm-crf" });
  const crf = model.layers.find((l) => l instanceof CrfLayer) as CrfLayer;
  const params = {
    transitions: new Float32Array(16),
    start: new Float32Array(4),
    end: new Float32Array(4),
  };
  const emissions = new Float32Array(3 * 4);
  for (let t = 0; t < 3; t++) {
    emissions[t * 4] = 50; // <pad> scores highest everywhere
    emissions[t * 4 + 1 + t] = 1;
  }
  const decoded = crfDecoder(params, crf.paddingTagId)(emissions, 3, 4);
  assert.deepEqual(Array.from(decoded.tagIds), [1, 2, 3]);
  decoded.probabilities.forEach((p) => assert.ok(p > 0.5 && p <= 1));
  model.dispose();
});

Deno.test("a CRF + char run resumes from its checkpoint to the same weights", async () => {
  const sentences = syntheticSentences(40);
  const config: TrainConfig = {
    epochs: 3,
    batchSize: 8,
    maxLen: 10,
    seed: 5,
    learningRate: 0.01,
    model: { ...SMALL, modelType: "bilstm-crf", charFeatures: true, dropout: 0.3 },
  };
  await withTempDir(async (directory) => {
    const { straight, resumed } = await straightAndResumed(sentences, config, directory);
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.deepEqual(resumed.chars?.chars, straight.chars?.chars);
    assert.deepEqual(resumed.history.loss, straight.history.loss);
    assert.deepEqual(resumed.history.valAccuracy, straight.history.valAccuracy);
    assert.deepEqual(
      weightsOf(resumed.model),
      weightsOf(straight.model),
      "resumed weights equal the uninterrupted run's",
    );
    const saved = JSON.parse(
      await Deno.readTextFile(`${directory}/broken/checkpoints/epoch-003/config.json`),
    );
    assert.equal(saved.modelType, "bilstm-crf");
    assert.equal(saved.model.charFeatures, true);
  });
});

Deno.test("a char-feature model folder without chars.json, or with a wrong one, fails clearly", async () => {
  const sentences = syntheticSentences(10);
  const vocab = buildVocab(sentences);
  const chars = buildCharVocab(sentences);
  const model = buildModel({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 6,
    numChars: chars.chars.length,
    ...SMALL,
    charFeatures: true,
  });
  const config = {
    format: "bilstm-ner-model" as const,
    version: 1 as const,
    maxLen: 6,
    modelType: "bilstm",
    model: {},
  };
  await withTempDir(async (directory) => {
    await assert.rejects(saveModelFolder(directory, model, vocab, config), /character map/);
    await saveModelFolder(directory, model, vocab, config, { chars });
    const loaded = await loadModelFolder(directory);
    assert.deepEqual(loaded.chars?.chars, chars.chars);
    loaded.model.dispose();
    const fewer = buildCharVocab(sentences.slice(0, 1));
    await saveModelFolder(directory, model, vocab, config, { chars: fewer });
    await assert.rejects(loadModelFolder(directory), /maps and weights do not match/);
  });
  model.dispose();
});

Deno.test("countPadding is refused for a CRF model", async () => {
  await assert.rejects(
    train({
      trainSentences: syntheticSentences(10),
      config: { countPadding: true, model: { modelType: "bilstm-crf" } },
      progress: null,
    }),
    /countPadding cannot be used with a bilstm-crf model/,
  );
});

Deno.test("the train CLI rejects a bad --model-type and --dropout; predict CLI loads a CRF+char run", async () => {
  assert.equal(await trainCli(["--model-type", "crf"]), 2);
  assert.equal(await trainCli(["--dropout", "1.5"]), 2);
  assert.equal(await trainCli(["--model-type", "bilstm-crf", "--count-padding"]), 2);
  await withTempDir(async (directory) => {
    const { loaded, trained } = await trainedVariant(directory, {
      modelType: "bilstm-crf",
      charFeatures: true,
    });
    const expected = predictText(loaded, "Mr Smith left Oslo").tokens.map((t) => t.tag);
    trained.dispose();
    loaded.model.dispose();
    const cli = new URL("../lib/cli/predict.ts", import.meta.url).pathname;
    const json = await denoJSON([
      "run",
      "-A",
      cli,
      "--model",
      directory,
      "--json",
      "Mr",
      "Smith",
      "left",
      "Oslo",
    ]) as { tokens: { tag: string }[] };
    assert.deepEqual(json.tokens.map((t: { tag: string }) => t.tag), expected);
  });
});
