/**
 * Reading labelled sentences from any of the formats annotation tools and shared tasks use:
 * CoNLL column files (`conll.ts`), the GMB/Kaggle CSV (`corpus.ts`) and JSONL with character
 * spans (`jsonl.ts`), plain or gzip. The format is detected from the content (a JSON object
 * per line is JSONL, the header `Sentence #,Word,POS,Tag` is GMB) and then the extension
 * (`.csv` GMB, `.jsonl`/`.ndjson`/`.json` JSONL, anything else CoNLL), unless given. Tags are
 * converted from the file's scheme (`tag_schemes.ts`, detected or given) to IOB2, which the
 * rest of the project uses. Every error names the file and the 1-based line.
 *
 * @example
 * ```ts
 * import { loadSentences } from "./formats.ts";
 * const { sentences, summary } = await loadSentences("tests/fixtures/own_data/train.conll");
 * console.log(summary.format, summary.tagScheme, summary.types); // conll iob1 [ "LOC", … ]
 * ```
 *
 * @module
 */
import { CorpusError } from "./_corpus_error.ts";
import { type CorpusEncoding, DEFAULT_MAX_CORPUS_BYTES } from "./_corpus_read.ts";
import {
  checkReadOptions,
  type CorpusFormat,
  type CorpusFormatOption,
  type ReadOptions,
} from "./read_options.ts";
import { InvalidUtf8Error, readLines, type TextLine } from "./_lines.ts";
import { parseConllLines, type RawSentence } from "./conll.ts";
import { CORPUS_COLUMNS, loadCorpus, type Sentence } from "./corpus.ts";
import { parseJsonlLines } from "./jsonl.ts";
import {
  detectTagScheme,
  emptyEvidence,
  gatherEvidence,
  TagError,
  type TagScheme,
  toIob2,
} from "./tag_schemes.ts";

export {
  checkReadOptions,
  CORPUS_FORMAT_OPTIONS,
  type CorpusFormat,
  type CorpusFormatOption,
  type ReadOptions,
} from "./read_options.ts";

/** What reading a file found: its format, scheme and counts. */
export interface ReadSummary {
  /** The file. */
  source: string;
  /** Its format, given or detected. */
  format: CorpusFormat;
  /** Its tag scheme, given or detected (`"iob2"` for JSONL). */
  tagScheme: TagScheme;
  /** Whether the scheme was detected. */
  schemeDetected: boolean;
  /** When the tags fit no scheme cleanly: what was decided. */
  schemeNote: string | null;
  /** The encoding it was read with. */
  encoding: CorpusEncoding;
  /** Sentences read. */
  sentences: number;
  /** Tokens read. */
  tokens: number;
  /** Continuation tags that began an entity and were repaired to `B-`. */
  repairs: number;
  /** JSONL spans left out with `skipMisaligned`. */
  skippedSpans: number;
  /** The entity types, sorted. */
  types: string[];
}

/** The sentences of a file and what reading it found. */
export interface LoadedSentences {
  /** The sentences, tags in IOB2, ids numbered from 1 in file order. */
  sentences: Sentence[];
  /** What reading found. */
  summary: ReadSummary;
}

/** The format a file's extension suggests (`.gz` looked through). */
function formatOfExtension(path: string): CorpusFormat {
  const name = path.toLowerCase().replace(/\.gz$/, "");
  if (name.endsWith(".csv")) return "gmb";
  if (/\.(jsonl|ndjson|json)$/.test(name)) return "jsonl";
  return "conll";
}

/** The format a file's first non-blank line shows, if it shows one. */
function formatOfContent(firstLine: string): CorpusFormat | undefined {
  if (firstLine.trimStart().startsWith("{")) return "jsonl";
  const header = firstLine.replace(/^\uFEFF/, "").split(",").map((name) => name.trim());
  if (header.join(",") === CORPUS_COLUMNS.join(",")) return "gmb";
  return undefined;
}

const FORMAT_NAMES: Readonly<Record<CorpusFormat, string>> = {
  conll: "a CoNLL column file",
  gmb: "a GMB CSV (header Sentence #,Word,POS,Tag)",
  jsonl: "JSONL (a JSON object per line)",
};

