/**
 * `deno task train [--train PATH [--dev PATH] [--format F] [--tag-scheme S] [--tag-column N]
 * [--encoding E] [--strict] [--skip-misaligned] [--offsets U]] [--backend wasm|cpu]
 * [--threads N|auto] [--epochs N] [--limit N] [--batch-size N] [--seed N] [--layer fast|stock]
 * [--model-type bilstm|bilstm-crf] [--char-features] [--dropout R] [--output-dropout R]
 * [--units N] [--bilstm-layers N] [--lowercase] [--case-augmentation R] [--case-fallback]
 * [--validation-split R] [--learning-rate R] [--learning-rate-decay R] [--teacher DIR
 * [--distill-weight R]] [--out DIR] [--resume]
 * [--json]`
 *
 * Trains the tagger on the tutorial's training split of the bundled corpus, or on your own file
 * (`--train`, any format lib/data/formats.ts reads; `--dev` for validation, else its tail),
 * checkpointing every epoch into `--out` (defaults: the tutorial's settings). Prints a table of
 * the history, or with `--json` one JSON object (progress goes to stderr either way).
 *
 * The flags are parsed for their type here; their ranges are checked by the config resolvers
 * (`checkTaggerOptions`, `resolveTrainConfig`) before training starts, and a bad setting is
 * reported under the flag that set it. The run folder is checked before the corpus loads: not a
 * file, writable, not locked by a running training, and with `--resume` a checkpoint whose
 * settings the flags given agree with. Exit codes: 0 ok, 1 runtime error (a run folder that
 * cannot be used is one, reported without a stack trace), 2 usage error, 130 stopped by Ctrl-C.
 *
 * @module
 */
import { type BackendName, describeBackend, initBackend } from "../backend/backend.ts";
import { CorpusError } from "../data/corpus.ts";
import type { DataConfig } from "../data/data_config.ts";
import { ConfigError } from "../errors.ts";
import { type CharActivation, checkTaggerOptions } from "../model/config.ts";
import { formatTable } from "../plot/table.ts";
import { checkGivenTrainConfig, type TrainConfig } from "../train/config.ts";
import { ConfigFileError, mergeTrainConfigs, readTrainConfigFile } from "../train/config_file.ts";
import { defaultPresetFor, PRESET_NAMES, PRESETS } from "../train/presets.ts";
import {
  checkRunFolder,
  NonFiniteLossError,
  ResumeMismatchError,
  RunFolderError,
  train,
} from "../train/train.ts";
import { formatDifference } from "../train/resume.ts";
import {
  BACKEND_FLAG,
  type FlagsByField,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseChoice,
  parseFlags,
  parseInteger,
  parseNumber,
  parseOptional,
  parseThreads,
  runCommand,
  THREADS_FLAG,
  UsageError,
  usageErrorFromConfig,
} from "./_args.ts";
import {
  anyDataFlag,
  DATA_READ_FLAGS,
  dataFlagsByField,
  readOptionsFromFlags,
} from "./_data_flags.ts";

