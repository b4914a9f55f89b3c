/**
 * The seeded initialisers and the shapes of the char CNN's three parameters, shared by
 * `createCharCnnParameters` (./char_cnn.ts) and the `CharCnn` layer (./char_cnn_layer.ts), so
 * both start from the same values for the same seed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CharCnnOptions } from "./char_cnn_options.ts";

/** What {@linkcode initialisers} returns per parameter (a tfjs-layers `Initializer`). */
export type TensorInitialiser = ReturnType<typeof tf.initializers.zeros>;

/** The seeded initialisers of the three parameters (shared by both ways to hold them). */
export function initialisers(c: Required<CharCnnOptions>) {
  const limit = Math.sqrt(3 / c.charDim);
  return {
    charEmbedding: tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed: c.seed }),
    kernel: tf.initializers.glorotUniform({ seed: c.seed + 1 }),
    bias: tf.initializers.zeros(),
  };
}

/** Shapes of the three parameters. */
export function parameterShapes(c: Required<CharCnnOptions>) {
  return {
    charEmbedding: [c.numChars, c.charDim] as [number, number],
    kernel: [c.width * c.charDim, c.filters] as [number, number],
    bias: [c.filters] as [number],
  };
}
