/**
 * The char CNN's hyper-parameters and their defaults (the layer: lib/model/char_cnn.ts).
 *
 * @module
 */

/** Activation after the convolution. */
export type CharCnnActivation = "tanh" | "relu";

/** Hyper-parameters of the char CNN. `numChars` is required. */
export interface CharCnnOptions {
  /** Rows of the character embedding: `charVocab.chars.length` (pad and unknown included). */
  numChars: number;
  /** Character embedding width. Default 25. */
  charDim?: number;
  /** Number of convolution filters = output features per word. Default 50. */
  filters?: number;
  /** Convolution width in characters (odd: "same" padding centres it). Default 3. */
  width?: number;
  /** Activation after the convolution. Default `"tanh"` (Ma & Hovy). */
  activation?: CharCnnActivation;
  /** Id of the padding character. Default 0. */
  padId?: number;
  /**
   * Seed of the initialisers (embedding: `seed`, kernel: `seed + 1`); default 42. The embedding
   * is uniform in ±sqrt(3 / charDim) (Ma & Hovy), the kernel Glorot-uniform, the bias zero.
   */
  seed?: number;
}

/** Defaults of the optional {@linkcode CharCnnOptions}. */
export const DEFAULT_CHAR_CNN_OPTIONS: Required<Omit<CharCnnOptions, "numChars">> = {
  charDim: 25,
  filters: 50,
  width: 3,
  activation: "tanh",
  padId: 0,
  seed: 42,
};
