import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab, encodeCasing, encodeChars } from "../lib/data/chars.ts";
import type { Sentence } from "../lib/data/corpus.ts";
import { CASING_COUNT, charVocabToJSON } from "../lib/data/chars.ts";
import { evaluateModel } from "../lib/evaluate/evaluate.ts";
import { tagScores } from "../lib/predict/inference.ts";
import { Tagger } from "../lib/model/tagger.ts";
import { type ModelSettings, wordRepresentationWidth } from "../lib/model/config.ts";
import { saveModelFolder } from "../lib/io/model_folder.ts";
import {
  disposeLoadedModel,
  type LoadedModel,
  loadModelFolder,
} from "../lib/io/ensemble_folder.ts";
import { crfDecoder, predictTokens } from "../lib/predict/predict.ts";
import { predictText } from "../lib/predict/predict_text.ts";
import { train } from "../lib/train/train.ts";
import type { TrainConfig } from "../lib/train/config.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { buildVocab, wordId } from "../lib/data/vocab.ts";
import { encodeSentences } from "../lib/data/encode.ts";
import { seededRandom } from "../lib/data/random.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { denoJSON } from "./fixtures/deno_child.ts";
import { straightAndResumed, weightsOf } from "./fixtures/resume.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm" });

const VARIANTS: { name: string; model: ModelSettings }[] = [
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
function batchOf(sentences: Sentence[], maxLen: number, tagger: Tagger) {
  const vocab = buildVocab(sentences);
  const chars = buildCharVocab(sentences);
  const encoded = encodeSentences(sentences, vocab, { maxLen });
  const extras = {
    charIds: encodeChars(sentences, chars, { maxLen, maxChars: SMALL.maxChars }),
    casingIds: encodeCasing(sentences, { maxLen }),
  };
  return { vocab, chars, encoded, extras, tagger };
}

/**
 * The largest difference, over real tokens, between the tagger's forward pass (inference; a
 * softmax head's logits through softmax) and `tagger.model.predict` on the same rows: word ids
 * in [2, vocabSize) of lengths `lengths`, post-padded with 0, and random char and casing ids.
 */
function forwardVersusPredict(tagger: Tagger, lengths: number[], seed: number): number {
  const { maxLen, maxChars, numChars, numTags, vocabSize, charFeatures } = tagger.config;
  const batchSize = lengths.length;
  const random = seededRandom(seed);
  const draw = (n: number) => Math.floor(random() * n);
  const wordIds = new Int32Array(batchSize * maxLen);
  lengths.forEach((length, row) => {
    for (let t = 0; t < length; t++) wordIds[row * maxLen + t] = 2 + draw(vocabSize - 2);
  });
  const charIds = Int32Array.from({ length: batchSize * maxLen * maxChars }, () => draw(numChars));
  const casingIds = Int32Array.from({ length: batchSize * maxLen }, () => draw(CASING_COUNT));
  const [forward, predicted] = tf.tidy(() => {
    const words = tf.tensor2d(wordIds, [batchSize, maxLen], "int32");
    const chars = tf.tensor2d(charIds, [batchSize * maxLen, maxChars], "int32");
    const casing = tf.tensor1d(casingIds, "int32");
    const scores = tagger.forward({
      batchSize,
      time: maxLen,
      wordIds: words,
      charIds: charFeatures ? chars : null,
      casingIds: charFeatures ? casing : null,
    });
    const inputs = charFeatures
      ? [
        words,
        tf.reshape(chars, [batchSize, maxLen, maxChars]),
        tf.reshape(casing, [batchSize, maxLen]),
      ]
      : words;
    return [
      (tagger.hasCrf ? scores : tf.softmax(scores)).dataSync(),
      (tagger.model.predict(inputs) as tf.Tensor).dataSync(),
    ];
  });
  let worst = 0;
  lengths.forEach((length, row) => {
    for (let i = row * maxLen * numTags; i < (row * maxLen + length) * numTags; i++) {
      worst = Math.max(worst, Math.abs(forward[i] - predicted[i]));
    }
  });
  return worst;
}

Deno.test("every variant builds with the expected layers, inputs and output", () => {
  const config = { vocabSize: 30, numTags: 5, maxLen: 7, numChars: 20, ...SMALL };
  for (const { name, model: variant } of VARIANTS) {
    const tagger = new Tagger({ ...config, ...variant });
    const model = tagger.model;
    const classes = model.layers.map((l) => l.getClassName());
    assert.equal(model.inputs.length, variant.charFeatures ? 3 : 1, name);
    assert.deepEqual(model.outputs[0].shape, [null, 7, 5], name);
    assert.equal(classes.includes("CrfLayer"), variant.modelType === "bilstm-crf", name);
    assert.equal(classes.includes("CharCnn"), variant.charFeatures === true, name);
    assert.equal(tagger.hasCrf, variant.modelType === "bilstm-crf", name);
    assert.equal(tagger.parts.charCnn !== null, variant.charFeatures === true, name);
    assert.equal(
      wordRepresentationWidth(tagger.config),
      8 + (variant.charFeatures ? 7 + 3 : 0),
      name,
    );
    assert.equal(tagger.config.dropout, variant.dropout ?? 0, name);
    assert.equal(tagger.config.outputDropout, variant.outputDropout ?? 0, name);
    assert.equal(
      classes.filter((c) => c === "Dropout").length,
      Number((variant.dropout ?? 0) > 0) + Number((variant.outputDropout ?? 0) > 0),
      name,
    );
    assert.equal(tagger.parts.biLstms.length, variant.biLstmLayers ?? 1, name);
    assert.deepEqual(
      tagger.parts.biLstms.map((layer) => layer.name),
      ["bilstm", "bilstm_2"].slice(0, variant.biLstmLayers ?? 1),
      name,
    );
    // Was `hasFastPath(model)`: inference now always runs the tagger's forward pass, so check
    // that it computes what the model computes.
    const worst = forwardVersusPredict(tagger, [7, 3, 1], 17);
    assert.ok(worst < 1e-4, `${name}: forward pass = model.predict (differs by ${worst})`);
    tagger.dispose();
  }
  assert.throws(() => new Tagger({ vocabSize: 9, numTags: 3, charFeatures: true }), /numChars/);
});

Deno.test("building and disposing any variant frees every tensor it made", () => {
  const config = { vocabSize: 30, numTags: 5, maxLen: 7, numChars: 20, ...SMALL };
  for (const { name, model: variant } of VARIANTS) {
    const before = tf.memory().numTensors;
    const tagger = new Tagger({ ...config, ...variant });
    assert.equal(
      tf.memory().numTensors - before,
      tagger.model.weights.length,
      `${name}: weights only`,
    );
    tagger.dispose();
    assert.equal(tf.memory().numTensors, before, name);
  }
});

Deno.test("the default model is unchanged: 3,682,017 parameters and a softmax head", () => {
  const tagger = new Tagger({ vocabSize: 35178, numTags: 17 });
  const model = tagger.model;
  assert.equal(model.countParams(), 3682017);
  assert.equal(model.name, "ner_bilstm_fast");
  assert.equal(model.layers.length, 4);
  assert.equal(tagger.hasCrf, false);
  tagger.dispose();
});

/** A SMALL-sized tagger of a variant, with maps built from `sentences`. */
function smallTagger(
  sentences: Sentence[],
  maxLen: number,
  variant: ModelSettings,
): Tagger {
  const vocab = buildVocab(sentences);
  return new Tagger({
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
    const tagger = smallTagger(sentences, maxLen, variant);
    const { encoded, extras } = batchOf(sentences, maxLen, tagger);
    const trainer = createTrainer(tagger, { learningRate: 0.02, seed: 9 });
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
    tagger.dispose();
  }
});

Deno.test("output dropout acts in training steps only", () => {
  const sentences = syntheticSentences(16, 13);
  const maxLen = 12;
  const [plain, dropped] = [0, 0.5].map((outputDropout) => {
    const tagger = smallTagger(sentences, maxLen, { modelType: "bilstm-crf", outputDropout });
    const { encoded } = batchOf(sentences, maxLen, tagger);
    const trainer = createTrainer(tagger, { learningRate: 0.01, seed: 4 });
    const args = [encoded.wordIds, encoded.tagIds, encoded.mask, sentences.length] as const;
    const evaluated = trainer.evaluateBatch(...args).loss;
    const trained = trainer.trainBatch(...args).loss;
    tagger.dispose();
    return { evaluated, trained };
  });
  assert.equal(dropped.evaluated, plain.evaluated, "same weights, no dropout in evaluation");
  assert.notEqual(dropped.trained, plain.trained, "the training step drops BiLSTM outputs");
  assert.throws(
    () => new Tagger({ vocabSize: 9, numTags: 3, outputDropout: 1 }),
    /outputDropout must be in \[0, 1\)/,
  );
});

Deno.test("CRF training trims padding exactly: same losses and weights as untrimmed", () => {
  const sentences = syntheticSentences(8, 11);
  const maxLen = 16;
  const runs = [true, false].map((trimPadding) => {
    const tagger = smallTagger(sentences, maxLen, {
      modelType: "bilstm-crf",
      charFeatures: true,
      recurrentDropout: 0,
    });
    const { encoded, extras } = batchOf(sentences, maxLen, tagger);
    const trainer = createTrainer(tagger, { learningRate: 0.01, trimPadding });
    const losses = [0, 1, 2].map(() =>
      trainer.trainBatch(encoded.wordIds, encoded.tagIds, encoded.mask, 8, extras).loss
    );
    const weights = tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
    tagger.dispose();
    return { losses, weights };
  });
  runs[0].losses.forEach((loss, i) => assert.ok(Math.abs(loss - runs[1].losses[i]) < 1e-4));
  runs[0].weights.forEach((w, i) =>
    w.forEach((value, k) => assert.ok(Math.abs(value - runs[1].weights[i][k]) < 1e-4))
  );
});

/**
 * SMALL as a training run's model settings: the char settings only with char features (a
 * training config refuses char settings without them).
 */
function smallSettings(variant: ModelSettings): ModelSettings {
  const { charDim, charFilters, casingDim, maxChars, ...sizes } = SMALL;
  return variant.charFeatures ? { ...sizes, charDim, charFilters, casingDim, maxChars } : sizes;
}

/** Trains a variant briefly into a run folder and loads it back. */
async function trainedVariant(
  directory: string,
  variant: ModelSettings,
): Promise<{ loaded: LoadedModel; trained: Tagger; sentences: Sentence[] }> {
  const sentences = syntheticSentences(48);
  const result = await train({
    trainSentences: sentences,
    config: {
      epochs: 2,
      batchSize: 8,
      maxLen: 10,
      seed: 5,
      learningRate: 0.02,
      model: { ...smallSettings(variant), ...variant },
    },
    out: directory,
    progress: null,
  });
  return {
    loaded: await loadModelFolder(directory, { checkpoint: "last" }),
    trained: result.tagger,
    sentences,
  };
}

Deno.test("save → load round trip gives identical predictions for every variant", async () => {
  await withTempDir(async (directory) => {
    for (const [index, { name, model: variant }] of VARIANTS.entries()) {
      const { loaded, trained, sentences } = await trainedVariant(`${directory}/${index}`, variant);
      assert.equal(loaded.members.length, 1, name);
      assert.equal(loaded.ensemble, null, name);
      const member = loaded.members[0];
      assert.equal(member.tagger.config.modelType, variant.modelType ?? "bilstm", name);
      assert.equal(member.chars !== null, variant.charFeatures === true, name);
      const words = sentences.slice(0, 12).map((s) => s.words);
      const fromDisk = predictTokens(loaded, words);
      const inMemory = predictTokens(
        { tagger: trained, vocab: member.vocab, chars: member.chars },
        words,
      );
      assert.deepEqual(fromDisk, inMemory, `${name}: same tags and probabilities`);
      // The forward pass (tagScores) and model.predict agree on the loaded tagger.
      const ids = new Int32Array(10).fill(0);
      words[0].forEach((word, i) => (ids[i] = wordId(member.vocab, word)));
      const features = member.chars
        ? {
          charIds: encodeChars([sentences[0]], member.chars, { maxLen: 10, maxChars: 8 }),
          casingIds: encodeCasing([sentences[0]], { maxLen: 10 }),
        }
        : {};
      const fast = tagScores(member.tagger, ids, [words[0].length], 1, features);
      const slow = tf.tidy(() => {
        const inputs = member.chars
          ? [
            tf.tensor2d(ids, [1, 10], "int32"),
            tf.tensor3d(features.charIds!, [1, 10, 8], "int32"),
            tf.tensor2d(features.casingIds!, [1, 10], "int32"),
          ]
          : tf.tensor2d(ids, [1, 10], "int32");
        return (member.tagger.model.predict(inputs) as tf.Tensor).dataSync();
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
      disposeLoadedModel(loaded);
    }
  });
});

Deno.test("CRF decoding never outputs <pad>, even when its emission dominates", () => {
  const tagger = new Tagger({ vocabSize: 10, numTags: 4, maxLen: 5, modelType: "bilstm-crf" });
  const crf = tagger.parts.crf!;
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
  tagger.dispose();
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
      weightsOf(resumed.tagger.model),
      weightsOf(straight.tagger.model),
      "resumed weights equal the uninterrupted run's",
    );
    const saved = JSON.parse(
      await Deno.readTextFile(`${directory}/broken/checkpoints/epoch-003/config.json`),
    );
    assert.equal(saved.version, 2);
    assert.equal(saved.tagger.modelType, "bilstm-crf");
    assert.equal(saved.tagger.charFeatures, true);
  });
});

