/**
 * `UnsortedSegmentSum` for the tfjs WebAssembly backend.
 *
 * tfjs 4.22.0's wasm backend has no `UnsortedSegmentSum`, which is the gradient of `gather` (and so
 * of every Embedding layer). This kernel runs entirely inside WASM: it reinterprets the segment
 * ids as `ScatterNd` indices and calls the backend's own `ScatterNd` kernel, which sums duplicate
 * indices into a zero-filled output.
 *
 *   UnsortedSegmentSum(x, ids, n) == ScatterNd(indices = ids viewed as [k, 1],
 *                                             updates = x viewed as [k, ...rest],
 *                                             shape = [n, ...rest])
 *
 * No data is copied: the views share the input tensors' WASM memory.
 *
 * @module
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { getKernel, ScatterNd, UnsortedSegmentSum, util } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** Name of the backend this kernel is registered for. */
const WASM_BACKEND_NAME = "wasm";

/** Computes the output shape and the flattened views that `ScatterNd` consumes. */
function scatterViews(
  x: TensorInfo,
  segmentIds: TensorInfo,
  numSegments: number,
): { indices: TensorInfo; updates: TensorInfo; outShape: number[] } {
  const idsRank = segmentIds.shape.length;
  const idsPrefixMatches = segmentIds.shape.every((d, i) => d === x.shape[i]);
  if (idsRank > x.shape.length || !idsPrefixMatches) {
    throw new Error(
      `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of ` +
        `x shape [${x.shape}]`,
    );
  }
  const numIds = util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(idsRank);
  return {
    indices: { dataId: segmentIds.dataId, shape: [numIds, 1], dtype: "int32" },
    updates: { dataId: x.dataId, shape: [numIds, ...rest], dtype: x.dtype },
    outShape: [numSegments, ...rest],
  };
}

/** Throws if any id lies outside `[0, numSegments)` (ScatterNd would write out of bounds). */
function assertIdsInRange(backend: BackendWasm, segmentIds: TensorInfo, numSegments: number): void {
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) {
      throw new Error(
        `UnsortedSegmentSum (wasm): segment id ${id} at position ${i} is outside [0, ${numSegments})`,
      );
    }
  }
}

/** The kernel function: `UnsortedSegmentSum` expressed as the wasm `ScatterNd` kernel. */
export const unsortedSegmentSumWasm: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as NamedAttrMap & { numSegments: number };
  const wasmBackend = backend as BackendWasm;
  if (segmentIds.dtype !== "int32") {
    throw new Error(`UnsortedSegmentSum (wasm): segmentIds must be int32, got ${segmentIds.dtype}`);
  }
  const scatterNd = getKernel(ScatterNd, WASM_BACKEND_NAME);
  if (scatterNd === undefined) {
    throw new Error("UnsortedSegmentSum (wasm): the wasm ScatterNd kernel is not registered");
  }
  assertIdsInRange(wasmBackend, segmentIds, numSegments);
  const { indices, updates, outShape } = scatterViews(x, segmentIds, numSegments);
  return scatterNd.kernelFunc({
    inputs: { indices, updates },
    attrs: { shape: outShape },
    backend,
  }) as TensorInfo;
};

/** Kernel registration for `UnsortedSegmentSum` on the wasm backend. */
export const unsortedSegmentSumWasmConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: WASM_BACKEND_NAME,
  kernelFunc: unsortedSegmentSumWasm,
};
