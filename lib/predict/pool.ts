/**
 * Prediction on every core: a pool of workers, each with its own single-threaded tfjs wasm
 * backend and a copy of the predictor, tagging chunks of sentences side by side.
 *
 * Why workers: a BiLSTM step is a small matMul plus a few element-wise kernels, and the
 * element-wise ones are plain JavaScript (lib/model/bilstm/), which runs on the calling thread
 * only; XNNPACK's threads help the matMuls alone. Whole batches on separate threads use every
 * core for everything.
 *
 * The results are those of {@linkcode predictWordIds} on the calling thread, in input order:
 * the sentences are sorted by length and cut into chunks of similar lengths, which idle workers
 * take in turn, and each row's scores do not depend on the other rows of its batch.
 *
 * @example
 * ```ts
 * import { loadModelFolder } from "#lib/io/ensemble_folder.ts";
 * import { encodeTokens } from "#lib/predict/predict.ts";
 * import { PredictPool } from "#lib/predict/pool.ts";
 *
 * const loaded = await loadModelFolder("data/model-fast");
 * const { ids, words } = encodeTokens(loaded, [["Paris", "is", "in", "France", "."]]);
 * const pool = await PredictPool.create(loaded, { workers: "auto" });
 * try {
 *   const [prediction] = await pool.predictWordIds(ids, { words });
 *   console.log(prediction.tagIds); // one tag id per token
 * } finally {
 *   await pool.close();
 * }
 * ```
 *
 * @module
 */
import type { Predictor } from "../model/mapped.ts";
import {
  type PoolRequest,
  type PoolResponse,
  type WireOptions,
  wirePredictor,
} from "./_pool_wire.ts";
import {
  encodeTokens,
  type PredictOptions,
  type SequencePrediction,
  type TokenPrediction,
  tokenPredictions,
} from "./predict.ts";
import {
  assembleTexts,
  type PredictTextOptions,
  prepareTexts,
  type TextPrediction,
} from "./predict_text.ts";

/** Options of {@linkcode PredictPool.create}. */
export interface PredictPoolOptions {
  /** Workers: a count, or `"auto"` (one per core, the default). */
  workers?: number | "auto";
}

/** Sentences per chunk at most (a chunk is one message to a worker). */
export const MAX_CHUNK_SENTENCES = 2048;

/**
 * Cuts sentences into the chunks workers take in turn: sorted by length (longest first, so each
 * forward pass holds rows of similar length), at least one chunk per worker, each at most
 * {@linkcode MAX_CHUNK_SENTENCES}, and cut at equal shares of the tokens rather than of the
 * sentences, so the worker given the longest sentences does not finish last.
 *
 * @param lengths tokens per sentence
 * @param workers the pool's size
 * @returns sentence indices per chunk, every sentence once
 * @example
 * ```ts
 * import { planChunks } from "./pool.ts";
 * console.log(planChunks([30, 1, 1, 1, 1, 30], 2)); // [[0], [5, 1, 2, 3, 4]]
 * ```
 */
export function planChunks(lengths: readonly number[], workers: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const count = Math.max(workers, Math.ceil(order.length / MAX_CHUNK_SENTENCES));
  const total = lengths.reduce((sum, length) => sum + Math.max(1, length), 0);
  const chunks: number[][] = [];
  let chunk: number[] = [];
  let tokens = 0;
  for (const index of order) {
    const length = Math.max(1, lengths[index]);
    // Where this chunk's share of the tokens ends; the sentence that would overshoot it by more
    // than stopping short would miss it starts the next chunk.
    const share = (chunks.length + 1) * total / count;
    const overshoots = tokens + length - share > share - tokens;
    if (
      chunk.length > 0 && ((overshoots && chunks.length < count - 1) ||
        chunk.length >= MAX_CHUNK_SENTENCES)
    ) {
      chunks.push(chunk);
      chunk = [];
    }
    chunk.push(index);
    tokens += length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** A worker and what it is doing. */
interface PoolWorker {
  worker: Worker;
  /** Settles the request in flight. */
  pending: { resolve: (r: PoolResponse) => void; reject: (e: Error) => void } | null;
  /** Why the worker died (an uncaught error), or null while it lives. */
  failure: Error | null;
}

/** The number of workers for `workers` (`"auto"`: one per core). */
export function resolveWorkerCount(workers: number | "auto" = "auto"): number {
  const count = workers === "auto" ? navigator.hardwareConcurrency || 1 : workers;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`workers must be a positive integer or "auto", got ${workers}`);
  }
  return count;
}

/** What decides whether a job is worth a pool ({@linkcode poolForJob}). */
export interface PoolJob {
  /** Workers asked for: a count, or `"auto"` (one per core). */
  workers: number | "auto";
  /** The backend the caller runs (the workers run wasm). */
  backend: string;
  /** The job's size (sentences, lines); omit for a job of no known end, such as a server. */
  items?: number;
  /** The size from which a pool's start-up (about a second) pays; default 0. */
  minItems?: number;
}

/**
 * A pool for a job big enough to repay its start-up: two workers or more, on the wasm backend,
 * at least `minItems` items; else null, and the caller tags on its own thread.
 *
 * @param predictor the model to copy into the workers
 * @param job workers, backend and size
 * @returns a ready pool (close it), or null
 */
export async function poolForJob(predictor: Predictor, job: PoolJob): Promise<PredictPool | null> {
  const workers = resolveWorkerCount(job.workers);
  if (workers < 2 || job.backend !== "wasm" || (job.items ?? Infinity) < (job.minItems ?? 0)) {
    return null;
  }
  return await PredictPool.create(predictor, { workers });
}