/** Decides the format: the one given (checked against the content) or detected. */
function decideFormat(path: string, given: CorpusFormatOption, first: TextLine): CorpusFormat {
  const shown = formatOfContent(first.text);
  if (given === "auto") return shown ?? formatOfExtension(path);
  const wrong = (looks: string) =>
    new CorpusError(
      path,
      `--format ${given} (${FORMAT_NAMES[given]}), but the file looks like ${looks}; ` +
        "give the right --format, or leave it out to detect it",
      first.line,
    );
  if (shown !== undefined && shown !== given) throw wrong(FORMAT_NAMES[shown]);
  if (given === "jsonl" && shown !== "jsonl") throw wrong("no JSON: the line is not an object");
  return given;
}

/** The raw sentences of a GMB CSV (the whole-file reader), with each token's line. */
async function* gmbSentences(
  path: string,
  options: ReadOptions,
  onEncoding: (encoding: CorpusEncoding) => void,
): AsyncGenerator<RawSentence> {
  const corpus = await loadCorpus(path, { encoding: options.encoding, maxBytes: options.maxBytes });
  onEncoding(corpus.encoding ?? "utf-8");
  for (const sentence of corpus.sentences) {
    yield { ...sentence, lines: sentence.words.map((_, index) => sentence.line + index) };
  }
}

/** The first line of a file that holds anything (a lenient first look, for the format). */
async function firstLine(path: string, options: ReadOptions): Promise<TextLine> {
  const lines = readLines(path, {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_CORPUS_BYTES,
    lenient: true,
  });
  for await (const line of lines) {
    if (line.text.trim() !== "") {
      await lines.return(undefined);
      return line;
    }
  }
  throw new CorpusError(path, "the file is empty (no line holds anything)");
}

/** The raw sentences of a file in its format, the summary's format and encoding filled in. */
async function* rawSentences(
  path: string,
  options: ReadOptions,
  summary: ReadSummary,
): AsyncGenerator<RawSentence> {
  const onEncoding = (encoding: CorpusEncoding) => summary.encoding = encoding;
  summary.format = decideFormat(path, options.format ?? "auto", await firstLine(path, options));
  if (summary.format === "gmb") {
    yield* gmbSentences(path, options, onEncoding);
    return;
  }
  const rest = readLines(path, {
    encoding: options.encoding,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_CORPUS_BYTES,
    onEncoding,
  });
  if (summary.format === "jsonl") {
    if (
      options.tagScheme !== undefined && options.tagScheme !== "auto" &&
      options.tagScheme !== "iob2"
    ) {
      throw new CorpusError(
        path,
        `a JSONL file has spans, not tags: the tag scheme ${options.tagScheme} (--tag-scheme) ` +
          "does not apply to it",
      );
    }
    yield* parseJsonlLines(rest, path, {
      skipMisaligned: options.skipMisaligned,
      offsets: options.offsets,
      onSkip: () => summary.skippedSpans++,
    });
  } else {
    yield* parseConllLines(rest, path, { tagColumn: options.tagColumn });
  }
}

/** A summary before reading. */
function emptySummary(source: string): ReadSummary {
  return {
    source,
    format: "conll",
    tagScheme: "iob2",
    schemeDetected: false,
    schemeNote: null,
    encoding: "utf-8",
    sentences: 0,
    tokens: 0,
    repairs: 0,
    skippedSpans: 0,
    types: [],
  };
}

/** How many sentences an `"auto"` scheme is detected from when streaming. */
export const SCHEME_SAMPLE_SENTENCES = 1000;

/**
 * Reads a file's sentences, streaming: tags converted to IOB2, ids numbered from 1. With
 * `tagScheme: "auto"` the scheme is detected from the first `sample` sentences (a later tag the
 * scheme does not allow is then an error naming its line); {@linkcode loadSentences} detects it
 * from the whole file.
 *
 * @param path the file (plain or gzip)
 * @param options format, scheme, encoding and the rest
 * @param summary filled in as the file is read (format, scheme, counts)
 * @param sample the sentences the scheme is detected from (default 1,000)
 * @returns the sentences, in file order
 * @throws {CorpusError} naming the file and line; {@linkcode ConfigError} on a bad option
 */
