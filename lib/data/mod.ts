/**
 * The data stage: the corpus (load, decode, group), its statistics, the word/tag and character
 * maps, padding and the tutorial's split, and the seeded random streams everything shuffles with.
 *
 * @example
 * ```ts
 * import { buildVocab, loadCorpus } from "./mod.ts";
 * const corpus = await loadCorpus();
 * const vocab = buildVocab(corpus.sentences);
 * console.log(vocab.tags.length); // 18: 17 tags and the padding label
 * ```
 *
 * @module
 */
export * from "./corpus.ts";
export * from "./stats.ts";
export * from "./vocab.ts";
export * from "./encode.ts";
export * from "./chars.ts";
export * from "./random.ts";
export * from "./recase.ts";
export * from "./tag_schemes.ts";
export * from "./conll.ts";
export * from "./jsonl.ts";
export * from "./formats.ts";
export * from "./write.ts";
export * from "./dataset.ts";
