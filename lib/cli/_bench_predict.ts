/**
 * The prediction part of `deno task bench`: real tokens per second of the tutorial's model
 * (untrained weights: speed does not depend on them) and of the shipped default and fast models,
 * all on the same real corpus sentences, through the prediction pool (lib/predict/pool.ts, one
 * worker per core) after warm-up; plus the tutorial model on the calling thread alone, for
 * comparison.
 *
 * @module
 */
import { SHIPPED_FAST_MODEL, SHIPPED_MODEL } from "../io/runs.ts";
import type { Sentence } from "../data/corpus.ts";
import type { Vocab } from "../data/vocab.ts";
import { disposeLoadedModel, loadModelFolder } from "../io/ensemble_folder.ts";
import { displayPath } from "../fs/paths.ts";
import type { TaggerOptions } from "../model/config.ts";
import type { Predictor } from "../model/mapped.ts";
import { Tagger } from "../model/tagger.ts";
import { PredictPool } from "../predict/pool.ts";
import { encodeTokens, predictWordIds } from "../predict/predict.ts";

/** What the prediction benchmark measured. */
export interface PredictBench {
  /** Sentences per forward pass. */
  batchSize: number;
  /** Sentences tagged per timed repetition. */
  sentences: number;
  /** Real tokens in them. */
  tokens: number;
  /** Pool workers (one per core). */
  workers: number;
  /** Median ms per batch of the tutorial model through the pool. */
  msPerBatch: number;
  /** The tutorial model through the pool. */
  tokensPerSecond: number;
  /** The tutorial model on the calling thread alone (the backend's threads). */
  mainThreadTokensPerSecond: number;
  /** The shipped default model (`data/model`) through the pool. */
  defaultModelTokensPerSecond: number;
  /** The shipped fast model (`data/model-fast`; the default model when there is none). */
  fastModelTokensPerSecond: number;
  /** Where the fast model figure comes from. */
  fastModel: string;
}

/** What the benchmark needs from the caller. */
export interface PredictBenchInput {
  /** The tutorial model's settings (sizes from the corpus). */
  config: TaggerOptions;
  /** The corpus maps the tutorial model uses. */
  vocab: Vocab;
  /** The sentences to tag, as words. */
  sentences: readonly Sentence[];
  batchSize: number;
  warmup: number;
  steps: number;
  /** Times `steps` calls of `step` after `warmup`; returns the median ms. */
  time: (label: string, warmup: number, steps: number, step: () => unknown) => Promise<number>;
}

/** Word ids of the sentences in a predictor's first map, and the normalised words. */
function encodeFor(predictor: Predictor, sentences: readonly Sentence[]) {
  return encodeTokens(predictor, sentences.map((sentence) => sentence.words));
}

/** Median seconds per repetition of the predictor through a fresh pool (closed after). */
async function poolSeconds(
  predictor: Predictor,
  label: string,
  input: PredictBenchInput,
  withWords: boolean,
): Promise<{ seconds: number; workers: number }> {
  const { ids, words } = encodeFor(predictor, input.sentences);
  const pool = await PredictPool.create(predictor, { workers: "auto" });
  try {
    const options = { batchSize: input.batchSize, ...(withWords ? { words } : {}) };
    const ms = await input.time(
      label,
      input.warmup,
      input.steps,
      () => pool.predictWordIds(ids, options),
    );
    return { seconds: ms / 1000, workers: pool.size };
  } finally {
    await pool.close();
  }
}

/** Tokens per second of a shipped model folder, or null when it is not there. */
async function shippedSeconds(path: string, input: PredictBenchInput): Promise<number | null> {
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  const loaded = await loadModelFolder(path);
  try {
    return (await poolSeconds(loaded, displayPath(path), {
      ...input,
      steps: Math.min(input.steps, 5),
    }, true))
      .seconds;
  } finally {
    disposeLoadedModel(loaded);
  }
}

/**
 * Runs the prediction benchmark.
 *
 * @param input the models' settings, the sentences and the timing helpers
 * @returns tokens per second of each model
 */
export async function benchPredict(input: PredictBenchInput): Promise<PredictBench> {
  const tokens = input.sentences.reduce((n, s) => n + s.words.length, 0);
  const tagger = new Tagger({ ...input.config, layer: "fast" });
  const tutorial = { tagger, vocab: input.vocab, chars: null };
  let pooled: { seconds: number; workers: number };
  let mainMs: number;
  try {
    const { ids } = encodeFor(tutorial, input.sentences);
    mainMs = await input.time(
      "predict (calling thread)",
      input.warmup,
      input.steps,
      () => predictWordIds(tutorial, ids, { batchSize: input.batchSize }),
    );
    pooled = await poolSeconds(tutorial, "predict (pool)", input, false);
  } finally {
    tagger.dispose();
  }
  const defaultSeconds = await shippedSeconds(SHIPPED_MODEL, input);
  const fastSeconds = await shippedSeconds(SHIPPED_FAST_MODEL, input);
  const perSecond = (seconds: number | null) => seconds === null ? NaN : tokens / seconds;
  return {
    batchSize: input.batchSize,
    sentences: input.sentences.length,
    tokens,
    workers: pooled.workers,
    msPerBatch: pooled.seconds * 1000 / Math.ceil(input.sentences.length / input.batchSize),
    tokensPerSecond: tokens / pooled.seconds,
    mainThreadTokensPerSecond: tokens / (mainMs / 1000),
    defaultModelTokensPerSecond: perSecond(defaultSeconds),
    fastModelTokensPerSecond: perSecond(fastSeconds ?? defaultSeconds),
    fastModel: displayPath(fastSeconds === null ? SHIPPED_MODEL : SHIPPED_FAST_MODEL),
  };
}
