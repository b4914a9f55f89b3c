/**
 * Decoders: how a tagger's scores for one row become tag ids. Argmax over the real tags for a
 * softmax head; the Viterbi path with CRF marginals for a CRF head.
 *
 * @module
 */
import { CrfKernel } from "../model/crf/wasm_forward_backward.ts";
import { type CrfHostParameters, crfMarginals, viterbiDecode } from "../model/crf/mod.ts";

/** The decoded tags of one sentence (or window): a tag id and its probability per token. */
export interface DecodedTags {
  /** Tag ids, one per token; never the padding label for a real token. */
  tagIds: Int32Array;
  /** The probability the model gave each chosen tag. */
  probabilities: Float32Array;
  /**
   * Every tag's probability at every token, row-major `[length, numTags]` (softmax
   * probabilities, or CRF marginals); optional for custom decoders.
   */
  distributions?: Float32Array;
}

/**
 * Turns a model's output for one padded row into tag ids for its real tokens.
 *
 * @param scores the row's output, row-major `[time, numTags]` (softmax probabilities), where
 *   `time ≥ length` (the batch's longest row, or `maxLen`)
 * @param length the number of real tokens at the start of the row (post padding)
 * @param numTags labels per position, id 0 being the padding label
 * @returns tag ids and probabilities for the `length` real tokens
 */
export type TagDecoder = (scores: Float32Array, length: number, numTags: number) => DecodedTags;

/**
 * The default decoder: per token, the most probable label among the real tags (ids 1..), so
 * the padding label (id 0) is never chosen for a real token, however probable. Ties go to
 * the lower id.
 */
export const argmaxDecoder: TagDecoder = (scores, length, numTags) => {
  const tagIds = new Int32Array(length);
  const probabilities = new Float32Array(length);
  for (let token = 0; token < length; token++) {
    const base = token * numTags;
    let best = 1;
    for (let tag = 2; tag < numTags; tag++) {
      if (scores[base + tag] > scores[base + best]) best = tag;
    }
    tagIds[token] = best;
    probabilities[token] = scores[base + best];
  }
  return { tagIds, probabilities, distributions: scores.slice(0, length * numTags) };
};

/**
 * A decoder for CRF emissions: the Viterbi path of the row (never `paddingTagId`), with each
 * chosen tag's CRF marginal probability.
 *
 * @param params the CRF weights on the host (lib/model/crf/ `readCrfParameters`)
 * @param paddingTagId the label never decoded; default 0
 * @returns a {@linkcode TagDecoder} taking emission scores
 */
export function crfDecoder(params: CrfHostParameters, paddingTagId: number | null = 0): TagDecoder {
  // The marginals in WebAssembly SIMD where the runtime has it (null: it does not), made on first
  // use for the CRF's K tags.
  let kernel: CrfKernel | null | undefined;
  return (scores, length, numTags) => {
    const { tags } = viterbiDecode(scores, length, params, numTags, paddingTagId);
    if (kernel === undefined) {
      kernel = CrfKernel.create(params, params.start.length, paddingTagId);
    }
    const marginals = crfMarginals(scores, length, params, numTags, paddingTagId, 0, kernel);
    const tagIds = Int32Array.from(tags);
    const probabilities = new Float32Array(length);
    for (let t = 0; t < length; t++) probabilities[t] = marginals[t * numTags + tags[t]];
    return { tagIds, probabilities, distributions: marginals };
  };
}
