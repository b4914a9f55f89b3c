/**
 * Model folders and their one config (lib/io/model_folder.ts, lib/io/_migrate.ts): version-1
 * folders migrate to the tagger config their weights were built from, a record that does not
 * describe its weights is refused, folders written now store the tagger's config once, and
 * `train()` records the config of a tagger its caller built.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab, type CharVocab } from "../lib/data/chars.ts";
import { buildVocab, type Vocab } from "../lib/data/vocab.ts";
import {
  loadModelFolder,
  loadTaggerFolder,
  projectPath,
  saveModelFolder,
  type TrainingRecord,
} from "../lib/io/mod.ts";
import { resolveTaggerConfig, Tagger, type TaggerOptions } from "../lib/model/mod.ts";
import { predictTokens } from "../lib/predict/mod.ts";
import { prepareData, resolveTrainConfig, train, type TrainConfig } from "../lib/train/mod.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { weightsOf } from "./fixtures/resume.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm" });

const SENTENCES = syntheticSentences(30, 21);
const WORDS = SENTENCES.map((sentence) => sentence.words);

/** A pattern that matches `text` literally. */
function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

/** The word/tag and character maps of the synthetic sentences. */
function maps(): { vocab: Vocab; chars: CharVocab } {
  return { vocab: buildVocab(SENTENCES), chars: buildCharVocab(SENTENCES) };
}

/**
 * The `config.json` the format-1 writer (the old `train()`) stored: `maxLen` and `modelType` at
 * the top, the model settings as given plus `maxLen`, `seed` and `numChars` in `model`, and the
 * training settings with `maxLen` and `model` again.
 */
function v1Config(model: Record<string, unknown>, maxLen: number, seed: number) {
  const { maxLen: _maxLen, seed: _seed, numChars: _numChars, ...given } = model;
  return {
    format: "bilstm-ner-model",
    version: 1,
    maxLen,
    modelType: model.modelType ?? "bilstm",
    model,
    training: {
      epochs: 2,
      batchSize: 8,
      validationSplit: 0,
      limit: null,
      seed,
      learningRate: 0.003,
      learningRateDecay: 0.6,
      maxLen,
      minFrequency: 1,
      lowercase: false,
      unknownWordRate: 0.5,
      countPadding: false,
      model: given,
      epochsDone: 2,
    },
  };
}

/** Saves `tagger` with its maps into `directory`, then replaces its config with `config`. */
async function writeFolderWithConfig(
  directory: string,
  mapped: { tagger: Tagger; vocab: Vocab; chars: CharVocab | null },
  config: unknown,
): Promise<void> {
  await saveModelFolder(directory, mapped);
  await Deno.writeTextFile(`${directory}/config.json`, JSON.stringify(config, null, 2));
}

Deno.test("a version-1 folder migrates to the config its weights were built with", async () => {
  const { vocab, chars } = maps();
  const options: TaggerOptions = {
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 8,
    embeddingDim: 6,
    units: 5,
    modelType: "bilstm-crf",
    charFeatures: true,
    numChars: chars.chars.length,
    maxChars: 6,
    charDim: 4,
    charFilters: 3,
    casingDim: 2,
    dropout: 0.5,
    seed: 7,
  };
  const tagger = new Tagger(options);
  // What the old writer stored (cf. data/model-teacher/member-1/config.json): no map sizes.
  const stored = v1Config(
    {
      embeddingDim: 6,
      units: 5,
      layer: "fast",
      modelType: "bilstm-crf",
      charFeatures: true,
      maxChars: 6,
      charDim: 4,
      charFilters: 3,
      casingDim: 2,
      dropout: 0.5,
      maxLen: 8,
      seed: 7,
      numChars: chars.chars.length,
    },
    8,
    7,
  );
  await withTempDir(async (directory) => {
    await writeFolderWithConfig(directory, { tagger, vocab, chars }, stored);
    const loaded = await loadTaggerFolder(directory);
    try {
      assert.deepEqual(loaded.config.tagger, resolveTaggerConfig(options));
      assert.deepEqual(loaded.tagger.config, resolveTaggerConfig(options));
      assert.equal(loaded.config.version, 2);
      assert.equal(loaded.config.format, "bilstm-ner-model");
      const training = loaded.config.training!;
      assert.ok(!("model" in training), "the training record holds no model settings");
      assert.ok(!("maxLen" in training), "the training record holds no maxLen");
      const { model: _model, maxLen: _maxLen, ...rest } = stored.training;
      assert.deepEqual(training, rest, "the other training settings are kept as they were");
      assert.deepEqual(loaded.chars?.chars, chars.chars);
      assert.deepEqual(weightsOf(loaded.tagger), weightsOf(tagger));
      assert.deepEqual(
        predictTokens(loaded, WORDS),
        predictTokens({ tagger, vocab, chars }, WORDS),
        "the migrated tagger predicts what the original does",
      );
    } finally {
      loaded.tagger.dispose();
      tagger.dispose();
    }
  });
});

