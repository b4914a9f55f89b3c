/**
 * `deno run -A lib/cli/evaluate.ts [--model DIR] [--limit N] [--json] [--backend wasm|cpu]`:
 * evaluates a model folder on the tutorial's 9,592 test sentences (the first N with `--limit`).
 * With `--split validation` it evaluates on the trainer's validation tail instead (the last 10% of
 * the training split, 3,837 sentences): the place to compare settings without touching the test
 * split. It warns, with a count, when the model was trained on some of those sentences (e.g. a run
 * with `--validation-split 0`).
 *
 * Prints the seqeval classification report (per type, micro, macro, weighted), token accuracy
 * over real tokens of the full sentences and, beside it, the tutorial-style padded accuracy
 * (each with its definition), and a line of backend info. With `--json`, stdout holds one JSON
 * object (`model`, `ensembleMembers` (member folders; null for one model), `backend`,
 * `split`, `sentences`, `tokens`, `entity`, `perType`, `macro`, `weighted`, `tokenAccuracy`,
 * `paddedAccuracy`, `confusion`, `definitions`, `seconds`); progress goes to stderr. An ensemble
 * folder (lib/predict/ensemble.ts) is evaluated as one model.
 *
 * Exit codes: 0 ok, 1 runtime error (missing model, bad data), 2 usage error.
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { projectPath } from "../fs/paths.ts";
import type { CheckpointChoice } from "../io/model_folder.ts";
import { describeBackend } from "../backend/backend.ts";
import type { Sentence } from "../data/corpus.ts";
import { loadTestSentences, loadTrainingSentences, unknownTypesMessage } from "../data/dataset.ts";
import { validationTail } from "../data/encode.ts";
import { checkReadOptions, type ReadOptions } from "../data/formats.ts";
import { TEXT_CASINGS, type TextCasing } from "../data/recase.ts";
import {
  evaluateModel,
  type EvaluateOptions,
  evaluateWithPool,
  type EvaluationResult,
  evaluationToJSON,
  formatEvaluation,
} from "../evaluate/evaluate.ts";
import type { EntityScheme } from "../data/entities.ts";
import type { LoadedModel } from "../io/ensemble_folder.ts";
import {
  EVALUATION_FILE,
  fileSha256,
  writeRunEvaluation,
  writeRunFileEvaluation,
} from "../io/run_evaluations.ts";
import { isRunFolder } from "../io/runs.ts";
import { readPointer } from "../train/checkpoint.ts";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { loadModelForCli } from "./predict.ts";
import { poolForJob } from "../predict/pool.ts";
import {
  BACKEND_FLAG,
  CHECKPOINT_FLAG,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseCheckpoint,
  parseChoice,
  parseFlags,
  parseOptional,
  parsePositiveInteger,
  parseThreads,
  parseWorkers,
  runCommand,
  THREADS_FLAG,
  UsageError,
  usageErrorFromConfig,
  WORKERS_FLAG,
} from "./_args.ts";
import {
  anyDataFlag,
  DATA_READ_FLAGS,
  dataFlagsByField,
  readOptionsFromFlags,
} from "./_data_flags.ts";

const FLAGS = {
  model: {
    type: "string",
    value: "DIR",
    help: "model folder or run folder (default the shipped data/model)",
  },
  test: {
    type: "string",
    value: "PATH",
    help: "score your own labelled file (CoNLL, GMB CSV or JSONL; plain or .gz)\n" +
      "instead of the tutorial's test split",
  },
  ...DATA_READ_FLAGS,
  casing: {
    type: "string",
    default: "original",
    value: "C",
    help: "tag the words original (default), upper, lower or title-cased;\n" +
      "gold tags unchanged: how the model copes without normal casing",
  },
  limit: { type: "string", value: "N", help: "evaluate only the first N sentences" },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...CHECKPOINT_FLAG,
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  ...WORKERS_FLAG,
  "batch-size": {
    type: "string",
    default: "256",
    value: "N",
    help: "sentences per prediction batch (default 256)",
  },
  scheme: {
    type: "string",
    default: "strict",
    value: "strict|conlleval",
    help: "entity scheme: strict IOB2 like seqeval (default) or conlleval's",
  },
  split: {
    type: "string",
    default: "test",
    value: "test|validation",
    help: "the tutorial's test split (default) or the trainer's validation tail",
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task evaluate", flags: FLAGS });

const SCHEMES: readonly EntityScheme[] = ["strict", "conlleval"];
const SPLITS = ["test", "validation"] as const;

/** The trainer's default validation share: `--split validation` evaluates on that tail. */
const VALIDATION_SPLIT = DEFAULT_TRAIN_CONFIG.validationSplit;

