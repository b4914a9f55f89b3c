/**
 * A character CNN word encoder in the style of Ma & Hovy (2016): each word's characters are
 * embedded, a width-`width` convolution runs over them, and a max over positions gives one
 * `filters`-wide feature vector per word, to be concatenated with the word embedding.
 *
 * The function, for char ids `[N, C]` (N words, C = maxChars characters each, `padId` 0 after
 * the word's end, see lib/data/chars.ts): a "same" convolution of width `width` (odd; the ids are
 * padded with `padId` on both sides, so every real character is the centre of one window) over
 * the character embeddings, plus bias, then `tanh` (Ma & Hovy) or `relu`, then the max over
 * positions. Positions centred on a padding character are left out of the max, so trailing
 * padding never changes a word's features; padding words (all characters `padId`) give exactly
 * zeros.
 *
 * Two implementations of that one function:
 * - {@linkcode charCnnForwardUnfolded}, the textbook form with stock ops and autograd: one
 *   `gather` of the unfolded windows' embeddings `[N·C, width·charDim]`, ONE `matMul` with the
 *   kernel `[width·charDim, filters]`, activation, mask, max. Correct on wasm but slow there:
 *   for 32×50 words × 16 chars a forward+backward took ~540 ms of kernel time (profiled under
 *   load): wasm's `GatherV2` (~75–95 ms for 1.9M floats), the gather gradient, the matMul
 *   gradients (transposed operands: ~120–140 ms each) and the broadcast `Equal` of `max`'s
 *   gradient (~110 ms).
 * - {@linkcode charCnnForward}, the fast path (use this one): by linearity the window sum is
 *   `bias + Σ_k P_k[c_{i+k-left}]` with `P_k = charEmbedding · kernel_k`, so one tiny matMul
 *   (`[numChars, charDim]·[charDim, width·filters]`, stock autograd) followed by ONE
 *   `tf.customGrad` op that does the table sums, the mask and the max in plain JS on host
 *   copies (only real characters are visited; the backward pass touches only each filter's
 *   winning window). Both activations are monotonic, so the max is taken before the
 *   activation. Forward+backward ~15–25 ms for the batch above (see the report). Ties in the
 *   max go to the first position (the stock `max` gradient would give every tied position the
 *   full gradient; ties have probability ~0).
 *
 * The padding character's embedding row is an ordinary trainable row: it is what the windows of
 * a word's first and last characters see beyond the word, i.e. a learnt word-boundary marker.
 *
 * Two ways to hold the parameters, with the same initial values for the same seed:
 * - {@linkcode createCharCnnParameters}: three `tf.Variable`s, for a hand-written trainer
 *   ({@linkcode charCnnVariables} lists them for a dense optimiser, {@linkcode charCnnWeights} /
 *   {@linkcode setCharCnnWeights} save and restore them as named tensors);
 * - `CharCnn` (./char_cnn_layer.ts): a tfjs-layers `Layer` (registered for serialisation) mapping
 *   `[batch, time, C]` char ids to `[batch, time, filters]`, so it can sit in the tagger's
 *   `tf.LayersModel` and be saved with it; `CharCnn.parameters()` gives the same
 *   {@linkcode CharCnnParameters} view of its variables for the trainer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initialisers, parameterShapes, type TensorInitialiser } from "./_char_cnn_init.ts";

import { type CharCnnOptions, DEFAULT_CHAR_CNN_OPTIONS } from "./char_cnn_options.ts";
export {
  type CharCnnActivation,
  type CharCnnOptions,
  DEFAULT_CHAR_CNN_OPTIONS,
} from "./char_cnn_options.ts";

/** The char CNN's parameters as tensors (variables when trainable). */
export interface CharCnnParameters {
  /** The resolved hyper-parameters. */
  config: Required<CharCnnOptions>;
  /** Character embedding `[numChars, charDim]`. */
  charEmbedding: tf.Variable<tf.Rank.R2>;
  /**
   * Convolution kernel `[width * charDim, filters]`; row `k * charDim + d` is window offset `k`
   * (left to right), embedding dimension `d` — the layout of a conv1d kernel
   * `[width, charDim, filters]` reshaped.
   */
  kernel: tf.Variable<tf.Rank.R2>;
  /** Convolution bias `[filters]`. */
  bias: tf.Variable<tf.Rank.R1>;
}

/** Names of the parameters in {@linkcode charCnnWeights}, in {@linkcode charCnnVariables} order. */
export const CHAR_CNN_WEIGHT_NAMES = ["char_embedding", "kernel", "bias"] as const;

