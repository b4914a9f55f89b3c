/**
 * The prediction stage: raw text → sentences and tokens with offsets → each tagger's scores
 * (its one forward pass) → averaged over an ensemble → decoded → entities with offsets.
 *
 * @example
 * ```ts
 * import { loadModelFolder, projectPath } from "../io/mod.ts";
 * import { predictText } from "./mod.ts";
 * const model = await loadModelFolder(projectPath("data/model"));
 * console.log(predictText(model, "Narendra Modi visited India.").entities);
 * ```
 *
 * @module
 */
export * from "./predict.ts";
export * from "./predict_text.ts";
export * from "./inference.ts";
export * from "./ensemble.ts";
export * from "../data/tokenize.ts";
export * from "../data/text.ts";
export * from "./stream.ts";
export * from "./pool.ts";
