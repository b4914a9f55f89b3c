/**
 * Corpus loading: step 2 of the tutorial ("load and group the corpus").
 *
 * Reads the GMB `ner_dataset.csv` (plain or gzip-compressed), decodes it as
 * Windows-1252, checks its header, forward-fills `Sentence #` and groups the
 * rows into typed sentences. nodejs-polars does the table work (read, fill,
 * group); every problem is reported as a {@linkcode CorpusError} naming the
 * file and, where there is one, the 1-based line.
 *
 * ```ts
 * import { loadCorpus } from "./corpus.ts";
 * const corpus = await loadCorpus(); // the bundled data/ner_dataset.csv.gz
 * console.log(corpus.sentences[0].words.join(" "));
 * ```
 *
 * @module
 */
import pl from "nodejs-polars";
import { projectPath } from "../io/paths.ts";

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

/** A loaded corpus: its sentences in file order and where they came from. */
export interface Corpus {
  /** The path the corpus was read from (used in error messages). */
  source: string;
  /** Number of data rows read (one per token; the header is not counted). */
  rows: number;
  /** Sentences in the order they appear in the file. */
  sentences: Sentence[];
}

/** Options for {@linkcode loadCorpus} and {@linkcode parseCorpus}. */
export interface LoadCorpusOptions {
  /** Text encoding of the file. Default `"windows-1252"` (the GMB file is not UTF-8). */
  encoding?: string;
}

/** The columns the file must have, in this order. */
export const CORPUS_COLUMNS = ["Sentence #", "Word", "POS", "Tag"] as const;

/** The corpus bundled with the project: `data/ner_dataset.csv.gz`. */
export const DEFAULT_CORPUS_PATH: string = projectPath("data/ner_dataset.csv.gz");

/** An error in a corpus file; the message names the file and, when known, the line. */
export class CorpusError extends Error {
  /** The file that caused the error. */
  readonly file: string;
  /** The 1-based line of the problem, when there is one. */
  readonly line?: number;