/**
 * Fills in defaults and checks the hyper-parameters.
 *
 * @param options the hyper-parameters
 * @returns every field set
 * @throws {RangeError} on a non-positive size, an even width or a bad activation
 */
export function resolveCharCnnOptions(options: CharCnnOptions): Required<CharCnnOptions> {
  const resolved = { ...DEFAULT_CHAR_CNN_OPTIONS, ...options };
  for (const key of ["numChars", "charDim", "filters", "width"] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new RangeError(
        `CharCnnOptions.${key} must be a positive integer, got ${resolved[key]}`,
      );
    }
  }
  if (resolved.width % 2 === 0) {
    throw new RangeError(
      `CharCnnOptions.width must be odd ("same" padding), got ${resolved.width}`,
    );
  }
  if (resolved.activation !== "tanh" && resolved.activation !== "relu") {
    throw new RangeError(
      `CharCnnOptions.activation must be tanh or relu, got ${resolved.activation}`,
    );
  }
  if (!Number.isInteger(resolved.padId) || resolved.padId < 0) {
    throw new RangeError(`CharCnnOptions.padId must be an integer >= 0, got ${resolved.padId}`);
  }
  return resolved;
}

/**
 * Creates the char CNN's parameters as trainable `tf.Variable`s, seeded.
 *
 * @param options hyper-parameters; see {@linkcode CharCnnOptions}
 * @returns the parameters; free them with {@linkcode disposeCharCnnParameters}
 */
export function createCharCnnParameters(options: CharCnnOptions): CharCnnParameters {
  const config = resolveCharCnnOptions(options);
  const init = initialisers(config);
  const shapes = parameterShapes(config);
  const variable = <R extends tf.Rank>(initialiser: TensorInitialiser, shape: number[]) =>
    tf.tidy(() => tf.variable(initialiser.apply(shape, "float32"), true)) as tf.Variable<R>;
  return {
    config,
    charEmbedding: variable<tf.Rank.R2>(init.charEmbedding, shapes.charEmbedding),
    kernel: variable<tf.Rank.R2>(init.kernel, shapes.kernel),
    bias: variable<tf.Rank.R1>(init.bias, shapes.bias),
  };
}

/**
 * The trainable variables, for a dense optimiser (e.g. `DenseAdam`) and `tf.engine().gradients`.
 *
 * @param params the parameters
 * @returns `[charEmbedding, kernel, bias]` (the order of {@linkcode CHAR_CNN_WEIGHT_NAMES})
 */
export function charCnnVariables(params: CharCnnParameters): tf.Variable[] {
  return [params.charEmbedding, params.kernel, params.bias];
}

/**
 * The parameters as named tensors, e.g. for `tf.io.encodeWeights`. The tensors are the variables
 * themselves (not copies): do not dispose them.
 *
 * @param params the parameters
 * @returns `{char_embedding, kernel, bias}`
 */
export function charCnnWeights(params: CharCnnParameters): tf.NamedTensorMap {
  const variables = charCnnVariables(params);
  return Object.fromEntries(CHAR_CNN_WEIGHT_NAMES.map((name, i) => [name, variables[i]]));
}

/**
 * Overwrites the parameters with saved values (from {@linkcode charCnnWeights}, possibly after
 * `tf.io.encodeWeights` / `decodeWeights`). The given tensors are copied, not kept.
 *
 * @param params the parameters to overwrite
 * @param weights `{char_embedding, kernel, bias}` of the right shapes
 * @throws {Error} naming the weight when one is missing or has the wrong shape
 */
export function setCharCnnWeights(params: CharCnnParameters, weights: tf.NamedTensorMap): void {
  const variables = charCnnVariables(params);
  CHAR_CNN_WEIGHT_NAMES.forEach((name, i) => {
    const value = weights[name];
    if (value === undefined) throw new Error(`setCharCnnWeights: weight "${name}" is missing`);
    if (!tf.util.arraysEqual(value.shape, variables[i].shape)) {
      throw new Error(
        `setCharCnnWeights: "${name}" has shape [${value.shape}], expected [${variables[i].shape}]`,
      );
    }
  });
  CHAR_CNN_WEIGHT_NAMES.forEach((name, i) => variables[i].assign(weights[name]));
}

/**
 * Frees the variables of {@linkcode createCharCnnParameters}.
 *
 * @param params the parameters
 */
export function disposeCharCnnParameters(params: CharCnnParameters): void {
  tf.dispose(charCnnVariables(params));
}

