/**
 * The fast bidirectional LSTM (`FastBiLSTM`, {@link fastBiLstm}, {@link gatherRows} and the
 * backend memory helpers): a re-export of ./bilstm/mod.ts, where the code and its documentation
 * live. Importing this module registers the custom kernels and the `FastBiLSTM` layer class.
 *
 * @module
 */
export {
  allocFloat32,
  DIRECT_MEMORY_BACKENDS,
  drawDropoutMask,
  FastBiLSTM,
  fastBiLstm,
  float32View,
  gatherRows,
  memoryView,
  registerFastBiLstmKernels,
} from "./bilstm/mod.ts";
export type { FastBiLSTMArgs, FastBiLstmOptions, RecurrentActivation } from "./bilstm/mod.ts";
