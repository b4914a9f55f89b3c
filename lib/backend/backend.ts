/**
 * Chooses and initialises the TensorFlow.js backend for this project.
 *
 * `initBackend()` loads tfjs's WebAssembly backend from the local `node_modules` (never from the
 * network), registers the kernels tfjs 4.22.0's wasm backend lacks (see `lib/kernels/`), selects
 * the backend and reports what is actually running, read back from tfjs and the WASM module.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { EXTRA_WASM_KERNELS } from "./extra_kernels.ts";
import { createThreadedWasmBackend, MAX_WASM_THREADS } from "./threaded_wasm.ts";

/** Backends this project can run on. */
export type BackendName = "wasm" | "cpu";

/** Options for {@link initBackend}. */
export interface BackendOptions {
  /** Backend to select. Default `"wasm"`. */
  backend?: BackendName;
  /**
   * WASM threads (XNNPACK's pool, counting the calling thread). `1` loads the single-threaded
   * SIMD binary; `2..8` load the threaded SIMD binary with that many threads; `"auto"` uses one
   * thread per logical core (capped at 8). Only the first wasm initialisation in a process
   * decides; later calls report what is running. Default `1`.
   */
  threads?: number | "auto";
}

/** What {@link initBackend} found running, read back from tfjs rather than assumed. */
export interface BackendInfo {
  /** The active tfjs backend (`tf.getBackend()`). */
  backend: string;
  /** Whether the loaded WASM binary uses SIMD (false on `cpu`). */
  simd: boolean;
  /** Threads the backend computes with (XNNPACK's thread count; 1 on `cpu`). */
  threads: number;
  /** tfjs's platform name (`"node"` under Deno). */
  platform: string;
  /**
   * Set when the threads asked for are not the threads running: the wasm backend started
   * earlier in this process (e.g. an earlier notebook cell) and keeps its thread count until
   * the process (the kernel) restarts. Null otherwise.
   */
  notice?: string | null;
}

/** Default options. */
export const DEFAULT_BACKEND_OPTIONS: Required<BackendOptions> = { backend: "wasm", threads: 1 };

/** Names of the kernels {@link initBackend} registers for the wasm backend. */
export const REGISTERED_WASM_KERNELS: readonly string[] = EXTRA_WASM_KERNELS.map((k) =>
  k.kernelName
);

/** Priority tfjs gives its wasm backend; kept when the factory is replaced. */
const WASM_BACKEND_PRIORITY = 2;

/** Turns the `threads` option into a thread count in 1..{@link MAX_WASM_THREADS}. */
export function resolveThreadCount(threads: number | "auto"): number {
  const wanted = threads === "auto" ? navigator.hardwareConcurrency : threads;
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw new Error(`initBackend: threads must be a positive integer or "auto", got ${threads}`);
  }
  return Math.min(wanted, MAX_WASM_THREADS);
}

/**
 * Before the wasm backend is first initialised, swaps tfjs's factory for the threaded one when
 * more than one thread is wanted. If the threaded binary fails to start, tfjs's stock
 * single-threaded factory is put back (with a warning on stderr) so the caller still gets wasm.
 */
function installWasmFactory(threads: number): void {
  const alreadyInitialised = tf.engine().registry["wasm"] !== undefined;
  const stockFactory = tf.findBackendFactory("wasm");
  if (alreadyInitialised || threads <= 1 || stockFactory === null) return;
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    try {
      return await createThreadedWasmBackend(threads);
    } catch (error) {
      console.warn(`initBackend: threaded wasm failed (${error}); using one thread`);
      return await stockFactory();
    }
  }, WASM_BACKEND_PRIORITY);
}

/** Registers the missing wasm kernels once (a no-op for kernels that are already there). */
function registerExtraWasmKernels(): void {
  for (const config of EXTRA_WASM_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
}

/** Reads back what the active backend is and how it computes. */
async function queryBackendInfo(): Promise<BackendInfo> {
  const backend = tf.getBackend();
  const isWasm = backend === "wasm";
  // XNNPACK's own count, read from the WASM module when the backend was created.
  const threads = isWasm ? getThreadsCount() : 1;
  return {
    backend,
    // The threaded binary is always SIMD; otherwise tfjs picks SIMD iff this flag is true.
    simd: isWasm && (threads > 1 || (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true),
    threads,
    platform: tf.env().platformName ?? "unknown",
  };
}

/**
 * Initialises and selects a tfjs backend; returns what is running.
 *
 * Idempotent: a second call with the same backend only re-reads the state.
 *
 * @param options backend and thread count; see {@link BackendOptions}.
 * @returns the backend, SIMD, thread count and platform actually in use.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const { backend, threads } = { ...DEFAULT_BACKEND_OPTIONS, ...options };
  const wasmWasRunning = tf.engine().registry["wasm"] !== undefined;
  registerExtraWasmKernels();
  if (backend === "wasm") installWasmFactory(resolveThreadCount(threads));
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok || tf.getBackend() !== backend) {
      throw new Error(`initBackend: could not initialise the ${backend} backend`);
    }
  }
  await tf.ready();
  const info = await queryBackendInfo();
  const wanted = info.backend === "wasm" ? resolveThreadCount(threads) : info.threads;
  const notice = !wasmWasRunning || wanted === info.threads
    ? null
    : `${wanted} thread${wanted === 1 ? "" : "s"} ` +
      `asked, ${info.threads} running: the wasm backend keeps the thread count it started with ` +
      "in this process; restart the kernel (or the command) to change it";
  return { ...info, notice };
}

/**
 * One-line summary of a {@link BackendInfo}, e.g. `backend wasm · SIMD on · 2 threads`.
 *
 * @param info what {@link initBackend} returned.
 */
export function describeBackend(info: BackendInfo): string {
  const threads = `${info.threads} thread${info.threads === 1 ? "" : "s"}`;
  const line = `backend ${info.backend} · SIMD ${info.simd ? "on" : "off"} · ${threads}`;
  return info.notice ? `${line}\nnote: ${info.notice}` : line;
}
