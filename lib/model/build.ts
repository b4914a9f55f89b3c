/**
 * The tagger of the Keras tutorial "NER Model with BiLSTM", built with tfjs-layers:
 *
 *   Input(maxLen) → Embedding(vocabSize, embeddingDim, maskZero) → BiLSTM(units, return
 *   sequences, recurrentDropout) → TimeDistributed(Dense(numTags, softmax))
 *
 * The BiLSTM is either our {@link FastBiLSTM} (`layer: "fast"`) or tfjs-layers' own
 * `bidirectional(lstm)` (`layer: "stock"`). Both compute the same function with the same weight
 * layout, and for a given seed both start from the same weights (the stock layer is given the
 * weights a seeded `FastBiLSTM` would have).
 *
 * Variants beyond the tutorial (all off by default, so the default model is the tutorial's):
 * - `charFeatures: true` adds two inputs, char ids `[batch, maxLen, maxChars]` ("char_ids") and
 *   casing classes `[batch, maxLen]` ("casing_ids", lib/chars.ts `encodeCasing`), and feeds the
 *   BiLSTM the concatenation of the word embedding, a {@linkcode CharCnn} over each word's
 *   characters (Ma & Hovy 2016) and a small casing embedding ("casing_embedding"), optionally
 *   followed by dropout (`dropout`, as Lample et al. / Ma & Hovy use 0.5). Inputs are ordered
 *   `[word_ids, char_ids, casing_ids]`.
 * - `biLstmLayers: N` stacks N BiLSTM layers (each reads the `[forward; backward]` output of the
 *   one below, with the same padding mask).
 * - `dropout` (any variant) drops word-representation units before the BiLSTM ("word_dropout");
 *   `outputDropout` drops BiLSTM output units before the head ("output_dropout").
 * - `modelType: "bilstm-crf"` replaces the softmax head by a linear one (emission scores) followed
 *   by a {@linkcode CrfLayer} that holds the CRF transitions and passes the emissions through: the
 *   model's output is then emissions, decoded with Viterbi (lib/crf.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FastBiLSTM } from "./bilstm.ts";
import type { RecurrentActivation } from "./bilstm.ts";
import { CharCnn } from "./char_cnn.ts";
import { CASING_COUNT } from "../data/chars.ts";
import { CrfLayer } from "./crf_layer.ts";

/** Which BiLSTM implementation a model uses. */
export type BiLstmKind = "fast" | "stock";

/** The output head: softmax probabilities, or emissions + a CRF. */
export type ModelType = "bilstm" | "bilstm-crf";

/** Model hyper-parameters. `vocabSize` and `numTags` are required. */
export interface ModelConfig {
  /** Word vocabulary size including PAD (0) and UNK (1). */
  vocabSize: number;
  /** Number of tag classes (this project includes a PAD label at id 0). */
  numTags: number;
  /** Sentence length after padding; default 50. */
  maxLen?: number;
  /** Embedding width; default 100. */
  embeddingDim?: number;
  /** LSTM units per direction; default 100. */
  units?: number;
  /**
   * Stacked BiLSTM layers, each reading the one below's `[forward; backward]` output; default 1
   * (the tutorial's). Layers after the first are named `bilstm_2`, `bilstm_3`, …
   */
  biLstmLayers?: number;
  /** Recurrent dropout; default 0.1. */
  recurrentDropout?: number;
  /** BiLSTM implementation; default `"fast"`. */
  layer?: BiLstmKind;
  /** Seed of every initialiser (and of the fast layer's dropout); default 42. */
  seed?: number;
  /** Mask padding (id 0) through the BiLSTM (Embedding `maskZero`); default true. */
  maskPadding?: boolean;
  /**
   * LSTM gate activation; default `"sigmoid"`, Keras's default and so the tutorial's
   * (tfjs-layers' own LSTM default is `"hardSigmoid"`).
   */
  recurrentActivation?: RecurrentActivation;
  /** Forget-gate bias starts at 1; default true (Keras's default; tfjs-layers' is false). */
  unitForgetBias?: boolean;
  /** Output head: `"bilstm"` (softmax, default) or `"bilstm-crf"` (emissions + CRF layer). */
  modelType?: ModelType;
  /** Add a char CNN and a casing embedding to the word representation; default false. */
  charFeatures?: boolean;
  /** Rows of the char embedding (`charVocab.chars.length`); required with `charFeatures`. */
  numChars?: number;
  /** Characters per word in the char-id input; default 16 (lib/chars.ts's default). */
  maxChars?: number;
  /** Char embedding width; default 25. */
  charDim?: number;
  /** Char CNN filters = char features per word; default 50. */
  charFilters?: number;
  /** Char CNN window width (odd); default 3. */
  charWidth?: number;
  /** Casing embedding width (`CASING_COUNT` rows); 0 leaves casing out. Default 8. */
  casingDim?: number;
  /**
   * Dropout rate on the word representation (before the BiLSTM), training only; 0 (default)
   * adds no dropout layer.
   */
  dropout?: number;
  /**
   * Dropout rate on the BiLSTM's output (before the tag head), training only, as Ma & Hovy
   * (2016) apply 0.5 on both sides of the BiLSTM; 0 (default) adds no layer.
   */
  outputDropout?: number;
}

