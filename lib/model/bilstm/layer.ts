/**
 * `FastBiLSTM`: a bidirectional LSTM layer for tfjs-layers computing exactly what a concat-merged
 * `tf.layers.bidirectional(tf.layers.lstm(...))` computes (see ./mod.ts), on
 * {@link fastBiLstm}. Registered with `tf.serialization` on import, so saved models load.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../../data/random.ts";
import type { SeededRandom } from "../../data/random.ts";
import { fastBiLstm, type RecurrentActivation } from "./bilstm_function.ts";
import { drawDropoutValues } from "./dropout.ts";

/** Constructor arguments of {@link FastBiLSTM}. */
export interface FastBiLSTMArgs {
  /** Units per direction (the output has `2 * units` features). */
  units: number;
  /** Gate activation; default `"hardSigmoid"` (tfjs-layers' LSTM default). */
  recurrentActivation?: RecurrentActivation;
  /** Fraction of the recurrent state dropped during training; default 0. */
  recurrentDropout?: number;
  /** Initialise the forget-gate bias to 1 (Keras `unit_forget_bias`); default false (tfjs). */
  unitForgetBias?: boolean;
  /** Seed for the initialisers and the recurrent-dropout masks; unseeded when absent. */
  seed?: number;
  /** Layer name. */
  name?: string;
  /** Input shape without the batch axis, for a first layer. */
  inputShape?: number[];
  /** Whether the weights are trainable; default true. */
  trainable?: boolean;
}

/**
 * tfjs's orthogonal initializer, without its "Slowness may result" warning for
 * matrices over 2,000 elements (a 100×400 recurrent kernel takes a few ms).
 */
function quietOrthogonal(seed: number | undefined): ReturnType<typeof tf.initializers.orthogonal> {
  const initializer = tf.initializers.orthogonal({ seed, gain: 1 });
  (initializer as unknown as { ELEMENTS_WARN_SLOW: number }).ELEMENTS_WARN_SLOW = Infinity;
  return initializer;
}

/** A fast, weight-compatible replacement for a concat-merged bidirectional LSTM layer. */
export class FastBiLSTM extends tf.layers.Layer {
  /** Name used by `tf.serialization` (and in saved model topologies). */
  static className = "FastBiLSTM";
  /** Units per direction. */
  readonly units: number;
  /** Gate activation. */
  readonly recurrentActivation: RecurrentActivation;
  /** Recurrent dropout rate. */
  readonly recurrentDropout: number;
  /** Whether the forget-gate bias starts at 1. */
  readonly unitForgetBias: boolean;
  /** Seed for initialisers and dropout; undefined = unseeded. */
  readonly seed: number | undefined;
  private dropoutRandom: SeededRandom;
  private weightList: tf.LayerVariable[] = [];

  /**
   * Creates the layer (weights are made by `build`).
   *
   * @param args see {@link FastBiLSTMArgs}
   */
  constructor(args: FastBiLSTMArgs) {
    super({ name: args.name, inputShape: args.inputShape, trainable: args.trainable });
    this.units = args.units;
    this.recurrentActivation = args.recurrentActivation ?? "hardSigmoid";
    this.recurrentDropout = args.recurrentDropout ?? 0;
    this.unitForgetBias = args.unitForgetBias ?? false;
    this.seed = args.seed;
    this.supportsMasking = true;
    this.dropoutRandom = seededRandom(args.seed ?? Math.floor(Math.random() * 2 ** 31));
    if (!(this.units > 0)) throw new Error("FastBiLSTM: units must be positive");
    if (this.recurrentDropout < 0 || this.recurrentDropout >= 1) {
      throw new Error("FastBiLSTM: recurrentDropout must be in [0, 1)");
    }
  }

  /** Restarts the recurrent-dropout mask sequence from `seed`. */
  setDropoutSeed(seed: number): void {
    this.dropoutRandom = seededRandom(seed);
  }

  /** The recurrent-dropout stream's state: restoring it continues the same masks. */
  get dropoutState(): number {
    return this.dropoutRandom.state;
  }

  set dropoutState(state: number) {
    this.dropoutRandom.state = state;
  }

  /** Creates the six weights (stock layout). */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputDim = shape[shape.length - 1] as number;
    const u = this.units;
    const seedAt = (k: number) => (this.seed === undefined ? undefined : this.seed + k);
    this.weightList = [];
    for (const [direction, offset] of [["forward", 0], ["backward", 2]] as const) {
      this.weightList.push(
        this.addWeight(
          `${direction}/kernel`,
          [inputDim, 4 * u],
          "float32",
          tf.initializers.glorotNormal({ seed: seedAt(offset) }),
        ),
        this.addWeight(
          `${direction}/recurrent_kernel`,
          [u, 4 * u],
          "float32",
          quietOrthogonal(seedAt(offset + 1)),
        ),
      );
      const bias = this.addWeight(`${direction}/bias`, [4 * u], "float32", tf.initializers.zeros());
      if (this.unitForgetBias) {
        // write() copies into the variable: the temporaries are freed here, not leaked per layer.
        const forgetBias = tf.tidy(() =>
          tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])])
        );
        bias.write(forgetBias as tf.Tensor1D);
        forgetBias.dispose();
      }
      this.weightList.push(bias);
    }
    this.built = true;
  }

  /** `[batch, time, features]` -> `[batch, time, 2*units]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], 2 * this.units];
  }

  /** The output keeps the input's padding mask (return sequences). */
  override computeMask(
    _inputs: tf.Tensor | tf.Tensor[],
    mask?: tf.Tensor | tf.Tensor[],
  ): tf.Tensor | tf.Tensor[] {
    return (Array.isArray(mask) ? mask[0] : mask) as tf.Tensor;
  }

  /** Runs both directions; `kwargs.mask` (padding) and `kwargs.training` (dropout) honoured. */
  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, any>): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const rawMask = kwargs?.mask as tf.Tensor | tf.Tensor[] | undefined;
    const mask = (Array.isArray(rawMask) ? rawMask[0] : rawMask) ?? null;
    const training = kwargs?.training === true;
    const useDropout = training && this.recurrentDropout > 0;
    const [batch] = x.shape;
    const dropout: [Float32Array, Float32Array] | null = useDropout
      ? [
        drawDropoutValues(this.dropoutRandom, batch, this.units, this.recurrentDropout),
        drawDropoutValues(this.dropoutRandom, batch, this.units, this.recurrentDropout),
      ]
      : null;
    return fastBiLstm(x, this.weightList.map((w) => w.read()), {
      units: this.units,
      recurrentActivation: this.recurrentActivation,
      mask,
      dropout,
    });
  }

  /** Serialisable configuration. */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units,
      recurrentActivation: this.recurrentActivation,
      recurrentDropout: this.recurrentDropout,
      unitForgetBias: this.unitForgetBias,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(FastBiLSTM);
