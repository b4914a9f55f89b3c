/**
 * Builds a tagger's tfjs-layers graph from its config, keeping a typed handle on every layer it
 * creates: the `LayersModel` is the save/load format and the reference implementation, and the
 * handles are how the tagger finds its weights (never by layer name or class).
 *
 * Layer names and initialiser seeds are part of the saved format (weights are stored under
 * `<layer>/<weight>` names) and match what this project has always saved.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { CASING_COUNT } from "../data/chars.ts";
import { FastBiLSTM } from "./bilstm/mod.ts";
import { CharCnn } from "./char_cnn_layer.ts";
import { type TaggerConfig, wordRepresentationWidth } from "./config.ts";
import { CrfLayer } from "./crf_layer.ts";

/** Offsets added to `seed` for each initialiser, so no two weights share a random stream. */
const SEED_OFFSET = {
  embedding: 0,
  bilstm: 100,
  dense: 200,
  chars: 300,
  casing: 400,
  crf: 500,
} as const;

/** The layers of a tagger's graph, by role. */
export interface TaggerLayers {
  /** The word embedding. */
  wordEmbedding: tf.layers.Layer;
  /** The char CNN (char features), else null. */
  charCnn: CharCnn | null;
  /** The casing embedding (char features with `casingDim` > 0), else null. */
  casingEmbedding: tf.layers.Layer | null;
  /** The BiLSTMs, bottom first: ours or tfjs-layers' `Bidirectional(LSTM)`. */
  biLstms: tf.layers.Layer[];
  /** The per-token dense layer of the head (inside `TimeDistributed`). */
  headDense: tf.layers.Layer;
  /** The CRF (`"bilstm-crf"`), else null. */
  crf: CrfLayer | null;
}

/** How a graph's weights start: seeded initialisers, or zeros when stored weights follow. */
export type WeightInit = "seeded" | "zeros";

/**
 * The layer, set to start from zeros instead of running its initialisers when `init` is
 * `"zeros"` (a 3 M-row embedding and orthogonal recurrent kernels take seconds to initialise,
 * wasted when stored weights are assigned next; tfjs's own model loading does the same).
 */
function initialised<L extends tf.layers.Layer>(layer: L, init: WeightInit): L {
  if (init === "zeros") layer.setFastWeightInitDuringBuild(true);
  return layer;
}

/** The name of the BiLSTM layer at `index` (0-based) of the stack, as saved. */
function biLstmName(index: number): string {
  return index === 0 ? "bilstm" : `bilstm_${index + 1}`;
}

/** The constructor arguments of the stack's fast BiLSTM at `index`. */
function fastBiLstmArgs(c: TaggerConfig, index: number) {
  return {
    name: biLstmName(index),
    units: c.units,
    recurrentDropout: c.recurrentDropout,
    recurrentActivation: c.recurrentActivation,
    unitForgetBias: c.unitForgetBias,
    seed: c.seed + SEED_OFFSET.bilstm + 1000 * index,
  };
}

/** tfjs-layers' own BiLSTM at `index` of the stack. */
function stockBiLstm(c: TaggerConfig, index: number): tf.layers.Layer {
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

/** A seeded uniform initialiser in [-0.05, 0.05] (Keras's embedding default). */
function uniform(seed: number) {
  return tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed });
}

/** The word representation: word embedding, plus char CNN and casing with char features. */
function wordRepresentation(
  c: TaggerConfig,
  wordIds: tf.SymbolicTensor,
  inputs: tf.SymbolicTensor[],
  init: WeightInit,
): { output: tf.SymbolicTensor; layers: Omit<TaggerLayers, "biLstms" | "headDense" | "crf"> } {
  const wordEmbedding = initialised(
    tf.layers.embedding({
      name: "embedding",
      inputDim: c.vocabSize,
      outputDim: c.embeddingDim,
      maskZero: c.maskPadding,
      embeddingsInitializer: uniform(c.seed + SEED_OFFSET.embedding),
    }),
    init,
  );
  const embedded = wordEmbedding.apply(wordIds) as tf.SymbolicTensor;
  if (!c.charFeatures) {
    return { output: embedded, layers: { wordEmbedding, charCnn: null, casingEmbedding: null } };
  }
  const charIds = tf.input({ shape: [c.maxLen, c.maxChars], dtype: "int32", name: "char_ids" });
  const casingIds = tf.input({ shape: [c.maxLen], dtype: "int32", name: "casing_ids" });
  inputs.push(charIds, casingIds);
  const charCnn = initialised(
    new CharCnn({
      name: "char_cnn",
      numChars: c.numChars,
      charDim: c.charDim,
      filters: c.charFilters,
      width: c.charWidth,
      activation: c.charActivation,
      seed: c.seed + SEED_OFFSET.chars,
    }),
    init,
  );
  const pieces = [embedded, charCnn.apply(charIds) as tf.SymbolicTensor];
  const casingEmbedding = c.casingDim > 0
    ? initialised(
      tf.layers.embedding({
        name: "casing_embedding",
        inputDim: CASING_COUNT,
        outputDim: c.casingDim,
        embeddingsInitializer: uniform(c.seed + SEED_OFFSET.casing),
      }),
      init,
    )
    : null;
  if (casingEmbedding) pieces.push(casingEmbedding.apply(casingIds) as tf.SymbolicTensor);
  const output = tf.layers.concatenate({ name: "word_repr", axis: -1 }).apply(
    pieces,
  ) as tf.SymbolicTensor;
  return { output, layers: { wordEmbedding, charCnn, casingEmbedding } };
}

