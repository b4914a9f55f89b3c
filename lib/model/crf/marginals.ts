/**
 * Per-token marginal probabilities of the CRF (forward–backward in plain JS on host parameters).
 *
 * @module
 */
import { forwardBackward } from "./_forward_backward.ts";
import type { CrfHostParameters } from "./params.ts";

/**
 * Per-token marginal probabilities `P(y_t = j | x)` of one sequence (forward–backward in JS), e.g.
 * as confidence scores for predictions. The padding label gets ~0.
 *
 * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`).
 * @param length number of real tokens.
 * @param params the host parameters (`readCrfParameters`, ./params.ts).
 * @param numTags `K`.
 * @param paddingTagId the excluded label; `null` for none. Default 0.
 * @param offset where the sequence starts in `emissions`. Default 0.
 * @returns `[length*K]` row-major marginals (each row sums to 1).
 */
export function crfMarginals(
  emissions: ArrayLike<number>,
  length: number,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null = 0,
  offset = 0,
): Float32Array {
  const marginals = new Float32Array(Math.max(length, 0) * numTags);
  if (length <= 0) return marginals;
  marginals.set(
    forwardBackward(emissions, offset, length, params, numTags, paddingTagId).marginals,
  );
  return marginals;
}
