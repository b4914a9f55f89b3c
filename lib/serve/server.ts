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
 * Timeouts: a request head (request line and headers) must arrive within `headerTimeoutMs` of
 * the connection's opening and hold at most `maxHeaderBytes` (408 or 431, then the connection is
 * closed), a request body within `bodyTimeoutMs` (408 beyond, for a client that stalls
 * mid-upload), and a request be answered within `timeoutMs` (504). `Deno.serve` has no header
 * timeout, so the public port is the header guard's (`_header_guard.ts`): it passes each complete
 * head on to `Deno.serve` listening on a loopback port of its own, one request per connection
 * (every response says `Connection: close`; a keep-alive client opens a new connection per
 * request, so each request's head is guarded).
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
import { type BatchReport, MicroBatcher, QueueFullError } from "./batcher.ts";
import { guardHeaders } from "./_header_guard.ts";
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
   * open to close (e.g. that of a client cut off mid-upload that keeps its socket): it closes
   * them then and resolves. Default 5,000 ms.
   */
  shutdownGraceMs?: number;
  /**
   * Time from a connection's opening to the end of its request head (request line and headers),
   * in ms: a client still sending its head then gets 408 and its connection is closed. Default
   * 10,000.
   */
  headerTimeoutMs?: number;
  /** Largest request head, in bytes (431 and the connection closed beyond). Default 65,536. */
  maxHeaderBytes?: number;
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
  headerTimeoutMs: 10_000,
  maxHeaderBytes: 65_536,
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
   * request was answered if a connection stays open (it is closed then, and `finished` follows).
   * A request whose body was still uploading gets 503 (the shutdown cuts its body off).
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

/** The longest delay a timer can wait (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks the numeric options (positive, integers where counts). */
function checkOptions(options: Required<ServeOptions>): void {
  const counts = ["maxBatchTexts", "maxBatchChars", "maxQueueTexts", "forwardRows"] as const;
  const sizes = ["maxBodyBytes", "maxTexts", "maxTextChars", "maxHeaderBytes"] as const;
  for (const name of [...counts, ...sizes]) {
    if (!Number.isSafeInteger(options[name]) || options[name] < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${options[name]}`);
    }
  }
  if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0`);
  for (const name of ["timeoutMs", "bodyTimeoutMs", "headerTimeoutMs"] as const) {
    if (!(options[name] > 0 && options[name] <= MAX_TIMER_MS)) {
      throw new RangeError(`${name} must be > 0 and at most ${MAX_TIMER_MS}, got ${options[name]}`);
    }
  }
  if (!(options.shutdownGraceMs >= 0)) throw new RangeError(`shutdownGraceMs must be >= 0`);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${options.port}`);
  }
}

/** The server's HTTP side: the guarded public listener and `Deno.serve` behind it. */
interface GuardedHttp {
  /** The public address. */
  addr: Deno.NetAddr;
  /** Resolves once `Deno.serve` has finished and every public connection has ended. */
  finished: Promise<void>;
  /**
   * Stops accepting connections, closes those still sending their request head, and resolves
   * once `Deno.serve` has answered every request in flight.
   */
  stop(): Promise<void>;
  /** Closes every connection left (after a shutdown's grace). */
  closeAll(): void;
}

/**
 * Listens on the public address (throwing as `Deno.serve` would: `AddrInUse`, `NotCapable`),
 * starts `Deno.serve` with `handler` on a free loopback port and the header guard between them.
 */
function listenGuarded(
  settings: Required<ServeOptions>,
  metrics: ServerMetrics,
  handler: (request: Request) => Promise<Response>,
): GuardedHttp {
  const listener = Deno.listen({ hostname: settings.hostname, port: settings.port });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {}, // the caller says where it listens (the public address)
      onError: (error) => {
        settings.log(`error: ${error instanceof Error ? error.stack : String(error)}`);
        return new Response(JSON.stringify({ error: INTERNAL_ERROR }), { status: 500 });
      },
    }, handler);
  } catch (error) {
    listener.close();
    throw error;
  }
  const guard = guardHeaders(listener, {
    upstream: server.addr,
    headerTimeoutMs: settings.headerTimeoutMs,
    maxHeaderBytes: settings.maxHeaderBytes,
    onRefused: (status) => metrics.refused.inc({ status: String(status) }),
    log: settings.log,
  });
  return {
    addr: listener.addr,
    finished: Promise.all([server.finished, guard.finished]).then(() => {}),
    stop: () => {
      guard.close();
      return server.shutdown();
    },
    closeAll: () => guard.closeAll(),
  };
}

/** Records each batch in the metrics, and logs a failed one (once for all its requests). */
function batchReporter(metrics: ServerMetrics, log: (message: string) => void) {
  return (report: BatchReport): void => {
    metrics.batchTexts.observe({}, report.items);
    metrics.batchRequests.observe({}, report.requests);
    metrics.batchSeconds.observe({}, report.ms / 1000);
    if (report.error === undefined) return;
    metrics.batchFailures.inc();
    const { error } = report;
    // A worker's death is reported by the pool; its stack would say nothing more.
    const detail = error instanceof WorkerDiedError
      ? error.message
      : error instanceof Error
      ? error.stack ?? error.message
      : String(error);
    log(`error: tagging a batch of ${report.items} texts failed: ${detail}`);
  };
}

/** What `GET /health` says: unhealthy while shutting down or while the pool cannot tag. */
function healthOf(pool: PredictPool | null, stopping: boolean): HealthReport {
  if (stopping) return { status: "unhealthy", reason: "the server is shutting down" };
  const state = pool?.health();
  if (state === undefined || state.healthy) return { status: "ok" };
  return {
    status: "unhealthy",
    reason: state.reason ?? "the prediction pool cannot tag",
    workers: { total: state.workers, ready: state.ready },
  };
}

/**
 * Tags a request's texts through the micro-batcher: a full queue and the request's timeout pass
 * through, a dead worker is a 503 (retry), any other failure a 500 (logged once for the batch).
 */
async function submitTexts(
  batcher: MicroBatcher<string, TextPrediction>,
  texts: string[],
  signal: AbortSignal,
): Promise<TextPrediction[]> {
  try {
    return await batcher.submit(texts, signal);
  } catch (error) {
    if (error instanceof QueueFullError || error === signal.reason) throw error;
    if (error instanceof WorkerDiedError) {
      throw new HttpError(503, "a prediction worker failed while tagging this request; retry", {
        "retry-after": "1",
      });
    }
    throw new HttpError(500, INTERNAL_ERROR);
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
    onBatch: batchReporter(metrics, settings.log),
  });
  metrics.queued.collect(() => batcher.queuedItems);
  const pool = model.predictor instanceof PredictPool ? model.predictor : null;
  metrics.workerRestarts.collect(() => pool?.restarts ?? 0);
  metrics.workersReady.collect(() => pool?.health().ready ?? 0);
  let stopping = false;
  const handler = createHandler({
    tag: (texts, signal) => submitTexts(batcher, texts, signal),
    model: model.info,
    page: () => pageHtml(pageModelOf(model.info)),
    metrics,
    limits: settings,
    cors: settings.cors,
    log: settings.log,
    health: () => healthOf(pool, stopping),
    stopping: () => stopping,
  });
  // Requests being handled, and what to call once none is (during a shutdown).
  let active = 0;
  let onIdle: (() => void) | undefined;
  const counted = async (request: Request): Promise<Response> => {
    active++;
    try {
      const response = await handler(request);
      // Deno.serve says `connection: close` itself: the guard asked for it on every request.
      response.headers.delete("connection");
      return response;
    } finally {
      if (--active === 0) onIdle?.();
    }
  };
  const http = listenGuarded(settings, metrics, counted);
  let shutdown: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    const finished = Promise.all([http.stop(), batcher.drain()]).then(() => http.finished);
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
      const ended = await Promise.race([finished.then(() => true), lingering.then(() => false)]);
      // Every request has been answered: the connections still open are closed.
      if (!ended) http.closeAll();
    } finally {
      done = true;
      clearTimeout(timer);
      onIdle = undefined;
    }
  };
  const { hostname, port } = http.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}/`,
    hostname,
    port,
    metrics,
    batcher,
    finished: http.finished,
    shutdown: () => shutdown ??= stop(),
  };
}