/**
 * Why `--split validation` may flatter a model: per model folder (one, or an ensemble's members),
 * how many of the validation tail's sentences it was trained on, from its training record (the
 * trainer fits the first `(1 - validationSplit)` share of its `limit`-ed training sentences), or
 * that it has no record. Folders that held the whole tail out are not listed.
 *
 * @param loaded the model folder
 * @param trainingSentences the size of the tutorial's training split
 * @returns one line per such folder, to be followed by "validation sentences"
 */
export function validationLeaks(loaded: LoadedModel, trainingSentences: number): string[] {
  const tailStart = Math.trunc(trainingSentences * (1 - VALIDATION_SPLIT));
  const tailSize = trainingSentences - tailStart;
  return loaded.members.flatMap((member) => {
    const training = member.config.training;
    const split = training?.validationSplit;
    if (typeof split !== "number") {
      return [`${member.directory} has no training record: it may have been trained on these`];
    }
    const limit = typeof training?.limit === "number" ? training.limit : trainingSentences;
    const fitted = Math.trunc(Math.min(limit, trainingSentences) * (1 - split));
    const seen = Math.max(0, fitted - tailStart);
    return seen === 0 ? [] : [`${member.directory} was trained on ${seen} of these ${tailSize}`];
  });
}

/** What the command runs with. */
interface EvaluateCommand {
  split: (typeof SPLITS)[number];
  test: string | undefined;
  read: ReadOptions;
  casing: TextCasing;
  model: string | undefined;
  checkpoint: CheckpointChoice;
  limit: number | undefined;
  json: boolean;
  backend: ReturnType<typeof parseBackend>;
  threads: number | "auto";
  workers: number | "auto";
  batchSize: number;
  scheme: EntityScheme;
}

/** Parses the command line; undefined for `--help`. */
function parseEvaluateCommand(args: string[]): EvaluateCommand | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  const read = readOptionsFromFlags(values);
  const orphan = anyDataFlag(values);
  if (values.test === undefined && orphan) {
    throw new UsageError(`${orphan} needs --test PATH (the tutorial's split is read as it is)`);
  }
  if (values.test !== undefined && values.split !== "test") {
    throw new UsageError("--split needs the tutorial's corpus; leave it out with --test PATH");
  }
  try {
    checkReadOptions(read);
  } catch (error) {
    throw usageErrorFromConfig(error, dataFlagsByField(), values) ?? error;
  }
  return {
    test: values.test,
    read,
    casing: parseChoice("--casing", values.casing, TEXT_CASINGS),
    split: parseChoice("--split", values.split, SPLITS),
    model: values.model,
    checkpoint: parseCheckpoint(values.checkpoint),
    limit: parseOptional("--limit", values.limit, parsePositiveInteger),
    json: values.json,
    backend: parseBackend(values.backend),
    threads: parseThreads(values.threads),
    workers: parseWorkers(values.workers),
    batchSize: parsePositiveInteger("--batch-size", values["batch-size"]),
    scheme: parseChoice("--scheme", values.scheme, SCHEMES),
  };
}

/**
 * Records the scores in `RUN/evaluation.json` (what `deno task runs` shows as the run's test F1)
 * when `--model` names a training run folder and a whole test set was evaluated with the strict
 * scheme and the original casing: the tutorial's test split (the file's top-level record) or a
 * `--test FILE` (a record under `tests`, keyed by the SHA-256 of the file's bytes, with its path
 * as given and base name; see lib/io/runs.ts). Each record names the checkpoint evaluated and
 * its epoch. Otherwise it says on stderr, for a run folder, that nothing was recorded. A write
 * that fails is a warning: the evaluation itself succeeded.
 */
