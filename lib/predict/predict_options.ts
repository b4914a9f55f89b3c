/**
 * What the prediction functions of lib/predict/predict.ts take and return per sentence.
 *
 * @module
 */
import type { DecodedTags, TagDecoder } from "./decoders.ts";

/** Options for the prediction functions. */
export interface PredictOptions {
  /**
   * Rows (windows) per forward pass. Default 256. Rows are sorted by length before batching
   * (results come back in input order), and each pass computes up to its longest row.
   */
  batchSize?: number;
  /**
   * How model output becomes tag ids. Default {@linkcode argmaxDecoder}, or for a CRF model
   * {@linkcode crfDecoder} with its weights (a custom decoder then gets emission scores).
   */
  decoder?: TagDecoder;
  /**
   * The words of each sentence (same lengths as the word ids), for a model with char features
   * (their char ids and casing classes); ignored by other models.
   */
  words?: readonly (readonly string[])[];
  /** Called after each batch with rows done and rows in all (e.g. to report progress). */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
  /**
   * Also return every tag's probability at every token
   * ({@linkcode SequencePrediction.distributions}), e.g. a teacher's soft targets for
   * distillation. Default false.
   */
  distributions?: boolean;
}

/** Predictions for one sentence given as word ids. */
export interface SequencePrediction extends DecodedTags {
  /**
   * Tag ids of the first window alone (the first `min(length, maxLen)` tokens), i.e. what a
   * model that truncates at `maxLen` (the tutorial) predicts for the tokens it sees.
   */
  firstWindowTagIds: Int32Array;
  /**
   * With {@linkcode PredictOptions.distributions}: every tag's probability at every token,
   * row-major `[length, numTags]` (softmax probabilities, or for a CRF the marginals under the
   * members' mean scores); each token's row comes from the window that decides its tag.
   */
  distributions?: Float32Array;
}
