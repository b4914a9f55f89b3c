/**
 * Text without its normal casing, for robustness tests and case augmentation: every word
 * uppercased, lowercased or capitalised (title case), tags unchanged.
 *
 * @example
 * ```ts
 * import { recaseWords } from "./recase.ts";
 * recaseWords(["Obama", "visited", "NATO"], "title"); // ["Obama", "Visited", "Nato"]
 * ```
 *
 * @module
 */
import type { Sentence } from "./corpus.ts";
import { capitalise } from "./vocab.ts";

/** How to case text: as given, or every word uppercased, lowercased or capitalised. */
export type TextCasing = "original" | "upper" | "lower" | "title";

/** The values of {@linkcode TextCasing}, `"original"` first. */
export const TEXT_CASINGS: readonly TextCasing[] = ["original", "upper", "lower", "title"];

/**
 * Words in a casing.
 *
 * @param words the words
 * @param casing the casing
 * @returns new words (the same array for `"original"`)
 */
export function recaseWords(words: readonly string[], casing: TextCasing): readonly string[] {
  switch (casing) {
    case "original":
      return words;
    case "upper":
      return words.map((word) => word.toUpperCase());
    case "lower":
      return words.map((word) => word.toLowerCase());
    case "title":
      return words.map(capitalise);
  }
}

/**
 * Sentences with their words in a casing; tags, ids and lines kept.
 *
 * @param sentences the sentences
 * @param casing the casing
 * @returns the sentences themselves for `"original"`, else recased copies
 */
export function recaseSentences(
  sentences: readonly Sentence[],
  casing: TextCasing,
): readonly Sentence[] {
  if (casing === "original") return sentences;
  return sentences.map((sentence) => ({
    ...sentence,
    words: [...recaseWords(sentence.words, casing)],
  }));
}

/**
 * Whether a sentence is caseless: it has letters, and none of them is uppercase or none is
 * lowercase (all-caps headlines and telex, all-lowercase chat or speech-recognition output).
 * Capitals then say nothing about names; an ensemble folder with `caseless` members tags such
 * sentences with them (lib/predict/predict.ts).
 *
 * @example
 * ```ts
 * import { isCaseless } from "./recase.ts";
 * isCaseless(["OBAMA", "VISITS", "PARIS"]); // true
 * isCaseless(["obama", "visits", "paris"]); // true
 * isCaseless(["Obama", "visits", "Paris"]); // false
 * ```
 *
 * @param words the sentence's words
 * @returns true when every letter has the same case
 */
export function isCaseless(words: readonly string[]): boolean {
  let upper = false;
  let lower = false;
  for (const word of words) {
    if (!upper && /\p{Lu}/u.test(word)) upper = true;
    if (!lower && /\p{Ll}/u.test(word)) lower = true;
    if (upper && lower) return false;
  }
  return upper || lower;
}