const FLAGS = {
  train: {
    type: "string",
    value: "PATH",
    help: "train on your own file (CoNLL, GMB CSV or JSONL; plain or .gz); default the\n" +
      "bundled GMB corpus's tutorial training split",
  },
  dev: {
    type: "string",
    value: "PATH",
    help: "validate on this file (with --train); default the tail of the training data",
  },
  ...DATA_READ_FLAGS,
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  config: {
    type: "string",
    value: "FILE",
    help: "read the settings from a config.json (a run folder, a checkpoint or model\n" +
      "folder, or a hand-written JSON of the same fields); flags given override it",
  },
  preset: {
    type: "string",
    value: "P",
    help: "recipe for the settings not given: accurate (BiLSTM-CRF, char features,\n" +
      "dropout 0.5, Adam 0.01 decaying 0.8, up to 40 epochs, patience 4) or tutorial\n" +
      "(the Keras tutorial's: softmax BiLSTM, Adam 0.001, 5 epochs); default accurate\n" +
      "with --train, tutorial on the bundled corpus",
  },
  epochs: {
    type: "string",
    value: "N",
    help: "epochs, the most with --patience (default: the preset's, 40 or 5)",
  },
  patience: {
    type: "string",
    value: "N",
    help: "stop after N epochs without a better validation F1; 0: never (default:\n" +
      "the preset's, 4 or 0). The best epoch's checkpoint is the run's model",
  },
  "max-len": {
    type: "string",
    value: "N",
    help: "longest sentence trained on, in tokens; longer ones are cut (default 50)",
  },
  limit: { type: "string", value: "N", help: "use only the first N training sentences" },
  "batch-size": { type: "string", value: "N", help: "sentences per step (default 32)" },
  seed: { type: "string", value: "N", help: "seed of weights, shuffling and dropout (default 42)" },
  layer: {
    type: "string",
    value: "fast|stock",
    help: "BiLSTM implementation (default fast)",
  },
  "model-type": {
    type: "string",
    value: "T",
    help: "bilstm (softmax head, default) or bilstm-crf (CRF head, Viterbi)",
  },
  "char-features": {
    type: "boolean",
    default: false,
    help: "add a char CNN and casing features to the word representation",
  },
  dropout: {
    type: "string",
    value: "R",
    help: "dropout on the word representation, in [0, 1) (default 0)",
  },
  "output-dropout": {
    type: "string",
    value: "R",
    help: "dropout on the BiLSTM output, before the head, in [0, 1) (default 0)",
  },
  units: { type: "string", value: "N", help: "LSTM units per direction (default 100)" },
  "embedding-dim": {
    type: "string",
    value: "N",
    help: "word embedding width (default 100; with --embeddings the vectors' width)",
  },
  embeddings: {
    type: "string",
    value: "FILE",
    help: "start the word embedding from pretrained vectors: GloVe, word2vec text or\n" +
      "fastText .vec (plain or .gz), read as a stream; the model keeps the rows it uses",
  },
  "embeddings-words": {
    type: "string",
    value: "N",
    help: "with --embeddings: also add the file's first N words the training file\n" +
      "lacks to the vocabulary (default 50000)",
  },
  "freeze-embeddings": {
    type: "boolean",
    default: false,
    help: "with --embeddings: keep the vectors as they are (default: fine-tuned)",
  },
  "recurrent-dropout": {
    type: "string",
    value: "R",
    help: "dropout on the LSTM's recurrent state, in [0, 1) (default 0.1)",
  },
  "char-filters": {
    type: "string",
    value: "N",
    help: "char CNN filters, i.e. char features per word (default 50)",
  },
  "char-width": { type: "string", value: "N", help: "char CNN window width, odd (default 3)" },
  "char-activation": {
    type: "string",
    value: "A",
    help: "char CNN activation: tanh (default) or relu",
  },
  "bilstm-layers": { type: "string", value: "N", help: "stacked BiLSTM layers (default 1)" },
  lowercase: {
    type: "boolean",
    default: false,
    help: "lowercase words before the vocabulary lookup",
  },
  "case-augmentation": {
    type: "string",
    value: "R",
    help: "share of sentences uppercased or lowercased in each batch, in [0, 1] (default 0)",
  },
  "case-fallback": {
    type: "boolean",
    default: false,
    help: "look unknown words up in their other casings (OBAMA, obama -> Obama)",
  },
  "validation-split": {
    type: "string",
    value: "R",
    help: "share of the training split held out at its end for validation,\n" +
      "in [0, 1) (default 0.1; 0: train on all 38,367 sentences, no validation)",
  },
  "learning-rate": { type: "string", value: "R", help: "Adam learning rate (default 0.001)" },
  "learning-rate-decay": {
    type: "string",
    value: "R",
    help: "factor on the learning rate after each epoch (default 1: constant)",
  },
  "count-padding": {
    type: "boolean",
    default: false,
    help: "reproduce the tutorial's fault: train on and count padding",
  },
  teacher: {
    type: "string",
    value: "DIR",
    help: "distil: also train on this model or ensemble folder's tag distributions\n" +
      "(computed once, cached in the run folder)",
  },
  "distill-weight": {
    type: "string",
    value: "R",
    help: "weight of the teacher's distributions against the gold tags, in (0, 1]\n" +
      "(default 0.5; needs --teacher)",
  },
  out: {
    type: "string",
    value: "DIR",
    help: "run folder for checkpoints (default runs/<timestamp>)",
  },
  resume: {
    type: "boolean",
    default: false,
    help: "continue the run in --out from its latest checkpoint; flags given must be\n" +
      "the run's own (only --epochs and --patience may change); flags left out take the run's values",
  },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...HELP_FLAG,
} as const;

