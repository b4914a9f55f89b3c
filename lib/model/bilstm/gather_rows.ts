/**
 * {@link gatherRows}: embedding row lookup, and its scatter-add gradient, as JS row copies on the
 * backend's memory (custom kernels on wasm/cpu; `tf.gather` elsewhere).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DIRECT_MEMORY_BACKENDS } from "./_memory.ts";
import { GATHER_ROWS_KERNEL, SCATTER_ADD_ROWS_KERNEL } from "./_row_kernels.ts";
import "./kernels.ts"; // registers the custom kernels, once, on import

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
