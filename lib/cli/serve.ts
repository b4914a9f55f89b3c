/**
 * `deno task serve [--model DIR] [--port 8000] [--host 127.0.0.1] [--cors ORIGIN] [options]`:
 * serves the tagger over HTTP (see `lib/serve/`), on loopback unless told otherwise.
 *
 * - `POST /v1/ner` with `{"texts": ["…", …]}` or `{"text": "…"}` (and optionally
 *   `"offsets": "utf16" | "codepoints"`) answers `{"documents": [{"tokens": […], "entities":
 *   [{"text", "type", "start", "end", "score"}]}]}`, the shapes of `deno task predict --json`.
 *   Offsets count UTF-16 code units (JavaScript string indices) unless the request asks for
 *   `"codepoints"` (Python string indices). Requests arriving within `--max-wait-ms` of each
 *   other share one forward pass (at most `--max-batch` texts).
 * - `GET /` a page to try it, `GET /health`, `GET /v1/model`, `GET /metrics` (Prometheus).
 * - Limits: `--max-body` (413), `--max-texts` and `--max-text-chars` per request (413),
 *   `--timeout-ms` per request (504), `--body-timeout-ms` for a request body to arrive (408, for
 *   a client that stalls mid-upload), `--header-timeout-ms` for a request's head (request line
 *   and headers) to arrive from the connection's opening (408, then the connection is closed; a
 *   head over 64 KiB gets 431); malformed JSON or a wrong shape gets 400 naming the field. Every
 *   response closes its connection (`Connection: close`), so each request's head is timed.
 *
 * Texts are tagged on a prediction pool, one worker per core (`--workers N|auto`, default auto;
 * `--workers 1` tags on the server's own thread), so every core tags and the event loop stays free
 * for requests while a micro-batch is tagged. A worker that dies is replaced (its chunk tagged
 * again); `GET /health` answers 503 until the replacement is ready.
 *
 * The URL is printed on stdout once the server listens (`--port 0` picks a free port), the
 * model, backend, workers and process id on stderr. SIGINT or
 * SIGTERM stops accepting connections, finishes the requests in flight (one still uploading its
 * body gets 503) and exits 0; another
 * signal a second or more later exits at once (1).
 *
 * The task may listen on loopback only (`--allow-net=127.0.0.1,[::1],localhost`). To listen on
 * another address run the script with that permission and 127.0.0.1 (the header guard passes
 * each request to the HTTP server on a loopback port), e.g.
 * `deno run --allow-net=0.0.0.0,127.0.0.1 --allow-read lib/cli/serve.ts --host 0.0.0.0`.
 *
 * Exit codes: 0 stopped by a signal, 1 runtime error (no model, port in use), 2 usage error.
 *
 * @module
 */
// Registers the custom FastBiLSTM layer class so saved BiLSTM models load.
import type { CheckpointChoice } from "../io/model_folder.ts";
import "../model/bilstm/mod.ts";
import { type BackendName, describeBackend } from "../backend/backend.ts";
import type { LoadedModel } from "../io/ensemble_folder.ts";
import { poolForJob, type PredictPool } from "../predict/pool.ts";
import { predictTexts } from "../predict/predict_text.ts";
import { describeModel } from "../serve/model_info.ts";
import {
  DEFAULT_SERVE_OPTIONS,
  MAX_TIMER_MS,
  type NerServer,
  type ServedModel,
  type ServeOptions,
  startServer,
} from "../serve/server.ts";
import {
  BACKEND_FLAG,
  CHECKPOINT_FLAG,
  formatUsage,
  HELP_FLAG,
  parseBackend,
  parseCheckpoint,
  parseFlags,
  parseInteger,
  parsePositiveInteger,
  parseThreads,
  parseWorkers,
  runCommand,
  THREADS_FLAG,
  UsageError,
  WORKERS_FLAG,
} from "./_args.ts";
import { loadModelForCli } from "./predict.ts";
import { SHIPPED_MODEL } from "../io/runs.ts";

const D = DEFAULT_SERVE_OPTIONS;

/** Where the HTTP server behind the header guard listens (lib/serve/_header_guard.ts). */
const INNER_HOST = "127.0.0.1";

