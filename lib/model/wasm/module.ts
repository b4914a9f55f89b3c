/**
 * The project's WebAssembly SIMD kernels (kernels.c, embedded in _binary.ts by build.sh):
 * compiled once per thread, instantiated by each user with its own memory
 * (lib/model/bilstm/wasm_sweep.ts, lib/model/crf/wasm_marginals.ts).
 *
 * @module
 */
import { KERNELS_WASM } from "./_binary.ts";

let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled kernels module, or null where this runtime cannot compile it (no WebAssembly
 * SIMD or relaxed SIMD): then callers keep their tfjs or JavaScript paths.
 *
 * @returns the module, compiled on first use
 */
export function kernelsModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(KERNELS_WASM), (ch) => ch.charCodeAt(0));
    compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/**
 * A new instance of the kernels with its own memory.
 *
 * @param module the compiled module ({@linkcode kernelsModule})
 * @param pages initial 64 KiB pages of its memory
 * @returns the instance's exports, its memory, and where its free memory starts
 */
export function instantiateKernels(
  module: WebAssembly.Module,
  pages = 4,
): { exports: WebAssembly.Exports; memory: WebAssembly.Memory; heapBase: number } {
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const heapBase = (instance.exports.__heap_base as WebAssembly.Global).value as number;
  return { exports: instance.exports, memory, heapBase };
}