/** The commands this file runs: `train`, and `distill` (the same, with a teacher required). */
export type TrainCommandName = "train" | "distill";

const USAGES: Record<TrainCommandName, string> = {
  train: formatUsage({ command: "deno task train", flags: FLAGS }),
  distill: formatUsage({ command: "deno task distill --teacher DIR", flags: FLAGS }),
};

/** The flag that sets each {@linkcode TrainConfig} field, for naming a resolver's error. */
const FLAGS_BY_FIELD: FlagsByField = {
  preset: "--preset",
  epochs: "--epochs",
  patience: "--patience",
  maxLen: "--max-len",
  limit: "--limit",
  batchSize: "--batch-size",
  seed: "--seed",
  validationSplit: "--validation-split",
  learningRate: "--learning-rate",
  learningRateDecay: "--learning-rate-decay",
  countPadding: "--count-padding",
  lowercase: "--lowercase",
  caseAugmentation: "--case-augmentation",
  caseFallback: "--case-fallback",
  "embeddings.file": "--embeddings",
  "embeddings.extraWords": "--embeddings-words",
  "embeddings.freeze": "--freeze-embeddings",
  "distill.teacher": "--teacher",
  "distill.weight": "--distill-weight",
  "data.train": "--train",
  "data.dev": "--dev",
  ...dataFlagsByField("data."),
  "model.units": "--units",
  "model.biLstmLayers": "--bilstm-layers",
  "model.layer": "--layer",
  "model.modelType": "--model-type",
  "model.charFeatures": "--char-features",
  "model.dropout": "--dropout",
  "model.outputDropout": "--output-dropout",
  "model.recurrentDropout": "--recurrent-dropout",
  "model.embeddingDim": "--embedding-dim",
  "model.charFilters": "--char-filters",
  "model.charWidth": "--char-width",
  "model.charActivation": "--char-activation",
};

type TrainFlags = ReturnType<typeof parseFlags<typeof FLAGS>>["values"];

/** The flags that take a value (the others are switches). */
type ValueFlag = {
  [K in keyof TrainFlags]-?: TrainFlags[K] extends boolean ? never : K;
}[keyof TrainFlags];

const LAYERS = ["fast", "stock"] as const;
const MODEL_TYPES = ["bilstm", "bilstm-crf"] as const;

/** What the command runs with, once its flags are parsed and its config checked. */
interface TrainCommand {
  config: TrainConfig;
  backend: BackendName;
  threads: number | "auto";
  out: string | undefined;
  resume: boolean;
  json: boolean;
}

/** The object without its undefined fields (a flag not given leaves the default in force). */
function definedFields<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** Builds the {@linkcode TrainConfig} from the flags, parsing each value for its type only. */
function trainConfigFromFlags(values: TrainFlags): TrainConfig {
  const integer = (flag: ValueFlag) => parseOptional(`--${flag}`, values[flag], parseInteger);
  const number = (flag: ValueFlag) => parseOptional(`--${flag}`, values[flag], parseNumber);
  // A flag not given stays undefined (a switch off counts as not given): when resuming, only
  // the settings given are compared with the run's, and the rest take the run's values.
  const choice = <T extends string>(
    flag: string,
    value: string | undefined,
    choices: readonly T[],
  ) => value === undefined ? undefined : parseChoice(flag, value, choices);
  return {
    preset: choice("--preset", values.preset, PRESET_NAMES),
    epochs: integer("epochs"),
    patience: integer("patience"),
    maxLen: integer("max-len"),
    limit: integer("limit"),
    batchSize: integer("batch-size"),
    seed: integer("seed"),
    validationSplit: number("validation-split"),
    learningRate: number("learning-rate"),
    learningRateDecay: number("learning-rate-decay"),
    countPadding: values["count-padding"] || undefined,
    lowercase: values.lowercase || undefined,
    caseAugmentation: number("case-augmentation"),
    caseFallback: values["case-fallback"] || undefined,
    distill: values.teacher === undefined
      ? undefined
      : definedFields({ teacher: values.teacher, weight: number("distill-weight") }) as {
        teacher: string;
      },
    data: dataConfigFromFlags(values),
    embeddings: values.embeddings === undefined ? undefined : {
      file: values.embeddings,
      ...definedFields({
        extraWords: integer("embeddings-words"),
        freeze: values["freeze-embeddings"] || undefined,
      }),
    },
    model: definedFields({
      units: integer("units"),
      biLstmLayers: integer("bilstm-layers"),
      layer: choice("--layer", values.layer, LAYERS),
      modelType: choice("--model-type", values["model-type"], MODEL_TYPES),
      charFeatures: values["char-features"] ? true : undefined,
      dropout: number("dropout"),
      outputDropout: number("output-dropout"),
      recurrentDropout: number("recurrent-dropout"),
      embeddingDim: integer("embedding-dim"),
      charFilters: integer("char-filters"),
      charWidth: integer("char-width"),
      // Passed as given: the tagger config's check names the choices.
      charActivation: values["char-activation"] as CharActivation | undefined,
    }),
  };
}

