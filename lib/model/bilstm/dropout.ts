/**
 * {@link drawDropoutMask}: the recurrent-dropout masks of the `FastBiLSTM` layer, drawn from a
 * seeded PRNG so runs are reproducible by seed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../../data/random.ts";

/**
 * Draws one recurrent-dropout mask `[batch, units]`: each entry is 0 with probability `rate`,
 * else `1 / (1 - rate)`.
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
  const values = new Float32Array(batch * units);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < values.length; i++) values[i] = random() < rate ? 0 : keep;
  return tf.tensor2d(values, [batch, units]);
}
