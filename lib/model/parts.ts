/**
 * A tagger's weights by role, as the forward pass and the trainer use them. They are the
 * variables of the tagger's tfjs-layers graph (not copies), found through the layer handles the
 * graph builder kept: training them trains the `LayersModel` that is saved.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type CharCnnParameters, charCnnVariables } from "./char_cnn.ts";
import type { CrfParameters } from "./crf/mod.ts";
import type { TaggerLayers } from "./_graph.ts";

/** The weights of a tagger, by role. */
export interface TaggerParts {
  /** Word embedding `[vocabSize, embeddingDim]`. */
  wordEmbedding: tf.Variable;
  /** The char CNN's weights (char features), else null. */
  charCnn: CharCnnParameters | null;
  /** Casing embedding `[CASING_COUNT, casingDim]`, else null. */
  casingEmbedding: tf.Variable | null;
  /**
   * The BiLSTM layers, bottom first (ours or tfjs-layers'), applied as layers so each keeps
   * its own recurrent-dropout stream.
   */
  biLstms: readonly tf.layers.Layer[];
  /** Head kernel `[width, numTags]`. */
  headKernel: tf.Variable;
  /** Head bias `[numTags]`. */
  headBias: tf.Variable;
  /** The CRF's transition, start and end scores (`"bilstm-crf"`), else null. */
  crf: CrfParameters | null;
}

/** The first variable of a layer's weights (e.g. an embedding's table). */
function firstVariable(layer: tf.layers.Layer): tf.Variable {
  return layer.weights[0].read() as tf.Variable;
}

/**
 * The parts of a built graph.
 *
 * @param layers the graph's layers by role (from `buildTaggerGraph`)
 * @returns the weights by role
 */
export function partsOf(layers: TaggerLayers): TaggerParts {
  const [headKernel, headBias] = layers.headDense.weights.map((w) => w.read() as tf.Variable);
  return {
    wordEmbedding: firstVariable(layers.wordEmbedding),
    charCnn: layers.charCnn ? layers.charCnn.parameters() : null,
    casingEmbedding: layers.casingEmbedding ? firstVariable(layers.casingEmbedding) : null,
    biLstms: layers.biLstms,
    headKernel,
    headBias,
    crf: layers.crf ? layers.crf.parameters() : null,
  };
}

/**
 * Every trainable variable but the word embedding (which the trainer updates sparsely), in the
 * order optimiser states are saved: char CNN, casing, BiLSTMs bottom first, head, CRF.
 *
 * @param parts a tagger's parts
 */
export function denseVariables(parts: TaggerParts): tf.Variable[] {
  return [
    ...(parts.charCnn ? charCnnVariables(parts.charCnn) : []),
    ...(parts.casingEmbedding ? [parts.casingEmbedding] : []),
    ...parts.biLstms.flatMap((layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable)),
    parts.headKernel,
    parts.headBias,
    ...(parts.crf
      ? [parts.crf.transitions, parts.crf.startTransitions, parts.crf.endTransitions]
      : []),
  ];
}
