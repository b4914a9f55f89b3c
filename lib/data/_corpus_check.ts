/**
 * The rules a corpus file must follow, for the corpus reader (`corpus.ts` is the public
 * surface). Each check throws a {@linkcode CorpusError} naming the file and the 1-based line.
 * A row's line is its index + 2 (the header is line 1): exact because a field that spans lines
 * is refused first.
 *
 * @module
 */
import { createRequire } from "node:module";
import type Polars from "nodejs-polars";
import { CorpusError } from "./_corpus_error.ts";
import { lineOfIndex } from "./_corpus_read.ts";
import { PAD_TAG } from "./vocab.ts";

/** The nodejs-polars module, once loaded. */
let polarsModule: typeof Polars | undefined;

/**
 * Loads nodejs-polars, once. It is loaded on first use rather than imported at the top, so a
 * program that imports the library without reading a GMB CSV needs no permission polars asks for
 * when it loads (`sys` access to the CPUs, `ffi` for its native binding).
 *
 * @returns the polars module
 * @throws {Error} saying which permissions to grant when polars cannot load for want of them
 */
export async function loadPolars(): Promise<typeof Polars> {
  try {
    polarsModule ??= (await import("nodejs-polars")).default;
  } catch (error) {
    throw polarsLoadError(error, "");
  }
  return polarsModule;
}

/**
 * The polars module for the synchronous parser: the one {@linkcode loadPolars} loaded, else
 * loaded now (synchronously, from the project's `node_modules`).
 *
 * @throws {Error} saying what to do when it cannot be loaded
 */
export function polars(): typeof Polars {
  if (polarsModule) return polarsModule;
  try {
    polarsModule = createRequire(import.meta.url)("nodejs-polars") as typeof Polars;
  } catch (error) {
    throw polarsLoadError(
      error,
      "; call loadCorpus (which loads it from the import map) before parseCorpus",
    );
  }
  return polarsModule;
}

/** The error for nodejs-polars failing to load: the permissions it needs, or what to do. */
function polarsLoadError(error: unknown, advice: string): Error {
  const cause = (error as Error).message?.split("\n")[0] ?? String(error);
  const permission = error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
  return new Error(
    permission
      ? "reading a GMB CSV loads nodejs-polars, which needs --allow-ffi and " +
        `--allow-sys=cpus,networkInterfaces,hostname (${cause})`
      : `reading a GMB CSV needs nodejs-polars, which could not be loaded (${cause})${advice}`,
    { cause: error },
  );
}

/** The columns the file must have, in this order. */
export const CORPUS_COLUMNS = ["Sentence #", "Word", "POS", "Tag"] as const;

/** A `Sentence #` value: `Sentence: N`. */
export const SENTENCE_ID = /^Sentence: (\d+)$/;

/** An IOB tag: `O`, `B-TYPE` or `I-TYPE`. */
const IOB_TAG = /^(O|[BI]-\S+)$/;

/** The number of line feeds in a text. */
function countLineBreaks(text: string): number {
  let count = 0;
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) count++;
  return count;
}

/** A line as shown in a message: at most 100 characters. */
function shown(line: string): string {
  return line.length > 100 ? `${line.slice(0, 100)}…` : line;
}

/** The 1-based line of a data row (0-based row index; the header is line 1). */
function lineOfRow(row: number): number {
  return row + 2;
}

/**
 * Checks the text before it is parsed: not empty, no NUL byte, the header
 * `Sentence #,Word,POS,Tag` on line 1.
 */
export function checkText(text: string, source: string): void {
  if (text.trim() === "") throw new CorpusError(source, "the file is empty");
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    throw new CorpusError(source, "a NUL byte: this is not a text file", lineOfIndex(text, nul));
  }
  const header = text.slice(0, text.search(/\r?\n|$/));
  const columns = header.split(",");
  if (
    columns.length !== CORPUS_COLUMNS.length ||
    columns.some((name, index) => name.trim() !== CORPUS_COLUMNS[index])
  ) {
    throw new CorpusError(
      source,
      `expected the header "${CORPUS_COLUMNS.join(",")}", found "${shown(header)}"`,
      1,
    );
  }
}

