/**
 * The server's routes and the request handler around them: method checks (405 with `Allow`),
 * unknown paths (404), `HEAD` and `OPTIONS` (a CORS preflight when CORS is on), CORS headers,
 * metrics for every response, and errors turned into JSON (a stack trace goes to the log, never
 * to the client). `HEAD` answers the headers of `GET`, `Content-Length` included, without the body.
 *
 * `GET /health` answers 503 while the server cannot tag as it should: a prediction worker died
 * and its replacement is starting (or would not start), or the server is shutting down.
 *
 * | route             | answers                                                           |
 * | ----------------- | ----------------------------------------------------------------- |
 * | `GET /`           | the page to try the tagger (`page.ts`)                            |
 * | `GET /page.js`    | the page's script (`page/_bundle.ts`, built from `page/*.ts`)     |
 * | `GET /health`     | `{"status": "ok"}`, or 503 `{"status": "unhealthy", "reason"}`    |
 * | `GET /v1/model`   | the model's types, scheme, configs and scores (`model_info.ts`)   |
 * | `GET /metrics`    | Prometheus text format (`metrics.ts`)                             |
 * | `POST /v1/ner`    | `{"documents": [{"tokens", "entities"}]}` (`ner_request.ts`)      |
 *
 * @module
 */
import type { TextPrediction } from "../predict/predict_text.ts";
import { QueueFullError } from "./batcher.ts";
import {
  BodyReadError,
  errorResponse,
  HttpError,
  INTERNAL_ERROR,
  jsonResponse,
  readJsonBody,
} from "./http.ts";
import { PROMETHEUS_CONTENT_TYPE, type ServerMetrics } from "./metrics.ts";
import type { ModelInfo } from "./model_info.ts";
import { type NerResponse, parseNerRequest, withOffsets } from "./ner_request.ts";
import { PAGE_SCRIPT, PAGE_SECURITY_HEADERS } from "./page.ts";

/** The request limits the handler enforces. */
export interface RequestLimits {
  /** Largest request body, in bytes (413 beyond). */
  maxBodyBytes: number;
  /** Most texts per request (413 beyond). */
  maxTexts: number;
  /** Most characters (UTF-16 code units) per text (413 beyond). */
  maxTextChars: number;
  /** Time a request may take, from arrival to answer (504 beyond). */
  timeoutMs: number;
  /** Time a request body may take to arrive once its headers have (408 beyond). */
  bodyTimeoutMs: number;
}

/** What `GET /health` answers: 200 and `{"status": "ok"}`, or 503 and why not. */
export type HealthReport =
  | { status: "ok" }
  | {
    status: "unhealthy";
    /** What is wrong, e.g. which prediction worker died and that a replacement is starting. */
    reason: string;
    /** The prediction workers, when tagging on a pool: in all, and ready. */
    workers?: { total: number; ready: number };
  };

/** What the handler works with. */
export interface HandlerContext {
  /** Tags texts (through the micro-batcher), offsets in UTF-16 code units. */
  tag: (texts: string[], signal: AbortSignal) => Promise<TextPrediction[]>;
  /** The body of `GET /v1/model`. */
  model: ModelInfo;
  /** The page of `GET /`. */
  page: () => string;
  /** Where responses are counted. */
  metrics: ServerMetrics;
  /** Request limits. */
  limits: RequestLimits;
  /** The origin allowed by CORS (`Access-Control-Allow-Origin`), or null for no CORS. */
  cors: string | null;
  /** Where errors are logged (stderr in the CLI). */
  log: (message: string) => void;
  /** Whether the server can tag now (`GET /health`). */
  health: () => HealthReport;
  /** Whether the server is shutting down (a body cut off by the shutdown gets 503). */
  stopping: () => boolean;
}

/** A route's answer to one method. */
type Action = (request: Request, context: HandlerContext) => Promise<Response> | Response;