/** Flat `[C, width]` indices into the padded ids: window `i` covers padded positions `i..i+width-1`. */
function windowIndices(maxChars: number, width: number): Int32Array {
  const indices = new Int32Array(maxChars * width);
  for (let i = 0; i < maxChars; i++) {
    for (let k = 0; k < width; k++) indices[i * width + k] = i + k;
  }
  return indices;
}

/** The tensors {@linkcode charCnnForward} reads: variables or plain tensors. */
export type CharCnnTensors = Pick<CharCnnParameters, "config"> & {
  charEmbedding: tf.Tensor2D;
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D;
};

/**
 * The char CNN: character ids of N words → one feature vector per word. Differentiable with
 * respect to the three parameters (use it inside `tf.engine().gradients` / `tf.variableGrads`).
 *
 * Same function as {@linkcode charCnnForwardUnfolded} (the textbook "one matMul on unfolded
 * windows"), computed the fast way for wasm: by linearity, window `i`'s pre-activation is
 * `bias + Σ_k P_k[c_{i+k-1}]` with `P_k = charEmbedding · kernel_k` (`[numChars, filters]`, one
 * small matMul for all k). The per-window sums, the activation, the padding mask and the max
 * are one `tf.customGrad` op done in plain JS on host copies (it touches only the words' real
 * characters; the backward pass only the winning position of each filter). See the module doc
 * for the measurements behind this choice.
 *
 * @param params the parameters (from {@linkcode createCharCnnParameters} or
 *   `CharCnn.parameters()`)
 * @param charIds int32 `[N, C]` character ids, post-padded with `padId` (lib/data/chars.ts layout:
 *   `encodeChars(...)` reshaped to `[size * maxLen, maxChars]`); read to the host once
 * @returns float32 `[N, filters]`; zeros for padding words (all characters `padId`)
 */
export function charCnnForward(params: CharCnnTensors, charIds: tf.Tensor2D): tf.Tensor2D {
  const ids = checkCharIds(params.config, charIds, "charCnnForward");
  const { charDim, width, filters } = params.config;
  const [numWords, maxChars] = charIds.shape;
  const pooled = windowSumMaxPool(params.config, ids, numWords, maxChars);
  return tf.tidy(() => {
    // [width·charDim, filters] → [charDim, width·filters]: column k·filters + f is kernel_k[:, f]
    const kernelByOffset = tf.reshape(
      tf.transpose(tf.reshape(params.kernel, [width, charDim, filters]), [1, 0, 2]),
      [charDim, width * filters],
    );
    const projected = tf.matMul(params.charEmbedding, kernelByOffset) as tf.Tensor2D;
    return pooled(projected, params.bias);
  });
}

/**
 * The custom op `(projected [numChars, width·filters], bias [filters]) → [N, filters]`: per word
 * and filter, the max over real positions of `act(bias + Σ_k projected[c_{i+k-left}, k·F + f])`.
 */
