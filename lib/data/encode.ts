/**
 * Encoding and splitting: step 3 of the tutorial (padding, labels, train/test split).
 *
 * Sentences become fixed-length rows of word ids and tag ids, padded with
 * `padId` / `padTagId`, plus a mask that is 1 on real tokens and 0 on padding,
 * so padding never counts in the loss or the metrics.
 *
 * @module
 */
import type { Sentence } from "./corpus.ts";
import { type Random, seededRandom, shuffled } from "./random.ts";
import { type Vocab, wordId } from "./vocab.ts";
import { projectPath } from "../fs/paths.ts";
import { readRegularFile } from "../fs/files.ts";

/** Options for {@linkcode encodeSentences}. */
export interface EncodeOptions {
  /** Row length: sentences are padded or truncated to it. Default 50, as in the tutorial. */
  maxLen?: number;
  /** Where padding goes: `"post"` (after the words, the tutorial's choice) or `"pre"`. */
  padding?: "post" | "pre";
  /** Which end a long sentence loses: `"post"` keeps its beginning (default), `"pre"` its end. */
  truncating?: "post" | "pre";
  /** The file the sentences came from, for error messages. */
  source?: string;
}

/** Sentences encoded as flat row-major arrays of shape `[size, maxLen]`. */
export interface EncodedSentences {
  /** Number of rows (sentences). */
  size: number;
  /** Row length. */
  maxLen: number;
  /** Word ids, `padId` on padding. */
  wordIds: Int32Array;
  /** Tag ids, `padTagId` on padding. */
  tagIds: Int32Array;
  /** 1 on real tokens, 0 on padding. */
  mask: Float32Array;
  /** Real (unpadded, untruncated) length of each sentence. */
  lengths: Int32Array;
  /** Sentence number of each row. */
  sentenceIds: Int32Array;
}

/**
 * Pads or truncates sentences and maps words and tags to ids.
 *
 * @param sentences the sentences
 * @param vocab the word/tag maps
 * @param options padding length and side
 * @returns the encoded rows
 * @throws {RangeError} on a tag not in the map, naming the file, line and sentence
 */
export function encodeSentences(
  sentences: readonly Sentence[],
  vocab: Vocab,
  options: EncodeOptions = {},
): EncodedSentences {
  const maxLen = options.maxLen ?? 50;
  const padding = options.padding ?? "post";
  const truncating = options.truncating ?? "post";
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  }
  const size = sentences.length;
  const wordIds = new Int32Array(size * maxLen).fill(vocab.padId);
  const tagIds = new Int32Array(size * maxLen).fill(vocab.padTagId);
  const mask = new Float32Array(size * maxLen);
  const lengths = new Int32Array(size);
  const sentenceIds = new Int32Array(size);
  sentences.forEach((sentence, row) => {
    const length = sentence.words.length;
    lengths[row] = length;
    sentenceIds[row] = sentence.id;
    const kept = Math.min(length, maxLen);
    const from = truncating === "pre" ? length - kept : 0;
    const to = padding === "pre" ? maxLen - kept : 0;
    for (let offset = 0; offset < kept; offset++) {
      const token = from + offset;
      const cell = row * maxLen + to + offset;
      wordIds[cell] = wordId(vocab, sentence.words[token]);
      const id = vocab.tagIndex.get(sentence.tags[token]);
      if (id === undefined || id === vocab.padTagId) {
        const where = options.source ? `${options.source}:${sentence.line + token}: ` : "";
        throw new RangeError(
          `${where}unknown tag "${sentence.tags[token]}" in sentence ${sentence.id}, token ${
            token + 1
          } ("${sentence.words[token]}")`,
        );
      }
      tagIds[cell] = id;
      mask[cell] = 1;
    }
  });
  return { size, maxLen, wordIds, tagIds, mask, lengths, sentenceIds };
}

/**
 * Expands tag ids to one-hot vectors (the tutorial's `to_categorical`).
 *
 * @param tagIds tag ids of shape `[n]`
 * @param numTags number of labels (including the padding label)
 * @returns a flat `Float32Array` of shape `[n, numTags]`
 */
