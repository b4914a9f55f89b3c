/**
 * `deno task stats [--json] [--max-len N] [FILE]`: statistics of a corpus file
 * (default the bundled GMB corpus) as a table, or one JSON object with `--json`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CorpusError, DEFAULT_CORPUS_PATH, loadCorpus } from "../data/corpus.ts";
import { corpusStats } from "../data/stats.ts";
import { formatCount, formatTable } from "../plot/table.ts";

const USAGE = "usage: deno task stats [--json] [--max-len N] [FILE.csv|FILE.csv.gz]";

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: "boolean", default: false },
        "max-len": { type: "string", default: "50" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const maxLen = Number(parsed.values["max-len"]);
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    console.error(`--max-len must be a positive integer, got "${parsed.values["max-len"]}"`);
    return 2;
  }
  const path = parsed.positionals[0] ?? DEFAULT_CORPUS_PATH;
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
  if (parsed.values.json) {
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

if (import.meta.main) Deno.exit(await main(Deno.args));