  /**
   * @param file the file being read
   * @param message what is wrong
   * @param line the 1-based line, when the problem has one
   */
  constructor(file: string, message: string, line?: number) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${message}`);
    this.name = "CorpusError";
    this.file = file;
    this.line = line;
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];
const SENTENCE_ID = /^Sentence: (\d+)$/;

/**
 * Reads a corpus file into text: decompresses gzip in-process (detected by its
 * magic bytes, whatever the extension) and decodes the bytes.
 *
 * @param path the `.csv` or `.csv.gz` file
 * @param encoding the text encoding, default Windows-1252
 * @returns the decoded text
 * @throws {CorpusError} when the file is missing, unreadable or a truncated/corrupt gzip
 */
export async function readCorpusText(
  path: string,
  encoding = "windows-1252",
): Promise<string> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new CorpusError(path, reason);
  }
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (error) {
      throw new CorpusError(path, `corrupt or truncated gzip data (${(error as Error).message})`);
    }
  }
  return new TextDecoder(encoding).decode(bytes);
}

/**
 * Loads and groups a corpus file.
 *
 * @param path the `.csv` or `.csv.gz` file; default the bundled corpus
 * @param options decoding options
 * @returns the corpus, with one sentence per `Sentence #` group, in file order
 * @throws {CorpusError} on any malformed input (see {@linkcode parseCorpus})
 */
export async function loadCorpus(
  path: string = DEFAULT_CORPUS_PATH,
  options: LoadCorpusOptions = {},
): Promise<Corpus> {
  return parseCorpus(await readCorpusText(path, options.encoding), path);
}

/**
 * Parses corpus text (CSV with header `Sentence #,Word,POS,Tag`) into sentences.
 *
 * Every Word is text: `None`, `NA`, `null` stay words. Rules enforced, each with
 * the 1-based line in the error: the header has exactly the four columns; every
 * row has four non-empty fields (`Sentence #` aside); `Sentence #`, where set,
 * reads `Sentence: N`; the first row starts a sentence. The row count in equals
 * the token count out.
 *
 * @param text the whole file as text
 * @param source the file name to use in error messages
 * @returns the grouped corpus
 * @throws {CorpusError} on malformed input
 */
export function parseCorpus(text: string, source: string): Corpus {
  if (text.trim() === "") throw new CorpusError(source, "the file is empty");
  const header = text.slice(0, text.search(/\r?\n|$/));
  const columns = header.split(",");
  if (
    columns.length !== CORPUS_COLUMNS.length ||
    columns.some((name, index) => name.trim() !== CORPUS_COLUMNS[index])
  ) {
    throw new CorpusError(
      source,
      `expected the header "${CORPUS_COLUMNS.join(",")}", found "${header}"`,
      1,
    );
  }
  const table = readTable(text, source);
  if (table.height === 0) throw new CorpusError(source, "the file has a header but no rows");

  const withIds = table.withRowIndex("row").withColumns(
    pl.col("Sentence #").str.extract(SENTENCE_ID, 1).cast(pl.Int32).alias("rawId"),
  );
  checkRows(withIds, text, source);

  const grouped = withIds.lazy()
    .withColumns(pl.col("rawId").forwardFill().alias("sentence"))
    .groupBy("sentence", true)
    .agg(pl.col("Word"), pl.col("POS"), pl.col("Tag"), pl.col("row").first().alias("firstRow"))
    .collectSync();

  const ids = grouped.getColumn("sentence").toArray() as number[];
  const words = grouped.getColumn("Word").toArray() as unknown as string[][];
  const pos = grouped.getColumn("POS").toArray() as unknown as string[][];
  const tags = grouped.getColumn("Tag").toArray() as unknown as string[][];
  const firstRows = grouped.getColumn("firstRow").toArray() as number[];
  const sentences: Sentence[] = ids.map((id, index) => ({
    id,
    words: words[index],
    pos: pos[index],
    tags: tags[index],
    line: firstRows[index] + 2,
  }));
  const tokens = sentences.reduce((sum, sentence) => sum + sentence.words.length, 0);
  if (tokens !== table.height) {
    throw new CorpusError(
      source,
      `grouping lost rows: ${table.height} rows in, ${tokens} tokens out ` +
        "(a sentence number appears in two separate places?)",
    );
  }
  return { source, rows: table.height, sentences };
}

/** Reads the CSV table with every column as text and no value treated as missing. */
function readTable(text: string, source: string): pl.DataFrame {
  try {
    return pl.readCSV(text, {
      hasHeader: true,
      quoteChar: '"',
      inferSchemaLength: 0,
      nullValues: [],
      truncateRaggedLines: false,
    });
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    const bad = findMalformedLine(text);
    if (bad) throw new CorpusError(source, bad.problem, bad.line);
    throw new CorpusError(source, `cannot parse CSV: ${message}`);
  }
}

/** Checks the parsed rows: non-empty fields and well-formed sentence numbers. */
function checkRows(table: pl.DataFrame, text: string, source: string): void {
  const missing = table.filter(
    pl.col("Word").isNull().or(pl.col("POS").isNull()).or(pl.col("Tag").isNull()),
  );
  if (missing.height > 0) {
    const line = (missing.getColumn("row").get(0) as number) + 2;
    const rawLine = text.split(/\r?\n/, line)[line - 1] ?? "";
    const { fields } = countFields(rawLine);
    const problem = fields === 4
      ? "empty Word, POS or Tag field"
      : `expected 4 fields (Sentence #, Word, POS, Tag), found ${fields}`;
    throw new CorpusError(source, `${problem}: ${rawLine}`, line);
  }
  const badIds = table.filter(pl.col("Sentence #").isNotNull().and(pl.col("rawId").isNull()));
  if (badIds.height > 0) {
    const row = badIds.getColumn("row").get(0) as number;
    const value = badIds.getColumn("Sentence #").get(0);
    throw new CorpusError(
      source,
      `sentence id must read "Sentence: N" with a number N, found "${value}"`,
      row + 2,
    );
  }
  if (table.getColumn("Sentence #").get(0) === null) {
    throw new CorpusError(source, "the first row does not start a sentence (no Sentence #)", 2);
  }
}

/**
 * Finds the first line whose field count is not four (a CSV-aware scan, used
 * only to explain a parse failure).
 */
function findMalformedLine(text: string): { line: number; problem: string } | undefined {
  const lines = text.split(/\r?\n/);
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    if (line === "" && index === lines.length - 1) break;
    const { fields, closed } = countFields(line);
    if (!closed) return { line: index + 1, problem: `unterminated quoted field: ${line}` };
    if (fields !== 4) {
      return { line: index + 1, problem: `expected 4 fields, found ${fields}: ${line}` };
    }
  }
  return undefined;
}

/** Counts the comma-separated fields of one CSV line, honouring double quotes. */
function countFields(line: string): { fields: number; closed: boolean } {
  let fields = 1;
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (char === "," && !quoted) fields++;
  }
  return { fields, closed: !quoted };
}
