/**
 * The project's WebAssembly SIMD kernels (kernels.c, embedded in _binary.ts by build.sh: the
 * BiLSTM's training and inference sweeps, a dense layer, the CRF's loss and marginals):
 * compiled once per thread, instantiated by each user with its own memory
 * (lib/model/bilstm/wasm_sweep.ts, lib/model/crf/wasm_forward_backward.ts).
 *
 * A second build of the same kernels for a shared memory ({@linkcode sharedKernelsModule}) lets
 * training run its two BiLSTM directions on two threads over one memory; it is used only where
 * the runtime can make a shared memory and the caller asks for it, the plain build everywhere
 * else.
 *
 * @module
 */
import { KERNELS_SHARED_WASM, KERNELS_WASM } from "./_binary.ts";

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

let sharedCompiled: WebAssembly.Module | null | undefined;

/** The most pages a shared kernels memory may grow to (2 GiB, the shared build's maximum). */
export const SHARED_MAX_PAGES = 32768;

/**
 * The kernels built for a shared memory, or null where this runtime cannot compile them or
 * cannot make a shared WebAssembly memory (e.g. a page without cross-origin isolation).
 *
 * @returns the module, compiled on first use
 */
export function sharedKernelsModule(): WebAssembly.Module | null {
  if (sharedCompiled === undefined) {
    sharedCompiled = null;
    try {
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const bytes = Uint8Array.from(atob(KERNELS_SHARED_WASM), (ch) => ch.charCodeAt(0));
      if (WebAssembly.validate(bytes)) sharedCompiled = new WebAssembly.Module(bytes);
    } catch {
      sharedCompiled = null;
    }
  }
  return sharedCompiled;
}

/**
 * A new instance of the shared-memory kernels on `memory` (a new shared memory when absent).
 *
 * @param module the compiled shared module ({@linkcode sharedKernelsModule})
 * @param memory the shared memory to run on; default a new one
 * @returns the instance's exports, its memory, and where its free memory starts
 */
export function instantiateSharedKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory = new WebAssembly.Memory({
    initial: 4,
    maximum: SHARED_MAX_PAGES,
    shared: true,
  }),
): { exports: WebAssembly.Exports; memory: WebAssembly.Memory; heapBase: number } {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const heapBase = (instance.exports.__heap_base as WebAssembly.Global).value as number;
  return { exports: instance.exports, memory, heapBase };
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

const PAGE_BYTES = 65536;

/**
 * Bytes rounded up to a multiple of 16, the alignment of SIMD loads.
 *
 * @param bytes a size or offset
 */
export function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * Grows a kernels memory to at least `bytes` (it never shrinks).
 *
 * @param memory the instance's memory
 * @param bytes the size needed
 */
export function growMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
}

/**
 * A float32 view of a kernels memory (valid until the memory grows).
 *
 * @param memory the instance's memory
 * @param byteOffset where the floats start
 * @param count how many
 */
export function memoryFloats(
  memory: WebAssembly.Memory,
  byteOffset: number,
  count: number,
): Float32Array {
  return new Float32Array(memory.buffer, byteOffset, count);
}
