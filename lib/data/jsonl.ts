/**
 * JSONL with character spans (what Doccano, Label Studio, Prodigy and spaCy export): one record
 * per line, `{"text": "…", "spans": [{"start": 0, "end": 5, "label": "PER"}]}`. `entities`
 * may stand for `spans`, and so may Doccano's `label`; a span may be an object or a
 * `[start, end, label]` array. The text is tokenized with the project's tokenizer (the one
 * prediction uses), unless the record gives its `tokens` (`[{"start", "end"}]`, as Prodigy
 * does), and each span becomes `B-label I-label…` on the tokens it covers.
 *
 * Offsets are UTF-16 code units (JavaScript string indices, as `deno task predict` writes
 * them) unless `offsets: "codepoints"` (Python's string indices; the two differ only around
 * characters outside the Basic Multilingual Plane, such as emoji). A span that does not start
 * and end on token boundaries, or that overlaps another, is an error naming the line, or with
 * `skipMisaligned` is left out and counted.
 *
 * @module
 */
import { tokenize } from "./tokenize.ts";
import { CorpusError } from "./_corpus_error.ts";
import type { TextLine } from "./_lines.ts";
import type { RawSentence } from "./conll.ts";

/** Units of character offsets: UTF-16 code units (JavaScript's) or code points (Python's). */
export type OffsetUnit = "utf16" | "codepoints";

/** The values of {@linkcode OffsetUnit}. */
export const OFFSET_UNITS: readonly OffsetUnit[] = ["utf16", "codepoints"];

/** Options for {@linkcode parseJsonlLines}. */
export interface JsonlOptions {
  /** Leave out (and count) a span off token boundaries or overlapping another; default false. */
  skipMisaligned?: boolean;
  /** The unit of `start`/`end`; default `"utf16"`. */
  offsets?: OffsetUnit;
  /** Called for each span left out with `skipMisaligned`: its line and why. */
  onSkip?: (line: number, why: string) => void;
}

/** A span as read: UTF-16 offsets into the record's text. */
interface Span {
  start: number;
  end: number;
  label: string;
}

/** A short, quoted piece of text for messages. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Maps code point offsets of a text to UTF-16 offsets (index: code point offset). */
function codePointToUtf16(text: string): number[] {
  const offsets: number[] = [];
  let unit = 0;
  for (const char of text) {
    offsets.push(unit);
    unit += char.length;
  }
  offsets.push(unit);
  return offsets;
}

/** Reads one span of a record (an object or a `[start, end, label]` array). */
function readSpan(value: unknown, index: number, field: string, fail: (why: string) => never) {
  const [start, end, label] = Array.isArray(value)
    ? value
    : typeof value === "object" && value !== null
    ? [
      (value as Record<string, unknown>).start,
      (value as Record<string, unknown>).end,
      (value as Record<string, unknown>).label,
    ]
    : [];
  const where = `${field}[${index}]`;
  if (!Number.isInteger(start) || !Number.isInteger(end)) {
    fail(`${where} needs integer "start" and "end", got ${JSON.stringify(value)}`);
  }
  if (typeof label !== "string" || !/^\S+$/.test(label)) {
    fail(`${where} needs a "label" without spaces, got ${JSON.stringify(label ?? null)}`);
  }
  return { start: start as number, end: end as number, label: label as string };
}

/** The record's spans in UTF-16 offsets, checked to lie within the text. */
function recordSpans(
  record: Record<string, unknown>,
  text: string,
  offsets: OffsetUnit,
  fail: (why: string) => never,
): Span[] {
  const fields = ["spans", "entities", "label"].filter((name) => record[name] !== undefined);
  if (fields.length > 1) {
    fail(
      `the record has both ${fields.map((name) => `"${name}"`).join(" and ")}: give its spans ` +
        "in one of them (the others would be dropped)",
    );
  }
  const field = fields[0];
  if (field === undefined) return [];
  const list = record[field];
  if (!Array.isArray(list)) fail(`"${field}" must be a list of spans`);
  const toUtf16 = offsets === "codepoints" ? codePointToUtf16(text) : null;
  const length = toUtf16 ? toUtf16.length - 1 : text.length;
  return (list as unknown[]).map((value, index) => {
    const span = readSpan(value, index, field, fail);
    if (span.start < 0 || span.end > length || span.start >= span.end) {
      fail(
        `${field}[${index}] [${span.start}, ${span.end}) is not a non-empty range within the ` +
          `text's ${length} ${offsets === "codepoints" ? "code points" : "UTF-16 code units"}`,
      );
    }
    return toUtf16 ? { ...span, start: toUtf16[span.start], end: toUtf16[span.end] } : span;
  });
}