Deno.test("a char-feature model folder without chars.json, or with a wrong one, fails clearly", async () => {
  const sentences = syntheticSentences(10);
  const vocab = buildVocab(sentences);
  const chars = buildCharVocab(sentences);
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 6,
    numChars: chars.chars.length,
    ...SMALL,
    charFeatures: true,
  });
  await withTempDir(async (directory) => {
    await assert.rejects(
      saveModelFolder(directory, { tagger, vocab, chars: null }),
      /character map/,
    );
    await saveModelFolder(directory, { tagger, vocab, chars });
    const loaded = await loadModelFolder(directory);
    assert.deepEqual(loaded.members[0].chars?.chars, chars.chars);
    disposeLoadedModel(loaded);
    const fewer = buildCharVocab(sentences.slice(0, 1));
    // Saving now refuses a map that does not fit the tagger; a folder whose chars.json was
    // replaced by one still fails to load.
    await assert.rejects(
      saveModelFolder(directory, { tagger, vocab, chars: fewer }),
      /maps and weights do not match/,
    );
    await Deno.writeTextFile(`${directory}/chars.json`, JSON.stringify(charVocabToJSON(fewer)));
    await assert.rejects(loadModelFolder(directory), /maps and weights do not match/);
    await Deno.remove(`${directory}/chars.json`);
    await assert.rejects(loadModelFolder(directory), /character map/);
  });
  tagger.dispose();
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
    disposeLoadedModel(loaded);
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
