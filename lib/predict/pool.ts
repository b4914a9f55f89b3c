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
 * A worker that dies is replaced by a new one with the same model, and the chunk it was tagging
 * is tagged again on another worker (see {@linkcode PredictPool}); `health()` says whether every
 * worker is ready.
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
import { caselessOf, membersOf, type Predictor } from "../model/mapped.ts";
import {
  type PoolRequest,
  type PoolResponse,
  type WireOptions,
  type WirePredictor,
  wirePredictor,
  WORKER_TABLE_BYTES,
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
  /**
   * Where a worker's death and its replacement are reported, one line each (no stack).
   * Default `console.error`.
   */
  log?: (message: string) => void;
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
  /**
   * The resident memory (bytes) the whole process should stay under: `"auto"` workers are cut
   * to as many as fit beside what the process holds now ({@linkcode workersWithinBudget}); a
   * count asked for is kept. Default: none (one worker per core).
   */
  memoryBudget?: number;
}

/**
 * What one pool worker's runtime holds besides its model: its tfjs and project code, its
 * backend's heap for a forward pass, and the garbage a busy worker keeps between collections.
 * Measured with the default model (two 200-unit members in use, 16 MiB tables): one more worker
 * cost 190 MB of peak resident memory on 20,000 short lines and about 350 MB on 20,000 corpus
 * sentences; with {@linkcode workerMemoryEstimate}'s other terms (32 MiB tables) this base makes
 * the estimate 403 MiB for that model (279 MiB for data/model-fast).
 */
export const WORKER_BASE_BYTES = 160 * 2 ** 20;

/** Bytes of a predictor's weights as float32, every tagger's (members and caseless). */
function weightBytesOf(predictor: Predictor): number {
  return [...membersOf(predictor), ...caselessOf(predictor)].reduce(
    (sum, { tagger }) =>
      sum + tagger.model.weights.reduce((bytes, w) => bytes + 4 * sizeOf(w.shape), 0),
    0,
  );
}

/** The number of values of a shape. */
function sizeOf(shape: readonly (number | null)[]): number {
  return shape.reduce((product: number, dim) => product * (dim ?? 1), 1);
}

/**
 * What one pool worker holds at most for `predictor`, estimated: {@linkcode WORKER_BASE_BYTES},
 * and for every tagger (members and caseless, which a worker builds when its first caseless
 * sentence comes) twice its weights (the worker's backend copy, and the room building it takes)
 * and its projection table ({@linkcode WORKER_TABLE_BYTES}).
 *
 * @param predictor the model
 * @returns bytes
 */
export function workerMemoryEstimate(predictor: Predictor): number {
  const taggers = membersOf(predictor).length + caselessOf(predictor).length;
  return WORKER_BASE_BYTES + 2 * weightBytesOf(predictor) + taggers * WORKER_TABLE_BYTES;
}

/**
 * How many pool workers fit in a memory budget beside what the process holds: each costs
 * {@linkcode workerMemoryEstimate}, and the pool keeps one shared copy of the weights.
 *
 * @param predictor the model
 * @param budget the resident memory (bytes) the process should stay under
 * @param held what the process holds now; default its resident memory
 * @returns workers (0 when not even one fits)
 */
export function workersWithinBudget(
  predictor: Predictor,
  budget: number,
  held: number = Deno.memoryUsage().rss,
): number {
  const room = budget - held - weightBytesOf(predictor);
  return Math.max(0, Math.floor(room / workerMemoryEstimate(predictor)));
}

/**
 * A pool for a job big enough to repay its start-up: two workers or more, on the wasm backend,
 * at least `minItems` items, and for `"auto"` workers with a `memoryBudget`, no more workers
 * than fit in it; else null, and the caller tags on its own thread.
 *
 * @param predictor the model to copy into the workers
 * @param job workers, backend, size and memory budget
 * @returns a ready pool (close it), or null
 */
export async function poolForJob(predictor: Predictor, job: PoolJob): Promise<PredictPool | null> {
  let workers = resolveWorkerCount(job.workers);
  if (job.workers === "auto" && job.memoryBudget !== undefined) {
    workers = Math.min(workers, workersWithinBudget(predictor, job.memoryBudget));
  }
  if (workers < 2 || job.backend !== "wasm" || (job.items ?? Infinity) < (job.minItems ?? 0)) {
    return null;
  }
  return await PredictPool.create(predictor, { workers });
}

/** The worker's module. */
const WORKER_URL = new URL("./_pool_worker.ts", import.meta.url).href;

/**
 * Starts in a row that may fail before the pool gives a dead worker's place up (its health then
 * stays unhealthy: a supervisor should restart the process).
 */