const FLAGS = {
  model: {
    type: "string",
    value: "DIR",
    help: "model folder or run folder (default the shipped data/model)",
  },
  port: { type: "string", default: String(D.port), value: "N", help: "port (0: any free port)" },
  host: {
    type: "string",
    default: D.hostname,
    value: "ADDR",
    help: `address to listen on (default ${D.hostname}: this machine only)`,
  },
  cors: {
    type: "string",
    value: "ORIGIN",
    help: "allow browser pages from ORIGIN (or *) to call the API (default: no CORS)",
  },
  "max-batch": {
    type: "string",
    default: String(D.maxBatchTexts),
    value: "N",
    help: `most texts per forward pass shared by concurrent requests (default ${D.maxBatchTexts})`,
  },
  "max-wait-ms": {
    type: "string",
    default: String(D.maxWaitMs),
    value: "N",
    help: `how long a request waits for others to share its pass (default ${D.maxWaitMs})`,
  },
  "max-body": {
    type: "string",
    default: "1M",
    value: "BYTES",
    help: "largest request body; K, M suffixes binary (default 1M = 1,048,576 bytes)",
  },
  "max-texts": {
    type: "string",
    default: String(D.maxTexts),
    value: "N",
    help: `most texts per request (default ${D.maxTexts})`,
  },
  "max-text-chars": {
    type: "string",
    default: String(D.maxTextChars),
    value: "N",
    help: `most characters (UTF-16 code units) per text (default ${D.maxTextChars})`,
  },
  "timeout-ms": {
    type: "string",
    default: String(D.timeoutMs),
    value: "N",
    help: `time a request may take before it gets 504 (default ${D.timeoutMs})`,
  },
  "body-timeout-ms": {
    type: "string",
    default: String(D.bodyTimeoutMs),
    value: "N",
    help: `time a request body may take to arrive before it gets 408 (default ${D.bodyTimeoutMs})`,
  },
  "header-timeout-ms": {
    type: "string",
    default: String(D.headerTimeoutMs),
    value: "N",
    help: `time to send the request line and headers before 408 (default ${D.headerTimeoutMs})`,
  },
  ...CHECKPOINT_FLAG,
  ...BACKEND_FLAG,
  ...THREADS_FLAG,
  ...WORKERS_FLAG,
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task serve",
  flags: FLAGS,
  notes: [
    'API: POST /v1/ner {"texts": [...]} or {"text": "..."} ["offsets": "codepoints"];',
    "GET / (a page to try it), /health, /v1/model, /metrics (Prometheus)",
  ],
});

/** What the command runs with. */
interface ServeCommand {
  model: string | undefined;
  /** Which checkpoint of a run folder. */
  checkpoint: CheckpointChoice;
  backend: { backend: BackendName; threads: number | "auto" };
  /** Prediction workers (lib/predict/pool.ts); fewer than 2 tag on the main thread. */
  workers: number | "auto";
  options: ServeOptions;
}

