/**
 * The flags that say how to read a data file of your own, shared by `train`, `evaluate` and
 * `stats`: `--format`, `--tag-scheme`, `--tag-column`, `--encoding`, `--strict`,
 * `--skip-misaligned`, `--offsets`. Each is checked for its type here and for its range by
 * `checkReadOptions` (lib/data/formats.ts), whose error names the field; the table below maps
 * fields back to flags.
 *
 * @module
 */
import type { CorpusEncodingOption } from "../data/corpus.ts";
import {
  CORPUS_FORMAT_OPTIONS,
  type CorpusFormatOption,
  type ReadOptions,
} from "../data/formats.ts";
import { OFFSET_UNITS, type OffsetUnit } from "../data/jsonl.ts";
import { TAG_SCHEME_OPTIONS, type TagSchemeOption } from "../data/tag_schemes.ts";
import { CORPUS_ENCODING_OPTIONS } from "../data/corpus.ts";
import { type FlagsByField, parseChoice, parseInteger, parseOptional } from "./_args.ts";

/** The flags (for a command's flag table). */
export const DATA_READ_FLAGS = {
  format: {
    type: "string",
    value: "F",
    help: "format of the data files: conll, gmb (CSV), jsonl (spans); default:\n" +
      "detected from the content and the extension",
  },
  "tag-scheme": {
    type: "string",
    value: "S",
    help: "tag scheme of CoNLL/GMB files: iob1, iob2, bioes, bilou; default detected",
  },
  "tag-column": {
    type: "string",
    value: "N",
    help: "CoNLL: the 1-based column of the tag (default the last)",
  },
  encoding: {
    type: "string",
    value: "E",
    help: "auto (default: UTF-8 if valid, else Windows-1252), utf-8 or windows-1252",
  },
  strict: {
    type: "boolean",
    default: false,
    help: "refuse I- after O (default: read it as B- and count it)",
  },
  "skip-misaligned": {
    type: "boolean",
    default: false,
    help: "JSONL: leave out spans off token boundaries or overlapping (default: error)",
  },
  offsets: {
    type: "string",
    value: "U",
    help: "JSONL span offsets: utf16 (default, JavaScript's) or codepoints (Python's)",
  },
} as const;

/** The data flags' values as `parseFlags` gives them. */
export interface DataFlagValues {
  format?: string;
  "tag-scheme"?: string;
  "tag-column"?: string;
  encoding?: string;
  strict?: boolean;
  "skip-misaligned"?: boolean;
  offsets?: string;
}

/** Read option field → flag (prefix the fields as the config does, e.g. `data.`). */
export function dataFlagsByField(prefix = ""): FlagsByField {
  return {
    [`${prefix}format`]: "--format",
    [`${prefix}tagScheme`]: "--tag-scheme",
    [`${prefix}tagColumn`]: "--tag-column",
    [`${prefix}encoding`]: "--encoding",
    [`${prefix}strict`]: "--strict",
    [`${prefix}skipMisaligned`]: "--skip-misaligned",
    [`${prefix}offsets`]: "--offsets",
  };
}

/** Whether any data flag was given (a switch given counts). */
export function anyDataFlag(values: DataFlagValues): string | undefined {
  const given = Object.entries(values).find(([name, value]) =>
    name in DATA_READ_FLAGS && value !== undefined && value !== false
  );
  return given ? `--${given[0]}` : undefined;
}

/**
 * The read options the flags give; a flag not given is left out.
 *
 * @throws {UsageError} naming the flag on a value of the wrong kind or not among the choices
 */
export function readOptionsFromFlags(values: DataFlagValues): ReadOptions {
  const choice = <T extends string>(
    flag: string,
    value: string | undefined,
    choices: readonly T[],
  ) => value === undefined ? undefined : parseChoice(flag, value, choices);
  const options: ReadOptions = {
    format: choice<CorpusFormatOption>("--format", values.format, CORPUS_FORMAT_OPTIONS),
    tagScheme: choice<TagSchemeOption>("--tag-scheme", values["tag-scheme"], TAG_SCHEME_OPTIONS),
    tagColumn: parseOptional(
      "--tag-column",
      values["tag-column"],
      (flag, value) => parseInteger(flag, value, 2),
    ),
    encoding: choice<CorpusEncodingOption>("--encoding", values.encoding, CORPUS_ENCODING_OPTIONS),
    strict: values.strict || undefined,
    skipMisaligned: values["skip-misaligned"] || undefined,
    offsets: choice<OffsetUnit>("--offsets", values.offsets, OFFSET_UNITS),
  };
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as ReadOptions;
}