/** The record's tokens: its own `tokens` when given, else the project's tokenizer's. */
function recordTokens(
  record: Record<string, unknown>,
  text: string,
  fail: (why: string) => never,
): { start: number; end: number }[] {
  if (record.tokens === undefined) return tokenize(text);
  if (!Array.isArray(record.tokens)) fail(`"tokens" must be a list of {"start", "end"}`);
  let previousEnd = 0;
  return (record.tokens as unknown[]).map((token, index) => {
    const { start, end } = (token ?? {}) as Record<string, unknown>;
    if (
      !Number.isInteger(start) || !Number.isInteger(end) || (start as number) < previousEnd ||
      (end as number) <= (start as number) || (end as number) > text.length
    ) {
      fail(
        `tokens[${index}] must be {"start", "end"}: a non-empty range after the previous ` +
          `token, within the text, got ${JSON.stringify(token)}`,
      );
    }
    previousEnd = end as number;
    return { start: start as number, end: end as number };
  });
}

/**
 * Turns the records of a JSONL file into sentences (one record, one sentence), streaming.
 *
 * @param lines the file's lines, numbered (blank lines are skipped)
 * @param source the file, for error messages
 * @param options misaligned spans and offset units
 * @returns the sentences, tags in IOB2
 * @throws {CorpusError} naming the line: not JSON, not an object, no `"text"` string, a text
 *   without tokens, a malformed span, or (without `skipMisaligned`) a span off token boundaries
 *   or overlapping another
 */
export async function* parseJsonlLines(
  lines: AsyncIterable<TextLine> | Iterable<TextLine>,
  source: string,
  options: JsonlOptions = {},
): AsyncGenerator<RawSentence> {
  for await (const { text: lineText, line } of lines) {
    if (lineText.trim() === "") continue;
    const fail = (why: string): never => {
      throw new CorpusError(source, why, line);
    };
    let record: unknown;
    try {
      record = JSON.parse(lineText);
    } catch (error) {
      fail(`not JSON (${(error as Error).message}); a JSONL file holds one JSON object per line`);
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      return fail('not a JSON object: each line is {"text": …, "spans": […]}');
    }
    const fields = record as Record<string, unknown>;
    if (typeof fields.text !== "string") fail('no "text" string');
    const text = fields.text as string;
    const tokens = recordTokens(fields, text, fail);
    if (tokens.length === 0) fail(`the text has no tokens: ${quoted(text)}`);
    const spans = recordSpans(fields, text, options.offsets ?? "utf16", fail);
    const tags = tagsOfSpans(spans, tokens, text, (why) => {
      if (!options.skipMisaligned) fail(`${why} (leave such spans out with --skip-misaligned)`);
      options.onSkip?.(line, why);
    });
    yield {
      words: tokens.map((token) => text.slice(token.start, token.end)),
      pos: tokens.map(() => "_"),
      tags,
      lines: tokens.map(() => line),
    };
  }
}

/** IOB2 tags of the tokens from the spans; `misaligned` is told of each span left out. */
function tagsOfSpans(
  spans: Span[],
  tokens: { start: number; end: number }[],
  text: string,
  misaligned: (why: string) => void,
): string[] {
  const tags = tokens.map(() => "O");
  const startToken = new Map(tokens.map((token, index) => [token.start, index]));
  const endToken = new Map(tokens.map((token, index) => [token.end, index]));
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  let previous: Span | null = null;
  for (const span of sorted) {
    const covered = quoted(text.slice(span.start, span.end));
    if (previous && span.start < previous.end) {
      misaligned(
        `the span ${covered} [${span.start}, ${span.end}) ${span.label} overlaps ` +
          `${quoted(text.slice(previous.start, previous.end))} [${previous.start}, ` +
          `${previous.end}) ${previous.label}`,
      );
      continue;
    }
    const first = startToken.get(span.start);
    const last = endToken.get(span.end);
    if (first === undefined || last === undefined) {
      misaligned(
        `the span ${covered} [${span.start}, ${span.end}) ${span.label} does not ` +
          `${first === undefined ? "start" : "end"} on a token boundary (tokens: ` +
          `${
            tokens.filter((token) => token.end > span.start && token.start < span.end)
              .map((token) => quoted(text.slice(token.start, token.end))).join(" ")
          })`,
      );
      continue;
    }
    for (let index = first; index <= last; index++) {
      tags[index] = `${index === first ? "B" : "I"}-${span.label}`;
    }
    previous = span;
  }
  return tags;
}
