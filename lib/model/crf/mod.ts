/**
 * Linear-chain CRF output layer (BiLSTM-CRF, Lample et al. 2016) for TensorFlow.js.
 *
 * The BiLSTM gives per-token emission scores `[batch, T, K]`; the CRF adds a score
 * `transitions[i, j]` for tag `i` followed by tag `j`, `startTransitions[j]` for a sequence starting
 * with `j` and `endTransitions[i]` for one ending with `i`. The score of a path `y` of length `L` is
 *
 *     start[y0] + Σ_t emit[t, y_t] + Σ_{t≥1} trans[y_{t-1}, y_t] + end[y_{L-1}]
 *
 * and the loss is the negative log-likelihood `logZ − score(gold)`.
 *
 * Conventions:
 * - **Padding** is at the end of each row; `mask [batch, T]` is 1 for real tokens (a prefix) and 0
 *   for padding. Padded steps carry the forward variable unchanged, so their emissions and tags
 *   contribute nothing (neither to the loss nor to any gradient). A row with no real token has
 *   loss 0.
 * - **Padding label** (`paddingTagId`, default 0): {@link PADDING_TAG_PENALTY} is added to its
 *   emission at every step, inside the loss and in decoding, so no path through it for a real token
 *   carries weight and {@link viterbiDecode} never outputs it. Gold tags of real tokens must not be
 *   the padding label (their loss would be ~1e4).
 * - **Reduction**: {@link crfNegLogLikelihood} returns the mean over the sequences of the batch by
 *   default (`reduction: "sum"` for the sum); {@link crfSequenceNegLogLikelihoods} returns the
 *   per-sequence values.
 * - **Two implementations** with the same values and gradients (within 1e-4, tested): `"fast"`
 *   (default) runs the forward–backward recursions of the whole batch in ONE WebAssembly SIMD call
 *   (lib/model/wasm/kernels.c `crf_loss`: the log-partitions, the gold scores, masking, the padding
 *   penalty, soft targets, and the gradient tables, marginals − gold counts) inside one
 *   `tf.customGrad`; `"ops"`, the reference, builds the forward algorithm from differentiable tf
 *   ops, so autodiff gives the gradient. `"fast"` takes the reference where the kernel cannot run
 *   (no WebAssembly SIMD, float32 underflow, a batch too large for its memory).
 * - **Marginals** ({@link crfMarginals}) are the same kernel's forward–backward without the pair
 *   counts (prediction's confidences, a distillation teacher's targets); their reference is the
 *   gradient of the tf-ops log-partition ({@link referenceMarginals}).
 *
 * Files: ./params.ts (the parameters), ./loss.ts (the loss and the tf-ops reference),
 * ./wasm_forward_backward.ts (the fast path: the kernel and the loss's customGrad),
 * ./marginals.ts, ./viterbi.ts (decoding).
 *
 * @module
 */
export {
  createCrfParameters,
  DEFAULT_CRF_PARAMETER_OPTIONS,
  disposeCrfParameters,
  PADDING_TAG_PENALTY,
  readCrfParameters,
} from "./params.ts";
export type {
  CrfHostParameters,
  CrfParameterOptions,
  CrfParameters,
  CrfTensors,
} from "./params.ts";
export {
  crfGoldScore,
  crfLogPartition,
  crfNegLogLikelihood,
  crfSequenceNegLogLikelihoods,
  crfSoftTargetShift,
  DEFAULT_CRF_LOSS_OPTIONS,
  referenceMarginals,
} from "./loss.ts";
export type { CrfImplementation, CrfLossOptions, SoftTargets } from "./loss.ts";
export { viterbiDecode, viterbiDecodeBatch } from "./viterbi.ts";
export type { ViterbiResult } from "./viterbi.ts";
export { crfMarginals } from "./marginals.ts";
export { CrfKernel } from "./wasm_forward_backward.ts";
