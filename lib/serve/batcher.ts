/**
 * Micro-batching: requests that arrive within a few milliseconds of each other share one call of
 * a batch function (for the server, one `predictTexts` call, so one forward pass per member).
 *
 * Each request submits a list of items (texts). Items wait in one first-in, first-out queue; a
 * batch is taken from its front when the oldest queued item has waited `maxWaitMs`, or at once
 * when the queue holds a full batch (`maxBatchItems` items, or `maxBatchWeight` of weight, e.g.
 * characters). A request's items stay in order and may be spread over consecutive batches, so a
 * large request cannot hold the batch function for longer than one batch at a time; a request
 * resolves with its results, in its order, when its last item is done. One batch runs at a time.
 *
 * A batch that throws fails the requests with items in it (their other items are dropped from
 * the queue) and no others. A request whose `AbortSignal` fires (a timeout) is rejected with the
 * signal's reason and its queued items are removed; items already in a running batch finish
 * there and are ignored. A full queue rejects a request at once with {@linkcode QueueFullError}.
 *
 * The batch function may be synchronous (the tagger is: it blocks the event loop while it runs,
 * so requests that arrive meanwhile are queued when it returns and go into the next batch).
 *
 * @example
 * ```ts
 * import { MicroBatcher } from "./batcher.ts";
 * const calls: number[][] = [];
 * const batcher = new MicroBatcher((items: number[]) => {
 *   calls.push(items);
 *   return items.map((x) => x * 2);
 * }, { maxWaitMs: 5 });
 * const results = await Promise.all([batcher.submit([1, 2]), batcher.submit([3])]);
 * console.log(results, calls); // [[2, 4], [6]] [[1, 2, 3]]
 * ```
 *
 * @module
 */

/** A batch function: one result per item, in order (synchronous or not). */
export type BatchFunction<I, O> = (items: I[]) => O[] | Promise<O[]>;

/** What {@linkcode BatcherOptions.onBatch} hears after each batch. */
export interface BatchReport {
  /** Items in the batch. */
  items: number;
  /** Their total weight. */
  weight: number;
  /** Requests with items in the batch. */
  requests: number;
  /** Milliseconds the batch function took. */
  ms: number;
  /** What it threw, if it failed. */
  error?: unknown;
}

/** Options of {@linkcode MicroBatcher}. */
export interface BatcherOptions<I> {
  /** Most items per batch. Default 64. */
  maxBatchItems?: number;
  /** Most weight per batch (an item heavier than this goes alone). Default unbounded. */
  maxBatchWeight?: number;
  /** An item's weight (e.g. a text's length). Default 1 per item. */
  weigh?: (item: I) => number;
  /** How long the oldest queued item waits for others before its batch runs. Default 5 ms. */
  maxWaitMs?: number;
  /** Most items queued (not yet in a batch); a request beyond it is refused. Default unbounded. */
  maxQueueItems?: number;
  /** Called after every batch (e.g. for metrics). */
  onBatch?: (report: BatchReport) => void;
}

/** Thrown by {@linkcode MicroBatcher.submit} when the queue has no room for a request's items. */
export class QueueFullError extends Error {
  /**
   * Makes the error.
   *
   * @param queued the items queued when the request came
   */
  constructor(readonly queued: number) {
    super(`server busy: ${queued} texts queued; retry later`);
    this.name = "QueueFullError";
  }
}

/** A submitted request: its results so far and how to settle it. */
interface Job<O> {
  results: O[];
  remaining: number;
  settled: boolean;
  resolve: (results: O[]) => void;
  reject: (reason: unknown) => void;
}

/** One queued item. */
interface Entry<I, O> {
  item: I;
  weight: number;
  job: Job<O>;
  index: number;
  enqueuedAt: number;
}

/** Collects items from concurrent requests into batches; see the module documentation. */
export class MicroBatcher<I, O> {
  readonly #run: BatchFunction<I, O>;
  readonly #maxItems: number;
  readonly #maxWeight: number;
  readonly #weigh: (item: I) => number;
  readonly #maxWaitMs: number;
  readonly #maxQueue: number;
  readonly #onBatch?: (report: BatchReport) => void;
  #queue: Entry<I, O>[] = [];
  #queuedWeight = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #idle: (() => void)[] = [];

