/**
 * {@linkcode CharCnn}: the char CNN of ./char_cnn.ts as a tfjs-layers `Layer`, registered with
 * `tf.serialization` on import (the tagger's graph builder imports it).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initialisers, parameterShapes } from "./_char_cnn_init.ts";
import {
  charCnnForward,
  type CharCnnOptions,
  type CharCnnParameters,
  resolveCharCnnOptions,
} from "./char_cnn.ts";

/** Constructor arguments of {@linkcode CharCnn}: the hyper-parameters plus layer basics. */
export interface CharCnnLayerArgs extends CharCnnOptions {
  /** Layer name. */
  name?: string;
  /** Whether the weights train. Default true. */
  trainable?: boolean;
}

/**
 * The char CNN as a tfjs-layers `Layer`: int32 char ids `[batch, time, C]` → float32 features
 * `[batch, time, filters]`. Registered with `tf.serialization.registerClass`, so a `LayersModel`
 * holding it saves and loads like any other (import this module before `tf.loadLayersModel`).
 * Weights are `char_embedding`, `kernel`, `bias`, initialised as `createCharCnnParameters`
 * does for the same seed.
 */
export class CharCnn extends tf.layers.Layer {
  /** Name used by `tf.serialization` (and in saved model topologies). */
  static className = "CharCnn";
  /** The resolved hyper-parameters. */
  readonly config: Required<CharCnnOptions>;
  private weightList: tf.LayerVariable[] = [];

  /**
   * Creates the layer (weights are made by `build`).
   *
   * @param args see {@linkcode CharCnnLayerArgs}
   */
  constructor(args: CharCnnLayerArgs) {
    super({ name: args.name, trainable: args.trainable, dtype: "float32" });
    const { name: _name, trainable: _trainable, ...options } = args;
    this.config = resolveCharCnnOptions(options);
  }

  /** Creates the three weights. */
  override build(_inputShape: tf.Shape | tf.Shape[]): void {
    const init = initialisers(this.config);
    const shapes = parameterShapes(this.config);
    this.weightList = [
      this.addWeight("char_embedding", shapes.charEmbedding, "float32", init.charEmbedding),
      this.addWeight("kernel", shapes.kernel, "float32", init.kernel),
      this.addWeight("bias", shapes.bias, "float32", init.bias),
    ];
    this.built = true;
  }

  /** `[batch, time, C]` → `[batch, time, filters]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], this.config.filters];
  }

  /**
   * The layer's variables as {@linkcode CharCnnParameters} (the same variables, not copies), for
   * {@linkcode charCnnForward}, {@linkcode charCnnVariables} and a hand-written trainer.
   *
   * @returns the parameters
   * @throws {Error} before the layer is built
   */
  parameters(): CharCnnParameters {
    if (!this.built) throw new Error(`CharCnn ${this.name}: not built yet`);
    const [charEmbedding, kernel, bias] = this.weightList.map((w) => w.read());
    return {
      config: this.config,
      charEmbedding: charEmbedding as tf.Variable<tf.Rank.R2>,
      kernel: kernel as tf.Variable<tf.Rank.R2>,
      bias: bias as tf.Variable<tf.Rank.R1>,
    };
  }

  /** Runs the char CNN on every word of the batch. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const [batch, time, maxChars] = x.shape;
    return tf.tidy(() => {
      const features = charCnnForward(
        this.parameters(),
        tf.reshape(x, [batch * time, maxChars]) as tf.Tensor2D,
      );
      return tf.reshape(features, [batch, time, this.config.filters]);
    });
  }

  /** Serialisable configuration (the hyper-parameters). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.config };
  }
}
tf.serialization.registerClass(CharCnn);
