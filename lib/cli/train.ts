/**
 * `deno task train [--backend wasm|cpu] [--threads N|auto] [--epochs N] [--limit N]
 * [--batch-size N] [--seed N] [--layer fast|stock] [--model-type bilstm|bilstm-crf]
 * [--char-features] [--dropout R] [--output-dropout R] [--units N] [--bilstm-layers N]
 * [--lowercase] [--validation-split R] [--learning-rate R] [--learning-rate-decay R]
 * [--out DIR] [--resume] [--json]`
 *
 * Trains the tagger on the tutorial's training split of the bundled corpus
 * (defaults: the tutorial's settings), checkpointing every epoch into `--out`.
 * Prints a table of the history, or with `--json` one JSON object (progress
 * goes to stderr either way).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type BackendName, describeBackend, initBackend } from "../backend/backend.ts";
import { loadCorpus } from "../data/corpus.ts";
import { formatTable } from "../plot/table.ts";
import {
  NonFiniteLossError,
  train,
  type TrainConfig,
  tutorialTrainSentences,
} from "../train/train.ts";

const USAGE = `usage: deno task train [options]
  --backend wasm|cpu   tfjs backend (default wasm)
  --threads N|auto     WASM threads (default auto)
  --epochs N           epochs (default 5)
  --limit N            use only the first N training sentences
  --batch-size N       sentences per step (default 32)
  --seed N             seed of weights, shuffling and dropout (default 42)
  --layer fast|stock   BiLSTM implementation (default fast)
  --model-type T       bilstm (softmax head, default) or bilstm-crf (CRF head, Viterbi)
  --char-features      add a char CNN and casing features to the word representation
  --dropout R          dropout on the word representation, in [0, 1) (default 0)
  --output-dropout R   dropout on the BiLSTM output, before the head, in [0, 1) (default 0)
  --units N            LSTM units per direction (default 100)
  --embedding-dim N    word embedding width (default 100)
  --recurrent-dropout R  dropout on the LSTM's recurrent state, in [0, 1) (default 0.1)
  --char-filters N     char CNN filters, i.e. char features per word (default 50)
  --char-width N       char CNN window width, odd (default 3)
  --bilstm-layers N    stacked BiLSTM layers (default 1)
  --lowercase          lowercase words before the vocabulary lookup
  --validation-split R share of the training split held out at its end for validation, in
                       [0, 1) (default 0.1; 0 trains on all 38,367 sentences, no validation)
  --learning-rate R    Adam learning rate (default 0.001)
  --learning-rate-decay R  factor on the learning rate after each epoch (default 1: constant)
  --count-padding      reproduce the tutorial's fault: train on and count padding
  --out DIR            run folder for checkpoints (default runs/<timestamp>)
  --resume             continue the run in --out from its last complete epoch
  --json               print one JSON object on stdout`;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`--${name} must be a positive integer, got "${value}"`);
  }
  return parsed;
}

/** Parses an optional flag value in [0, 1) (a rate), naming the flag when it is not. */
function rate(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed >= 0 && parsed < 1)) {
    throw new Error(`--${name} must be in [0, 1), got "${value}"`);
  }
  return parsed;
}

/** Parses an optional positive finite number flag value, naming the flag when it is not. */
function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!(parsed > 0 && Number.isFinite(parsed))) {
    throw new Error(`--${name} must be a positive number, got "${value}"`);
  }
  return parsed;
}

