/**
 * Benchmark of one training step (batch 32) of the tutorial model on the WebAssembly backend:
 * stock tfjs-layers (`model.trainOnBatch`, stock Bidirectional LSTM, dense Adam, always all 50
 * steps) against our `FastBiLSTM` + `createTrainer` (sparse embedding update, padding trimmed to
 * each batch's longest sentence), in the same process and on the same batches of real corpus
 * sentences (truncated at 50 tokens); prediction speed in real tokens per second of the tutorial's
 * model, the shipped default model (`data/model`) and the shipped fast model (`data/model-fast`) on
 * the same real sentences, through the prediction pool (./_bench_predict.ts); and the time
 * `loadCorpus()` takes to load and group the bundled corpus, and reading a CoNLL file.
 *
 * Usage: `deno run -A lib/cli/bench.ts [--steps 10] [--warmup 2] [--threads N|auto]
 *   [--predict-batch 256] [--json]` (threads default "auto": one per core; the JSON reports the
 *   threads actually used). A readable table by default; `--json` prints one JSON object
 * on stdout. Progress goes to stderr.
 *
 * @module
 */
import { benchEmbeddingsLoad } from "./_bench_embeddings.ts";
import * as tf from "@tensorflow/tfjs";
import { cpus } from "node:os";
import { initBackend } from "../backend/backend.ts";
import type { TaggerOptions } from "../model/config.ts";
import { Tagger } from "../model/tagger.ts";
import { createTrainer } from "../train/trainer.ts";
import { loadCorpus, type Sentence } from "../data/corpus.ts";
import { loadSentences } from "../data/formats.ts";
import { toConll } from "../data/write.ts";
import { projectPath } from "../fs/paths.ts";
import { benchPredict, type PredictBench } from "./_bench_predict.ts";
import { buildVocab, tagId, wordId } from "../data/vocab.ts";
import type { Vocab } from "../data/vocab.ts";
import { seededRandom } from "../data/random.ts";
import type { Random } from "../data/random.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseFlags,
  parseInteger,
  parsePositiveInteger,
  parseThreads,
  runCommand,
  THREADS_FLAG,
} from "./_args.ts";

/** Benchmark options. */
export interface BenchOptions {
  /** Timed training steps per implementation (median reported); default 10. */
  steps: number;
  /** Untimed warm-up steps; default 2. */
  warmup: number;
  /** WASM threads, or "auto" (one per core, the default). */
  threads: number | "auto";
  /** Sentences per prediction batch; default 256 (`predictWordIds`'s). */
  predictBatch: number;
}

/** What the benchmark measured. */
export interface BenchResult {
  /**
   * Loading and grouping the bundled corpus (`loadCorpus()`); reading a generated CoNLL file of
   * {@linkcode CONLL_BENCH_TOKENS} tokens (`loadSentences`, the median of 3 reads).
   */
  load: {
    seconds: number;
    sentences: number;
    conllSeconds: number;
    conllTokens: number;
    /** Reading a generated 64 MiB GloVe-style vectors file, scaled to one GiB. */
    embeddingsSecondsPerGB: number;
  };
  train: {
    batchSize: number;
    steps: number;
    /** Mean real tokens per sentence of the training batches (corpus sample, cut at 50). */
    meanSentenceLength: number;
    msPerStep: number;
    stockMsPerStep: number;
    speedup: number;
  };
  /** Prediction speed (lib/cli/_bench_predict.ts). */
  predict: PredictBench;
  backend: string;
  simd: boolean;
  threads: number;
  cores: number;
}

/** The tutorial's model shape; vocabulary and labels come from the corpus. */
const MAX_LEN = 50;
const MODEL_SEED = 1;
const BATCH = 32;
/** Distinct training batches cycled through by both implementations. */
const TRAIN_BATCHES = 8;
/** Sentences tagged per prediction repetition, in batches of `predictBatch`. */
const PREDICT_BATCHES = 8;

/** The corpus-derived setup: real sentences, their word/tag ids, and the model config. */
interface BenchData {
  /** Word ids of each sentence (full length). */
  words: Int32Array[];
  /** Tag ids of each sentence. */
  tags: Int32Array[];
  config: TaggerOptions;
  vocab: Vocab;
  loadSeconds: number;
  /** The corpus's sentences (for the CoNLL reading benchmark). */
  sentences: Sentence[];
}

/** Tokens of the generated CoNLL file the reading benchmark reads. */
export const CONLL_BENCH_TOKENS = 200_000;

/**
 * Writes the first {@linkcode CONLL_BENCH_TOKENS} tokens of the corpus as a CoNLL file (IOB1,
 * so the scheme is detected and converted) under `runs/` and times `loadSentences` on it (the
 * median of 3 reads); the file is removed after.
 */