/** Defaults for the optional {@link ModelConfig} fields. */
export const DEFAULT_MODEL_CONFIG: Required<Omit<ModelConfig, "vocabSize" | "numTags">> = {
  maxLen: 50,
  embeddingDim: 100,
  units: 100,
  biLstmLayers: 1,
  recurrentDropout: 0.1,
  layer: "fast",
  seed: 42,
  maskPadding: true,
  recurrentActivation: "sigmoid",
  unitForgetBias: true,
  modelType: "bilstm",
  charFeatures: false,
  numChars: 0,
  maxChars: 16,
  charDim: 25,
  charFilters: 50,
  charWidth: 3,
  casingDim: 8,
  dropout: 0,
  outputDropout: 0,
};

/** Fills in defaults. */
export function resolveModelConfig(config: ModelConfig): Required<ModelConfig> {
  const resolved = { ...DEFAULT_MODEL_CONFIG, ...config };
  for (
    const key of [
      "vocabSize",
      "numTags",
      "maxLen",
      "embeddingDim",
      "units",
      "biLstmLayers",
    ] as const
  ) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) {
      throw new Error(`ModelConfig.${key} must be a positive integer, got ${resolved[key]}`);
    }
  }
  if (resolved.modelType !== "bilstm" && resolved.modelType !== "bilstm-crf") {
    throw new Error(`ModelConfig.modelType must be "bilstm" or "bilstm-crf"`);
  }
  if (resolved.charFeatures) {
    for (const key of ["numChars", "maxChars", "charDim", "charFilters", "charWidth"] as const) {
      if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) {
        throw new Error(`ModelConfig.${key} must be a positive integer, got ${resolved[key]}`);
      }
    }
    if (!Number.isInteger(resolved.casingDim) || resolved.casingDim < 0) {
      throw new Error(`ModelConfig.casingDim must be an integer >= 0`);
    }
  }
  for (const key of ["dropout", "outputDropout"] as const) {
    if (!(resolved[key] >= 0 && resolved[key] < 1)) {
      throw new Error(`ModelConfig.${key} must be in [0, 1), got ${resolved[key]}`);
    }
  }
  return resolved;
}

/** Offsets added to `seed` for each initialiser, so no two weights share a random stream. */
const SEED_OFFSET = {
  embedding: 0,
  bilstm: 100,
  dense: 200,
  chars: 300,
  casing: 400,
  crf: 500,
} as const;

/** The name of the BiLSTM layer at `index` (0-based) of the stack. */
function biLstmName(index: number): string {
  return index === 0 ? "bilstm" : `bilstm_${index + 1}`;
}

/** The constructor arguments of the stack's BiLSTM layer at `index` for a resolved config. */
function fastBiLstmArgs(c: Required<ModelConfig>, index: number) {
  return {
    name: biLstmName(index),
    units: c.units,
    recurrentDropout: c.recurrentDropout,
    recurrentActivation: c.recurrentActivation,
    unitForgetBias: c.unitForgetBias,
    seed: c.seed + SEED_OFFSET.bilstm + 1000 * index,
  };
}

/** Builds the stock tfjs-layers BiLSTM at `index` of the stack. */
function stockBiLstm(c: Required<ModelConfig>, index: number): tf.layers.Layer {
  return tf.layers.bidirectional({
    name: biLstmName(index),
    layer: tf.layers.lstm({
      units: c.units,
      returnSequences: true,
      recurrentDropout: c.recurrentDropout,
      recurrentActivation: c.recurrentActivation,
      unitForgetBias: c.unitForgetBias,
    }) as tf.RNN,
    mergeMode: "concat",
  });
}

