/**
 * The tagger: one typed config ({@linkcode TaggerConfig}), the tfjs-layers graph built from it
 * (the save/load format and the reference implementation), its weights by role
 * ({@linkcode TaggerParts}), and one forward pass ({@linkcode Tagger.forward}) that training,
 * evaluation, prediction and ensembles all call.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Tagger } from "./tagger.ts";
 *
 * const tagger = new Tagger({ vocabSize: 1000, numTags: 18, maxLen: 50 });
 * const wordIds = tf.tensor2d([[5, 6, 7, 0]], [1, 4], "int32");
 * const logits = tagger.forward({ batchSize: 1, time: 4, wordIds }); // [4, 18]
 * tf.dispose([wordIds, logits]);
 * tagger.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FastBiLSTM } from "./bilstm/mod.ts";
import { resolveTaggerConfig, type TaggerConfig, type TaggerOptions } from "./config.ts";
import { type TaggerBatch, taggerForward, type TrainingPass } from "./forward.ts";
import { buildTaggerGraph, type WeightInit } from "./_graph.ts";
import { denseVariables, partsOf, type TaggerParts } from "./parts.ts";
import { ProjectionCache } from "./_projection_cache.ts";
import { charCnnVariables } from "./char_cnn.ts";

/** A weight as stored: its saved name and its values. */
export interface NamedWeight {
  /** The saved name, e.g. `bilstm/forward/kernel`. */
  name: string;
  /** The values. */
  tensor: tf.Tensor;
}

/** A tagger built from one config. */
export class Tagger {
  /** The resolved config it was built from: the one source of truth for its shape. */
  readonly config: TaggerConfig;
  /** Its tfjs-layers graph: what is saved, and the reference the forward pass is tested against. */
  readonly model: tf.LayersModel;
  /** Its weights by role (the graph's own variables). */
  readonly parts: TaggerParts;
  /** The seeded dropout streams of stock BiLSTMs (ours keep theirs in the layer). */
  #stockStreams: { next: number }[] = [];
  /** The first BiLSTM's input projections per token, for inference; see `weightsChanged`. */
  #projections: ProjectionCache | null = null;

  /**
   * Builds a tagger with freshly initialised weights (deterministic by `seed`).
   *
   * @param options the settings; see {@linkcode TaggerOptions}
   * @param init `"seeded"` initialisers (default), or `"zeros"` when stored weights are assigned
   *   next with {@linkcode Tagger.setWeights} (much faster to build)
   * @throws {ConfigError} naming a bad setting
   */
  constructor(options: TaggerOptions | TaggerConfig, init: WeightInit = "seeded") {
    this.config = resolveTaggerConfig(options);
    const { model, layers } = buildTaggerGraph(this.config, init);
    this.model = model;
    this.parts = partsOf(layers);
  }

  /** Whether the head is a CRF (the forward pass then gives emission scores). */
  get hasCrf(): boolean {
    return this.parts.crf !== null;
  }

  /**
   * The forward pass (see lib/model/forward.ts).
   *
   * @param batch the rows: word ids, and char and casing ids with char features
   * @param training the dropout masks' source, for a training pass; omit for inference
   * @returns `[batchSize·time, numTags]` logits (softmax head) or emission scores (CRF head)
   */
  forward(batch: TaggerBatch, training?: TrainingPass): tf.Tensor2D {
    return taggerForward(this.config, this.parts, batch, training, () => this.#projectionCache());
  }

  /**
   * The projection table of the first BiLSTM (fast layers only), made on first use and made
   * anew when a weight it was computed from has been assigned a new buffer.
   */
  #projectionCache(): ProjectionCache | null {
    if (this.config.layer !== "fast" || this.parts.biLstms.length === 0) return null;
    const { charCnn, casingEmbedding } = this.parts;
    const sources = [
      this.parts.wordEmbedding,
      ...(charCnn ? charCnnVariables(charCnn) : []),
      ...(casingEmbedding ? [casingEmbedding] : []),
      ...this.parts.biLstms[0].weights.map((w) => w.read()),
    ];
    if (!this.#projections?.computedFrom(sources)) {
      const width = this.parts.biLstms[0].weights[0].shape[1] as number;
      this.#projections = new ProjectionCache(width, sources);
    }
    return this.#projections;
  }

  /**
   * Drops what inference keeps computed from the weights (the first BiLSTM's per-token input
   * projections, lib/model/_projection_cache.ts). Whoever changes weights in place calls it: the
   * trainer after each update, {@linkcode Tagger.setWeights}, {@linkcode Tagger.dispose}.
   */
  weightsChanged(): void {
    this.#projections = null;
  }

  /** Every trainable variable but the word embedding, in optimiser-state order. */
  denseVariables(): tf.Variable[] {
    return denseVariables(this.parts);
  }

