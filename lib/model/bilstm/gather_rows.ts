/**
 * {@link gatherRows}: embedding row lookup, and its scatter-add gradient, as JS row copies on the
 * backend's memory (custom kernels on wasm/cpu; `tf.gather` elsewhere). The wasm backend's
 * generic gather is several times slower.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { allocFloat32, DIRECT_MEMORY_BACKENDS, float32View, memoryView } from "./_memory.ts";

/** Kernel name: rows of a table by int32 ids. */
const GATHER_ROWS_KERNEL = "FastGatherRows";
/** Kernel name: the gradient of {@link GATHER_ROWS_KERNEL}, a scatter-add of rows. */
const SCATTER_ADD_ROWS_KERNEL = "FastScatterAddRows";

/** `table[ids]` for a float32 `[rows, width]` table and int32 ids. */
const gatherRowsKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const tableInfo = inputs.table as tf.TensorInfo;
  const idsInfo = inputs.ids as tf.TensorInfo;
  const width = tableInfo.shape[1];
  const count = idsInfo.shape.reduce((a, b) => a * b, 1);
  const out = allocFloat32(backend, [count, width]);
  const o = float32View(backend, out);
  const table = float32View(backend, tableInfo);
  const ids = memoryView(backend, idsInfo);
  for (let i = 0; i < count; i++) {
    const row = ids[i] * width;
    o.set(table.subarray(row, row + width), i * width);
  }
  return out;
};

/** The gradient of {@link gatherRowsKernel}: `out[ids[i]] += dy[i]`, `out` `[attrs.rows, width]`. */
const scatterAddRowsKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { rows } = attrs as unknown as { rows: number };
  const dyInfo = inputs.dy as tf.TensorInfo;
  const width = dyInfo.shape[1];
  const out = allocFloat32(backend, [rows, width]);
  const o = float32View(backend, out);
  o.fill(0);
  const dy = float32View(backend, dyInfo);
  const ids = memoryView(backend, inputs.ids as tf.TensorInfo);
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i] * width;
    const from = i * width;
    for (let k = 0; k < width; k++) o[row + k] += dy[from + k];
  }
  return out;
};

for (const backendName of DIRECT_MEMORY_BACKENDS) {
  for (
    const [kernelName, kernelFunc] of [
      [GATHER_ROWS_KERNEL, gatherRowsKernel],
      [SCATTER_ADD_ROWS_KERNEL, scatterAddRowsKernel],
    ] as const
  ) {
    if (tf.getKernel(kernelName, backendName) === undefined) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

/**
 * Rows `ids` of a float32 `[rows, width]` table as `[ids.size, width]`, differentiable with
 * respect to the table (the gradient scatter-adds into a dense `[rows, width]`). Ids must be
 * int32 in `[0, rows)` (not checked). Custom JS kernels on wasm/cpu; `tf.gather` elsewhere.
 *
 * @param table the table
 * @param ids int32 row ids, any shape (flattened)
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D {
  if (!DIRECT_MEMORY_BACKENDS.includes(tf.getBackend())) {
    return tf.gather(table, tf.reshape(ids, [-1])) as tf.Tensor2D;
  }
  const rows = table.shape[0];
  const f = tf.customGrad((...args: unknown[]) => {
    const [t, i] = args as tf.Tensor[];
    // Saved, not closed over: ids made inside a differentiated function are disposed by its
    // tidy before the backward pass runs, saved tensors are kept for it.
    (args[2] as tf.GradSaveFunc)([i]);
    const value = tf.engine().runKernel(GATHER_ROWS_KERNEL, { table: t, ids: i }, {}) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.engine().runKernel(SCATTER_ADD_ROWS_KERNEL, { dy, ids: saved[0] }, {
        rows,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
      tf.zerosLike(saved[0]),
    ];
    return { value, gradFunc };
  });
  return f(table, ids) as tf.Tensor2D;
}