/**
 * Builds (but does not compile) the tagger.
 *
 * @param config hyper-parameters; see {@link ModelConfig}
 * @returns a model mapping int32 word ids `[batch, maxLen]` (plus char ids and casing ids with
 *   `charFeatures`) to tag probabilities `[batch, maxLen, numTags]` (emission scores for
 *   `"bilstm-crf"`)
 */
export function buildModel(config: ModelConfig): tf.LayersModel {
  const c = resolveModelConfig(config);
  const input = tf.input({ shape: [c.maxLen], dtype: "int32", name: "word_ids" });
  const inputs = [input];
  let embedded = tf.layers.embedding({
    name: "embedding",
    inputDim: c.vocabSize,
    outputDim: c.embeddingDim,
    maskZero: c.maskPadding,
    embeddingsInitializer: tf.initializers.randomUniform({
      minval: -0.05,
      maxval: 0.05,
      seed: c.seed + SEED_OFFSET.embedding,
    }),
  }).apply(input) as tf.SymbolicTensor;
  let inputDim = c.embeddingDim;
  if (c.charFeatures) {
    const charIds = tf.input({
      shape: [c.maxLen, c.maxChars],
      dtype: "int32",
      name: "char_ids",
    });
    const casingIds = tf.input({ shape: [c.maxLen], dtype: "int32", name: "casing_ids" });
    inputs.push(charIds, casingIds);
    const parts = [
      embedded,
      new CharCnn({
        name: "char_cnn",
        numChars: c.numChars,
        charDim: c.charDim,
        filters: c.charFilters,
        width: c.charWidth,
        seed: c.seed + SEED_OFFSET.chars,
      }).apply(charIds) as tf.SymbolicTensor,
    ];
    inputDim += c.charFilters;
    if (c.casingDim > 0) {
      parts.push(
        tf.layers.embedding({
          name: "casing_embedding",
          inputDim: CASING_COUNT,
          outputDim: c.casingDim,
          embeddingsInitializer: tf.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed: c.seed + SEED_OFFSET.casing,
          }),
        }).apply(casingIds) as tf.SymbolicTensor,
      );
      inputDim += c.casingDim;
    }
    embedded = tf.layers.concatenate({ name: "word_repr", axis: -1 }).apply(
      parts,
    ) as tf.SymbolicTensor;
  }
  if (c.dropout > 0) {
    embedded = tf.layers.dropout({ name: "word_dropout", rate: c.dropout }).apply(
      embedded,
    ) as tf.SymbolicTensor;
  }
  const crf = c.modelType === "bilstm-crf";
  const biLstms = Array.from(
    { length: c.biLstmLayers },
    (_, index) =>
      c.layer === "fast" ? new FastBiLSTM(fastBiLstmArgs(c, index)) : stockBiLstm(c, index),
  );
  let sequence = embedded;
  for (const biLstm of biLstms) sequence = biLstm.apply(sequence) as tf.SymbolicTensor;
  if (c.outputDropout > 0) {
    sequence = tf.layers.dropout({ name: "output_dropout", rate: c.outputDropout }).apply(
      sequence,
    ) as tf.SymbolicTensor;
  }
  let output = tf.layers.timeDistributed({
    name: "tags",
    layer: tf.layers.dense({
      units: c.numTags,
      activation: crf ? "linear" : "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: c.seed + SEED_OFFSET.dense }),
    }),
  }).apply(sequence) as tf.SymbolicTensor;
  if (crf) {
    output = new CrfLayer({
      name: "crf",
      numTags: c.numTags,
      paddingTagId: 0,
      seed: c.seed + SEED_OFFSET.crf,
    }).apply(output) as tf.SymbolicTensor;
  }
  const variant = c.modelType === "bilstm" && !c.charFeatures
    ? "bilstm"
    : `${c.modelType}${c.charFeatures ? "_chars" : ""}`;
  const model = tf.model({
    inputs: inputs.length === 1 ? input : inputs,
    outputs: output,
    name: `ner_${variant}_${c.layer}`,
  });
  if (c.layer === "stock") {
    // Same seed → same initial weights as the fast model.
    biLstms.forEach((biLstm, index) => {
      const twin = new FastBiLSTM(fastBiLstmArgs(c, index));
      twin.build([null, c.maxLen, index === 0 ? inputDim : 2 * c.units]);
      const weights = twin.getWeights();
      biLstm.setWeights(weights);
      tf.dispose(weights);
    });
  }
  return model;
}