  /**
   * Makes a batcher; nothing runs until items are submitted.
   *
   * @param run the batch function
   * @param options batch bounds, wait, queue bound, a report callback
   */
  constructor(run: BatchFunction<I, O>, options: BatcherOptions<I> = {}) {
    this.#run = run;
    this.#maxItems = positive("maxBatchItems", options.maxBatchItems ?? 64);
    this.#maxWeight = positive("maxBatchWeight", options.maxBatchWeight ?? Infinity);
    this.#weigh = options.weigh ?? (() => 1);
    this.#maxWaitMs = options.maxWaitMs ?? 5;
    if (!(this.#maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0`);
    this.#maxQueue = positive("maxQueueItems", options.maxQueueItems ?? Infinity);
    this.#onBatch = options.onBatch;
  }

  /** Items queued and not yet in a batch. */
  get queuedItems(): number {
    return this.#queue.length;
  }

  /** Whether a batch is running now. */
  get busy(): boolean {
    return this.#running;
  }

  /**
   * Queues a request's items.
   *
   * @param items the items (none: resolves at once with `[]`)
   * @param signal aborts the request: its queued items are dropped, the promise rejects with
   *   the signal's reason
   * @returns the results, one per item, in order
   * @throws {QueueFullError} (as a rejection) when the queue has no room for the items
   */
  submit(items: readonly I[], signal?: AbortSignal): Promise<O[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (items.length === 0) return Promise.resolve([]);
    if (this.#queue.length > 0 && this.#queue.length + items.length > this.#maxQueue) {
      return Promise.reject(new QueueFullError(this.#queue.length));
    }
    const { promise, resolve, reject } = Promise.withResolvers<O[]>();
    const job: Job<O> = {
      results: new Array(items.length),
      remaining: items.length,
      settled: false,
      resolve,
      reject,
    };
    const now = performance.now();
    items.forEach((item, index) => {
      const weight = this.#weigh(item);
      this.#queue.push({ item, weight, job, index, enqueuedAt: now });
      this.#queuedWeight += weight;
    });
    if (signal) {
      const onAbort = () => this.#fail(job, signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    this.#schedule();
    return promise;
  }

  /**
   * Runs every queued item now (no waiting) and resolves once no batch runs and nothing is
   * queued: for a graceful shutdown.
   */
  async drain(): Promise<void> {
    while (this.#running || this.#queue.length > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#idle.push(resolve);
      this.#schedule(true);
      await promise;
    }
  }

  /** Rejects a job and drops its queued items. */
  #fail(job: Job<O>, reason: unknown): void {
    if (job.settled) return;
    job.settled = true;
    const kept = this.#queue.filter((entry) => entry.job !== job);
    this.#queuedWeight = kept.reduce((sum, entry) => sum + entry.weight, 0);
    this.#queue = kept;
    job.reject(reason);
  }

  /** Whether the queue holds a full batch. */
  #full(): boolean {
    return this.#queue.length >= this.#maxItems || this.#queuedWeight >= this.#maxWeight;
  }

  /** Sets the timer for the next batch (at once when full, draining or overdue). */
  #schedule(now = false): void {
    if (this.#running) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) {
      this.#idle.splice(0).forEach((resolve) => resolve());
      return;
    }
    const waited = performance.now() - this.#queue[0].enqueuedAt;
    const delay = now || this.#idle.length > 0 || this.#full()
      ? 0
      : Math.max(0, this.#maxWaitMs - waited);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#runBatch();
    }, delay);
  }

  /** Takes a batch from the front of the queue: whole items up to the bounds, at least one. */
  #take(): Entry<I, O>[] {
    let count = 0;
    let weight = 0;
    while (count < this.#queue.length && count < this.#maxItems) {
      const next = this.#queue[count].weight;
      if (count > 0 && weight + next > this.#maxWeight) break;
      weight += next;
      count++;
    }
    this.#queuedWeight -= weight;
    return this.#queue.splice(0, count);
  }

  /** Runs one batch, hands out its results, and schedules the next. */
  async #runBatch(): Promise<void> {
    if (this.#running || this.#queue.length === 0) return this.#schedule();
    this.#running = true;
    const batch = this.#take();
    const jobs = new Set(batch.map((entry) => entry.job));
    const weight = batch.reduce((sum, entry) => sum + entry.weight, 0);
    const started = performance.now();
    let error: unknown;
    try {
      const results = await this.#run(batch.map((entry) => entry.item));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new Error(
          `batch function returned ${Array.isArray(results) ? results.length : "no"} results ` +
            `for ${batch.length} items`,
        );
      }
      batch.forEach(({ job, index }, i) => {
        if (job.settled) return;
        job.results[index] = results[i];
        if (--job.remaining === 0) {
          job.settled = true;
          job.resolve(job.results);
        }
      });
    } catch (caught) {
      error = caught;
      for (const job of jobs) this.#fail(job, caught);
    } finally {
      this.#running = false;
    }
    const ms = performance.now() - started;
    this.#onBatch?.({ items: batch.length, weight, requests: jobs.size, ms, error });
    this.#schedule();
  }
}

/** Checks a bound: a number > 0 (Infinity allowed). */
function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}
