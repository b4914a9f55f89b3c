/**
 * `FastBiLSTM`: a bidirectional LSTM layer for tfjs-layers that computes exactly what
 * `tf.layers.bidirectional({layer: tf.layers.lstm({units, returnSequences: true,
 * recurrentDropout}), mergeMode: "concat"})` computes, with far fewer kernel dispatches.
 *
 * How it is fast on the WebAssembly backend (where each op costs ~20 µs of dispatch):
 * - the input projection `x·W + b` of all time steps is one matMul per direction;
 * - each time step is one recurrent matMul per direction (the 4 gates fused, `[B,U]·[U,4U]`)
 *   plus ONE custom kernel that advances both directions at once (gate activations, cell and
 *   hidden state, padding mask, recurrent dropout), written in plain JS on the backend's memory;
 *   with sigmoid gates, the gate non-linearities of both directions are instead one wasm
 *   `sigmoid` per step (SIMD) between two small JS kernels (the cell candidate's
 *   `tanh(z) = 2·sigmoid(2z) − 1`), leaving only `tanh(c)` to JS;
 * - {@link gatherRows}: embedding row lookup (and its scatter-add gradient) as JS row copies;
 * - the backward pass is hand-written (`tf.customGrad`): per step one matMul per direction and one
 *   custom kernel; the weight gradients are one matMul each over the stacked gate gradients.
 *
 * Semantics matched to tfjs-layers 4.22 (`LSTMCell`, `RNN`, `Bidirectional`):
 * - gate order i, f, c, o in kernel `[inputDim, 4U]`, recurrent kernel `[U, 4U]`, bias `[4U]`;
 * - recurrent activation defaults to `"hardSigmoid"` (tfjs's default, `clip(0.2x + 0.5, 0, 1)`;
 *   Keras/Python defaults to `"sigmoid"`), activation `tanh`;
 * - weights listed forward kernel, recurrent kernel, bias, then the backward ones, so
 *   `setWeights(stock.getWeights())` works both ways;
 * - masking: at a masked step the state (h, c) is carried over unchanged and the output is the
 *   carried h (zero for the backward direction over post-padding, since it starts there);
 * - recurrent dropout: one mask per sequence and direction, applied to h(t-1) before the recurrent
 *   matMul, inverted scaling `1/(1-rate)`, only when `training` is true. Masks are drawn from a
 *   seeded PRNG, so runs are reproducible by seed.
 *
 * The custom kernels are registered for the `wasm` and `cpu` backends on import (./kernels.ts).
 *
 * Files: ./_memory.ts (backend memory views), ./_lstm_cell.ts (the cell arithmetic of one step),
 * ./_step_kernels.ts and ./_row_kernels.ts (the custom kernels), ./kernels.ts (their
 * registration), ./bilstm_function.ts ({@link fastBiLstm}), ./gather_rows.ts, ./dropout.ts and
 * ./layer.ts ({@link FastBiLSTM}).
 *
 * @module
 */
export { allocFloat32, DIRECT_MEMORY_BACKENDS, float32View, memoryView } from "./_memory.ts";
export { registerFastBiLstmKernels } from "./kernels.ts";
export { fastBiLstm } from "./bilstm_function.ts";
export type { FastBiLstmOptions, RecurrentActivation } from "./bilstm_function.ts";
export { gatherRows } from "./gather_rows.ts";
export { drawDropoutMask } from "./dropout.ts";
export { FastBiLSTM } from "./layer.ts";
export type { FastBiLSTMArgs } from "./layer.ts";
