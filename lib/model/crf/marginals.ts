/**
 * Per-token marginal probabilities of the CRF: the WebAssembly forward–backward
 * (./wasm_forward_backward.ts, the one the loss runs), or the tf-ops reference where that cannot
 * run (no WebAssembly SIMD, or float32 underflow).
 *
 * @module
 */
import { referenceMarginals } from "./loss.ts";
import type { CrfHostParameters } from "./params.ts";
import { CrfKernel } from "./wasm_forward_backward.ts";

/**
 * Per-token marginal probabilities `P(y_t = j | x)` of one sequence, e.g. as confidence scores for
 * predictions. The padding label gets ~0. For many sequences of one CRF, a {@linkcode CrfKernel}
 * made once (as `crfDecoder` in lib/predict/decoders.ts does) saves loading the parameters each
 * time.
 *
 * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`).
 * @param length number of real tokens.
 * @param params the host parameters (`readCrfParameters`, ./params.ts).
 * @param numTags `K`.
 * @param paddingTagId the excluded label; `null` for none. Default 0.
 * @param offset where the sequence starts in `emissions`. Default 0.
 * @param kernel a kernel holding these parameters; default a new one
 * @returns `[length*K]` row-major marginals (each row sums to 1).
 */
export function crfMarginals(
  emissions: ArrayLike<number>,
  length: number,
  params: CrfHostParameters,
  numTags: number,
  paddingTagId: number | null = 0,
  offset = 0,
  kernel: CrfKernel | null = CrfKernel.create(params, numTags, paddingTagId),
): Float32Array {
  if (length <= 0) return new Float32Array(0);
  return kernel?.marginals(emissions, length, offset) ??
    referenceMarginals(emissions, length, params, numTags, paddingTagId, offset);
}
