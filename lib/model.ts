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
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FastBiLSTM } from "./bilstm.ts";
import type { RecurrentActivation } from "./bilstm.ts";

/** Which BiLSTM implementation a model uses. */
export type BiLstmKind = "fast" | "stock";

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
}

/** Defaults for the optional {@link ModelConfig} fields. */
export const DEFAULT_MODEL_CONFIG: Required<Omit<ModelConfig, "vocabSize" | "numTags">> = {
  maxLen: 50,
  embeddingDim: 100,
  units: 100,
  recurrentDropout: 0.1,
  layer: "fast",
  seed: 42,
  maskPadding: true,
  recurrentActivation: "sigmoid",
  unitForgetBias: true,
};

/** Fills in defaults. */
export function resolveModelConfig(config: ModelConfig): Required<ModelConfig> {
  const resolved = { ...DEFAULT_MODEL_CONFIG, ...config };
  for (const key of ["vocabSize", "numTags", "maxLen", "embeddingDim", "units"] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) {
      throw new Error(`ModelConfig.${key} must be a positive integer, got ${resolved[key]}`);
    }
  }
  return resolved;
}

/** Offsets added to `seed` for each initialiser, so no two weights share a random stream. */
const SEED_OFFSET = { embedding: 0, bilstm: 100, dense: 200 } as const;

/** The BiLSTM layer's constructor arguments for a resolved config. */
function fastBiLstmArgs(c: Required<ModelConfig>) {
  return {
    name: "bilstm",
    units: c.units,
    recurrentDropout: c.recurrentDropout,
    recurrentActivation: c.recurrentActivation,
    unitForgetBias: c.unitForgetBias,
    seed: c.seed + SEED_OFFSET.bilstm,
  };
}

/** Builds the stock tfjs-layers BiLSTM. */
function stockBiLstm(c: Required<ModelConfig>): tf.layers.Layer {
  return tf.layers.bidirectional({
    name: "bilstm",
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
 * @returns a model mapping int32 word ids `[batch, maxLen]` to tag probabilities
 *   `[batch, maxLen, numTags]`
 */
export function buildModel(config: ModelConfig): tf.LayersModel {
  const c = resolveModelConfig(config);
  const input = tf.input({ shape: [c.maxLen], dtype: "int32", name: "word_ids" });
  const embedded = tf.layers.embedding({
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
  const biLstm = c.layer === "fast" ? new FastBiLSTM(fastBiLstmArgs(c)) : stockBiLstm(c);
  const sequence = biLstm.apply(embedded) as tf.SymbolicTensor;
  const output = tf.layers.timeDistributed({
    name: "tags",
    layer: tf.layers.dense({
      units: c.numTags,
      activation: "softmax",
      kernelInitializer: tf.initializers.glorotUniform({ seed: c.seed + SEED_OFFSET.dense }),
    }),
  }).apply(sequence) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output, name: `ner_bilstm_${c.layer}` });
  if (c.layer === "stock") {
    // Same seed → same initial weights as the fast model.
    const twin = new FastBiLSTM(fastBiLstmArgs(c));
    twin.build([null, c.maxLen, c.embeddingDim]);
    const weights = twin.getWeights();
    biLstm.setWeights(weights);
    tf.dispose(weights);
  }
  return model;
}
