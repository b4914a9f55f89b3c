/**
 * Linear-chain CRF output layer (BiLSTM-CRF) for TensorFlow.js: parameters, loss ("host" and
 * "ops" implementations), Viterbi decoding and marginals. A re-export of ./crf/mod.ts, where the
 * code and its documentation live.
 *
 * @module
 */
export {
  createCrfParameters,
  crfGoldScore,
  crfLogPartition,
  crfMarginals,
  crfNegLogLikelihood,
  crfSequenceNegLogLikelihoods,
  DEFAULT_CRF_LOSS_OPTIONS,
  DEFAULT_CRF_PARAMETER_OPTIONS,
  disposeCrfParameters,
  PADDING_TAG_PENALTY,
  readCrfParameters,
  viterbiDecode,
  viterbiDecodeBatch,
} from "./crf/mod.ts";
export type {
  CrfHostParameters,
  CrfImplementation,
  CrfLossOptions,
  CrfParameterOptions,
  CrfParameters,
  SoftTargets,
  ViterbiResult,
} from "./crf/mod.ts";