/**
 * The data settings the flags give: with `--train`, the files and how to read them; without,
 * undefined (the bundled corpus, or when resuming the run's own data). Data flags need --train
 * unless resuming (then they are compared with the run's).
 */
function dataConfigFromFlags(values: TrainFlags): DataConfig | undefined {
  const read = readOptionsFromFlags(values);
  if (values.train === undefined) {
    const orphan = values.dev !== undefined ? "--dev" : anyDataFlag(values);
    if (orphan && !values.resume) {
      throw new UsageError(`${orphan} needs --train PATH (the bundled corpus is read as it is)`);
    }
    if (!values.resume) return undefined;
    const given = { ...read, ...(values.dev === undefined ? {} : { dev: values.dev }) };
    return Object.keys(given).length === 0 ? undefined : given as DataConfig;
  }
  return { train: values.train, dev: values.dev ?? null, ...read };
}

/**
 * The train CLI's own wording of one resolver error (char settings without char features: the
 * two char flags are named together); the rest are worded by {@linkcode usageErrorFromConfig}.
 */
function trainUsageError(error: unknown, values: TrainFlags): UsageError | undefined {
  if (error instanceof ConfigError && /needs charFeatures/.test(error.problem)) {
    const given = FLAGS_BY_FIELD[error.field] ?? error.field;
    return new UsageError(
      "--char-filters and --char-width need --char-features, and so does --char-activation " +
        `(given: ${given})`,
    );
  }
  return usageErrorFromConfig(error, FLAGS_BY_FIELD, values);
}

/**
 * Checks a config with the resolvers that training uses, so that a bad setting stops the
 * command before the backend starts, named by its flag.
 */
function checkTrainConfig(config: TrainConfig, values: TrainFlags): void {
  try {
    // The preset's model settings count (--char-filters needs no --char-features under the
    // accurate preset, which has char features), except when resuming (the run's own count).
    const presetModel = values.resume
      ? {}
      : PRESETS[config.preset ?? defaultPresetFor(config)].model;
    checkTaggerOptions({ ...presetModel, ...definedFields(config.model ?? {}) }, "model.");
    // Resuming with some data flags only: they are compared with the run's own.
    checkGivenTrainConfig(config, values.resume);
  } catch (error) {
    throw trainUsageError(error, values) ?? error;
  }
}

/** Parses and checks the command line; undefined for `--help`. */
async function parseTrainCommand(
  args: string[],
  name: TrainCommandName,
): Promise<TrainCommand | undefined> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  if (name === "distill" && values.teacher === undefined && !values.resume) {
    throw new UsageError("--teacher DIR is required: the model or ensemble folder to distil");
  }
  for (const flag of ["embeddings-words", "freeze-embeddings"] as const) {
    if (values[flag] && values.embeddings === undefined) {
      throw new UsageError(`--${flag} needs --embeddings FILE`);
    }
  }
  if (values["distill-weight"] !== undefined && values.teacher === undefined) {
    throw new UsageError("--distill-weight needs --teacher DIR");
  }
  const backend = parseBackend(values.backend);
  const threads = parseThreads(values.threads);
  if (values.resume && !values.out) throw new UsageError("--resume needs --out DIR");
  if (values.config !== undefined && values.resume) {
    throw new UsageError("--config and --resume exclude each other: a resumed run keeps its own");
  }
  const fromFlags = trainConfigFromFlags(values);
  const config = values.config === undefined
    ? fromFlags
    : mergeTrainConfigs(await readTrainConfigFile(values.config), fromFlags);
  checkTrainConfig(config, values);
  return { config, backend, threads, out: values.out, resume: values.resume, json: values.json };
}