async function recordRunScores(
  options: EvaluateCommand,
  loaded: LoadedModel,
  result: EvaluationResult,
): Promise<void> {
  if (options.model === undefined || !(await isRunFolder(options.model))) return;
  const file = `${options.model}/${EVALUATION_FILE}`;
  if (
    options.split !== "test" || options.limit !== undefined || options.scheme !== "strict" ||
    options.casing !== "original"
  ) {
    console.error(
      `${file} not updated: only an evaluation of a whole test set (the tutorial's test split ` +
        "or a --test file; strict scheme, original casing) is recorded",
    );
    return;
  }
  try {
    const run = options.model.replace(/(?<=.)\/+$/, "");
    await checkNoLinkOutOfRuns(run);
    const checkpoint = loaded.directory.startsWith(`${run}/`)
      ? loaded.directory.slice(run.length + 1)
      : null;
    const epochsDone = loaded.members[0].config.training?.epochsDone;
    let epoch: number;
    if (typeof epochsDone === "number") {
      epoch = epochsDone;
    } else {
      // A checkpoint without a training record: the pointer's epoch of the one loaded.
      const pointer = await readPointer(options.model);
      epoch = (pointer?.best?.checkpoint === checkpoint ? pointer?.best?.epoch : pointer?.epoch) ??
        0;
    }
    const { precision, recall, f1, support } = result.entity;
    const how = { checkpoint, epoch, scheme: options.scheme, casing: options.casing };
    const scores = {
      entity: { precision, recall, f1, support },
      tokenAccuracy: result.tokenAccuracy,
      evaluatedAt: new Date().toISOString(),
    };
    if (options.test === undefined) {
      await writeRunEvaluation(options.model, { split: "test", ...how, ...scores });
      console.error(`recorded the test scores in ${file}`);
    } else {
      await writeRunFileEvaluation(options.model, {
        file: options.test,
        name: basename(options.test),
        sha256: await fileSha256(options.test),
        ...how,
        sentences: result.sentences,
        ...scores,
      });
      console.error(`recorded the scores on ${options.test} in ${file}`);
    }
  } catch (error) {
    console.error(`warning: ${file} not written (${(error as Error).message})`);
  }
}

/**
 * Refuses to record into a run folder that lies under the project's `runs/` by its path but
 * outside it once links are followed (the task may write only under `runs/`; a link must not
 * carry its writes elsewhere).
 *
 * @param run the run folder as given
 * @throws {Error} naming the folder and where it leads
 */
async function checkNoLinkOutOfRuns(run: string): Promise<void> {
  const root = projectPath("runs");
  const given = resolve(run);
  if (given !== root && !given.startsWith(`${root}/`)) return;
  const [realRoot, realRun] = await Promise.all([Deno.realPath(root), Deno.realPath(run)]);
  if (realRun !== realRoot && !realRun.startsWith(`${realRoot}/`)) {
    throw new Error(
      `${run} leads out of runs/ (to ${realRun}) through a link: evaluate writes only inside runs/`,
    );
  }
}

/**
 * The sentences to score: a file of your own, the tutorial's test split, or the validation tail
 * of its training split; with what to call them and warnings (types the model lacks, leaks).
 */
async function evaluationPool(
  options: EvaluateCommand,
  loaded: LoadedModel,
): Promise<{ sentences: readonly Sentence[]; poolName: string; warnings: string[] }> {
  const known = new Set(
    loaded.members[0].vocab.tags.filter((tag) => tag.includes("-")).map((tag) => tag.slice(2)),
  );
  if (options.test !== undefined) {
    const { sentences, warnings } = await loadTestSentences(options.test, options.read);
    if (sentences.length === 0) {
      throw new Error(`${options.test}: holds no sentences: nothing to evaluate`);
    }
    const unknown = unknownTypesMessage(sentences, known, options.test);
    return {
      sentences,
      poolName: `sentences of ${options.test}`,
      warnings: unknown ? [...warnings, unknown] : warnings,
    };
  }
  const ownData = loaded.members.find((member) => member.config.training?.data);
  if (ownData) {
    const data = ownData.config.training?.data as { train?: string };
    const hint = `${ownData.directory} was trained on ${data.train}, not the bundled corpus: ` +
      "score it on a labelled file of yours with --test PATH";
    if (options.split === "validation") throw new Error(hint);
    console.error(`note: ${hint}`);
  }
  if (options.split === "test") {
    const { sentences } = await loadTestSentences(null);
    const unknown = unknownTypesMessage(sentences, known, "the tutorial's test split");
    return {
      sentences,
      poolName: "the tutorial's test sentences",
      warnings: unknown ? [unknown] : [],
    };
  }
  const { train } = await loadTrainingSentences(null);
  return {
    sentences: validationTail(train, VALIDATION_SPLIT).validation,
    poolName: `validation sentences (the last ${VALIDATION_SPLIT * 100}% of the training split)`,
    warnings: validationLeaks(loaded, train.length).map((leak) => `${leak} validation sentences`),
  };
}