/** Reads the CSV table with every column as text and no value treated as missing. */
export function readTable(text: string, source: string): Polars.DataFrame {
  const pl = polars();
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

/** The first row (index and values) of a filtered table. */
function firstRow(table: Polars.DataFrame): Record<string, unknown> {
  return table.head(1).toRecords()[0];
}

/**
 * Checks the parsed rows (with columns `row`, the 0-based index, and `rawId`, the N of
 * `Sentence: N` or null): no field spans lines, no Word, POS or Tag is empty, `Sentence #`
 * where set reads `Sentence: N`, the first row starts a sentence.
 */
export function checkRows(table: Polars.DataFrame, text: string, source: string): void {
  const pl = polars();
  // Each row on a line of its own: as many lines as rows and the header (a blank line is a row
  // too, of missing fields). Counting line breaks is cheaper than searching every field.
  const lines = countLineBreaks(text) + (text.endsWith("\n") ? 0 : 1);
  if (lines !== table.height + 1) {
    const spansLines = (column: string) => pl.col(column).str.contains("\n", true);
    const multiline = table.filter(
      spansLines("Word").or(spansLines("POS")).or(spansLines("Tag")).or(spansLines("Sentence #")),
    );
    if (multiline.height > 0) {
      throw new CorpusError(
        source,
        "a quoted field spans lines: a token, POS tag or tag cannot contain a line break",
        lineOfRow(firstRow(multiline).row as number),
      );
    }
  }
  const missingFields = pl.col("Word").isNull().or(pl.col("POS").isNull())
    .or(pl.col("Tag").isNull());
  const malformedIds = pl.col("Sentence #").isNotNull().and(pl.col("rawId").isNull());
  // One pass for the common case, a file without these problems; the filters below find
  // the first offending row only when there is one.
  const found = table.lazy().select(
    missingFields.any().alias("missing"),
    malformedIds.any().alias("badId"),
  ).collectSync().toRecords()[0];
  if (found.missing) {
    const line = lineOfRow(firstRow(table.filter(missingFields)).row as number);
    const rawLine = text.split(/\r?\n/, line)[line - 1] ?? "";
    const { fields } = countFields(rawLine);
    const problem = fields === 4
      ? "empty Word, POS or Tag field"
      : `expected 4 fields (Sentence #, Word, POS, Tag), found ${fields}`;
    throw new CorpusError(source, `${problem}: ${shown(rawLine)}`, line);
  }
  if (found.badId) {
    const { row, "Sentence #": value } = firstRow(table.filter(malformedIds));
    throw new CorpusError(
      source,
      `sentence id must read "Sentence: N" with a number N, found "${shown(String(value))}"`,
      lineOfRow(row as number),
    );
  }
  if (table.getColumn("Sentence #").get(0) === null) {
    throw new CorpusError(source, "the first row does not start a sentence (no Sentence #)", 2);
  }
}

/**
 * Checks every tag: `O`, `B-TYPE` or `I-TYPE`, and never the padding label `<pad>`.
 */
export function checkTags(table: Polars.DataFrame, source: string): void {
  const pl = polars();
  const tags = table.getColumn("Tag").unique().toArray() as string[];
  const bad = tags.filter((tag) => !IOB_TAG.test(tag));
  if (bad.length === 0) return;
  const { row, Tag: tag } = firstRow(table.filter(pl.col("Tag").isIn(bad)));
  const problem = tag === PAD_TAG
    ? `the tag "${PAD_TAG}" is reserved for padding; no token may carry it`
    : `the tag "${tag}" is not IOB: a tag is O, B-TYPE or I-TYPE`;
  throw new CorpusError(source, problem, lineOfRow(row as number));
}

/** Where the sentences start: parallel arrays, in file order. */
export interface SentenceStarts {
  /** The 0-based index of each sentence's first row. */
  rows: number[];
  /** Each sentence's id, the N of `Sentence: N`. */
  ids: number[];
}

/**
 * Finds where the sentences start, and checks that each sentence id starts one sentence only:
 * a row whose `Sentence: N` differs from the sentence before starts a sentence, and N must not
 * have started one earlier (the rows of a sentence are contiguous). A row that repeats the id
 * of the sentence it is in (a file with the id on every row) continues that sentence. Run
 * after {@linkcode checkRows} (the first row starts a sentence).
 *
 * @returns the sentence starts; sentence k is rows `rows[k]` up to `rows[k + 1]`
 */
export function checkSentenceStarts(table: Polars.DataFrame, source: string): SentenceStarts {
  const pl = polars();
  const starts = table.lazy()
    .select(
      pl.col("row"),
      pl.col("rawId"),
      pl.col("Sentence #"),
      pl.col("rawId").forwardFill().shift(1).alias("previous"),
    )
    .filter(
      pl.col("rawId").isNotNull()
        .and(pl.col("previous").isNull().or(pl.col("rawId").neq(pl.col("previous")))),
    )
    .collectSync();
  const ids = starts.getColumn("rawId").toArray() as number[];
  const rows = starts.getColumn("row").toArray() as number[];
  if (new Set(ids).size === ids.length) return { rows, ids };
  const labels = starts.getColumn("Sentence #").toArray() as string[];
  const firstStart = new Map<number, number>();
  ids.forEach((id, index) => {
    const earlier = firstStart.get(id);
    if (earlier === undefined) {
      firstStart.set(id, index);
      return;
    }
    const again = labels[index] === labels[earlier]
      ? `"${labels[index]}" starts a second sentence: it already started one`
      : `"${labels[index]}" starts a second sentence ${id}: "${labels[earlier]}" started one`;
    throw new CorpusError(
      source,
      `${again} at line ${lineOfRow(rows[earlier])}, and other sentences came between ` +
        "(a sentence's rows must be contiguous, its id used once)",
      lineOfRow(rows[index]),
    );
  });
  throw new Error("unreachable: a repeated id was not found");
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
    if (!closed) return { line: index + 1, problem: `unterminated quoted field: ${shown(line)}` };
    if (fields !== 4) {
      return { line: index + 1, problem: `expected 4 fields, found ${fields}: ${shown(line)}` };
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