  /**
   * Restarts the BiLSTMs' recurrent-dropout streams: layer `i` draws from `seed + 7919·i`.
   *
   * @param seed the seed
   */
  setRecurrentDropoutSeed(seed: number): void {
    this.parts.biLstms.forEach((layer, index) => {
      const layerSeed = seed + 7919 * index; // the first layer keeps the single-layer stream
      if (this.config.layer === "fast") (layer as FastBiLSTM).setDropoutSeed(layerSeed);
      else this.#stockStreams[index] = seedStockDropout(layer, layerSeed);
    });
  }

  /**
   * The state of each BiLSTM's recurrent-dropout stream, bottom first: restoring it (e.g. from a
   * mid-epoch checkpoint) continues the same masks.
   */
  get recurrentDropoutState(): number[] {
    return this.parts.biLstms.map((layer, index) =>
      this.config.layer === "fast"
        ? (layer as FastBiLSTM).dropoutState
        : this.#stockStreams[index]?.next ?? 0
    );
  }

  set recurrentDropoutState(states: number[]) {
    if (states.length !== this.parts.biLstms.length) {
      throw new RangeError(
        `recurrentDropoutState: ${states.length} states for ${this.parts.biLstms.length} BiLSTMs`,
      );
    }
    this.parts.biLstms.forEach((layer, index) => {
      if (this.config.layer === "fast") (layer as FastBiLSTM).dropoutState = states[index];
      else this.#stockStreams[index] = seedStockDropout(layer, states[index]);
    });
  }

  /**
   * Sets every weight from stored values, in the graph's weight order, checking count and
   * shapes first so nothing is half-assigned.
   *
   * @param weights the stored weights, in the order they were saved
   * @param source where they come from (a folder), for messages
   * @throws {Error} naming `source` and the first weight that does not fit
   */
  setWeights(weights: readonly NamedWeight[], source: string): void {
    const own = this.model.weights;
    if (weights.length !== own.length) {
      throw new Error(
        `${source}: ${weights.length} stored weights, but the tagger its config describes has ` +
          `${own.length}: config and weights do not match`,
      );
    }
    weights.forEach(({ name, tensor }, index) => {
      const expected = own[index].shape;
      if (tensor.shape.join() !== expected.join()) {
        throw new Error(
          `${source}: weight "${name}" has shape [${tensor.shape}] but the tagger its config ` +
            `describes needs [${expected}] there (${own[index].originalName}): config and ` +
            "weights do not match",
        );
      }
    });
    this.model.setWeights(weights.map((w) => w.tensor));
    this.weightsChanged();
  }

  /** Frees every weight (and what a stock BiLSTM keeps between calls). */
  dispose(): void {
    this.weightsChanged();
    if (this.config.layer === "stock") {
      for (const layer of this.parts.biLstms) disposeStockDropoutMasks(layer);
    }
    this.model.dispose();
  }
}

/**
 * Builds a tagger with freshly initialised weights.
 *
 * @param options the settings; see {@linkcode TaggerOptions}
 * @returns the tagger
 */
export function buildTagger(options: TaggerOptions): Tagger {
  return new Tagger(options);
}

/**
 * Makes a stock Bidirectional(LSTM)'s recurrent dropout draw from a seeded stream: each mask
 * uses the next seed; the returned object holds that next seed (its state).
 */
function seedStockDropout(biLstm: tf.layers.Layer, seed: number): { next: number } {
  const stream = { next: seed };
  const dropoutFunc = (ones: tf.Tensor, rate: number) =>
    tf.dropout(ones, rate, undefined, stream.next++);
  // tfjs-layers' LSTM cell takes a dropout function but offers no public way to set it later.
  const bi = biLstm as unknown as Record<string, { cell: { dropoutFunc?: unknown } }>;
  bi.forwardLayer.cell.dropoutFunc = dropoutFunc;
  bi.backwardLayer.cell.dropoutFunc = dropoutFunc;
  return stream;
}

/** The cached dropout masks of a stock Bidirectional(LSTM), which `model.dispose()` leaves. */
function disposeStockDropoutMasks(biLstm: tf.layers.Layer): void {
  // tfjs-layers' LSTM cell keeps its last dropout masks until the next call, and no dispose
  // frees them.
  type Cell = { dropoutMask?: tf.Tensor[] | null; recurrentDropoutMask?: tf.Tensor[] | null };
  const bi = biLstm as unknown as Record<string, { cell: Cell }>;
  for (const direction of [bi.forwardLayer, bi.backwardLayer]) {
    tf.dispose(direction.cell.dropoutMask ?? []);
    tf.dispose(direction.cell.recurrentDropoutMask ?? []);
    direction.cell.dropoutMask = null;
    direction.cell.recurrentDropoutMask = null;
  }
}
