/**
 * One sentence of a labelled corpus, as every reader returns it (the GMB CSV, CoNLL, JSONL).
 *
 * @module
 */

/** One sentence of the corpus: parallel arrays of words, POS tags and NER tags. */
export interface Sentence {
  /** The sentence number N of `Sentence: N`. */
  id: number;
  /** The tokens, exactly as in the file (never split, never mapped to missing). */
  words: string[];
  /** Part-of-speech tags, one per token. */
  pos: string[];
  /** IOB2 named-entity tags (`O`, `B-geo`, `I-geo`, …), one per token. */
  tags: string[];
  /** 1-based line of the sentence's first row in the source file (the header is line 1). */
  line: number;
}
