/**
 * bilstm-ner: named-entity recognition with a BiLSTM(-CRF) tagger on TensorFlow.js, by pipeline
 * stage. Each stage's folder has its own `mod.ts`; this module gathers what a user's own code
 * needs to train, load, evaluate and call a tagger.
 *
 * @example
 * ```ts
 * import { initBackend, loadModelFolder, predictText, projectPath } from "./mod.ts";
 *
 * await initBackend({ backend: "wasm", threads: "auto" });
 * const model = await loadModelFolder(projectPath("data/model"));
 * for (const entity of predictText(model, "Narendra Modi visited India.").entities) {
 *   console.log(entity.text, entity.type, entity.score.toFixed(3));
 * }
 * ```
 *
 * @module
 */
export * from "./backend/mod.ts";
export * from "./data/mod.ts";
export * from "./model/mod.ts";
export * from "./train/mod.ts";
export * from "./io/mod.ts";
export * from "./evaluate/mod.ts";
export * from "./predict/mod.ts";
export { ConfigError } from "./errors.ts";
