/**
 * Ensembles predict by averaging what their members output.
 *
 * Per token, softmax members' probabilities are averaged and decoded by argmax; CRF members'
 * emission scores are averaged and so are their transition, start and end scores, and the
 * average is decoded by Viterbi. Averaging a CRF's scores is averaging the log-potentials of the
 * members' path distributions (a product of experts): the decoded path is the one all members
 * score highest on average. The average of one member is that member, bit for bit in float32.
 *
 * @module
 */
import type { CrfHostParameters } from "../model/crf/mod.ts";

/** One member's scores for a batch: row-major `[batchSize, time, numTags]`. */
export interface BatchScores {
  /** The scores. */
  scores: Float32Array;
  /** Time steps per row. */
  time: number;
}

/**
 * The element-wise mean of several members' scores for the same batch. Members may have
 * computed different numbers of time steps (a tagger without a padding mask computes every
 * `maxLen` step); the mean keeps the fewest, which cover every real token.
 *
 * @param outputs each member's scores, same batch and labels
 * @param batchSize rows in the batch
 * @param numTags labels per position
 * @returns the mean scores, `[batchSize, time, numTags]` with `time` the fewest steps
 * @throws {RangeError} when there are no outputs or a member's size does not fit
 */
export function averageScores(
  outputs: readonly BatchScores[],
  batchSize: number,
  numTags: number,
): BatchScores {
  if (outputs.length === 0) throw new RangeError("averageScores: no member outputs");
  for (const [index, output] of outputs.entries()) {
    if (output.scores.length !== batchSize * output.time * numTags) {
      throw new RangeError(
        `averageScores: member ${index} gave ${output.scores.length} values, not ` +
          `${batchSize}×${output.time}×${numTags}`,
      );
    }
  }
  if (outputs.length === 1) return outputs[0];
  const time = Math.min(...outputs.map((o) => o.time));
  const rowSize = time * numTags;
  const sums = new Float64Array(batchSize * rowSize);
  for (const { scores, time: memberTime } of outputs) {
    for (let row = 0; row < batchSize; row++) {
      const from = row * memberTime * numTags;
      const to = row * rowSize;
      for (let i = 0; i < rowSize; i++) sums[to + i] += scores[from + i];
    }
  }
  const scores = new Float32Array(sums.length);
  for (let i = 0; i < sums.length; i++) scores[i] = sums[i] / outputs.length;
  return { scores, time };
}

/**
 * The mean of several CRFs' transition, start and end scores.
 *
 * @param params each member's CRF weights on the host (lib/model/crf.ts `readCrfParameters`)
 * @returns their element-wise mean (the single member's own weights for one)
 * @throws {RangeError} when there are none or their label counts differ
 */
export function averageCrfParameters(params: readonly CrfHostParameters[]): CrfHostParameters {
  if (params.length === 0) throw new RangeError("averageCrfParameters: no members");
  if (params.length === 1) return params[0];
  const mean = (pick: (p: CrfHostParameters) => Float32Array): Float32Array => {
    const size = pick(params[0]).length;
    const sums = new Float64Array(size);
    for (const [index, p] of params.entries()) {
      const values = pick(p);
      if (values.length !== size) {
        throw new RangeError(`averageCrfParameters: member ${index} has another label count`);
      }
      for (let i = 0; i < size; i++) sums[i] += values[i];
    }
    return Float32Array.from(sums, (sum) => sum / params.length);
  };
  return {
    transitions: mean((p) => p.transitions),
    start: mean((p) => p.start),
    end: mean((p) => p.end),
  };
}
