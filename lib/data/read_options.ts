/**
 * How to read a data file of your own (`formats.ts` reads it): the options, their values and
 * their check. Kept apart from the readers so that settings can be checked without loading them.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { CORPUS_ENCODING_OPTIONS, type CorpusEncodingOption } from "./_corpus_read.ts";
import { OFFSET_UNITS, type OffsetUnit } from "./jsonl.ts";
import { TAG_SCHEME_OPTIONS, type TagSchemeOption } from "./tag_schemes.ts";

/** A file format the readers know. */
export type CorpusFormat = "conll" | "gmb" | "jsonl";
/** A format to read a file as: one of {@linkcode CorpusFormat}, or `"auto"`. */
export type CorpusFormatOption = CorpusFormat | "auto";
/** The values of {@linkcode CorpusFormatOption}, `"auto"` first. */
export const CORPUS_FORMAT_OPTIONS: readonly CorpusFormatOption[] = [
  "auto",
  "conll",
  "gmb",
  "jsonl",
];

/** How to read a file: every field optional, `"auto"` where it can be detected. */
export interface ReadOptions {
  /** The file's format; default `"auto"`. */
  format?: CorpusFormatOption;
  /** The tag scheme of a CoNLL or GMB file; default `"auto"`. JSONL spans have none. */
  tagScheme?: TagSchemeOption;
  /** CoNLL: the 1-based column of the tag; default the last. */
  tagColumn?: number;
  /** The text encoding; default `"auto"` (UTF-8 when valid, else Windows-1252). */
  encoding?: CorpusEncodingOption;
  /** The size cap in bytes (after unpacking gzip); default 128 MiB. */
  maxBytes?: number;
  /** Refuse a continuation tag that begins an entity (`I-` after `O`) instead of repairing it. */
  strict?: boolean;
  /** JSONL: leave out (and count) spans off token boundaries or overlapping; default false. */
  skipMisaligned?: boolean;
  /** JSONL: the unit of span offsets; default `"utf16"`. */
  offsets?: OffsetUnit;
}

/** Checks read options, naming the field. */
export function checkReadOptions(options: ReadOptions): void {
  const choose = (field: string, value: unknown, choices: readonly unknown[]) => {
    if (value !== undefined && !choices.includes(value)) {
      throw new ConfigError(field, `must be ${choices.join(", ")}`, value);
    }
  };
  choose("format", options.format, CORPUS_FORMAT_OPTIONS);
  choose("tagScheme", options.tagScheme, TAG_SCHEME_OPTIONS);
  choose("encoding", options.encoding, CORPUS_ENCODING_OPTIONS);
  choose("offsets", options.offsets, OFFSET_UNITS);
  const { tagColumn, maxBytes } = options;
  if (tagColumn !== undefined && !(Number.isInteger(tagColumn) && tagColumn >= 2)) {
    throw new ConfigError(
      "tagColumn",
      "must be an integer >= 2 (column 1 is the token)",
      tagColumn,
    );
  }
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 1)) {
    throw new ConfigError("maxBytes", "must be a positive integer", maxBytes);
  }
}