export function oneHot(tagIds: Int32Array, numTags: number): Float32Array {
  const result = new Float32Array(tagIds.length * numTags);
  tagIds.forEach((id, index) => {
    if (id < 0 || id >= numTags) throw new RangeError(`tag id ${id} outside 0..${numTags - 1}`);
    result[index * numTags + id] = 1;
  });
  return result;
}

/** A train/test partition of sentences. */
export interface Split {
  /** Training sentences. */
  train: Sentence[];
  /** Test sentences. */
  test: Sentence[];
}

/** The tutorial's split as stored in `data/tutorial_split.json`: sentence numbers, in order. */
export interface TutorialSplitJSON {
  test: number[];
  train: number[];
}

/** The tutorial's split bundled with the project. */
export const DEFAULT_SPLIT_PATH: string = projectPath("data/tutorial_split.json");

/**
 * Reads a split file of sentence numbers.
 *
 * @param path the JSON file; default the bundled tutorial split
 * @returns its `train` and `test` sentence numbers
 * @throws {Error} naming the file when it is missing or malformed
 */
export async function loadSplitFile(path: string = DEFAULT_SPLIT_PATH): Promise<TutorialSplitJSON> {
  let json: Partial<TutorialSplitJSON>;
  try {
    json = JSON.parse(new TextDecoder().decode(await readRegularFile(path, "split")));
  } catch (error) {
    throw new Error(`${path}: cannot read split (${(error as Error).message})`);
  }
  if (!Array.isArray(json.train) || !Array.isArray(json.test)) {
    throw new Error(`${path}: expected {"train": [...], "test": [...]} of sentence numbers`);
  }
  return { train: json.train, test: json.test };
}

/**
 * Splits sentences by lists of sentence numbers, keeping the lists' order
 * (the tutorial's order matters: Keras's validation split is its tail).
 *
 * @param sentences all sentences
 * @param split sentence numbers for train and test
 * @returns the two partitions
 * @throws {Error} when a listed sentence number is not in the corpus
 */
export function splitByIds(sentences: readonly Sentence[], split: TutorialSplitJSON): Split {
  const byId = new Map(sentences.map((sentence) => [sentence.id, sentence]));
  const pick = (ids: number[], name: string) =>
    ids.map((id) => {
      const sentence = byId.get(id);
      if (!sentence) throw new Error(`${name} split lists sentence ${id}, not in the corpus`);
      return sentence;
    });
  return { train: pick(split.train, "train"), test: pick(split.test, "test") };
}

/**
 * A seeded random split.
 *
 * @param sentences all sentences
 * @param options `testRatio` (default 0.2) and `seed` (default 42)
 * @returns the two partitions; the same seed gives the same split
 */
export function randomSplit(
  sentences: readonly Sentence[],
  options: { testRatio?: number; seed?: number } = {},
): Split {
  const testRatio = options.testRatio ?? 0.2;
  if (!(testRatio > 0 && testRatio < 1)) {
    throw new RangeError(`testRatio must be in (0, 1), got ${testRatio}`);
  }
  const random: Random = seededRandom(options.seed ?? 42);
  const order = shuffled(sentences, random);
  const testSize = Math.ceil(sentences.length * testRatio);
  return { train: order.slice(testSize), test: order.slice(0, testSize) };
}

/**
 * Holds out the last fraction of the training sentences for validation, like
 * Keras's `validation_split` (no shuffling).
 *
 * @param train training sentences in order
 * @param fraction the share held out, default 0.1
 * @returns the remaining training sentences and the validation tail
 */
export function validationTail<T>(
  train: readonly T[],
  fraction = 0.1,
): { train: T[]; validation: T[] } {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  }
  // Keras: split_at = int(len * (1 - validation_split))
  const splitAt = Math.trunc(train.length * (1 - fraction));
  return { train: train.slice(0, splitAt), validation: train.slice(splitAt) };
}