/** Applies a dropout layer of `rate` named `name`, or nothing for rate 0. */
function maybeDropout(x: tf.SymbolicTensor, rate: number, name: string): tf.SymbolicTensor {
  return rate > 0 ? tf.layers.dropout({ name, rate }).apply(x) as tf.SymbolicTensor : x;
}

/**
 * Builds the graph of a tagger: inputs `word_ids [batch, maxLen]` (plus `char_ids [batch,
 * maxLen, maxChars]` and `casing_ids [batch, maxLen]` with char features), output `[batch,
 * maxLen, numTags]` softmax probabilities (or emission scores with a CRF head).
 *
 * @param c the resolved config
 * @param init `"seeded"` initialisers (default) or `"zeros"` (stored weights are assigned next)
 * @returns the model and its layers by role
 */
export function buildTaggerGraph(
  c: TaggerConfig,
  init: WeightInit = "seeded",
): { model: tf.LayersModel; layers: TaggerLayers } {
  const wordIds = tf.input({ shape: [c.maxLen], dtype: "int32", name: "word_ids" });
  const inputs = [wordIds];
  const repr = wordRepresentation(c, wordIds, inputs, init);
  const biLstms = Array.from(
    { length: c.biLstmLayers },
    (_, index) =>
      c.layer === "fast"
        ? initialised(new FastBiLSTM(fastBiLstmArgs(c, index)), init)
        // Zeros: a seeded stock BiLSTM gets its fast twin's weights below (and tfjs-layers'
        // unit-forget-bias initialiser would leak 4 tensors per direction).
        : initialised(stockBiLstm(c, index), "zeros"),
  );
  let sequence = maybeDropout(repr.output, c.dropout, "word_dropout");
  for (const biLstm of biLstms) sequence = biLstm.apply(sequence) as tf.SymbolicTensor;
  sequence = maybeDropout(sequence, c.outputDropout, "output_dropout");
  const crfHead = c.modelType === "bilstm-crf";
  const headDense = tf.layers.dense({
    units: c.numTags,
    activation: crfHead ? "linear" : "softmax",
    kernelInitializer: tf.initializers.glorotUniform({ seed: c.seed + SEED_OFFSET.dense }),
  });
  const head = initialised(tf.layers.timeDistributed({ name: "tags", layer: headDense }), init);
  let output = head.apply(sequence) as tf.SymbolicTensor;
  const crf = crfHead
    ? initialised(
      new CrfLayer({
        name: "crf",
        numTags: c.numTags,
        paddingTagId: 0,
        seed: c.seed + SEED_OFFSET.crf,
      }),
      init,
    )
    : null;
  if (crf) output = crf.apply(output) as tf.SymbolicTensor;
  const variant = c.modelType === "bilstm" && !c.charFeatures
    ? "bilstm"
    : `${c.modelType}${c.charFeatures ? "_chars" : ""}`;
  const model = tf.model({
    inputs: inputs.length === 1 ? wordIds : inputs,
    outputs: output,
    name: `ner_${variant}_${c.layer}`,
  });
  if (c.layer === "stock" && init === "seeded") giveStockTheFastInitialWeights(c, biLstms);
  return { model, layers: { ...repr.layers, biLstms, headDense, crf } };
}

/** Same seed, same initial weights: the stock BiLSTMs get what seeded fast ones would have. */
function giveStockTheFastInitialWeights(c: TaggerConfig, biLstms: tf.layers.Layer[]): void {
  biLstms.forEach((biLstm, index) => {
    const twin = new FastBiLSTM(fastBiLstmArgs(c, index));
    twin.build([null, c.maxLen, index === 0 ? wordRepresentationWidth(c) : 2 * c.units]);
    const weights = twin.getWeights();
    biLstm.setWeights(weights);
    tf.dispose(weights); // getWeights() gives the twin's own variables: this frees them
  });
}