/** Sentences below which the pool's start (about a second) costs more than it saves. */
const POOL_MIN_SENTENCES = 256;

/**
 * Evaluates on a prediction pool (`--workers`, default one per core, on the wasm backend) or,
 * for one worker, the cpu backend or a few sentences, on this thread.
 */
async function evaluateOn(
  loaded: LoadedModel,
  sentences: readonly Sentence[],
  command: EvaluateCommand,
  options: EvaluateOptions,
): Promise<EvaluationResult> {
  const pool = await poolForJob(loaded, {
    workers: command.workers,
    backend: command.backend,
    items: sentences.length,
    minItems: POOL_MIN_SENTENCES,
  });
  if (pool === null) return evaluateModel(loaded, sentences, options);
  try {
    return await evaluateWithPool(pool, loaded, sentences, options);
  } finally {
    await pool.close();
  }
}

/** Evaluates the model and prints the report; returns the exit code. */
async function runEvaluation(options: EvaluateCommand): Promise<number> {
  try {
    const started = performance.now();
    const { loaded, backend } = await loadModelForCli(
      options.model,
      {
        backend: options.backend,
        threads: options.threads,
      },
      undefined,
      { checkpoint: options.checkpoint },
    );
    const { sentences: pool, poolName, warnings } = await evaluationPool(options, loaded);
    const sentences = options.limit === undefined ? pool : pool.slice(0, options.limit);
    console.error(
      `evaluating ${loaded.directory} on ${sentences.length} of ${pool.length} ${poolName}` +
        `${options.casing === "original" ? "" : `, words ${options.casing}-cased`} · ` +
        describeBackend(backend),
    );
    for (const warning of warnings) console.error(`warning: ${warning}`);
    const progress = Deno.stderr.isTerminal();
    const encoder = new TextEncoder();
    const result = await evaluateOn(loaded, sentences, options, {
      scheme: options.scheme,
      casing: options.casing,
      batchSize: options.batchSize,
      onProgress: (done, total) => {
        if (progress) Deno.stderr.writeSync(encoder.encode(`\rtagged ${done}/${total}`));
      },
    });
    if (progress) Deno.stderr.writeSync(encoder.encode("\n"));
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      console.log(JSON.stringify({
        model: loaded.directory,
        ensembleMembers: loaded.ensemble ? loaded.members.map((member) => member.directory) : null,
        caselessMembers: loaded.caseless.map((member) => member.directory),
        backend,
        split: options.test === undefined ? options.split : null,
        test: options.test ?? null,
        ...evaluationToJSON(result),
        seconds,
      }));
    } else {
      console.log(
        `Model: ${loaded.directory} (${
          loaded.ensemble ? `an ensemble of ${loaded.members.length} × ` : ""
        }${loaded.members[0].tagger.config.modelType}${
          loaded.caseless.length > 0
            ? `, caseless sentences by ${loaded.caseless.length} case-augmented member(s)`
            : ""
        }, maxLen ${result.maxLen}) on ${options.test ?? `the ${options.split} split`}`,
      );
      console.log(formatEvaluation(result));
      console.log(`${describeBackend(backend)} · ${seconds.toFixed(1)} s`);
    }
    await recordRunScores(options, loaded, result);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseEvaluateCommand(args), runEvaluation);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
