/**
 * Runs tfjs's multi-threaded SIMD WebAssembly binary under Deno.
 *
 * tfjs-backend-wasm 4.22.0 never picks its threaded binary on Node-like platforms (the flag
 * `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false there) and, when forced, hands
 * Emscripten's `node:worker_threads` path a Blob URL, which fails with `ERR_WORKER_PATH`. This
 * module instead builds the backend itself from the package's own files, and writes no file:
 *
 * - the main Emscripten script is the package's `tfjs-backend-wasm-threaded-simd.js`, read from
 *   the local `node_modules`, patched in memory with five checked text patches (pool size, core
 *   count, pthread workers created with `worker_threads` from a `data:` URL, no overwrite of
 *   Deno's global `Worker`, pool threads do not keep the process alive) and evaluated as a
 *   CommonJS module from that text;
 * - each pthread worker is a small ES module in a `data:` URL: it gives the Deno worker the
 *   CommonJS globals Emscripten's Node branch expects, evaluates the package's own worker source
 *   (`wasmWorkerContents`), and evaluates the same patched main script from the text it carries
 *   (its `importScripts` accepts only that script, by name, and reads no file);
 * - the `.wasm` binary is read from the local `node_modules`, never fetched.
 *
 * Nothing is written to, or loaded from, the shared temporary directory (an earlier version kept
 * the generated JavaScript in a predictable folder there and `require()`d it, so another local
 * user could plant code in it). The loader needs read access to the project only (the package's
 * files, and the folders `require.resolve` looks in for `node_modules` on the way there): no
 * write, env or sys permission and no temporary folder.
 *
 * tfjs's C++ caps the thread pool at `emscripten_num_logical_cores() / 2` (it assumes
 * hyper-threading), so on a 2-core machine it would never use more than one thread; the patched
 * script reports `2 × threads` logical cores so the pool gets exactly the threads asked for.
 *
 * @module
 */
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** File names inside the package's `wasm-out/` folder. */
const THREADED_SCRIPT = "tfjs-backend-wasm-threaded-simd.js";
const THREADED_BINARY = "tfjs-backend-wasm-threaded-simd.wasm";
const THREADED_WORKER_SOURCE = "tfjs-backend-wasm-threaded-simd.worker.js";

/**
 * The name pthread workers are told to load the main script by (`mainScriptUrlOrBlob`). It is
 * not a path: the worker's `importScripts` evaluates the script text it carries for this name
 * and refuses every other name.
 */
export const THREADED_SCRIPT_NAME = "bilstm-ner:tfjs-backend-wasm-threaded-simd.js";

/** Most threads tfjs's C++ allows (it pre-creates 8 workers in its own build). */
export const MAX_WASM_THREADS = 8;

/** One literal edit of the Emscripten script; `from` must occur exactly once. */
interface ScriptPatch {
  from: string;
  to: string;
}

/** The edits applied to `tfjs-backend-wasm-threaded-simd.js` (tfjs 4.22.0). */
const SCRIPT_PATCHES: readonly ScriptPatch[] = [
  // Pre-create only as many workers as the pool needs (stock: always 8).
  { from: "var pthreadPoolSize=8", to: 'var pthreadPoolSize=Module["pthreadPoolSize"]??8' },
  // Let the caller state the core count the C++ sees (it halves it).
  {
    from: 'require("os").cpus().length',
    to: '(Module["logicalCores"]??require("os").cpus().length)',
  },
  // Create pthread workers with node:worker_threads explicitly, from the `data:` URL that
  // `locateFile` returns (a URL object: Deno's worker_threads resolves strings as file paths),
  // with an empty environment (the default copies `process.env`, which needs env permission)...
  {
    from: "worker=new Worker(pthreadMainJs)",
    to: 'worker=new(require("worker_threads").Worker)(new URL(pthreadMainJs),{env:{}})',
  },
  // ...instead of replacing Deno's global Web `Worker` with it.
  { from: "global.Worker=nodeWorkerThreads.Worker", to: "void 0" },
  // XNNPACK's pool threads live forever and the main thread always waits for them
  // synchronously, so they must not keep the process alive (stock: ref() while running).
  {
    from: "worker.runPthread=()=>{if(ENVIRONMENT_IS_NODE){worker.ref()}",
    to: "worker.runPthread=()=>{",
  },
];

/**
 * ES-module source run by each pthread worker (from a `data:` URL, so `import.meta.url` names no
 * file and `require` is created for the package's own folder). Deno runs `node:worker_threads`
 * workers as Web Workers, whose `self`, `location`, `postMessage`… are read-only accessors;
 * Emscripten's Node branch assigns them, so they become plain writable properties first.
 * `onmessage` becomes a plain property too, so messages arrive only through `parentPort`
 * (Emscripten's Node path), never a second time through the Web Worker event. After the
 * package's worker code has run, `importScripts` is replaced: it evaluates the carried main
 * script for {@link THREADED_SCRIPT_NAME} and throws for anything else.
 *
 * @param workerContents the package's `wasmWorkerContents`.
 * @param script the patched main script.
 * @param workerPath the package's worker file, used as `__filename` and for `require`.
 */
