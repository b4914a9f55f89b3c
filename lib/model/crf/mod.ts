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
 * - **Two implementations** with the same values and gradients: `"host"` (default) runs the
 *   forward–backward recursions in plain JS on the host inside one `tf.customGrad` (the gradient is
 *   marginals − gold counts); `"ops"` builds the forward algorithm from differentiable tf ops, so
 *   autodiff gives the gradient. The host one is ~20x faster on wasm (a few ops in all instead of
 *   ~10 per time step, ~3.5 ms vs ~75 ms for loss + gradients at batch 32, T 50, K 18); it reads
 *   its inputs synchronously (`dataSync`) and computes the gradient tables in the forward pass
 *   (scaled forward–backward, float64).
 *
 * Files: ./params.ts (the parameters), ./loss.ts (the loss, both implementations; the host one in
 * ./_host_loss.ts over ./_forward_backward.ts), ./viterbi.ts (decoding), ./marginals.ts.
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
export type { CrfHostParameters, CrfParameterOptions, CrfParameters } from "./params.ts";
export {
  crfGoldScore,
  crfLogPartition,
  crfNegLogLikelihood,
  crfSequenceNegLogLikelihoods,
  DEFAULT_CRF_LOSS_OPTIONS,
} from "./loss.ts";
export type { CrfImplementation, CrfLossOptions, SoftTargets } from "./loss.ts";
export { viterbiDecode, viterbiDecodeBatch } from "./viterbi.ts";
export type { ViterbiResult } from "./viterbi.ts";
export { crfMarginals } from "./marginals.ts";