export const MAX_REPLACEMENT_STARTS = 3;

/**
 * Why a chunk (and the call it belongs to) failed: the worker tagging it died, and so did the one
 * it was retried on; or no worker is left (none could be restarted). One death alone fails
 * nothing: the chunk is tagged again on another worker.
 */
export class WorkerDiedError extends Error {
  /**
   * Makes the error.
   *
   * @param message which worker died, and why
   */
  constructor(message: string) {
    super(message);
    this.name = "WorkerDiedError";
  }
}

/** What {@linkcode PredictPool.health} reports. */
export interface PoolHealth {
  /** Whether every worker runs and is ready to tag (false once the pool is closed). */
  healthy: boolean;
  /** Workers in the pool. */
  workers: number;
  /** Workers ready to tag now. */
  ready: number;
  /** Why it is not healthy: which workers are down, and what is done about it. */
  reason?: string;
}

/**
 * A place for one worker: `starting` (its `init` in flight), `ready`, `down` (it died; a
 * replacement is due or starting) or `failed` (replacements would not start; given up).
 */
interface Slot {
  readonly index: number;
  worker: Worker | null;
  state: "starting" | "ready" | "down" | "failed";
  /** Settles the message in flight (one per worker): an `init`, a chunk or a `close`. */
  pending: { resolve: (response: PoolResponse) => void; reject: (error: Error) => void } | null;
  /** Why the slot's last worker died or did not start; null while one runs. */
  failure: Error | null;
}

/** A chunk waiting for a worker, or being tagged by one. */
interface Task {
  request: Extract<PoolRequest, { type: "predict" }>;
  /** Times it has been sent to a worker (a second try follows a worker's death). */
  attempts: number;
  /** The call it belongs to: once that call failed, its queued chunks are dropped. */
  job: { failed: boolean };
  resolve: (results: SequencePrediction[]) => void;
  reject: (error: Error) => void;
}

/**
 * Prediction spread over worker threads; see the module doc.
 *
 * A pool heals: a worker that dies (an uncaught error in it) is replaced by a new one with the
 * same model, the chunk it was tagging is tagged again on another worker (once: a chunk whose
 * second worker dies too fails its call with {@linkcode WorkerDiedError}, and no other call), and
 * {@linkcode PredictPool.health} says the pool is unhealthy until the replacement is ready.
 */
export class PredictPool {
  readonly #slots: Slot[];
  /** The predictor on this thread: its maps look words up and name tags. */
  readonly #predictor: Predictor;
  /** The predictor as the workers are given it (kept to start replacements). */
  readonly #wire: WirePredictor;
  readonly #log: (message: string) => void;
  /** Chunks waiting for a ready, idle worker, first come first served. */
  #queue: Task[] = [];
  #restarts = 0;
  #nextId = 0;
  #closed = false;

