/**
 * {@link drawDropoutMask}: dropout masks (the `FastBiLSTM` layer's recurrent dropout, the
 * tagger's word-representation and output dropout), drawn from a seeded PRNG so runs are
 * reproducible by seed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../../data/random.ts";

/**
 * Draws one dropout mask's values, `[rows, columns]` row-major: each entry is 0 with probability
 * `rate`, else `1 / (1 - rate)`.
 *
 * @param random the PRNG (advanced by `rows * columns` draws)
 * @param rows rows
 * @param columns columns
 * @param rate fraction dropped, in `[0, 1)`
 * @returns the values
 */
export function drawDropoutValues(
  random: Random,
  rows: number,
  columns: number,
  rate: number,
): Float32Array {
  const values = new Float32Array(rows * columns);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < values.length; i++) values[i] = random() < rate ? 0 : keep;
  return values;
}

/**
 * Draws one dropout mask `[batch, units]` as a tensor (see {@link drawDropoutValues}).
 *
 * @param random the PRNG (advanced by `batch * units` draws)
 * @param batch rows
 * @param units columns
 * @param rate fraction dropped, in `[0, 1)`
 * @returns the mask
 */
export function drawDropoutMask(
  random: Random,
  batch: number,
  units: number,
  rate: number,
): tf.Tensor2D {
  return tf.tensor2d(drawDropoutValues(random, batch, units, rate), [batch, units]);
}
