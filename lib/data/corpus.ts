/**
 * Corpus loading: step 2 of the tutorial ("load and group the corpus").
 *
 * Reads a GMB-style `ner_dataset.csv` (plain or gzip-compressed) under a size
 * cap, decodes it (UTF-8 when it is valid UTF-8, else Windows-1252 as the
 * bundled file; or the encoding given), checks its header, rows and tags,
 * forward-fills `Sentence #` and groups the rows into typed sentences.
 * nodejs-polars does the table work (read, check, find where sentences
 * start), and the columns are cut into sentences there; every problem is
 * reported as a {@linkcode CorpusError} naming the file and, where there is
 * one, the 1-based line. Nothing is dropped, merged or guessed silently: a
 * sentence id used for two separate runs of rows, a `<pad>` or non-IOB tag, a
 * file over the cap (or a device that never ends) are errors.
 *
 * nodejs-polars is loaded on first use, not when this module is imported: a program that
 * imports the library but reads no GMB CSV needs none of the permissions polars asks for as it
 * loads (`sys` access to the CPUs, `ffi` for its native binding).
 *
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * const corpus = await loadCorpus(); // the bundled data/ner_dataset.csv.gz
 * console.log(corpus.sentences[0].words.join(" "));
 * ```
 *
 * @module
 */
import { projectPath } from "../fs/paths.ts";
import {
  checkRows,
  checkSentenceStarts,
  checkTags,
  checkText,
  loadPolars,
  polars,
  readTable,
  SENTENCE_ID,
} from "./_corpus_check.ts";
import { CorpusError } from "./_corpus_error.ts";
import { type CorpusEncoding, type ReadCorpusOptions, readCorpusText } from "./_corpus_read.ts";

export { CorpusError } from "./_corpus_error.ts";
export { CORPUS_COLUMNS } from "./_corpus_check.ts";
export {
  CORPUS_ENCODING_OPTIONS,
  type CorpusEncoding,
  type CorpusEncodingOption,
  type CorpusText,
  DEFAULT_MAX_CORPUS_BYTES,
  type ReadCorpusOptions,
  readCorpusText,
} from "./_corpus_read.ts";

import type { Sentence } from "./sentence.ts";
export type { Sentence };

/** A loaded corpus: its sentences in file order and where they came from. */
export interface Corpus {
  /** The path the corpus was read from (used in error messages). */
  source: string;
  /** Number of data rows read (one per token; the header is not counted). */
  rows: number;
  /** Sentences in the order they appear in the file. */
  sentences: Sentence[];
  /** The encoding the file was read with, given or detected (set by {@linkcode loadCorpus}). */
  encoding?: CorpusEncoding;
}

/** The token columns, as they become a sentence's `words`, `pos` and `tags`. */
const COLUMNS = ["Word", "POS", "Tag"] as const;
/** What joins a column's values on their way from polars (never in a field: NUL is refused). */
const SEPARATOR = "\0";

/** Options for {@linkcode loadCorpus}: the text encoding and the size cap. */
export type LoadCorpusOptions = ReadCorpusOptions;

/** The corpus bundled with the project: `data/ner_dataset.csv.gz`. */
export const DEFAULT_CORPUS_PATH: string = projectPath("data/ner_dataset.csv.gz");

/**
 * Loads and groups a corpus file.
 *
 * @param path the `.csv` or `.csv.gz` file; default the bundled corpus
 * @param options `encoding` (default `"auto"`: UTF-8 if valid, else Windows-1252) and
 *   `maxBytes`, the size cap (default {@linkcode DEFAULT_MAX_CORPUS_BYTES}, 128 MiB)
 * @returns the corpus, with one sentence per `Sentence #` group, in file order
 * @throws {CorpusError} on an unreadable file (see {@linkcode readCorpusText}) or malformed
 *   input (see {@linkcode parseCorpus})
 * @throws {ConfigError} on a bad option
 */
export async function loadCorpus(
  path: string = DEFAULT_CORPUS_PATH,
  options: LoadCorpusOptions = {},
): Promise<Corpus> {
  const { text, encoding } = await readCorpusText(path, options);
  await loadPolars();
  return { ...parseCorpus(text, path), encoding };
}

/**
 * Parses corpus text (CSV with header `Sentence #,Word,POS,Tag`) into sentences.
 *
 * Every Word is text: `None`, `NA`, `null` stay words. Rules enforced, each with
 * the 1-based line in the error: no NUL byte; the header has exactly the four
 * columns; every row has four non-empty fields (`Sentence #` aside) and no field
 * spans lines; `Sentence #`, where set, reads `Sentence: N`; the first row starts
 * a sentence; every tag is `O`, `B-TYPE` or `I-TYPE` (`<pad>` is reserved for
 * padding); a sentence id starts one sentence only (the error names both lines).
 * The row count in equals the token count out.
 *
 * nodejs-polars is loaded on first use: {@linkcode loadCorpus} loads it asynchronously (a dynamic
 * import); called first, this function loads it synchronously from the project's `node_modules`.
 *
 * @param text the whole file as text
 * @param source the file name to use in error messages
 * @returns the grouped corpus
 * @throws {CorpusError} on malformed input
 */
export function parseCorpus(text: string, source: string): Corpus {
  checkText(text, source);
  const pl = polars();
  const table = readTable(text, source);
  if (table.height === 0) throw new CorpusError(source, "the file has a header but no rows");

  const withIds = table.withRowIndex("row").withColumns(
    pl.col("Sentence #").str.extract(SENTENCE_ID, 1).cast(pl.Int32).alias("rawId"),
  );
  checkRows(withIds, text, source);
  checkTags(withIds, source);
  const starts = checkSentenceStarts(withIds, source);

  // Each column comes over as one string and is split in JavaScript: several times faster
  // than a list per sentence. The separator, NUL, cannot occur in a field (checkText).
  const joined = withIds.lazy()
    .select(...COLUMNS.map((name) => pl.col(name).str.concat(SEPARATOR)))
    .collectSync();
  const [words, pos, tags] = COLUMNS.map((name) =>
    (joined.getColumn(name).get(0) as string).split(SEPARATOR)
  );
  const sentences: Sentence[] = starts.ids.map((id, index) => {
    const start = starts.rows[index];
    const end = starts.rows[index + 1] ?? table.height;
    return {
      id,
      words: words.slice(start, end),
      pos: pos.slice(start, end),
      tags: tags.slice(start, end),
      line: start + 2,
    };
  });
  if (COLUMNS.some((_, index) => [words, pos, tags][index].length !== table.height)) {
    throw new CorpusError(
      source,
      `reading the columns lost values: ${table.height} rows, but ${words.length} words, ` +
        `${pos.length} POS tags, ${tags.length} tags (a bug in the reader)`,
    );
  }
  return { source, rows: table.height, sentences };
}