export async function* readSentences(
  path: string,
  options: ReadOptions = {},
  summary: ReadSummary = emptySummary(path),
  sample: number = SCHEME_SAMPLE_SENTENCES,
): AsyncGenerator<Sentence> {
  checkReadOptions(options);
  const raw = rawSentences(path, options, summary);
  const given = options.tagScheme ?? "auto";
  const buffered: RawSentence[] = [];
  const types = new Set<string>();
  let scheme: TagScheme | undefined = given === "auto" ? undefined : given;
  const convert = (sentence: RawSentence): Sentence => {
    const { tags, repairs } = convertTags(sentence, scheme!, options.strict ?? false, path);
    summary.repairs += repairs;
    summary.sentences++;
    summary.tokens += tags.length;
    for (const tag of tags) {
      if (tag === "O" || types.has(tag.slice(2))) continue;
      types.add(tag.slice(2));
      summary.types = [...types].sort(); // only when a type is new, not per sentence
    }
    return {
      id: summary.sentences,
      words: sentence.words,
      pos: sentence.pos,
      tags,
      line: sentence.lines[0],
    };
  };
  const decide = () => {
    if (scheme !== undefined) return;
    if (summary.format === "jsonl") {
      scheme = "iob2";
      return;
    }
    const evidence = emptyEvidence();
    for (const sentence of buffered) {
      try {
        gatherEvidence(sentence.tags, evidence);
      } catch (error) {
        if (!(error instanceof TagError)) throw error;
        throw new CorpusError(path, error.message, sentence.lines[error.token]);
      }
    }
    let detected;
    try {
      detected = detectTagScheme(evidence);
    } catch (error) {
      throw new CorpusError(path, (error as Error).message);
    }
    scheme = detected.scheme;
    summary.schemeDetected = true;
    summary.schemeNote = detected.note ?? null;
  };
  for await (const sentence of raw) {
    if (scheme === undefined && summary.format !== "jsonl" && buffered.length < sample) {
      buffered.push(sentence);
      continue;
    }
    decide();
    summary.tagScheme = scheme!;
    for (const held of buffered.splice(0)) yield convert(held);
    yield convert(sentence);
  }
  decide();
  summary.tagScheme = scheme!;
  for (const held of buffered.splice(0)) yield convert(held);
}

/** A sentence's tags in IOB2, a tag error named by its line. */
function convertTags(sentence: RawSentence, scheme: TagScheme, strict: boolean, path: string) {
  try {
    return toIob2(sentence.tags, scheme, strict);
  } catch (error) {
    if (!(error instanceof TagError)) throw error;
    throw new CorpusError(path, error.message, sentence.lines[error.token]);
  }
}

/**
 * Reads a whole file: its sentences (tags in IOB2) and a summary. The scheme, when `"auto"`, is
 * detected from every sentence; the encoding, when `"auto"`, is UTF-8 when the whole file is
 * valid UTF-8, else Windows-1252 (the file is read again).
 *
 * @param path the file (plain or gzip)
 * @param options format, scheme, encoding and the rest
 * @returns the sentences and the summary
 * @throws {CorpusError} naming the file and line; {@linkcode ConfigError} on a bad option
 */
export async function loadSentences(
  path: string,
  options: ReadOptions = {},
): Promise<LoadedSentences> {
  const read = async (readOptions: ReadOptions) => {
    const summary = emptySummary(path);
    const sentences: Sentence[] = [];
    for await (const sentence of readSentences(path, readOptions, summary, Infinity)) {
      sentences.push(sentence);
    }
    return { sentences, summary };
  };
  try {
    return await read(options);
  } catch (error) {
    if (!(error instanceof InvalidUtf8Error && error.detected)) throw error;
    return await read({ ...options, encoding: "windows-1252" });
  }
}
