/**
 * Registration of the BiLSTM's custom kernels (the step kernels of ./_step_kernels.ts and the row
 * kernels of ./_row_kernels.ts) for the `wasm` and `cpu` backends. Importing this module
 * registers them, once; every module that runs them imports it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DIRECT_MEMORY_BACKENDS } from "./_memory.ts";
import {
  BACKWARD_STEP_KERNEL,
  backwardStepKernel,
  FORWARD_FROM_SIGMOID_KERNEL,
  FORWARD_STEP_KERNEL,
  forwardStepKernelOf,
  INFERENCE_STEP_KERNEL,
  inferenceStepKernel,
  PREACTIVATION_KERNEL,
  preactivationKernel,
} from "./_step_kernels.ts";
import {
  CONCAT_ROWS_KERNEL,
  concatRowsKernel,
  GATHER_ROWS_KERNEL,
  gatherRowsKernel,
  MERGE_OUTPUT_KERNEL,
  mergeOutputKernel,
  SCATTER_ADD_ROWS_KERNEL,
  scatterAddRowsKernel,
} from "./_row_kernels.ts";

/** Registers the custom step and row kernels for the wasm and cpu backends (idempotent). */
export function registerFastBiLstmKernels(): void {
  for (const backendName of DIRECT_MEMORY_BACKENDS) {
    for (
      const [kernelName, kernelFunc] of [
        [FORWARD_STEP_KERNEL, forwardStepKernelOf(false)],
        [PREACTIVATION_KERNEL, preactivationKernel],
        [FORWARD_FROM_SIGMOID_KERNEL, forwardStepKernelOf(true)],
        [BACKWARD_STEP_KERNEL, backwardStepKernel],
        [INFERENCE_STEP_KERNEL, inferenceStepKernel],
        [CONCAT_ROWS_KERNEL, concatRowsKernel],
        [MERGE_OUTPUT_KERNEL, mergeOutputKernel],
        [GATHER_ROWS_KERNEL, gatherRowsKernel],
        [SCATTER_ADD_ROWS_KERNEL, scatterAddRowsKernel],
      ] as const
    ) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel({ kernelName, backendName, kernelFunc });
      }
    }
  }
}
registerFastBiLstmKernels();