/** Parses a byte count: digits with an optional K or M suffix (binary), at least 1. */
function parseByteSize(flag: string, value: string): number {
  const match = /^(\d+)\s*([km]?)(?:i?b)?$/i.exec(value);
  const scale = match?.[2] === "" ? 1 : match?.[2].toUpperCase() === "K" ? 2 ** 10 : 2 ** 20;
  const bytes = match ? Number(match[1]) * scale : NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new UsageError(
      `${flag} must be a size in bytes, optionally with K or M (e.g. 1M), ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** Parses a timeout: a positive integer of milliseconds a timer can wait (about 24.8 days). */
function parseMilliseconds(flag: string, value: string): number {
  const ms = parsePositiveInteger(flag, value);
  if (ms > MAX_TIMER_MS) {
    throw new UsageError(
      `${flag} must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}

/** Parses the command line; undefined for `--help`. */
function parseServeCommand(args: string[]): ServeCommand | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  const port = parseInteger("--port", values.port, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got "${values.port}"`);
  if (values.host.trim() === "") throw new UsageError("--host needs an address");
  if (values.cors !== undefined && values.cors.trim() === "") {
    throw new UsageError("--cors needs an origin, e.g. https://example.org or *");
  }
  return {
    model: values.model,
    checkpoint: parseCheckpoint(values.checkpoint),
    backend: { backend: parseBackend(values.backend), threads: parseThreads(values.threads) },
    workers: parseWorkers(values.workers),
    options: {
      hostname: values.host,
      port,
      cors: values.cors ?? null,
      maxBatchTexts: parsePositiveInteger("--max-batch", values["max-batch"]),
      maxWaitMs: parseInteger("--max-wait-ms", values["max-wait-ms"], 0),
      maxBodyBytes: parseByteSize("--max-body", values["max-body"]),
      maxTexts: parsePositiveInteger("--max-texts", values["max-texts"]),
      maxTextChars: parsePositiveInteger("--max-text-chars", values["max-text-chars"]),
      timeoutMs: parseMilliseconds("--timeout-ms", values["timeout-ms"]),
      bodyTimeoutMs: parseMilliseconds("--body-timeout-ms", values["body-timeout-ms"]),
      headerTimeoutMs: parseMilliseconds("--header-timeout-ms", values["header-timeout-ms"]),
    },
  };
}

/**
 * The error for an address the permissions do not allow, saying how to allow it (and 127.0.0.1,
 * where the HTTP server behind the header guard listens).
 */
function noPermission(hostname: string): Error {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const hosts = host === INNER_HOST ? host : `${host},${INNER_HOST}`;
  return new Error(
    `no permission to listen on ${hostname}: deno task serve may listen on loopback only; ` +
      `run deno run --allow-net=${hosts} --allow-read lib/cli/serve.ts --host ${hostname}`,
  );
}

/** Starts the server, or throws an error whose message tells the user what to do. */
function listen(command: ServeCommand, served: ServedModel): NerServer {
  const { hostname = D.hostname, port = D.port } = command.options;
  try {
    return startServer(served, command.options);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(`port ${port} is in use: pick another with --port (0: any free port)`);
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw noPermission(hostname);
    }
    throw error;
  }
}

/**
 * A signal repeated within this many milliseconds is the same stop request: Ctrl-C under
 * `deno task` reaches the server twice (from the terminal, and forwarded by the task runner).
 */
const REPEAT_MS = 1000;

/**
 * Resolves on the first SIGINT or SIGTERM. A signal that comes {@linkcode REPEAT_MS} or more
 * after it exits at once with code 1 (a user insisting); one sooner is the same request.
 */
function firstSignal(): Promise<string> {
  const { promise, resolve } = Promise.withResolvers<string>();
  let first: number | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => {
        if (first === undefined) {
          first = performance.now();
          resolve(signal);
        } else if (performance.now() - first >= REPEAT_MS) {
          console.error(`${signal} again: exiting without finishing`);
          Deno.exit(1);
        }
      });
    } catch {
      // SIGTERM cannot be listened to on Windows: Ctrl-C still stops the server.
    }
  }
  return promise;
}

/**
 * The pool that tags the served texts, warmed up (the first pass compiles kernels: not on a
 * client's request); null, after warming up this thread, for fewer than 2 workers or a backend
 * other than wasm (the workers run wasm).
 */
async function servingPool(
  loaded: LoadedModel,
  command: ServeCommand,
): Promise<PredictPool | null> {
  const pool = await poolForJob(loaded, {
    workers: command.workers,
    backend: command.backend.backend,
  });
  if (pool === null) predictTexts(loaded, ["Warm-up in Paris."]);
  else await pool.predictTexts(Array.from({ length: pool.size }, () => "Warm-up in Paris."));
  return pool;
}

/** Loads the model, serves it until a signal, then shuts down; returns the exit code. */
async function serve(command: ServeCommand): Promise<number> {
  const { hostname = D.hostname } = command.options;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname; // IPv6 in brackets
  for (const needed of [host, INNER_HOST]) {
    if ((await Deno.permissions.query({ name: "net", host: needed })).state !== "granted") {
      throw noPermission(hostname); // before the model loads, not after
    }
  }
  const { loaded, backend } = await loadModelForCli(command.model, command.backend, undefined, {
    checkpoint: command.checkpoint,
  });
  const info = await describeModel(loaded, command.model ?? SHIPPED_MODEL);
  const pool = await servingPool(loaded, command);
  try {
    const stopped = firstSignal();
    const server = listen(command, { predictor: pool ?? loaded, info });
    const tagging = pool ? `${pool.size} prediction workers` : "tagging on the main thread";
    console.error(
      `model ${loaded.directory} · ${describeBackend(backend)} · ${tagging} · pid ${Deno.pid}`,
    );
    console.log(`listening on ${server.url}`);
    const signal = await stopped;
    const inFlight = server.metrics.inFlight.get();
    console.error(`${signal}: stopping; finishing ${inFlight} request(s) in flight`);
    await server.shutdown();
  } finally {
    await pool?.close();
  }
  console.error("stopped");
  return 0;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 stopped by a signal, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseServeCommand(args), async (command) => {
    try {
      return await serve(command);
    } catch (error) {
      console.error(`error: ${(error as Error).message}`);
      return 1;
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
