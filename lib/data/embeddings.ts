/**
 * Pretrained word vectors: GloVe, word2vec text and fastText `.vec` files, plain or gzip,
 * with or without a `COUNT DIMENSION` header line, read as a stream (a 5 GB file is never held
 * in memory). Only the rows a training needs are kept: the training vocabulary's words (exact
 * match first, then the lowercased word) and the first `extraWords` other words of the file
 * (vector files list the most frequent words first), so that test words absent from the
 * training file but present in the vectors are known to the model.
 *
 * @example
 * ```ts
 * import { readWordVectors } from "./embeddings.ts";
 * const vectors = await readWordVectors("glove.6B.100d.txt.gz", {
 *   vocabulary: ["Paris", "London"],
 *   extraWords: 50_000,
 * });
 * console.log(vectors.dimension, vectors.exact.size, vectors.extra.length);
 * ```
 *
 * @module
 */
import { CorpusError } from "./_corpus_error.ts";
import { readLines } from "./_lines.ts";

/** Options for {@linkcode readWordVectors}. */
export interface ReadWordVectorsOptions {
  /** The words a vector is wanted for (a training vocabulary). */
  vocabulary: Iterable<string>;
  /** How many other words of the file to keep too, the file's first ones. Default 0. */
  extraWords?: number;
  /** Whether the vocabulary is lowercased (then only lowercase file words can match). */
  lowercase?: boolean;
  /** The most bytes read (after unpacking gzip). Default 64 GiB. */
  maxBytes?: number;
}

/** The rows of a vectors file that a training uses. */
export interface WordVectors {
  /** The file read. */
  file: string;
  /** The vectors' width. */
  dimension: number;
  /** Vectors of vocabulary words found as they are. */
  exact: Map<string, Float32Array>;
  /** Vectors of lowercased vocabulary words (`paris` for `Paris`), by the lowercase word. */
  lowercased: Map<string, Float32Array>;
  /** The other words kept (not in the vocabulary), in file order. */
  extra: string[];
  /** Their vectors, in the same order. */
  extraVectors: Float32Array[];
  /** Vectors read from the file in all. */
  vectorsRead: number;
  /** Bytes of text read (UTF-16 code units of the lines, a close proxy for bytes). */
  charactersRead: number;
}

/** Default {@linkcode ReadWordVectorsOptions.maxBytes}: 64 GiB. */
const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;

/**
 * Reads the vectors a training needs from a vectors file.
 *
 * @param path a GloVe, word2vec text or fastText `.vec` file, plain or gzip
 * @param options the vocabulary and how many other words to keep
 * @returns the dimension and the kept vectors
 * @throws {CorpusError} naming the file and line: missing or empty file, a line whose number of
 *   values differs from the first vector's, a value that is not a finite number (in a row that
 *   is kept: the others are only counted), a header whose dimension the vectors do not have
 */
export async function readWordVectors(
  path: string,
  options: ReadWordVectorsOptions,
): Promise<WordVectors> {
  const wanted = new Set(options.vocabulary);
  const lowerWanted = new Set<string>();
  for (const word of wanted) lowerWanted.add(word.toLowerCase());
  const extraWords = options.extraWords ?? 0;
  const vectors: WordVectors = {
    file: path,
    dimension: 0,
    exact: new Map(),
    lowercased: new Map(),
    extra: [],
    extraVectors: [],
    vectorsRead: 0,
    charactersRead: 0,
  };
  let headerDimension: number | null = null;
  const seen = new Set<string>();
  for await (
    const { text, line } of readLines(path, {
      encoding: "utf-8",
      lenient: true,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    })
  ) {
    vectors.charactersRead += text.length + 1;
    const trimmed = text.trimEnd();
    if (trimmed === "") continue;
    const fields = trimmed.split(" ");
    if (line === 1 && fields.length === 2 && /^\d+$/.test(fields[0]) && /^\d+$/.test(fields[1])) {
      headerDimension = Number(fields[1]); // word2vec / fastText: "COUNT DIMENSION"
      continue;
    }
    const word = fields[0];
    const width = fields.length - 1;
    if (vectors.dimension === 0) {
      if (width < 1) throw new CorpusError(path, `"${word}" has no vector values`, line);
      if (headerDimension !== null && width !== headerDimension) {
        throw new CorpusError(
          path,
          `the header says ${headerDimension} dimensions, but "${word}" has ${width} values`,
          line,
        );
      }
      vectors.dimension = width;
    } else if (width !== vectors.dimension) {
      throw new CorpusError(
        path,
        `"${word.slice(0, 40)}" has ${width} values, the vectors before it ${vectors.dimension}` +
          " (a word with a space in it, or a truncated line?)",
        line,
      );
    }
    vectors.vectorsRead++;
    if (seen.has(word)) continue; // the first of a repeated word wins
    const isWanted = wanted.has(word);
    const isLowerWanted = !isWanted && !options.lowercase && lowerWanted.has(word) &&
      word === word.toLowerCase();
    const isExtra = !isWanted && !isLowerWanted && vectors.extra.length < extraWords;
    if (!isWanted && !isLowerWanted && !isExtra) continue;
    seen.add(word);
    const values = new Float32Array(width);
    for (let index = 0; index < width; index++) {
      const value = Number(fields[index + 1]);
      if (!Number.isFinite(value) || fields[index + 1] === "") {
        throw new CorpusError(
          path,
          `value ${index + 1} of "${word.slice(0, 40)}" is ${
            JSON.stringify(fields[index + 1].slice(0, 20))
          }, not a number`,
          line,
        );
      }
      values[index] = value;
    }
    if (isWanted) vectors.exact.set(word, values);
    else if (isLowerWanted) vectors.lowercased.set(word, values);
    else {
      vectors.extra.push(word);
      vectors.extraVectors.push(values);
    }
  }
  if (vectors.dimension === 0) throw new CorpusError(path, "holds no word vectors");
  return vectors;
}

/**
 * The vector for a vocabulary word: its own, else its lowercased word's, else undefined (the
 * extra words' vectors are in {@linkcode WordVectors.extraVectors}, in their order).
 *
 * @param vectors vectors read by {@linkcode readWordVectors}
 * @param word a vocabulary word
 */
export function vectorFor(vectors: WordVectors, word: string): Float32Array | undefined {
  return vectors.exact.get(word) ?? vectors.lowercased.get(word.toLowerCase());
}