  private constructor(
    count: number,
    predictor: Predictor,
    wire: WirePredictor,
    log: (message: string) => void,
  ) {
    this.#slots = Array.from({ length: count }, (_, index) => ({
      index,
      worker: null,
      state: "down",
      pending: null,
      failure: null,
    }));
    this.#predictor = predictor;
    this.#wire = wire;
    this.#log = log;
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#slots.length;
  }

  /** Workers started to replace ones that died (each start counts, a failed one too). */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Starts the workers and gives each a copy of the predictor (its weights are copied once).
   *
   * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
   * @param options how many workers; where worker deaths and replacements are reported
   * @returns the pool, ready; close it with {@linkcode PredictPool.close}
   */
  static async create(
    predictor: Predictor,
    options: PredictPoolOptions = {},
  ): Promise<PredictPool> {
    const count = resolveWorkerCount(options.workers);
    const log = options.log ?? ((message: string) => console.error(message));
    const pool = new PredictPool(count, predictor, wirePredictor(predictor), log);
    try {
      await Promise.all(pool.#slots.map((slot) => pool.#start(slot)));
    } catch (error) {
      pool.#terminate();
      throw error;
    }
    return pool;
  }

  /**
   * Whether every worker is ready to tag and, if not, why (a worker died and its replacement is
   * starting, or replacements would not start). A pool with a worker down still tags, on the
   * others, unless none is left.
   *
   * @returns the workers, those ready, and the reason when unhealthy
   */
  health(): PoolHealth {
    const workers = this.#slots.length;
    if (this.#closed) {
      return { healthy: false, workers, ready: 0, reason: "the prediction pool is closed" };
    }
    const ready = this.#slots.filter((slot) => slot.state === "ready").length;
    const problems = this.#slots.filter((slot) => slot.state !== "ready").map((slot) => {
      const what = `prediction worker ${slot.index + 1} of ${workers}`;
      const why = slot.failure?.message ?? "not started";
      return slot.state === "failed"
        ? `${what} could not be restarted (${why})`
        : `${what} died (${why}); a replacement is starting`;
    });
    return problems.length === 0
      ? { healthy: true, workers, ready }
      : { healthy: false, workers, ready, reason: problems.join("; ") };
  }

  /**
   * Tags sentences given as word ids, as {@linkcode predictWordIds} does, on every worker.
   *
   * @param sentences word ids per sentence
   * @param options batch size (rows per forward pass in each worker), the words (models with
   *   char features or own word maps), distributions, progress (called per chunk)
   * @returns per sentence, in input order
   * @throws {WorkerDiedError} when a chunk's worker died and so did the one it was retried on,
   *   or when no worker is left
   */
  async predictWordIds(
    sentences: readonly ArrayLike<number>[],
    options: PredictOptions = {},
  ): Promise<SequencePrediction[]> {
    if (this.#closed) throw new Error("PredictPool: closed");
    if (options.decoder) throw new Error("PredictPool: custom decoders run on the calling thread");
    this.#checkAlive();
    const chunks = planChunks(sentences.map((ids) => ids.length), this.#slots.length);
    const results = new Array<SequencePrediction>(sentences.length);
    const job = { failed: false };
    let done = 0;
    const tagged = chunks.map((chunk) =>
      new Promise<void>((resolve, reject) => {
        const wireOptions: WireOptions = {
          batchSize: options.batchSize,
          distributions: options.distributions,
          ...(options.words ? { words: chunk.map((i) => options.words![i]) } : {}),
        };
        this.#queue.push({
          request: {
            type: "predict",
            id: ++this.#nextId,
            sentences: chunk.map((i) => Int32Array.from(sentences[i])),
            options: wireOptions,
          },
          attempts: 0,
          job,
          resolve: (chunkResults) => {
            try {
              chunk.forEach((index, k) => (results[index] = chunkResults[k]));
              done += chunk.length;
              options.onProgress?.(done, sentences.length);
              resolve();
            } catch (error) {
              reject(error);
            }
          },
          reject,
        });
      })
    );
    this.#dispatch();
    try {
      await Promise.all(tagged);
    } catch (error) {
      job.failed = true;
      this.#queue = this.#queue.filter((task) => task.job !== job);
      throw error;
    }
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

  /**
   * For tests only: kills worker `index` as a crash would (the worker is terminated at once and
   * its death handled as that of a worker with an uncaught error: its chunk goes back to the
   * queue for another worker, the pool turns unhealthy, a replacement starts).
   *
   * @param index the worker, 0 ≤ index < {@linkcode PredictPool.size}, ready
   * @param options `holdReplacement`: the replacement starts only once this settles, so a test
   *   can look at the pool while a worker is down
   * @throws {RangeError} when there is no such worker, or it is not ready
   */
  killWorkerForTest(index: number, options: { holdReplacement?: Promise<unknown> } = {}): void {
    const slot = this.#slots[index];
    if (slot === undefined || slot.state !== "ready") {
      throw new RangeError(`killWorkerForTest: no ready worker ${index}`);
    }
    this.#died(slot, new Error("killed by killWorkerForTest"), options.holdReplacement);
  }

  /** Stops the workers (after freeing their models); chunks still queued fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const idle = this.#slots.filter((slot) => slot.state === "ready" && slot.pending === null);
    await Promise.allSettled(idle.map((slot) => this.#call(slot, { type: "close" })));
    this.#terminate();
  }

  /** Starts a worker in `slot` and waits for its `ready`; rejects if it dies or fails first. */
  async #start(slot: Slot): Promise<void> {
    const worker = new Worker(WORKER_URL, { type: "module" });
    slot.worker = worker;
    slot.state = "starting";
    worker.onmessage = (event: MessageEvent<PoolResponse>) => {
      if (slot.worker === worker) this.#settle(slot, event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault(); // handled here: the pool replaces the worker
      if (slot.worker === worker) this.#died(slot, new Error(event.message || "uncaught error"));
    };
    try {
      await this.#call(slot, { type: "init", predictor: this.#wire });
      if (slot.worker !== worker) throw new Error("PredictPool: closed");
    } catch (error) {
      if (slot.worker === worker) {
        worker.terminate();
        slot.worker = null;
        slot.pending = null;
        slot.state = "down";
      }
      throw error;
    }
    slot.state = "ready";
    slot.failure = null;
  }

  /**
   * Handles the death of `slot`'s worker: terminated, its message in flight failed with a
   * {@linkcode WorkerDiedError} (a chunk goes back to the queue once), and, for a worker that
   * was ready, a replacement started (after `hold`, if given).
   */
  #died(slot: Slot, cause: Error, hold?: Promise<unknown>): void {
    const wasReady = slot.state === "ready";
    slot.worker?.terminate();
    slot.worker = null;
    slot.state = "down";
    slot.failure = cause;
    const pending = slot.pending;
    slot.pending = null;
    const what = `prediction worker ${slot.index + 1} of ${this.size}`;
    if (wasReady && !this.#closed) {
      this.#log(`${what} died (${cause.message}); starting a replacement`);
      void this.#replace(slot, hold);
    }
    pending?.reject(new WorkerDiedError(`${what} died (${cause.message})`));
  }

  /** Starts replacements in `slot` until one is ready, or gives up after a few failed starts. */
  async #replace(slot: Slot, hold?: Promise<unknown>): Promise<void> {
    await hold?.catch(() => {});
    const what = `prediction worker ${slot.index + 1} of ${this.size}`;
    for (let failed = 0; !this.#closed;) {
      this.#restarts++;
      try {
        await this.#start(slot);
      } catch (error) {
        if (this.#closed) return;
        slot.failure = error instanceof Error ? error : new Error(String(error));
        if (++failed < MAX_REPLACEMENT_STARTS) continue;
        slot.state = "failed";
        this.#log(
          `${what} could not be restarted after ${failed} tries (${slot.failure.message}); ` +
            `giving it up`,
        );
        this.#failIfNoneLeft();
        return;
      }
      this.#log(`${what} replaced`);
      this.#dispatch();
      return;
    }
  }

  /** Gives queued chunks to ready, idle workers. */
  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.state === "ready" && slot.pending === null) this.#run(slot, this.#queue.shift()!);
    }
  }

  /** Sends a chunk to a worker; a chunk whose worker dies goes back to the queue once. */
  #run(slot: Slot, task: Task): void {
    task.attempts++;
    this.#post(slot, task.request, {
      resolve: (response) => {
        if (response.type === "result") task.resolve(response.results);
        else task.reject(new Error(`PredictPool: unexpected reply ${response.type}`));
        this.#dispatch();
      },
      reject: (error) => {
        const retry = error instanceof WorkerDiedError && task.attempts < 2 && !this.#closed &&
          !task.job.failed;
        if (retry) this.#queue.unshift(task);
        else task.reject(error);
        this.#dispatch();
      },
    });
  }

  /** Throws when no worker is left and none is starting. */
  #checkAlive(): void {
    if (this.#slots.every((slot) => slot.state === "failed")) {
      const why = this.#slots[0]?.failure?.message ?? "unknown";
      throw new WorkerDiedError(`PredictPool: no prediction worker could be restarted (${why})`);
    }
  }

  /** Fails every queued chunk once no worker is left (none would ever take them). */
  #failIfNoneLeft(): void {
    try {
      this.#checkAlive();
    } catch (error) {
      for (const task of this.#queue.splice(0)) task.reject(error as Error);
    }
  }

  /** Sends a message to a worker; `pending` hears its reply or the worker's death. */
  #post(slot: Slot, request: PoolRequest, pending: NonNullable<Slot["pending"]>): void {
    if (slot.worker === null || slot.pending !== null) {
      throw new Error("PredictPool: worker not available"); // the dispatcher never does this
    }
    slot.pending = pending;
    slot.worker.postMessage(request);
  }

  /** Sends a message to a worker and waits for its reply. */
  #call(slot: Slot, request: PoolRequest): Promise<PoolResponse> {
    return new Promise((resolve, reject) => this.#post(slot, request, { resolve, reject }));
  }

  /** A worker's reply: settles its message in flight (an `error` reply rejects it). */
  #settle(slot: Slot, response: PoolResponse): void {
    const pending = slot.pending;
    slot.pending = null;
    if (!pending) return;
    if (response.type === "error") pending.reject(new Error(response.message));
    else pending.resolve(response);
  }

  /** Terminates every worker; what waits or is in flight fails. */
  #terminate(): void {
    this.#closed = true;
    const closed = new Error("PredictPool: closed");
    for (const task of this.#queue.splice(0)) task.reject(closed);
    for (const slot of this.#slots) {
      slot.worker?.terminate();
      slot.worker = null;
      if (slot.state !== "failed") slot.state = "down";
      const pending = slot.pending;
      slot.pending = null;
      pending?.reject(closed);
    }
  }
}
