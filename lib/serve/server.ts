/**
 * Starts the tagging server: `Deno.serve` with the routes of `routes.ts`, a micro-batcher in
 * front of the tagger, the metrics, and a graceful shutdown (stop accepting, finish every request
 * in flight, queued texts tagged at once).
 *
 * Served with a loaded model, each micro-batch is tagged on the server's own thread, which blocks
 * its event loop for the pass. Served with a {@linkcode PredictPool} over the model, each
 * micro-batch is split over the pool's workers: every core tags, and the event loop stays free to
 * read and answer requests meanwhile (`deno task serve` does this, `--workers`). The results are
 * the same either way; the caller closes the pool after {@linkcode NerServer.shutdown}.
 *
 * The server heals with its pool: a worker that dies is replaced and the chunk it held tagged
 * again (lib/predict/pool.ts); meanwhile `GET /health` answers 503 naming the worker, and
 * `ner_pool_worker_restarts_total` counts the replacements. A request whose batch lost its chunk
 * twice gets 503 (retry), no other request fails.
 *
 * Timeouts: a request body must arrive within `bodyTimeoutMs` (408 beyond, for a client that
 * stalls mid-upload) and a request be answered within `timeoutMs` (504). `Deno.serve` has no
 * option for the time a client may take to send its request headers, so a connection that never
 * completes them is not closed by this server: put a reverse proxy with a header timeout (e.g.
 * nginx's `client_header_timeout`) in front of a server open to untrusted clients.
 *
 * A shutdown stops accepting connections and answers every request in flight; one whose body is
 * still uploading (the shutdown cuts it off) gets 503 and `{"error"}`, a request that was read
 * is tagged and answered.
 *
 * @example
 * ```ts
 * import { loadModelFolder, projectPath } from "../io/mod.ts";
 * import { describeModel, startServer } from "./mod.ts";
 * const loaded = await loadModelFolder(projectPath("data/model"));
 * const server = startServer({ predictor: loaded, info: await describeModel(loaded) }, { port: 0 });
 * const response = await fetch(`${server.url}v1/ner`, {
 *   method: "POST",
 *   body: JSON.stringify({ text: "Angela Merkel visited Paris." }),
 * });
 * console.log((await response.json()).documents[0].entities);
 * await server.shutdown();
 * ```
 *
 * @module
 */
import type { Predictor } from "../model/mapped.ts";
import { PredictPool, WorkerDiedError } from "../predict/pool.ts";
import { predictTexts, type TextPrediction } from "../predict/predict_text.ts";
import { MicroBatcher, QueueFullError } from "./batcher.ts";
import { HttpError, INTERNAL_ERROR } from "./http.ts";
import { createServerMetrics, type ServerMetrics } from "./metrics.ts";
import type { ModelInfo } from "./model_info.ts";
import { pageHtml, pageModelOf } from "./page.ts";
import { createHandler, type HealthReport, type RequestLimits } from "./routes.ts";

/** Tags texts, offsets in UTF-16 code units: a stand-in for a model (e.g. in tests). */
export type TextTagger = (texts: string[]) => TextPrediction[] | Promise<TextPrediction[]>;

/** The model a server serves. */
export interface ServedModel {
  /**
   * A loaded model (one tagger or an ensemble), a prediction pool over one (micro-batches are
   * tagged on its workers), or a function that tags texts.
   */
  predictor: Predictor | PredictPool | TextTagger;
  /** What `GET /v1/model` says about it (see `describeModel`). */
  info: ModelInfo;
}

