/**
 * Corpus statistics: the numbers a reader checks before modelling (rows,
 * sentences, distinct words and tags, tag counts, sentence lengths).
 *
 * @module
 */
import type { Corpus } from "./corpus.ts";

/** Summary statistics of a corpus. */
export interface CorpusStats {
  /** Data rows (tokens) read from the file. */
  rows: number;
  /** Number of sentences. */
  sentences: number;
  /** Distinct words, case-sensitive. */
  words: number;
  /** Distinct NER tags. */
  tags: number;
  /** Distinct POS tags. */
  posTags: number;
  /** Token count of each NER tag, most frequent first. */
  tagCounts: Record<string, number>;
  /** Shortest sentence, in tokens. */
  minSentenceLength: number;
  /** Longest sentence, in tokens. */
  maxSentenceLength: number;
  /** Mean sentence length, in tokens. */
  meanSentenceLength: number;
  /** Sentences longer than `maxLen` (they are truncated when padded to `maxLen`). */
  sentencesLongerThan: { maxLen: number; count: number };
  /** Length of every sentence, in corpus order (for a histogram). */
  sentenceLengths: number[];
}

/**
 * Computes the statistics of a corpus.
 *
 * @param corpus the loaded corpus
 * @param maxLen the padding length to count longer sentences against (default 50)
 * @returns the statistics
 */
export function corpusStats(corpus: Corpus, maxLen = 50): CorpusStats {
  const words = new Set<string>();
  const posTags = new Set<string>();
  const tagCounts = new Map<string, number>();
  const sentenceLengths = corpus.sentences.map((sentence) => sentence.words.length);
  for (const sentence of corpus.sentences) {
    for (const word of sentence.words) words.add(word);
    for (const pos of sentence.pos) posTags.add(pos);
    for (const tag of sentence.tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
  }
  const sortedTags = [...tagCounts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  // A loop, not Math.min(...lengths): spreading ~200,000 arguments or more overflows the stack.
  let totalTokens = 0;
  let minLength = Infinity;
  let maxLength = 0;
  for (const length of sentenceLengths) {
    totalTokens += length;
    if (length < minLength) minLength = length;
    if (length > maxLength) maxLength = length;
  }
  return {
    rows: corpus.rows,
    sentences: corpus.sentences.length,
    words: words.size,
    tags: tagCounts.size,
    posTags: posTags.size,
    tagCounts: Object.fromEntries(sortedTags),
    minSentenceLength: sentenceLengths.length ? minLength : 0,
    maxSentenceLength: maxLength,
    meanSentenceLength: sentenceLengths.length ? totalTokens / sentenceLengths.length : 0,
    sentencesLongerThan: {
      maxLen,
      count: sentenceLengths.filter((length) => length > maxLen).length,
    },
    sentenceLengths,
  };
}