async function benchConllLoad(
  sentences: readonly Sentence[],
): Promise<{ seconds: number; tokens: number }> {
  const chosen: Sentence[] = [];
  let tokens = 0;
  for (const sentence of sentences) {
    if (tokens >= CONLL_BENCH_TOKENS) break;
    chosen.push(sentence);
    tokens += sentence.words.length;
  }
  const root = projectPath("runs");
  await Deno.mkdir(root, { recursive: true });
  const folder = await Deno.makeTempDir({ dir: root, prefix: ".bench-conll-" });
  try {
    const path = `${folder}/corpus.conll`;
    await Deno.writeTextFile(path, toConll(chosen, { scheme: "iob1" }));
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      const { summary } = await loadSentences(path);
      times.push((performance.now() - started) / 1000);
      if (summary.tokens !== tokens) throw new Error(`read ${summary.tokens} of ${tokens} tokens`);
    }
    return { seconds: times.sort((a, b) => a - b)[1], tokens };
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

async function loadBenchData(): Promise<BenchData> {
  const start = performance.now();
  const corpus = await loadCorpus();
  const loadSeconds = (performance.now() - start) / 1000;
  const vocab = buildVocab(corpus.sentences);
  const words = corpus.sentences.map((s) => Int32Array.from(s.words, (w) => wordId(vocab, w)));
  const tags = corpus.sentences.map((s) => Int32Array.from(s.tags, (t) => tagId(vocab, t)));
  const config = {
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: MAX_LEN,
    seed: MODEL_SEED,
  };
  return { words, tags, config, vocab, loadSeconds, sentences: corpus.sentences };
}

/** A post-padded batch of randomly drawn corpus sentences (truncated at `maxLen`). */
function sampleBatch(data: BenchData, random: Random, batchSize: number) {
  const n = batchSize * MAX_LEN;
  const wordIds = new Int32Array(n);
  const tagIds = new Int32Array(n);
  const mask = new Float32Array(n);
  let realTokens = 0;
  for (let b = 0; b < batchSize; b++) {
    const k = Math.floor(random() * data.words.length);
    const length = Math.min(data.words[k].length, MAX_LEN);
    wordIds.set(data.words[k].subarray(0, length), b * MAX_LEN);
    tagIds.set(data.tags[k].subarray(0, length), b * MAX_LEN);
    mask.fill(1, b * MAX_LEN, b * MAX_LEN + length);
    realTokens += length;
  }
  return { wordIds, tagIds, mask, realTokens };
}

type Batch = ReturnType<typeof sampleBatch>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function progress(message: string): void {
  console.error(`[bench] ${message}`);
}

/** Times `steps` calls of `step` after `warmup` untimed ones; returns the median in ms. */
async function timeSteps(
  label: string,
  warmup: number,
  steps: number,
  step: () => unknown,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const start = performance.now();
    await step();
    const ms = performance.now() - start;
    if (i >= warmup) times.push(ms);
    progress(`${label} step ${i + 1}/${warmup + steps}: ${ms.toFixed(1)} ms`);
  }
  return median(times);
}

/** Median ms per training step of stock tfjs-layers (`trainOnBatch`, always `maxLen` steps). */
async function benchStock(o: BenchOptions, data: BenchData, batches: Batch[]): Promise<number> {
  const tagger = new Tagger({ ...data.config, layer: "stock" });
  const model = tagger.model;
  model.compile({ optimizer: tf.train.adam(0.001), loss: "sparseCategoricalCrossentropy" });
  const tensors = batches.map((b) => ({
    x: tf.tensor2d(b.wordIds, [BATCH, MAX_LEN], "int32"),
    y: tf.tensor3d(b.tagIds, [BATCH, MAX_LEN, 1], "float32"),
  }));
  let k = 0;
  const ms = await timeSteps("stock", o.warmup, o.steps, () => {
    const { x, y } = tensors[k++ % tensors.length];
    return model.trainOnBatch(x, y);
  });
  tf.dispose(tensors.flatMap(({ x, y }) => [x, y]));
  tagger.dispose();
  return ms;
}

/** Median ms per training step of FastBiLSTM + createTrainer (padding trimmed per batch). */
async function benchFast(o: BenchOptions, data: BenchData, batches: Batch[]): Promise<number> {
  const tagger = new Tagger({ ...data.config, layer: "fast" });
  const trainer = createTrainer(tagger, { seed: 1 });
  let k = 0;
  const ms = await timeSteps("fast", o.warmup, o.steps, () => {
    const b = batches[k++ % batches.length];
    return trainer.trainBatch(b.wordIds, b.tagIds, b.mask, BATCH);
  });
  tagger.dispose();
  return ms;
}

