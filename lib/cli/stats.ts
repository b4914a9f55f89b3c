/**
 * `deno task stats [--json] [--max-len N] [--format F] [--tag-scheme S] [--encoding E]
 * [--max-bytes SIZE] [FILE]`: statistics of a labelled corpus file (a GMB-style CSV, a CoNLL
 * column file or JSONL with spans; plain or gzip; default the bundled GMB corpus), as a table,
 * or one JSON object with `--json`, with the format and tag scheme it was read in. A file the reader refuses (a sentence id used twice, a `<pad>` or
 * non-IOB tag, bytes not in the encoding, a file over the size cap, …) prints
 * `error: FILE:LINE: …` on stderr and exits 1; a usage mistake exits 2.
 *
 * @module
 */
import {
  CORPUS_ENCODING_OPTIONS,
  CorpusError,
  DEFAULT_CORPUS_PATH,
  DEFAULT_MAX_CORPUS_BYTES,
  loadCorpus,
  type LoadCorpusOptions,
} from "../data/corpus.ts";
import { corpusStats } from "../data/stats.ts";
import type { Corpus } from "../data/corpus.ts";
import { type CorpusFormat, loadSentences, type ReadOptions } from "../data/formats.ts";
import { ConfigError } from "../errors.ts";
import { DATA_READ_FLAGS, readOptionsFromFlags } from "./_data_flags.ts";
import { readingNotes } from "../data/dataset.ts";
import { formatCount, formatTable } from "../plot/table.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseChoice,
  parseFlags,
  parsePositiveInteger,
  runCommand,
  UsageError,
} from "./_args.ts";

const FLAGS = {
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  "max-len": {
    type: "string",
    default: "50",
    value: "N",
    help: "count the sentences longer than N tokens (default 50)",
  },
  ...DATA_READ_FLAGS,
  "max-bytes": {
    type: "string",
    default: String(DEFAULT_MAX_CORPUS_BYTES),
    value: "SIZE",
    help: `size cap of the file and of its gzip data unpacked (default ${
      DEFAULT_MAX_CORPUS_BYTES / 2 ** 20
    }M);\nbytes, or with a K, M or G suffix (binary: 1M = 1,048,576 bytes)`,
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task stats",
  synopsis: "[options] [FILE]",
  flags: FLAGS,
  notes: [
    "FILE: a labelled corpus, plain or gzip: a GMB-style CSV (header Sentence #,Word,POS,Tag),",
    "a CoNLL column file or JSONL with spans (default the bundled GMB corpus)",
  ],
});

/** What the command runs with. */
interface StatsCommand {
  json: boolean;
  maxLen: number;
  path: string;
  options: ReadOptions & Required<LoadCorpusOptions>;
}

/** Binary multipliers of the `--max-bytes` suffixes. */
const SIZE_SUFFIXES: Readonly<Record<string, number>> = {
  "": 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
};

/**
 * Parses a byte count: digits with an optional `K`, `M` or `G` suffix (binary, case-insensitive,
 * an optional `iB`/`B` after it), at least 1.
 *
 * @param flag the flag, for the message
 * @param value the flag's text, e.g. `"512M"`
 * @returns the byte count
 * @throws {UsageError} `FLAG must be a size in bytes …, got "VALUE"`
 */
export function parseByteSize(flag: string, value: string): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value);
  const bytes = match ? Number(match[1]) * SIZE_SUFFIXES[match[2].toUpperCase()] : NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new UsageError(
      `${flag} must be a size in bytes, optionally with K, M or G (e.g. 512M), ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** Parses the command line; undefined for `--help`. */
function parseStatsCommand(args: string[]): StatsCommand | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return undefined;
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one FILE, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  return {
    json: values.json,
    maxLen: parsePositiveInteger("--max-len", values["max-len"]),
    path: positionals[0] ?? DEFAULT_CORPUS_PATH,
    options: {
      ...readOptionsFromFlags(values),
      encoding: parseChoice("--encoding", values.encoding ?? "auto", CORPUS_ENCODING_OPTIONS),
      maxBytes: parseByteSize("--max-bytes", values["max-bytes"]),
    },
  };
}

/**
 * Reads the file: a GMB CSV (by `--format gmb` or its `.csv` name) with the CSV reader as it
 * is, anything else with the readers of lib/data/formats.ts (tags converted to IOB2).
 */
async function readCorpusForStats(
  path: string,
  options: StatsCommand["options"],
): Promise<Corpus & { format: CorpusFormat; tagScheme: string | null }> {
  const csv = options.format === "gmb" ||
    (options.format === undefined && /\.csv(\.gz)?$/i.test(path));
  if (csv && options.tagScheme === undefined && !options.strict) {
    const corpus = await loadCorpus(path, options);
    return { ...corpus, format: "gmb", tagScheme: null };
  }
  const { sentences, summary } = await loadSentences(path, options);
  for (const note of readingNotes(summary)) console.error(`note: ${note}`);
  return {
    source: path,
    rows: summary.tokens,
    sentences,
    encoding: summary.encoding,
    format: summary.format,
    tagScheme: summary.tagScheme,
  };
}

/** Loads the corpus and prints its statistics; returns the exit code. */
async function printStats({ json, maxLen, path, options }: StatsCommand): Promise<number> {
  const started = performance.now();
  let corpus: Corpus & { format: CorpusFormat; tagScheme: string | null };
  try {
    corpus = await readCorpusForStats(path, options);
  } catch (error) {
    // The reader names the file (and line) in a CorpusError; anything else it did not
    // foresee is still reported as one line naming the file, never as a stack trace.
    const message = error instanceof CorpusError || error instanceof ConfigError
      ? error.message
      : `${path}: ${error instanceof Error ? error.message : String(error)}`;
    console.error(`error: ${message}`);
    return 1;
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const { sentenceLengths: _lengths, ...stats } = corpusStats(corpus, maxLen);
  const encoding = corpus.encoding;
  if (json) {
    const { format, tagScheme } = corpus;
    console.log(JSON.stringify({ file: path, format, tagScheme, encoding, ...stats, loadSeconds }));
    return 0;
  }
  console.log(
    `Corpus: ${path} (${corpus.format}${
      corpus.tagScheme ? `, ${corpus.tagScheme.toUpperCase()} tags` : ""
    }, ${encoding}; loaded and grouped in ${loadSeconds.toFixed(2)} s)\n`,
  );
  console.log(formatTable(["statistic", "value"], [
    ["rows (tokens)", formatCount(stats.rows)],
    ["sentences", formatCount(stats.sentences)],
    ["distinct words", formatCount(stats.words)],
    ["NER tags", formatCount(stats.tags)],
    ["POS tags", formatCount(stats.posTags)],
    ["sentence length", `${stats.minSentenceLength}–${stats.maxSentenceLength}`],
    ["mean sentence length", stats.meanSentenceLength.toFixed(2)],
    [`sentences longer than ${maxLen}`, formatCount(stats.sentencesLongerThan.count)],
  ]));
  console.log();
  const total = stats.rows;
  console.log(formatTable(
    ["tag", "count", "share"],
    Object.entries(stats.tagCounts).map((
      [tag, count],
    ) => [tag, count, `${(100 * count / total).toFixed(2)}%`]),
  ));
  return 0;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 a file the corpus reader refuses, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseStatsCommand(args), printStats);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