Deno.test("the shipped member-1 (a version-1 folder) loads as a 200-unit CRF tagger with chars", async () => {
  const directory = projectPath("data/model-teacher/member-1");
  const before = await Deno.readTextFile(`${directory}/config.json`);
  assert.equal(JSON.parse(before).version, 1, "the shipped folder is still version 1");
  const loaded = await loadTaggerFolder(directory);
  try {
    const { config } = loaded.tagger;
    assert.equal(config.units, 200);
    assert.equal(config.modelType, "bilstm-crf");
    assert.equal(config.charFeatures, true);
    assert.equal(config.numChars, 99);
    assert.equal(config.vocabSize, loaded.vocab.words.length);
    assert.equal(config.numTags, loaded.vocab.tags.length);
    assert.equal(config.maxLen, 50);
    assert.equal(loaded.tagger.hasCrf, true);
    assert.equal(loaded.config.version, 2);
    assert.deepEqual(loaded.config.tagger, config);
  } finally {
    loaded.tagger.dispose();
  }
  assert.equal(
    await Deno.readTextFile(`${directory}/config.json`),
    before,
    "loading writes nothing",
  );
});

Deno.test("a version-1 record that does not describe its weights is refused, naming the folder", async () => {
  const { vocab } = maps();
  const sizes = { vocabSize: vocab.words.length, numTags: vocab.tags.length, maxLen: 8 };
  // The old train()-given-a-model bug: the record said modelType "bilstm" and gave no units,
  // whatever the tagger was (here a 200-unit CRF tagger).
  const crf = new Tagger({ ...sizes, units: 200, modelType: "bilstm-crf", seed: 3 });
  // The same bug for a softmax tagger: the weight count fits, their shapes do not.
  const softmax = new Tagger({ ...sizes, units: 200, seed: 3 });
  const lie = v1Config({ maxLen: 8, seed: 3 }, 8, 3);
  await withTempDir(async (root) => {
    // A truthful record of the same CRF weights loads: the refusal is about the record.
    const truthful = v1Config({ units: 200, modelType: "bilstm-crf", maxLen: 8, seed: 3 }, 8, 3);
    await writeFolderWithConfig(`${root}/truthful`, { tagger: crf, vocab, chars: null }, truthful);
    const loaded = await loadTaggerFolder(`${root}/truthful`);
    assert.deepEqual(loaded.tagger.config, crf.config);
    loaded.tagger.dispose();
    for (const [name, tagger] of [["crf", crf], ["softmax", softmax]] as const) {
      const directory = `${root}/${name}`;
      await writeFolderWithConfig(directory, { tagger, vocab, chars: null }, lie);
      const tensors = tf.memory().numTensors;
      await assert.rejects(loadTaggerFolder(directory), (error: Error) => {
        assert.match(error.message, literal(`${directory}: `));
        assert.match(error.message, /config and weights do not match/);
        return true;
      });
      await assert.rejects(loadModelFolder(directory), /config and weights do not match/);
      assert.equal(tf.memory().numTensors, tensors, "the half-built tagger is disposed");
      tagger.dispose();
    }
  });
});

Deno.test("a version-1 record that leaves out a setting weight shapes cannot show is refused", async () => {
  const { vocab } = maps();
  const sizes = { vocabSize: vocab.words.length, numTags: vocab.tags.length, maxLen: 8 };
  // Same weight shapes either way: only model.json's graph tells these settings apart.
  const cases: [string, Record<string, unknown>][] = [
    ["recurrentActivation", { recurrentActivation: "hardSigmoid" }],
    ["maskPadding", { maskPadding: false }],
    ["unitForgetBias", { unitForgetBias: false }],
    ["layer", { layer: "stock" }],
  ];
  await withTempDir(async (root) => {
    for (const [name, setting] of cases) {
      const tagger = new Tagger({ ...sizes, units: 4, seed: 5, ...setting });
      const directory = `${root}/${name}`;
      // The record omits the setting, as the old train() did for a tagger its caller built.
      await writeFolderWithConfig(
        directory,
        { tagger, vocab, chars: null },
        v1Config({ maxLen: 8, seed: 5 }, 8, 5),
      );
      await assert.rejects(loadTaggerFolder(directory), (error: Error) => {
        assert.match(
          error.message,
          literal(`${directory}: config.json does not describe the graph`),
        );
        assert.match(error.message, /config and weights do not match/);
        return true;
      }, name);
      // With the setting recorded, the same files load.
      await writeFolderWithConfig(
        directory,
        { tagger, vocab, chars: null },
        v1Config({ maxLen: 8, seed: 5, units: 4, ...setting }, 8, 5),
      );
      const loaded = await loadTaggerFolder(directory);
      assert.deepEqual(loaded.tagger.config, tagger.config, name);
      loaded.tagger.dispose();
      tagger.dispose();
    }
  });
});

