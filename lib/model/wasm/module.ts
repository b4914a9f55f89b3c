/**
 * The project's WebAssembly SIMD kernels (kernels.c, embedded in _binary.ts by build.sh: the
 * BiLSTM's training and inference sweeps, a dense layer, the CRF's loss and marginals):
 * compiled once per thread, instantiated by each user with its own memory
 * (lib/model/bilstm/wasm_sweep.ts, lib/model/crf/wasm_forward_backward.ts).
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