/** The routes: path → method → action. */
const ROUTES: Readonly<Record<string, Readonly<Record<string, Action>>>> = {
  "/": {
    GET: (_, { page }) =>
      new Response(page(), {
        headers: { ...PAGE_SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" },
      }),
  },
  "/page.js": {
    GET: () =>
      new Response(PAGE_SCRIPT, {
        headers: {
          ...PAGE_SECURITY_HEADERS,
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "no-cache",
        },
      }),
  },
  "/health": {
    GET: (_, { health }) => {
      const report = health();
      return report.status === "ok"
        ? jsonResponse(report, 200, { "cache-control": "no-store" })
        : jsonResponse(report, 503, { "cache-control": "no-store", "retry-after": "1" });
    },
  },
  "/v1/model": { GET: (_, { model }) => jsonResponse(model) },
  "/metrics": {
    GET: (_, { metrics }) =>
      new Response(metrics.registry.render(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      }),
  },
  "/v1/ner": { POST: tagRequest },
};

/** Methods counted by name in the metrics (others as `other`, so labels stay few). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The methods a route answers, as an `Allow` header lists them. */
function allowed(route: Readonly<Record<string, Action>>): string {
  const methods = Object.keys(route);
  if (methods.includes("GET")) methods.push("HEAD");
  return [...methods, "OPTIONS"].join(", ");
}

/** Settles with `promise`, or rejects with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** `POST /v1/ner`: reads and checks the body, tags the texts, answers in the asked offsets. */
async function tagRequest(request: Request, context: HandlerContext): Promise<Response> {
  const { limits } = context;
  // The timeout alone ends a request early (`request.signal` also aborts on every successful
  // response in Deno.serve, so it cannot tell a client that left from one that was answered).
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("request timed out", "TimeoutError")),
    limits.timeoutMs,
  );
  const signal = controller.signal;
  try {
    const reading = readJsonBody(request, limits.maxBodyBytes, { timeoutMs: limits.bodyTimeoutMs });
    const body = await abortable(reading, signal);
    const { texts, offsets } = parseNerRequest(body, limits);
    const predictions = await context.tag(texts, signal);
    const documents = predictions.map((prediction, i) =>
      withOffsets(texts[i], prediction, offsets)
    );
    return jsonResponse({ documents } satisfies NerResponse);
  } catch (error) {
    if (signal.aborted && error === signal.reason) {
      throw new HttpError(504, `the request took longer than ${limits.timeoutMs} ms`);
    }
    if (error instanceof QueueFullError) {
      throw new HttpError(503, error.message, { "retry-after": "1" });
    }
    if (error instanceof BodyReadError && context.stopping()) {
      // The shutdown closed the connection's body mid-upload: nothing more of it can be read.
      throw new HttpError(503, "the server is shutting down; send the request again", {
        connection: "close",
        "retry-after": "1",
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Answers an `OPTIONS` request: `Allow`, and the CORS preflight headers when CORS is on. */
function options(request: Request, allow: string, cors: string | null): Response {
  const headers: Record<string, string> = { allow };
  if (cors !== null) {
    headers["access-control-allow-methods"] = allow;
    headers["access-control-allow-headers"] =
      request.headers.get("access-control-request-headers") ?? "content-type";
    headers["access-control-max-age"] = "600";
  }
  return new Response(null, { status: 204, headers });
}

/** Finds and runs the action for a request; throws {@linkcode HttpError}s for 404 and 405. */
async function dispatch(
  request: Request,
  path: string,
  context: HandlerContext,
): Promise<Response> {
  const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  if (route === undefined) throw new HttpError(404, `no route ${path}`);
  const allow = allowed(route);
  if (request.method === "OPTIONS") return options(request, allow, context.cors);
  const head = request.method === "HEAD" && route.GET !== undefined;
  const action = head
    ? route.GET
    : Object.hasOwn(route, request.method)
    ? route[request.method]
    : undefined;
  if (action === undefined) {
    throw new HttpError(405, `${request.method} is not allowed on ${path} (allowed: ${allow})`, {
      allow,
    });
  }
  const response = await action(request, context);
  if (!head) return response;
  // The headers of GET, its body's length included, and no body.
  const length = response.body === null ? 0 : (await response.arrayBuffer()).byteLength;
  const headers = new Headers(response.headers);
  headers.set("content-length", String(length));
  return new Response(null, { status: response.status, headers });
}

/** The response for anything a route threw: its own status, or a logged 500. */
function failure(error: unknown, request: Request, path: string, context: HandlerContext) {
  if (error instanceof HttpError) return errorResponse(error);
  const detail = error instanceof Error ? error.stack ?? error.message : String(error);
  context.log(`error: ${request.method} ${path}: ${detail}`);
  return errorResponse(new HttpError(500, INTERNAL_ERROR));
}

/**
 * Creates the request handler for `Deno.serve`.
 *
 * @param context the tagger, model description, page, metrics, limits, CORS origin and log
 * @returns the handler: never throws, always answers (JSON for errors)
 */
export function createHandler(context: HandlerContext): (request: Request) => Promise<Response> {
  const { metrics } = context;
  return async (request) => {
    const started = performance.now();
    const path = new URL(request.url).pathname;
    const routeLabel = Object.hasOwn(ROUTES, path) ? path : "other";
    metrics.inFlight.inc();
    let response: Response;
    try {
      response = await dispatch(request, path, context);
    } catch (error) {
      response = failure(error, request, path, context);
    } finally {
      metrics.inFlight.inc({}, -1);
    }
    if (context.cors !== null) {
      response.headers.set("access-control-allow-origin", context.cors);
      response.headers.append("vary", "Origin");
    }
    const status = String(response.status);
    const method = KNOWN_METHODS.has(request.method) ? request.method : "other";
    metrics.requests.inc({ route: routeLabel, method, status });
    if (response.status >= 400) metrics.errors.inc({ route: routeLabel, status });
    metrics.latency.observe({ route: routeLabel }, (performance.now() - started) / 1000);
    return response;
  };
}