/** Options of {@linkcode startServer}; every field has a default. */
export interface ServeOptions extends Partial<RequestLimits> {
  /** The address to listen on. Default `127.0.0.1` (loopback only). */
  hostname?: string;
  /** The port; 0 picks a free one. Default 8000. */
  port?: number;
  /** The origin CORS allows (e.g. `https://example.org` or `*`); default null: no CORS. */
  cors?: string | null;
  /** Most texts per forward pass (micro-batch). Default 64. */
  maxBatchTexts?: number;
  /** Most characters per forward pass (a longer text goes alone). Default 32,768. */
  maxBatchChars?: number;
  /** How long the first queued text waits for others. Default 5 ms. */
  maxWaitMs?: number;
  /** Most texts waiting for a batch; a request beyond it gets 503. Default 10,000. */
  maxQueueTexts?: number;
  /** Sentence windows per tagger call inside a batch (bounds memory). Default 64. */
  forwardRows?: number;
  /**
   * How long a shutdown waits, once every request has been answered, for the connections left
   * open to close (e.g. that of a client cut off mid-upload that keeps its socket): it resolves
   * then and leaves them (`Deno.serve` cannot close a connection once shutting down; the CLI
   * exits, which does). Default 5,000 ms.
   */
  shutdownGraceMs?: number;
  /** Where errors are logged. Default `console.error`. */
  log?: (message: string) => void;
}

/** The defaults of {@linkcode ServeOptions}. */
export const DEFAULT_SERVE_OPTIONS: Readonly<Required<ServeOptions>> = {
  hostname: "127.0.0.1",
  port: 8000,
  cors: null,
  maxBatchTexts: 64,
  maxBatchChars: 32_768,
  maxWaitMs: 5,
  maxQueueTexts: 10_000,
  forwardRows: 64,
  maxBodyBytes: 1_048_576,
  maxTexts: 1000,
  maxTextChars: 100_000,
  timeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  shutdownGraceMs: 5_000,
  log: (message) => console.error(message),
};

/** A running server. */
export interface NerServer {
  /** Its base URL, e.g. `http://127.0.0.1:8000/`. */
  readonly url: string;
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on (the one chosen when 0 was asked). */
  readonly port: number;
  /** Its metrics. */
  readonly metrics: ServerMetrics;
  /** Its micro-batcher (e.g. `queuedItems`). */
  readonly batcher: MicroBatcher<string, TextPrediction>;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
  /**
   * Stops accepting connections, tags queued texts at once, and resolves once every request in
   * flight has been answered and the server has finished, or `shutdownGraceMs` after the last
   * request was answered if a connection stays open (then `finished` may stay pending). A request
   * whose body was still uploading gets 503 (the shutdown cuts its body off).
   */
  shutdown(): Promise<void>;
}

/** The tagging function of a served model, counting what it tags. */
function tagger(model: ServedModel, options: Required<ServeOptions>, metrics: ServerMetrics) {
  const predictor = model.predictor;
  const batchSize = options.forwardRows;
  const tag: TextTagger = typeof predictor === "function"
    ? predictor
    : predictor instanceof PredictPool
    ? (texts) => predictor.predictTexts(texts, { batchSize })
    : (texts) => predictTexts(predictor, texts, { batchSize });
  return async (texts: string[]): Promise<TextPrediction[]> => {
    const predictions = await tag(texts);
    metrics.texts.inc({}, texts.length);
    for (const { tokens, entities } of predictions) {
      metrics.tokens.inc({}, tokens.length);
      metrics.entities.inc({}, entities.length);
    }
    return predictions;
  };
}

/** Checks the numeric options (positive, integers where counts). */
function checkOptions(options: Required<ServeOptions>): void {
  const counts = ["maxBatchTexts", "maxBatchChars", "maxQueueTexts", "forwardRows"] as const;
  for (const name of [...counts, "maxBodyBytes", "maxTexts", "maxTextChars"] as const) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${options[name]}`);
    }
  }
  if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0`);
  if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0`);
  if (!(options.bodyTimeoutMs > 0)) throw new RangeError(`bodyTimeoutMs must be > 0`);
  if (!(options.shutdownGraceMs >= 0)) throw new RangeError(`shutdownGraceMs must be >= 0`);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${options.port}`);
  }
}

/**
 * Starts serving a model (see the module documentation and `routes.ts` for the API).
 *
 * @param model the model and its description
 * @param options address, port, CORS, batching and request limits
 * @returns the running server
 * @throws {Deno.errors.AddrInUse} when the port is taken; `NotCapable` without net permission
 */