function windowSumMaxPool(
  config: Required<CharCnnOptions>,
  ids: ArrayLike<number>,
  numWords: number,
  maxChars: number,
): (projected: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D {
  const { width, filters, padId, activation, numChars } = config;
  const left = (width - 1) / 2;
  const rowStride = width * filters;
  return tf.customGrad((...args: unknown[]) => {
    const [projected, bias] = args as [tf.Tensor2D, tf.Tensor1D];
    const table = projected.dataSync() as Float32Array;
    const biasValues = bias.dataSync() as Float32Array;
    // Both activations are non-decreasing, so max_i act(z_i) = act(max_i z_i): track the best
    // pre-activation per (word, filter) and apply the activation once.
    const out = new Float32Array(numWords * filters);
    const winner = new Int32Array(numWords * filters).fill(-1); // best position, -1: padding word
    const slope = new Float32Array(numWords * filters); // act'(z) at the best position
    const z = new Float32Array(filters);
    for (let n = 0; n < numWords; n++) {
      const base = n * maxChars;
      const outBase = n * filters;
      for (let i = 0; i < maxChars; i++) {
        if (ids[base + i] === padId) continue; // positions centred on padding are masked
        z.set(biasValues);
        for (let k = 0; k < width; k++) {
          const j = i + k - left;
          const c = j < 0 || j >= maxChars ? padId : ids[base + j];
          const row = c * rowStride + k * filters;
          for (let f = 0; f < filters; f++) z[f] += table[row + f];
        }
        for (let f = 0; f < filters; f++) {
          if (winner[outBase + f] < 0 || z[f] > out[outBase + f]) {
            out[outBase + f] = z[f];
            winner[outBase + f] = i;
          }
        }
      }
      for (let f = 0; f < filters; f++) {
        if (winner[outBase + f] < 0) continue; // padding word: stays 0
        const best = out[outBase + f];
        if (activation === "tanh") {
          const a = Math.tanh(best);
          out[outBase + f] = a;
          slope[outBase + f] = 1 - a * a;
        } else {
          out[outBase + f] = best > 0 ? best : 0;
          slope[outBase + f] = best > 0 ? 1 : 0;
        }
      }
    }
    const value = tf.tensor2d(out, [numWords, filters]);
    const gradFunc = (dy: tf.Tensor) => {
      const upstream = dy.dataSync() as Float32Array;
      const dTable = new Float32Array(numChars * rowStride);
      const dBias = new Float32Array(filters);
      for (let n = 0; n < numWords; n++) {
        const base = n * maxChars;
        for (let f = 0; f < filters; f++) {
          const i = winner[n * filters + f];
          if (i < 0) continue;
          const g = upstream[n * filters + f] * slope[n * filters + f];
          if (g === 0) continue;
          dBias[f] += g;
          for (let k = 0; k < width; k++) {
            const j = i + k - left;
            const c = j < 0 || j >= maxChars ? padId : ids[base + j];
            dTable[c * rowStride + k * filters + f] += g;
          }
        }
      }
      return [tf.tensor2d(dTable, [numChars, rowStride]), tf.tensor1d(dBias)];
    };
    return { value, gradFunc };
  }) as unknown as (projected: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;
}

/** Checks rank, dtype and range of char ids; returns their host copy. */
function checkCharIds(
  config: Required<CharCnnOptions>,
  charIds: tf.Tensor,
  caller: string,
): Int32Array {
  if (charIds.rank !== 2) {
    throw new Error(`${caller}: charIds must be [N, C], got shape [${charIds.shape}]`);
  }
  if (charIds.dtype !== "int32") {
    throw new Error(`${caller}: charIds must be int32, got ${charIds.dtype}`);
  }
  const ids = charIds.dataSync() as Int32Array;
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < config.numChars)) {
      throw new RangeError(`${caller}: char id ${ids[i]} is outside 0..${config.numChars - 1}`);
    }
  }
  return ids;
}

/**
 * The same function as {@linkcode charCnnForward} written with stock tfjs ops and autograd, as
 * the textbook formulation: the ids are padded and unfolded into `[N·C, width]` windows, ONE
 * `gather` fetches their embeddings `[N·C, width·charDim]`, ONE `matMul` with the kernel plus the
 * bias gives the convolution, then activation, padding mask (to the activation's floor: relu 0,
 * tanh -1) and max over positions. Kept as the reference the fast path is tested against; on
 * wasm it is far slower (its `gather`, the gather gradient and the transposed matMuls and
 * broadcast `Equal` of the gradients dominate).
 *
 * @param params the parameters
 * @param charIds int32 `[N, C]` character ids
 * @returns float32 `[N, filters]`; zeros for padding words
 */
export function charCnnForwardUnfolded(params: CharCnnTensors, charIds: tf.Tensor2D): tf.Tensor2D {
  checkCharIds(params.config, charIds, "charCnnForwardUnfolded");
  const { charDim, width, padId, activation } = params.config;
  const [numWords, maxChars] = charIds.shape;
  return tf.tidy(() => {
    const left = (width - 1) / 2;
    const padded = tf.pad(charIds, [[0, 0], [left, left]], padId);
    const windowIds = tf.gather(padded, tf.tensor1d(windowIndices(maxChars, width), "int32"), 1);
    const windows = tf.reshape(
      tf.gather(params.charEmbedding, tf.reshape(windowIds, [numWords * maxChars * width])),
      [numWords * maxChars, width * charDim],
    );
    const preActivation = tf.add(tf.matMul(windows, params.kernel), params.bias);
    const positionMask = tf.reshape(
      tf.cast(tf.notEqual(charIds, padId), "float32"),
      [numWords * maxChars, 1],
    );
    if (activation === "relu") {
      const masked = tf.mul(tf.relu(preActivation), positionMask);
      return tf.max(tf.reshape(masked, [numWords, maxChars, -1]), 1) as tf.Tensor2D;
    }
    const masked = tf.add(tf.mul(tf.tanh(preActivation), positionMask), tf.sub(positionMask, 1));
    const pooled = tf.max(tf.reshape(masked, [numWords, maxChars, -1]), 1);
    const isRealWord = tf.max(tf.reshape(positionMask, [numWords, maxChars]), 1, true);
    return tf.mul(pooled, isRealWord) as tf.Tensor2D;
  });
}
