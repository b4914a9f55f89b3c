/**
 * The model stage: the tagger's one config, the tagger built from it and its one forward pass,
 * and the parts it is made of (our BiLSTM and its kernels, the char CNN, the CRF).
 *
 * @example
 * ```ts
 * import { Tagger } from "./mod.ts";
 * const tagger = new Tagger({ vocabSize: 35_178, numTags: 18, modelType: "bilstm-crf" });
 * console.log(tagger.config.units, tagger.hasCrf); // 100 true
 * tagger.dispose();
 * ```
 *
 * @module
 */
export {
  CHAR_FIELDS,
  checkTaggerOptions,
  DEFAULT_TAGGER_OPTIONS,
  headInputWidth,
  resolveTaggerConfig,
  TAGGER_FIELDS,
  wordRepresentationWidth,
} from "./config.ts";
export type {
  BiLstmKind,
  CharActivation,
  ModelSettings,
  ModelType,
  RecurrentActivation,
  TaggerConfig,
  TaggerOptions,
} from "./config.ts";
export { buildTagger, Tagger } from "./tagger.ts";
export type { NamedWeight } from "./tagger.ts";
export type { WeightInit } from "./_graph.ts";
export type { TaggerBatch, TrainingPass } from "./forward.ts";
export { denseVariables } from "./parts.ts";
export type { TaggerParts } from "./parts.ts";
export { caselessOf, describeMember, membersOf } from "./mapped.ts";
export type { MappedTagger, Predictor, TaggerEnsemble } from "./mapped.ts";
export { drawDropoutMask, FastBiLSTM, fastBiLstm, gatherRows } from "./bilstm/mod.ts";
export type { FastBiLSTMArgs, FastBiLstmOptions } from "./bilstm/mod.ts";
export * from "./char_cnn.ts";
export { CharCnn } from "./char_cnn_layer.ts";
export type { CharCnnLayerArgs } from "./char_cnn_layer.ts";
export * from "./crf/mod.ts";
export { CrfLayer } from "./crf_layer.ts";
export type { CrfLayerArgs } from "./crf_layer.ts";
