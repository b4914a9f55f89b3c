/**
 * Viterbi decoding of the CRF (best tag path) in plain JS on host parameters.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { CrfHostParameters } from "./params.ts";

/** Result of {@link viterbiDecode}. */
export interface ViterbiResult {
  /** The best tag of each real token. */
  tags: number[];
  /** The path's score (start + emissions + transitions + end). */
  score: number;
}

/**
 * Best tag path of one sequence (Viterbi), in plain JS. Never outputs `paddingTagId`.
 *
 * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`).
 * @param length number of real tokens.
 * @param params the host parameters (`readCrfParameters`, ./params.ts).
 * @param numTags `K`.
 * @param paddingTagId the label never to output; `null` for none. Default 0.
 * @param offset where the sequence starts in `emissions`. Default 0.
 * @returns the best path and its score (`{tags: [], score: 0}` for length 0).
 */
export function viterbiDecode(
  emissions: ArrayLike<number>,
  length: number,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null = 0,
  offset = 0,
): ViterbiResult {
  if (length <= 0) return { tags: [], score: 0 };
  const K = numTags;
  const { transitions, start, end } = params;
  let score = new Float64Array(K);
  let nextScore = new Float64Array(K);
  const backPointers = new Int32Array(length * K);
  for (let j = 0; j < K; j++) {
    score[j] = j === paddingTagId ? -Infinity : start[j] + emissions[offset + j];
  }
  for (let t = 1; t < length; t++) {
    const row = offset + t * K;
    for (let j = 0; j < K; j++) {
      if (j === paddingTagId) {
        nextScore[j] = -Infinity;
        continue;
      }
      let best = -Infinity;
      let bestFrom = 0;
      for (let i = 0; i < K; i++) {
        const v = score[i] + transitions[i * K + j];
        if (v > best) {
          best = v;
          bestFrom = i;
        }
      }
      nextScore[j] = best + emissions[row + j];
      backPointers[t * K + j] = bestFrom;
    }
    [score, nextScore] = [nextScore, score];
  }
  let bestLast = -1;
  let bestScore = -Infinity;
  for (let j = 0; j < K; j++) {
    const v = score[j] + end[j];
    if (j !== paddingTagId && (bestLast < 0 || v > bestScore)) {
      bestScore = v;
      bestLast = j;
    }
  }
  const tags = new Array<number>(length);
  tags[length - 1] = bestLast;
  for (let t = length - 1; t > 0; t--) tags[t - 1] = backPointers[t * K + tags[t]];
  return { tags, score: bestScore };
}

/**
 * Viterbi decoding of a batch: one host read of the emissions, then {@link viterbiDecode} per row.
 *
 * @param emissions `[batch, T, K]` tensor, or its row-major Float32Array (`batch*T*K` values).
 * @param lengths real-token count of each row (`batch` values), e.g. the row sums of the mask.
 * @param params the host parameters (`readCrfParameters`, ./params.ts).
 * @param numTags `K`.
 * @param paddingTagId the label never to output; `null` for none. Default 0.
 * @returns one {@link ViterbiResult} per row.
 */
export function viterbiDecodeBatch(
  emissions: tf.Tensor3D | Float32Array,
  lengths: ArrayLike<number>,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null = 0,
): ViterbiResult[] {
  const values = emissions instanceof Float32Array
    ? emissions
    : emissions.dataSync() as Float32Array;
  const batch = lengths.length;
  const time = values.length / (batch * numTags);
  if (!Number.isInteger(time)) {
    throw new Error(
      `viterbiDecodeBatch: ${values.length} values are not ${batch} x T x ${numTags}`,
    );
  }
  const results: ViterbiResult[] = [];
  for (let b = 0; b < batch; b++) {
    if (lengths[b] > time) throw new Error(`viterbiDecodeBatch: length ${lengths[b]} > T ${time}`);
    results.push(
      viterbiDecode(values, lengths[b], params, numTags, paddingTagId, b * time * numTags),
    );
  }
  return results;
}