/** Four decimals, or "—" for a missing value (no validation set: NaN, or null from JSON). */
function fixedOrDash(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "—" : value.toFixed(4);
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code
 */
export async function main(args: string[]): Promise<number> {
  let values;
  let config: TrainConfig;
  let backend: BackendName;
  let threads: number | "auto";
  try {
    ({ values } = parseArgs({
      args,
      options: {
        backend: { type: "string", default: "wasm" },
        threads: { type: "string", default: "auto" },
        epochs: { type: "string" },
        limit: { type: "string" },
        "batch-size": { type: "string" },
        seed: { type: "string" },
        layer: { type: "string", default: "fast" },
        "model-type": { type: "string", default: "bilstm" },
        "char-features": { type: "boolean", default: false },
        dropout: { type: "string" },
        "output-dropout": { type: "string" },
        units: { type: "string" },
        "embedding-dim": { type: "string" },
        "recurrent-dropout": { type: "string" },
        "char-filters": { type: "string" },
        "char-width": { type: "string" },
        "bilstm-layers": { type: "string" },
        lowercase: { type: "boolean", default: false },
        "validation-split": { type: "string" },
        "learning-rate": { type: "string" },
        "learning-rate-decay": { type: "string" },
        out: { type: "string" },
        resume: { type: "boolean", default: false },
        "count-padding": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.backend !== "wasm" && values.backend !== "cpu") {
      throw new Error(`--backend must be wasm or cpu, got "${values.backend}"`);
    }
    backend = values.backend;
    if (values.layer !== "fast" && values.layer !== "stock") {
      throw new Error(`--layer must be fast or stock, got "${values.layer}"`);
    }
    const modelType = values["model-type"];
    if (modelType !== "bilstm" && modelType !== "bilstm-crf") {
      throw new Error(`--model-type must be bilstm or bilstm-crf, got "${modelType}"`);
    }
    const dropout = rate("dropout", values.dropout);
    const outputDropout = rate("output-dropout", values["output-dropout"]);
    const recurrentDropout = rate("recurrent-dropout", values["recurrent-dropout"]);
    const embeddingDim = positiveInteger("embedding-dim", values["embedding-dim"]);
    const charFilters = positiveInteger("char-filters", values["char-filters"]);
    const charWidth = positiveInteger("char-width", values["char-width"]);
    if (charWidth !== undefined && charWidth % 2 === 0) {
      throw new Error(`--char-width must be odd, got "${values["char-width"]}"`);
    }
    if ((charFilters !== undefined || charWidth !== undefined) && !values["char-features"]) {
      throw new Error("--char-filters and --char-width need --char-features");
    }
    if (modelType === "bilstm-crf" && values["count-padding"]) {
      throw new Error("--count-padding cannot be used with --model-type bilstm-crf");
    }
    threads = values.threads === "auto" ? "auto" : positiveInteger("threads", values.threads)!;
    if (values.resume && !values.out) throw new Error("--resume needs --out DIR");
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed)) {
      throw new Error(`--seed must be an integer, got "${values.seed}"`);
    }
    const validationSplit = rate("validation-split", values["validation-split"]);
    const learningRate = positiveNumber("learning-rate", values["learning-rate"]);
    const learningRateDecay = positiveNumber("learning-rate-decay", values["learning-rate-decay"]);
    config = {
      epochs: positiveInteger("epochs", values.epochs),
      limit: positiveInteger("limit", values.limit),
      batchSize: positiveInteger("batch-size", values["batch-size"]),
      seed,
      validationSplit,
      learningRate,
      learningRateDecay,
      countPadding: values["count-padding"],
      lowercase: values.lowercase,
      model: {
        ...(values.units === undefined ? {} : { units: positiveInteger("units", values.units) }),
        ...(values["bilstm-layers"] === undefined
          ? {}
          : { biLstmLayers: positiveInteger("bilstm-layers", values["bilstm-layers"]) }),
        layer: values.layer,
        ...(modelType === "bilstm" ? {} : { modelType }),
        ...(values["char-features"] ? { charFeatures: true } : {}),
        ...(dropout === undefined ? {} : { dropout }),
        ...(outputDropout === undefined ? {} : { outputDropout }),
        ...(recurrentDropout === undefined ? {} : { recurrentDropout }),
        ...(embeddingDim === undefined ? {} : { embeddingDim }),
        ...(charFilters === undefined ? {} : { charFilters }),
        ...(charWidth === undefined ? {} : { charWidth }),
      },
    };
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }

  const info = await initBackend({ backend, threads });
  console.error(describeBackend(info));
  const out = values.out ?? `runs/${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const started = performance.now();
  const corpus = await loadCorpus();
  const trainSentences = await tutorialTrainSentences(corpus.sentences);
  let result;
  try {
    result = await train({ trainSentences, config, out, resume: values.resume });
  } catch (error) {
    if (error instanceof NonFiniteLossError || (error as Error).message.includes(out)) {
      console.error(`error: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const summary = {
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
  };
  if (values.json) {
    console.log(JSON.stringify(summary));
    return 0;
  }
  const history = result.history;
  console.log(formatTable(
    ["epoch", "loss", "accuracy", "val loss", "val accuracy", "seconds", "ms/step"],
    history.epoch.map((epoch, index) => [
      epoch,
      history.loss[index].toFixed(4),
      history.accuracy[index].toFixed(4),
      fixedOrDash(history.valLoss[index]),
      fixedOrDash(history.valAccuracy[index]),
      history.seconds[index].toFixed(1),
      history.msPerStep[index].toFixed(0),
    ]),
  ));
  console.log(
    `\n${describeBackend(info)} · ${wallSeconds.toFixed(1)} s wall · model in ${result.out}` +
      "\n(accuracy counts real tokens only; padding is masked out)",
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