function workerModuleSource(workerContents: string, script: string, workerPath: string): string {
  const carriedScript = JSON.stringify(`${script}\n//# sourceURL=${THREADED_SCRIPT_NAME}`);
  return `// Generated by bilstm-ner lib/backend/threaded_wasm.ts.
import { createRequire } from "node:module";
globalThis.require = createRequire(${JSON.stringify(workerPath)});
globalThis.__filename = ${JSON.stringify(workerPath)};
globalThis.global = globalThis;
for (const key of ["self", "location", "postMessage", "importScripts", "Worker", "performance"]) {
  Object.defineProperty(globalThis, key, {
    value: globalThis[key], writable: true, configurable: true, enumerable: true,
  });
}
let onmessageHandler = null;
Object.defineProperty(globalThis, "onmessage", {
  get: () => onmessageHandler,
  set: (handler) => { onmessageHandler = handler; },
  configurable: true,
});
(0, eval)(${JSON.stringify(workerContents)});
const mainScript = ${carriedScript};
globalThis.importScripts = (name) => {
  if (name !== ${JSON.stringify(THREADED_SCRIPT_NAME)}) {
    throw new Error("threaded wasm worker: refusing to load " + String(name));
  }
  (0, eval)(mainScript);
};
`;
}

/** Applies every patch, failing loudly if the script is not the version they were written for. */
function patchScript(source: string): string {
  let patched = source;
  for (const { from, to } of SCRIPT_PATCHES) {
    const count = patched.split(from).length - 1;
    if (count !== 1) {
      throw new Error(
        `threaded wasm: expected "${from}" once in ${THREADED_SCRIPT}, found ${count} times`,
      );
    }
    patched = patched.replace(from, to);
  }
  return patched;
}

/** The threaded backend's sources, all in memory; only `binaryPath` names a file. */
export interface ThreadedSources {
  /** The package's `.wasm` binary in the local `node_modules`. */
  binaryPath: string;
  /** The package's own main script (never loaded from disk as is: `__filename` for the text). */
  packageScriptPath: string;
  /** The patched main script. */
  script: string;
  /** The pthread worker module as a `data:` URL. */
  workerUrl: string;
}

/**
 * Reads the package's files from the local `node_modules` and builds the patched main script and
 * the worker module, in memory. Writes nothing.
 */
export function prepareThreadedSources(): ThreadedSources {
  const require = createRequire(import.meta.url);
  const wasmOut = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm")), "..", "wasm-out");
  const packageScriptPath = join(wasmOut, THREADED_SCRIPT);
  const script = patchScript(readFileSync(packageScriptPath, "utf8"));
  const workerPath = join(wasmOut, THREADED_WORKER_SOURCE);
  const { wasmWorkerContents } = require(workerPath) as { wasmWorkerContents: string };
  // The package keeps the worker in a template literal that turned "\n" escapes into newlines.
  const worker = workerModuleSource(wasmWorkerContents.replace(/\n/g, "\\n"), script, workerPath);
  const workerUrl = `data:text/javascript;base64,${encodeBase64(worker)}`;
  return { binaryPath: join(wasmOut, THREADED_BINARY), packageScriptPath, script, workerUrl };
}

/** Base64 of a string's UTF-8 bytes. */
function encodeBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/**
 * Evaluates CommonJS source text as a module and returns its `module.exports`, the way
 * `require()` would for a file at `filename`, without reading or writing any file.
 */
function evaluateCommonJs(source: string, filename: string): unknown {
  const module = { exports: {} as unknown };
  const require = createRequire(filename);
  const body = `${source}\n//# sourceURL=${THREADED_SCRIPT_NAME}`;
  const run = new Function("exports", "require", "module", "__filename", "__dirname", body);
  run(module.exports, require, module, filename, dirname(filename));
  return module.exports;
}

/** The subset of the Emscripten module that `BackendWasm` needs wired up. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...a: number[]) => number;
  tfjs?: Record<string, unknown>;
}

/** Adds the `tfjs` C entry points, exactly as tfjs's own `init()` does. */
function wireTfjsEntryPoints(module: EmscriptenModule): void {
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
}

/**
 * Instantiates the threaded SIMD binary with `threads` XNNPACK threads (the calling thread plus
 * `threads - 1` workers) and returns a tfjs `BackendWasm` on it. Register it with
 * `tf.registerBackend("wasm", () => createThreadedWasmBackend(n))`.
 *
 * @param threads 2..{@link MAX_WASM_THREADS}.
 */
export async function createThreadedWasmBackend(threads: number): Promise<BackendWasm> {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new Error(`threaded wasm: threads must be an integer in 2..${MAX_WASM_THREADS}`);
  }
  const sources = prepareThreadedSources();
  const factory = evaluateCommonJs(sources.script, sources.packageScriptPath) as (
    config: object,
  ) => Promise<EmscriptenModule>;
  const module = await factory({
    locateFile: (path: string, prefix: string) => {
      if (path.endsWith(".worker.js")) return sources.workerUrl;
      if (path.endsWith(".wasm")) return sources.binaryPath;
      return prefix + path;
    },
    mainScriptUrlOrBlob: THREADED_SCRIPT_NAME,
    pthreadPoolSize: threads - 1,
    logicalCores: 2 * threads,
  });
  wireTfjsEntryPoints(module);
  setThreadsCount(threads);
  return new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
}
