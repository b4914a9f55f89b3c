/**
 * `deno task stats [--json] [--max-len N] [FILE]`: statistics of a corpus file
 * (default the bundled GMB corpus) as a table, or one JSON object with `--json`.
 *
 * @module
 */
import { CorpusError, DEFAULT_CORPUS_PATH, loadCorpus } from "../data/corpus.ts";
import { corpusStats } from "../data/stats.ts";
import { formatCount, formatTable } from "../plot/table.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseFlags,
  parsePositiveInteger,
  reportUsageErrors,
} from "./_args.ts";

const FLAGS = {
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  "max-len": {
    type: "string",
    default: "50",
    value: "N",
    help: "count the sentences longer than N tokens (default 50)",
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task stats",
  synopsis: "[options] [FILE.csv|FILE.csv.gz]",
  flags: FLAGS,
  notes: ["FILE: a corpus file (default the bundled GMB corpus)"],
});

/** What the command runs with. */
interface StatsCommand {
  json: boolean;
  maxLen: number;
  path: string;
}

/** Parses the command line; undefined for `--help`. */
function parseStatsCommand(args: string[]): StatsCommand | undefined {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return undefined;
  return {
    json: values.json,
    maxLen: parsePositiveInteger("--max-len", values["max-len"]),
    path: positionals[0] ?? DEFAULT_CORPUS_PATH,
  };
}

/** Loads the corpus and prints its statistics; returns the exit code. */
async function printStats({ json, maxLen, path }: StatsCommand): Promise<number> {
  const started = performance.now();
  let corpus;
  try {
    corpus = await loadCorpus(path);
  } catch (error) {
    if (error instanceof CorpusError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const { sentenceLengths: _lengths, ...stats } = corpusStats(corpus, maxLen);
  if (json) {
    console.log(JSON.stringify({ file: path, ...stats, loadSeconds }));
    return 0;
  }
  console.log(`Corpus: ${path} (loaded and grouped in ${loadSeconds.toFixed(2)} s)\n`);
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
 * @returns the process exit code: 0 ok, 1 unreadable corpus, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const command = parseStatsCommand(args);
    if (command === undefined) {
      console.log(USAGE);
      return 0;
    }
    return await printStats(command);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
