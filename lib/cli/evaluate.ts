/**
 * `deno run -A lib/cli/evaluate.ts [--model DIR] [--limit N] [--json] [--backend wasm|cpu]`:
 * evaluates a model folder on the tutorial's 9,592 test sentences (the first N with `--limit`).
 *
 * Prints the seqeval classification report (per type, micro, macro, weighted), token accuracy
 * over real tokens of the full sentences and, beside it, the tutorial-style padded accuracy
 * (each with its definition), and a line of backend info. With `--json`, stdout holds one JSON
 * object (`model`, `ensembleMembers` (member folders; null for one model), `backend`,
 * `sentences`, `tokens`, `entity`, `perType`, `macro`, `weighted`, `tokenAccuracy`,
 * `paddedAccuracy`, `confusion`, `definitions`, `seconds`); progress goes to stderr. An ensemble
 * folder (lib/ensemble.ts) is evaluated as one model.
 *
 * Exit codes: 0 ok, 1 runtime error (missing model, bad data), 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { describeBackend } from "../backend.ts";
import { loadCorpus } from "../corpus.ts";
import { loadSplitFile, splitByIds } from "../encode.ts";
import { evaluateModel, evaluationToJSON, formatEvaluation } from "../evaluate.ts";
import type { EntityScheme } from "../metrics.ts";
import { loadModelForCli, parseBackend, parseThreads, UsageError } from "./predict.ts";

const USAGE = "usage: deno run -A lib/cli/evaluate.ts [--model DIR] [--limit N] [--json] " +
  "[--backend wasm|cpu] [--threads N|auto] [--batch-size N] [--scheme strict|conlleval]";

/** Parses a positive integer flag value. */
function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(number) || number < 1) {
    throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  }
  return number;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code
 */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        model: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean", default: false },
        backend: { type: "string", default: "wasm" },
        threads: { type: "string", default: "auto" },
        "batch-size": { type: "string", default: "256" },
        scheme: { type: "string", default: "strict" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.scheme !== "strict" && values.scheme !== "conlleval") {
      throw new UsageError(`--scheme must be strict or conlleval, got "${values.scheme}"`);
    }
    options = {
      model: values.model,
      limit: values.limit === undefined ? undefined : positiveInteger("limit", values.limit),
      json: values.json,
      backend: parseBackend(values.backend),
      threads: parseThreads(values.threads),
      batchSize: positiveInteger("batch-size", values["batch-size"]),
      scheme: values.scheme as EntityScheme,
    };
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  try {
    const started = performance.now();
    const { loaded, backend } = await loadModelForCli(options.model, {
      backend: options.backend,
      threads: options.threads,
    });
    const corpus = await loadCorpus();
    const { test } = splitByIds(corpus.sentences, await loadSplitFile());
    const sentences = options.limit === undefined ? test : test.slice(0, options.limit);
    console.error(
      `evaluating ${loaded.directory} on ${sentences.length} of the tutorial's ${test.length} ` +
        `test sentences · ${describeBackend(backend)}`,
    );
    const progress = Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    const result = evaluateModel(loaded, sentences, {
      scheme: options.scheme,
      batchSize: options.batchSize,
      onProgress: (done, total) => {
        if (progress) Deno.stderr.writeSync(encoder.encode(`\rtagged ${done}/${total} rows`));
      },
    });
    if (progress) Deno.stderr.writeSync(encoder.encode("\n"));
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      console.log(JSON.stringify({
        model: loaded.directory,
        ensembleMembers: loaded.members?.map((member) => member.directory) ?? null,
        backend,
        ...evaluationToJSON(result),
        seconds,
      }));
    } else {
      console.log(
        `Model: ${loaded.directory} (${
          loaded.members ? `an ensemble of ${loaded.members.length} × ` : ""
        }${loaded.config.modelType}, maxLen ${result.maxLen})`,
      );
      console.log(formatEvaluation(result));
      console.log(`${describeBackend(backend)} · ${seconds.toFixed(1)} s`);
    }
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
