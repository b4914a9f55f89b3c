/**
 * The CRF of a BiLSTM-CRF tagger as a tfjs-layers `Layer`, so the whole tagger (emissions and
 * transition scores) is one `tf.LayersModel` that saves and loads through `saveModelFolder` /
 * `loadModelFolder`.
 *
 * The layer holds the three CRF weights (`transitions [K, K]`, `start [K]`, `end [K]`, the layout
 * of {@linkcode CrfParameters} in lib/model/crf/) and passes its input, the per-token emission scores
 * `[batch, time, K]`, through unchanged: a model ending in it outputs emissions, not
 * probabilities. Decoding (Viterbi), marginals and the loss are done by lib/model/crf/ from
 * {@linkcode CrfLayer.parameters} (the trainer, `lib/predict/inference.ts`, `lib/predict/predict.ts`).
 *
 * Registered with `tf.serialization.registerClass`: import this module before
 * `tf.loadLayersModel` (the tagger's graph builder, lib/model/_graph.ts, imports it).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CrfParameters } from "./crf/mod.ts";

/** Constructor arguments of {@linkcode CrfLayer}. */
export interface CrfLayerArgs {
  /** Number of tags `K`, padding label included. */
  numTags: number;
  /** The padding label, never decoded for a real token; `null` for none. Default 0. */
  paddingTagId?: number | null;
  /** Initial weights are uniform in `[-initScale, initScale]`. Default 0.1. */
  initScale?: number;
  /** Seed of the initialisers (transitions `seed`, start `seed + 1`, end `seed + 2`). */
  seed?: number;
  /** Layer name. Default chosen by tfjs. */
  name?: string;
  /** Whether the weights train. Default true. */
  trainable?: boolean;
}

/** A linear-chain CRF layer: holds the transition scores, passes emissions through. */
export class CrfLayer extends tf.layers.Layer {
  /** Name used by `tf.serialization` (and in saved model topologies). */
  static className = "CrfLayer";
  /** Number of tags `K`. */
  readonly numTags: number;
  /** The padding label (never decoded), or null. */
  readonly paddingTagId: number | null;
  /** Half-width of the uniform initialiser. */
  readonly initScale: number;
  /** Initialiser seed; undefined = unseeded. */
  readonly seed: number | undefined;
  private weightList: tf.LayerVariable[] = [];

  /** @param args see {@linkcode CrfLayerArgs} */
  constructor(args: CrfLayerArgs) {
    super({ name: args.name, trainable: args.trainable, dtype: "float32" });
    this.numTags = args.numTags;
    this.paddingTagId = args.paddingTagId === undefined ? 0 : args.paddingTagId;
    this.initScale = args.initScale ?? 0.1;
    this.seed = args.seed;
    this.supportsMasking = true;
    if (!Number.isInteger(this.numTags) || this.numTags < 1) {
      throw new Error(`CrfLayer: numTags must be a positive integer, got ${this.numTags}`);
    }
    const p = this.paddingTagId;
    if (p !== null && (!Number.isInteger(p) || p < 0 || p >= this.numTags)) {
      throw new Error(`CrfLayer: paddingTagId ${p} not in 0..${this.numTags - 1}`);
    }
  }

  /** Creates `transitions`, `start` and `end`. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const last = shape[shape.length - 1];
    if (last !== null && last !== this.numTags) {
      throw new Error(`CrfLayer: input has ${last} scores per token, expected ${this.numTags}`);
    }
    const K = this.numTags;
    const init = (offset: number) =>
      tf.initializers.randomUniform({
        minval: -this.initScale,
        maxval: this.initScale,
        seed: this.seed === undefined ? undefined : this.seed + offset,
      });
    this.weightList = [
      this.addWeight("transitions", [K, K], "float32", init(0)),
      this.addWeight("start", [K], "float32", init(1)),
      this.addWeight("end", [K], "float32", init(2)),
    ];
    this.built = true;
  }

  /** The output is the input (emissions). */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  /** The output keeps the input's padding mask. */
  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor | tf.Tensor[] {
    return (Array.isArray(mask) ? mask[0] : mask) as tf.Tensor;
  }

  /** Passes the emissions through unchanged. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.clone(x);
  }

  /**
   * The layer's variables as lib/model/crf/ {@linkcode CrfParameters} (the same variables, not
   * copies), for `crfNegLogLikelihood`, `readCrfParameters` and the trainer.
   *
   * @returns the parameters
   * @throws {Error} before the layer is built
   */
  parameters(): CrfParameters {
    if (!this.built) throw new Error(`CrfLayer ${this.name}: not built yet`);
    const [transitions, start, end] = this.weightList.map((w) => w.read());
    return {
      transitions: transitions as tf.Variable<tf.Rank.R2>,
      startTransitions: start as tf.Variable<tf.Rank.R1>,
      endTransitions: end as tf.Variable<tf.Rank.R1>,
      numTags: this.numTags,
      paddingTagId: this.paddingTagId,
    };
  }

  /** Serialisable configuration. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numTags: this.numTags,
      paddingTagId: this.paddingTagId,
      initScale: this.initScale,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(CrfLayer);