/** Runs the whole benchmark. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const info = await initBackend({ backend: "wasm", threads: o.threads });
  progress(`backend ${info.backend}, SIMD ${info.simd}, threads ${info.threads}`);
  const data = await loadBenchData();
  progress(`corpus loaded and grouped in ${data.loadSeconds.toFixed(2)} s`);
  const conll = await benchConllLoad(data.sentences);
  progress(`a CoNLL file of ${conll.tokens} tokens read in ${conll.seconds.toFixed(2)} s`);
  const vectorsFolder = await Deno.makeTempDir({ dir: projectPath("runs"), prefix: ".bench-vec-" });
  const embeddings = await benchEmbeddingsLoad(vectorsFolder).finally(() =>
    Deno.remove(vectorsFolder, { recursive: true }).catch(() => {})
  );
  progress(`word vectors read at ${embeddings.secondsPerGB.toFixed(1)} s per GiB`);
  const random = seededRandom(2024);
  const batches = Array.from({ length: TRAIN_BATCHES }, () => sampleBatch(data, random, BATCH));
  const meanLength = batches.reduce((n, b) => n + b.realTokens, 0) / (TRAIN_BATCHES * BATCH);
  const msPerStep = await benchFast(o, data, batches);
  const stockMsPerStep = await benchStock(o, data, batches);
  const count = PREDICT_BATCHES * o.predictBatch;
  const predict = await benchPredict({
    config: data.config,
    vocab: data.vocab,
    sentences: Array.from(
      { length: count },
      () => data.sentences[Math.floor(random() * data.sentences.length)],
    ),
    batchSize: o.predictBatch,
    warmup: o.warmup,
    steps: o.steps,
    time: timeSteps,
  });
  return {
    load: {
      seconds: data.loadSeconds,
      sentences: data.words.length,
      conllSeconds: conll.seconds,
      conllTokens: conll.tokens,
      embeddingsSecondsPerGB: embeddings.secondsPerGB,
    },
    train: {
      batchSize: BATCH,
      steps: o.steps,
      meanSentenceLength: meanLength,
      msPerStep,
      stockMsPerStep,
      speedup: stockMsPerStep / msPerStep,
    },
    predict,
    backend: info.backend,
    simd: info.simd,
    threads: info.threads,
    cores: cpus().length,
  };
}

function table(r: BenchResult): string {
  const rows: [string, string][] = [
    [
      "backend",
      `${r.backend} (SIMD ${r.simd ? "on" : "off"}, ${r.threads} thread(s), ${r.cores} cores)`,
    ],
    [
      "train step, stock tfjs-layers",
      `${r.train.stockMsPerStep.toFixed(1)} ms (batch ${r.train.batchSize})`,
    ],
    [
      "train step, FastBiLSTM + trainer",
      `${r.train.msPerStep.toFixed(1)} ms (batch ${r.train.batchSize})`,
    ],
    ["speed-up", `${r.train.speedup.toFixed(2)}×`],
    ["corpus load", `${r.load.seconds.toFixed(2)} s (${r.load.sentences} sentences)`],
    ["CoNLL file read", `${r.load.conllSeconds.toFixed(2)} s (${r.load.conllTokens} tokens)`],
    ["word vectors read", `${r.load.embeddingsSecondsPerGB.toFixed(1)} s per GiB`],
    [
      "prediction, tutorial model",
      `${Math.round(r.predict.tokensPerSecond)} real tokens/s (${r.predict.workers} workers, ` +
      `batch ${r.predict.batchSize}; calling thread alone ${
        Math.round(r.predict.mainThreadTokensPerSecond)
      })`,
    ],
    [
      "prediction, default model",
      `${Math.round(r.predict.defaultModelTokensPerSecond)} real tokens/s (data/model)`,
    ],
    [
      "prediction, fast model",
      `${Math.round(r.predict.fastModelTokensPerSecond)} real tokens/s (${r.predict.fastModel})`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

const FLAGS = {
  steps: {
    type: "string",
    default: "10",
    value: "N",
    help: "timed steps per implementation, median reported (default 10)",
  },
  warmup: { type: "string", default: "2", value: "N", help: "untimed warm-up steps (default 2)" },
  ...THREADS_FLAG,
  "predict-batch": {
    type: "string",
    default: "256",
    value: "N",
    help: "sentences per prediction batch (default 256, as predict's)",
  },
  json: { type: "boolean", default: false, help: "print one JSON object on stdout" },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task bench", flags: FLAGS });

/** Parses the command line: the benchmark options and `--json`; undefined for `--help`. */
function parseBenchCommand(
  args: string[],
): { options: BenchOptions; json: boolean } | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  const options: BenchOptions = {
    steps: parsePositiveInteger("--steps", values.steps),
    warmup: parseInteger("--warmup", values.warmup, 0),
    threads: parseThreads(values.threads),
    predictBatch: parsePositiveInteger("--predict-batch", values["predict-batch"]),
  };
  return { options, json: values.json };
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseBenchCommand(args), async (command) => {
    const result = await runBench(command.options);
    console.log(command.json ? JSON.stringify(result) : table(result));
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
