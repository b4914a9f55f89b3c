/**
 * Benchmark of one training step (batch 32) of the tutorial model on the WebAssembly backend:
 * stock tfjs-layers (`model.trainOnBatch`, stock Bidirectional LSTM, dense Adam) against our
 * `FastBiLSTM` + `createTrainer` (sparse embedding update), in the same process; plus forward-only
 * prediction speed in real tokens per second.
 *
 * Usage: `deno run -A lib/cli/bench.ts [--steps 10] [--warmup 2] [--threads 1]
 *   [--predict-batch 128] [--json]`. A readable table by default; `--json` prints one JSON object
 * on stdout. Progress goes to stderr.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { cpus } from "node:os";
import { initBackend } from "../backend.ts";
import { buildModel } from "../model.ts";
import type { ModelConfig } from "../model.ts";
import { createTrainer } from "../train_step.ts";
import { seededRandom } from "../random.ts";
import type { Random } from "../random.ts";

/** Benchmark options. */
export interface BenchOptions {
  /** Timed training steps per implementation (median reported); default 10. */
  steps: number;
  /** Untimed warm-up steps; default 2. */
  warmup: number;
  /** WASM threads; default 1. */
  threads: number;
  /** Sentences per prediction batch; default 128. */
  predictBatch: number;
}

/** What the benchmark measured. */
export interface BenchResult {
  train: {
    batchSize: number;
    steps: number;
    msPerStep: number;
    stockMsPerStep: number;
    speedup: number;
  };
  predict: { batchSize: number; msPerBatch: number; tokensPerSecond: number };
  backend: string;
  simd: boolean;
  threads: number;
  cores: number;
}

/** The tutorial's shape: vocabulary 35,178 (+PAD/UNK in ours), 18 labels with PAD, maxLen 50. */
const TUTORIAL: ModelConfig = { vocabSize: 35178, numTags: 18, maxLen: 50, seed: 1 };
const BATCH = 32;

/** A post-padded batch with GMB-like lengths (~8–45 tokens) and Zipf-like word ids. */
function randomBatch(random: Random, batchSize: number) {
  const maxLen = TUTORIAL.maxLen!;
  const n = batchSize * maxLen;
  const wordIds = new Int32Array(n);
  const tagIds = new Int32Array(n);
  const mask = new Float32Array(n);
  let realTokens = 0;
  for (let b = 0; b < batchSize; b++) {
    const length = 8 + Math.floor(random() * 38);
    for (let t = 0; t < length; t++) {
      const i = b * maxLen + t;
      // Zipf-like: frequent words dominate, as in real text.
      wordIds[i] = 2 + Math.floor(Math.pow(random(), 3) * (TUTORIAL.vocabSize - 2));
      tagIds[i] = random() < 0.85 ? 1 : 2 + Math.floor(random() * 16);
      mask[i] = 1;
    }
    realTokens += length;
  }
  return { wordIds, tagIds, mask, realTokens };
}

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

/** Median ms per training step of stock tfjs-layers (`trainOnBatch`). */
async function benchStock(o: BenchOptions, random: Random): Promise<number> {
  const model = buildModel({ ...TUTORIAL, layer: "stock" });
  model.compile({ optimizer: tf.train.adam(0.001), loss: "sparseCategoricalCrossentropy" });
  const data = randomBatch(random, BATCH);
  const x = tf.tensor2d(data.wordIds, [BATCH, TUTORIAL.maxLen!], "int32");
  const y = tf.tensor3d(data.tagIds, [BATCH, TUTORIAL.maxLen!, 1], "int32").toFloat();
  const ms = await timeSteps("stock", o.warmup, o.steps, () => model.trainOnBatch(x, y));
  tf.dispose([x, y]);
  model.dispose();
  return ms;
}

/** Median ms per training step of FastBiLSTM + createTrainer. */
async function benchFast(o: BenchOptions, random: Random): Promise<number> {
  const model = buildModel({ ...TUTORIAL, layer: "fast" });
  const trainer = createTrainer(model, { seed: 1 });
  const batches = Array.from({ length: 4 }, () => randomBatch(random, BATCH));
  let k = 0;
  const ms = await timeSteps("fast", o.warmup, o.steps, () => {
    const b = batches[k++ % batches.length];
    return trainer.trainBatch(b.wordIds, b.tagIds, b.mask, BATCH);
  });
  model.dispose();
  return ms;
}

/** Forward-only prediction with the fast model: median ms per batch and real tokens/s. */
async function benchPredict(o: BenchOptions, random: Random) {
  const model = buildModel({ ...TUTORIAL, layer: "fast" });
  const data = randomBatch(random, o.predictBatch);
  const x = tf.tensor2d(data.wordIds, [o.predictBatch, TUTORIAL.maxLen!], "int32");
  const ms = await timeSteps("predict", o.warmup, o.steps, () => {
    const tags = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, -1));
    tags.dataSync();
    tags.dispose();
  });
  x.dispose();
  model.dispose();
  return {
    batchSize: o.predictBatch,
    msPerBatch: ms,
    tokensPerSecond: data.realTokens / (ms / 1000),
  };
}

/** Runs the whole benchmark. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const info = await initBackend({ backend: "wasm", threads: o.threads });
  progress(`backend ${info.backend}, SIMD ${info.simd}, threads ${info.threads}`);
  const random = seededRandom(2024);
  const msPerStep = await benchFast(o, random);
  const stockMsPerStep = await benchStock(o, random);
  const predict = await benchPredict(o, random);
  return {
    train: {
      batchSize: BATCH,
      steps: o.steps,
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
    [
      "prediction",
      `${Math.round(r.predict.tokensPerSecond)} real tokens/s (batch ${r.predict.batchSize}, ${
        r.predict.msPerBatch.toFixed(1)
      } ms)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      threads: { type: "string", default: "1" },
      "predict-batch": { type: "string", default: "128" },
      json: { type: "boolean", default: false },
    },
  });
  const options: BenchOptions = {
    steps: Number(values.steps),
    warmup: Number(values.warmup),
    threads: Number(values.threads),
    predictBatch: Number(values["predict-batch"]),
  };
  for (const [k, v] of Object.entries(options)) {
    if (!Number.isInteger(v) || v < (k === "warmup" ? 0 : 1)) {
      console.error(`bench: --${k} must be a positive integer`);
      Deno.exit(2);
    }
  }
  const result = await runBench(options);
  console.log(values.json ? JSON.stringify(result) : table(result));
}