/** Prediction spread over worker threads; see the module doc. */
export class PredictPool {
  readonly #workers: PoolWorker[];
  /** The predictor on this thread: its maps look words up and name tags. */
  readonly #predictor: Predictor;
  #closed = false;

  private constructor(workers: PoolWorker[], predictor: Predictor) {
    this.#workers = workers;
    this.#predictor = predictor;
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Starts the workers and gives each a copy of the predictor (its weights are copied once).
   *
   * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
   * @param options how many workers
   * @returns the pool, ready; close it with {@linkcode PredictPool.close}
   */
  static async create(
    predictor: Predictor,
    options: PredictPoolOptions = {},
  ): Promise<PredictPool> {
    const count = resolveWorkerCount(options.workers);
    const wire = wirePredictor(predictor);
    const url = new URL("./_pool_worker.ts", import.meta.url).href;
    const workers: PoolWorker[] = Array.from({ length: count }, () => {
      const entry: PoolWorker = {
        worker: new Worker(url, { type: "module" }),
        pending: null,
        failure: null,
      };
      entry.worker.onmessage = (event: MessageEvent<PoolResponse>) => settle(entry, event.data);
      entry.worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        fail(entry, new Error(`prediction worker failed: ${event.message}`));
      };
      return entry;
    });
    const pool = new PredictPool(workers, predictor);
    try {
      await Promise.all(workers.map((entry) => send(entry, { type: "init", predictor: wire })));
    } catch (error) {
      pool.#terminate();
      throw error;
    }
    return pool;
  }

  /**
   * Tags sentences given as word ids, as {@linkcode predictWordIds} does, on every worker.
   *
   * @param sentences word ids per sentence
   * @param options batch size (rows per forward pass in each worker), the words (models with
   *   char features or own word maps), distributions, progress (called per chunk)
   * @returns per sentence, in input order
   */
  async predictWordIds(
    sentences: readonly ArrayLike<number>[],
    options: PredictOptions = {},
  ): Promise<SequencePrediction[]> {
    if (this.#closed) throw new Error("PredictPool: closed");
    if (options.decoder) throw new Error("PredictPool: custom decoders run on the calling thread");
    const chunks = planChunks(sentences.map((ids) => ids.length), this.#workers.length);
    const results = new Array<SequencePrediction>(sentences.length);
    let next = 0;
    let done = 0;
    const run = async (entry: PoolWorker) => {
      while (next < chunks.length) {
        const chunk = chunks[next++];
        const wireOptions: WireOptions = {
          batchSize: options.batchSize,
          distributions: options.distributions,
          ...(options.words ? { words: chunk.map((i) => options.words![i]) } : {}),
        };
        const response = await send(entry, {
          type: "predict",
          id: next,
          sentences: chunk.map((i) => Int32Array.from(sentences[i])),
          options: wireOptions,
        });
        if (response.type !== "result") throw new Error("PredictPool: unexpected reply");
        chunk.forEach((index, k) => (results[index] = response.results[k]));
        done += chunk.length;
        options.onProgress?.(done, sentences.length);
      }
    };
    await Promise.all(this.#workers.map(run));
    return results;
  }

  /**
   * Tags tokenized sentences, as `predictTokens` does, on every worker.
   *
   * @param sentences the tokens of each sentence
   * @param options batch size, progress
   * @returns per sentence, per token: the tag and its probability
   */
  async predictTokens(
    sentences: readonly (readonly string[])[],
    options: PredictOptions = {},
  ): Promise<TokenPrediction[][]> {
    const { words, ids } = encodeTokens(this.#predictor, sentences);
    const predicted = await this.predictWordIds(ids, { ...options, words });
    return tokenPredictions(this.#predictor, predicted);
  }

  /**
   * Tags raw texts, as `predictTexts` does, on every worker.
   *
   * @param texts the texts
   * @param options entity scheme, offset unit, batch size, progress
   * @returns one prediction per text, in order
   */
  async predictTexts(
    texts: readonly string[],
    options: PredictTextOptions = {},
  ): Promise<TextPrediction[]> {
    const prepared = prepareTexts(texts);
    const tags = await this.predictTokens(prepared.sentences, options);
    return assembleTexts(texts, prepared, tags, options);
  }

  /** Stops the workers (after freeing their models). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#workers.map((entry) => send(entry, { type: "close" })));
    this.#terminate();
  }

  #terminate(): void {
    this.#closed = true;
    for (const entry of this.#workers) entry.worker.terminate();
  }
}

/** Sends a request and waits for its reply (one request in flight per worker). */
function send(entry: PoolWorker, request: PoolRequest): Promise<PoolResponse> {
  if (entry.failure) return Promise.reject(entry.failure);
  if (entry.pending) throw new Error("PredictPool: worker busy");
  return new Promise((resolve, reject) => {
    entry.pending = { resolve, reject };
    entry.worker.postMessage(request);
  });
}

function settle(entry: PoolWorker, response: PoolResponse): void {
  const pending = entry.pending;
  entry.pending = null;
  if (!pending) return;
  if (response.type === "error") pending.reject(new Error(response.message));
  else pending.resolve(response);
}

function fail(entry: PoolWorker, error: Error): void {
  entry.failure = error; // a worker that died answers nothing more: later requests fail at once
  const pending = entry.pending;
  entry.pending = null;
  pending?.reject(error);
}
