/**
 * Direct access to tensor memory on the wasm and cpu backends, for the custom JS kernels of
 * {@link ./mod.ts} (and lib/train/sparse_adam.ts): allocate outputs, take live views, no copies.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Backends whose memory the custom kernels can read and write directly. */
export const DIRECT_MEMORY_BACKENDS: readonly string[] = ["wasm", "cpu"];

interface WasmMemoryBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuMemoryBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

function isWasmBackend(backend: unknown): backend is WasmMemoryBackend {
  return typeof (backend as WasmMemoryBackend).typedArrayFromHeap === "function";
}

function isCpuBackend(backend: unknown): backend is CpuMemoryBackend {
  const data = (backend as CpuMemoryBackend).data;
  return data != null && typeof data.get === "function" &&
    typeof (backend as CpuMemoryBackend).makeTensorInfo === "function";
}

/**
 * Allocates an uninitialised float32 tensor on `backend` (wasm heap or cpu array).
 *
 * On wasm, allocation may grow the heap and detach earlier views: allocate every output first,
 * then take views with {@link float32View}.
 *
 * @param backend the kernel's backend
 * @param shape the tensor's shape
 * @returns the new tensor's info
 */
export function allocFloat32(backend: unknown, shape: number[]): tf.TensorInfo {
  if (isWasmBackend(backend)) return backend.makeOutput(shape, "float32");
  if (isCpuBackend(backend)) {
    const size = shape.reduce((a, b) => a * b, 1);
    return backend.makeTensorInfo(shape, "float32", new Float32Array(size));
  }
  throw new Error("FastBiLSTM kernels need the wasm or cpu backend");
}

/**
 * A live view of a tensor's float32/int32 memory on `backend` (no copy).
 *
 * @param backend the kernel's backend
 * @param info the tensor
 * @returns its values, in place
 */
export function memoryView(backend: unknown, info: tf.TensorInfo): Float32Array | Int32Array {
  if (isWasmBackend(backend)) return backend.typedArrayFromHeap(info) as Float32Array | Int32Array;
  if (isCpuBackend(backend)) {
    const values = backend.data.get(info.dataId).values;
    if (values instanceof Float32Array || values instanceof Int32Array) return values;
  }
  throw new Error("FastBiLSTM kernels need the wasm or cpu backend");
}

/**
 * A live float32 view of a tensor's memory on `backend` (no copy).
 *
 * @param backend the kernel's backend
 * @param info a float32 tensor
 * @returns its values, in place
 */
export function float32View(backend: unknown, info: tf.TensorInfo): Float32Array {
  const view = memoryView(backend, info);
  if (!(view instanceof Float32Array)) throw new Error("expected a float32 tensor");
  return view;
}