export function startServer(model: ServedModel, options: ServeOptions = {}): NerServer {
  const settings = { ...DEFAULT_SERVE_OPTIONS, ...options } as Required<ServeOptions>;
  checkOptions(settings);
  const metrics = createServerMetrics();
  const batcher = new MicroBatcher<string, TextPrediction>(tagger(model, settings, metrics), {
    maxBatchItems: settings.maxBatchTexts,
    maxBatchWeight: settings.maxBatchChars,
    weigh: (text) => text.length,
    maxWaitMs: settings.maxWaitMs,
    maxQueueItems: settings.maxQueueTexts,
    onBatch: (report) => {
      metrics.batchTexts.observe({}, report.items);
      metrics.batchRequests.observe({}, report.requests);
      metrics.batchSeconds.observe({}, report.ms / 1000);
      if (report.error !== undefined) {
        metrics.batchFailures.inc();
        const { error } = report;
        // A worker's death is reported by the pool; its stack would say nothing more.
        const detail = error instanceof WorkerDiedError
          ? error.message
          : error instanceof Error
          ? error.stack ?? error.message
          : String(error);
        settings.log(`error: tagging a batch of ${report.items} texts failed: ${detail}`);
      }
    },
  });
  metrics.queued.collect(() => batcher.queuedItems);
  const pool = model.predictor instanceof PredictPool ? model.predictor : null;
  metrics.workerRestarts.collect(() => pool?.restarts ?? 0);
  metrics.workersReady.collect(() => pool?.health().ready ?? 0);
  let stopping = false;
  const health = (): HealthReport => {
    if (stopping) {
      return { status: "unhealthy", reason: "the server is shutting down" };
    }
    const state = pool?.health();
    if (state === undefined || state.healthy) return { status: "ok" };
    return {
      status: "unhealthy",
      reason: state.reason ?? "the prediction pool cannot tag",
      workers: { total: state.workers, ready: state.ready },
    };
  };
  const handler = createHandler({
    tag: async (texts, signal) => {
      try {
        return await batcher.submit(texts, signal);
      } catch (error) {
        if (error instanceof QueueFullError || error === signal.reason) throw error;
        if (error instanceof WorkerDiedError) {
          throw new HttpError(503, "a prediction worker failed while tagging this request; retry", {
            "retry-after": "1",
          });
        }
        // A failed batch was logged once (above) for all its requests.
        throw new HttpError(500, INTERNAL_ERROR);
      }
    },
    model: model.info,
    page: () => pageHtml(pageModelOf(model.info)),
    metrics,
    limits: settings,
    cors: settings.cors,
    log: settings.log,
    health,
    stopping: () => stopping,
  });
  // Requests being handled, and what to call once none is (during a shutdown).
  let active = 0;
  let onIdle: (() => void) | undefined;
  const counted = async (request: Request): Promise<Response> => {
    active++;
    try {
      return await handler(request);
    } finally {
      if (--active === 0) onIdle?.();
    }
  };
  const server = Deno.serve({
    hostname: settings.hostname,
    port: settings.port,
    onListen: () => {}, // the caller says where it listens
    onError: (error) => {
      settings.log(`error: ${error instanceof Error ? error.stack : String(error)}`);
      return new Response(JSON.stringify({ error: INTERNAL_ERROR }), { status: 500 });
    },
  }, counted);
  let shutdown: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    const finished = Promise.all([server.shutdown(), batcher.drain()]).then(() => server.finished);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const lingering = new Promise<void>((resolve) => {
      const grace = () => {
        onIdle = undefined;
        if (!done) timer = setTimeout(resolve, settings.shutdownGraceMs);
      };
      if (active === 0) grace();
      else onIdle = grace;
    });
    try {
      await Promise.race([finished, lingering]);
    } finally {
      done = true;
      clearTimeout(timer);
      onIdle = undefined;
    }
  };
  const { hostname, port } = server.addr as Deno.NetAddr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}/`,
    hostname,
    port,
    metrics,
    batcher,
    finished: server.finished,
    shutdown: () => shutdown ??= stop(),
  };
}