/** Four decimals, or "—" for a missing value (no validation set: NaN, or null from JSON). */
function fixedOrDash(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "—" : value.toFixed(4);
}

/** A run folder's error in the command's words (a settings difference names its flag). */
function runFolderMessage(error: RunFolderError): string {
  if (!(error instanceof ResumeMismatchError)) return error.message;
  const lines = error.differences.map((difference) =>
    `  ${formatDifference(difference, FLAGS_BY_FIELD[difference.field] ?? difference.field)}\n`
  );
  return `${error.out}: cannot resume with settings other than the run's own ` +
    `(only --epochs and --patience may change):\n${lines.join("")}` +
    "give the run's values or leave those flags out, or start a new run with another --out";
}

/** Trains as the command says and prints the result; returns the exit code. */
async function runTraining(command: TrainCommand): Promise<number> {
  const out = command.out ?? `runs/${new Date().toISOString().replace(/[:.]/g, "-")}`;
  let result;
  let info;
  const started = performance.now();
  try {
    // The run folder is checked before the backend starts and the corpus loads (a second or
    // more), and again, with its lock taken, by train().
    await checkRunFolder(out, { resume: command.resume });
    info = await initBackend({ backend: command.backend, threads: command.threads });
    console.error(describeBackend(info));
    result = await train({ config: command.config, out, resume: command.resume });
  } catch (error) {
    if (error instanceof RunFolderError) {
      console.error(`error: ${runFolderMessage(error)}`);
      return 1;
    }
    if (error instanceof CorpusError || error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    if (error instanceof NonFiniteLossError || (error as Error).message.includes(out)) {
      console.error(`error: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // Ctrl-C stopped training at a step boundary and saved it: exit as an interrupted command does.
  const exitCode = result.interrupted ? 130 : 0;
  if (result.interrupted) {
    const { epoch, step } = result.interrupted;
    console.error(
      `interrupted at epoch ${epoch}, step ${step}; to continue: ` +
        `deno task train --resume --out ${result.out}`,
    );
  }
  if (command.json) {
    console.log(JSON.stringify({
      backend: info.backend,
      simd: info.simd,
      threads: info.threads,
      epochs: result.config.epochs,
      resumedFromEpoch: result.resumedFromEpoch,
      steps: result.steps,
      msPerStep: result.msPerStep,
      wallSeconds,
      out: result.out,
      vocabularySize: result.vocab.words.length,
      config: result.config,
      history: result.history,
      interrupted: result.interrupted,
      bestEpoch: result.bestEpoch,
      stoppedEarlyAfter: result.stoppedEarlyAfter,
    }));
    return exitCode;
  }
  const history = result.history;
  console.log(formatTable(
    ["epoch", "loss", "accuracy", "val loss", "val accuracy", "val F1", "seconds", "ms/step"],
    history.epoch.map((epoch, index) => [
      epoch,
      history.loss[index].toFixed(4),
      history.accuracy[index].toFixed(4),
      fixedOrDash(history.valLoss[index]),
      fixedOrDash(history.valAccuracy[index]),
      fixedOrDash(history.valF1?.[index] ?? null),
      history.seconds[index].toFixed(1),
      history.msPerStep[index].toFixed(0),
    ]),
  ));
  const best = result.bestEpoch;
  console.log(
    `\npreset ${result.config.preset} · ` +
      (best
        ? `best epoch ${best.epoch} (val F1 ${best.valF1.toFixed(4)}): the run's model`
        : "no validation: the run's model is the last epoch") +
      (result.stoppedEarlyAfter === null
        ? ""
        : ` · stopped early after epoch ${result.stoppedEarlyAfter} (patience ` +
          `${result.config.patience})`) +
      `\n${describeBackend(info)} · ${wallSeconds.toFixed(1)} s wall · model in ${result.out}` +
      "\n(accuracy counts real tokens only; padding is masked out)",
  );
  return exitCode;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @param name `train`, or `distill` (a teacher required; lib/cli/distill.ts)
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[], name: TrainCommandName = "train"): Promise<number> {
  try {
    return await runCommand(USAGES[name], () => parseTrainCommand(args, name), runTraining);
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