Deno.test("a folder saved now stores version 2 and the tagger's config once", async () => {
  const { vocab, chars } = maps();
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 9,
    embeddingDim: 5,
    units: 4,
    modelType: "bilstm-crf",
    charFeatures: true,
    numChars: chars.chars.length,
    charFilters: 3,
  });
  const training: TrainingRecord = { epochs: 1, batchSize: 4, seed: 1, epochsDone: 1 };
  await withTempDir(async (directory) => {
    await saveModelFolder(directory, { tagger, vocab, chars }, training);
    const text = await Deno.readTextFile(`${directory}/config.json`);
    const config = JSON.parse(text);
    assert.equal(config.format, "bilstm-ner-model");
    assert.equal(config.version, 2);
    assert.deepEqual(config.tagger, tagger.config);
    assert.deepEqual(config.training, training);
    assert.equal(text.split('"maxLen":').length - 1, 1, "maxLen is stored exactly once");
    const files = [...Deno.readDirSync(directory)].map((entry) => entry.name).sort();
    assert.ok(!files.includes("train_config.json"), `no train_config.json: ${files}`);
    assert.deepEqual(files, [
      "chars.json",
      "config.json",
      "model.json",
      "vocab.json",
      "weights.bin",
    ]);
    const loaded = await loadTaggerFolder(directory);
    assert.deepEqual(loaded.config, JSON.parse(text), "it loads back as written");
    assert.deepEqual(weightsOf(loaded.tagger), weightsOf(tagger));
    loaded.tagger.dispose();
  });
  tagger.dispose();
});

Deno.test("an unknown config version and a bad tagger field are named with config.json", async () => {
  const { vocab } = maps();
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 6,
    embeddingDim: 4,
    units: 3,
  });
  await withTempDir(async (directory) => {
    await saveModelFolder(directory, { tagger, vocab, chars: null });
    const path = `${directory}/config.json`;
    const good = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify({ ...good, version: 3 }));
    await assert.rejects(loadTaggerFolder(directory), (error: Error) => {
      assert.match(error.message, literal(`${path}: `));
      assert.match(error.message, /version 3/);
      return true;
    });
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...good, tagger: { ...good.tagger, units: 0 } }),
    );
    await assert.rejects(loadTaggerFolder(directory), (error: Error) => {
      assert.match(error.message, literal(`${path}: `));
      assert.match(error.message, /tagger\.units must be a positive integer, got 0/);
      return true;
    });
  });
  tagger.dispose();
});

Deno.test("train() given a tagger the caller built saves that tagger's config", async () => {
  const config: TrainConfig = { epochs: 1, batchSize: 8, maxLen: 10, seed: 4, learningRate: 0.01 };
  const vocab = prepareData(SENTENCES, resolveTrainConfig(config)).vocab;
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 10,
    embeddingDim: 6,
    units: 8,
    modelType: "bilstm-crf",
  });
  await withTempDir(async (out) => {
    const result = await train({
      trainSentences: SENTENCES,
      config,
      tagger,
      vocab,
      out,
      progress: null,
    });
    assert.equal(result.tagger, tagger, "the given tagger is the one trained");
    assert.equal(result.config.model.modelType, "bilstm-crf");
    assert.equal(result.config.model.units, 8);
    const checkpoint = `${out}/checkpoints/epoch-001`;
    const text = await Deno.readTextFile(`${checkpoint}/config.json`);
    const saved = JSON.parse(text);
    assert.equal(saved.version, 2);
    assert.equal(saved.tagger.modelType, "bilstm-crf");
    assert.equal(saved.tagger.units, 8);
    assert.deepEqual(saved.tagger, tagger.config);
    assert.equal(text.split('"maxLen":').length - 1, 1, "maxLen is stored exactly once");
    assert.ok(!("model" in saved.training) && !("maxLen" in saved.training), text);
    assert.equal(saved.training.epochsDone, 1);
    for (const folder of [out, checkpoint]) {
      const files = [...Deno.readDirSync(folder)].map((entry) => entry.name);
      assert.ok(!files.includes("train_config.json"), `${folder}: no train_config.json`);
    }
    const loaded = await loadModelFolder(out);
    assert.deepEqual(loaded.members[0].tagger.config, tagger.config);
    assert.deepEqual(weightsOf(loaded.members[0].tagger), weightsOf(tagger));
    loaded.members[0].tagger.dispose();
    // Resuming the run rebuilds the same tagger from its checkpoint.
    const resumed = await train({
      trainSentences: SENTENCES,
      config: { ...config, epochs: 2 },
      out,
      resume: true,
      progress: null,
    });
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.deepEqual(resumed.tagger.config, tagger.config);
    const after = JSON.parse(await Deno.readTextFile(`${out}/checkpoints/epoch-002/config.json`));
    assert.deepEqual(after.tagger, tagger.config);
    resumed.tagger.dispose();
  });
  tagger.dispose();
});
