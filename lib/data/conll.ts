/**
 * CoNLL column files (CoNLL-2003 and most shared tasks): one token per line, its columns split
 * by tabs (when the line has a tab) or else by runs of spaces, the token in the first column and
 * the tag in the last (or the one given); a blank line between sentences; `-DOCSTART-` lines
 * skipped. The second column, when there are three or more, is kept as the POS tag (`_`
 * otherwise). Every token line of a file has the same number of columns.
 *
 * @example
 * ```ts
 * import { parseConllLines } from "./conll.ts";
 * const lines = ["EU B-ORG", "rejects O", "", "Peter B-PER"].map((text, i) => ({ text, line: i + 1 }));
 * for await (const raw of parseConllLines(lines, "x.conll")) console.log(raw.words, raw.tags);
 * ```
 *
 * @module
 */
import { CorpusError } from "./_corpus_error.ts";
import type { TextLine } from "./_lines.ts";

/** A sentence as read, before its tags are converted to IOB2. */
export interface RawSentence {
  /** The tokens. */
  words: string[];
  /** POS tags (`_` where the file has none). */
  pos: string[];
  /** Tags as in the file. */
  tags: string[];
  /** The 1-based line of each token (its tag's line, for error messages). */
  lines: number[];
}

/** Options for {@linkcode parseConllLines}. */
export interface ConllOptions {
  /** The 1-based column holding the tag; default the last. */
  tagColumn?: number;
}

/** The columns of a token line. */
function columnsOf(text: string): string[] {
  return text.includes("\t")
    ? text.split("\t").map((field) => field.trim())
    : text.trim().split(/\s+/);
}

/** A line as shown in a message: at most 80 characters. */
function shown(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * Groups the lines of a CoNLL column file into sentences, streaming.
 *
 * @param lines the file's lines, numbered
 * @param source the file, for error messages
 * @param options the tag column
 * @returns the sentences, tags as in the file
 * @throws {CorpusError} naming the line: a column count that differs from the file's first
 *   token line, an empty column, a line with one column, a tag column beyond the columns
 */
export async function* parseConllLines(
  lines: AsyncIterable<TextLine> | Iterable<TextLine>,
  source: string,
  options: ConllOptions = {},
): AsyncGenerator<RawSentence> {
  let columns = 0;
  let firstTokenLine = 0;
  let sentence: RawSentence = { words: [], pos: [], tags: [], lines: [] };
  for await (const { text, line } of lines) {
    if (text.trim() === "") {
      if (sentence.words.length > 0) yield sentence;
      sentence = { words: [], pos: [], tags: [], lines: [] };
      continue;
    }
    const fields = columnsOf(text);
    if (fields[0] === "-DOCSTART-") continue;
    if (columns === 0) {
      columns = fields.length;
      firstTokenLine = line;
      checkColumns(fields, text, line, source, options.tagColumn);
    } else if (fields.length !== columns) {
      throw new CorpusError(
        source,
        `${fields.length} column${fields.length === 1 ? "" : "s"}, but the file's first token ` +
          `line (${firstTokenLine}) has ${columns}: ${shown(text)} (every token line has the ` +
          "same columns; is a token or tag missing, or does a token contain a space?)",
        line,
      );
    }
    const empty = fields.findIndex((field) => field === "");
    if (empty !== -1) {
      throw new CorpusError(source, `column ${empty + 1} is empty: ${shown(text)}`, line);
    }
    sentence.words.push(fields[0]);
    sentence.pos.push(columns >= 3 ? fields[1] : "_");
    sentence.tags.push(fields[(options.tagColumn ?? columns) - 1]);
    sentence.lines.push(line);
  }
  if (sentence.words.length > 0) yield sentence;
}

/** Checks the first token line: two columns or more, and the tag column among them. */
function checkColumns(
  fields: string[],
  text: string,
  line: number,
  source: string,
  tagColumn: number | undefined,
): void {
  if (fields.length < 2) {
    throw new CorpusError(
      source,
      `one column: ${shown(text)}; a CoNLL token line holds the token and its tag (at least ` +
        "two columns, split by tabs or spaces)",
      line,
    );
  }
  if (tagColumn !== undefined && (tagColumn < 2 || tagColumn > fields.length)) {
    throw new CorpusError(
      source,
      `the tag column is ${tagColumn} (--tag-column), but token lines have ${fields.length} ` +
        `columns (the token is column 1): ${shown(text)}`,
      line,
    );
  }
}
