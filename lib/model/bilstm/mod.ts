/**
 * `FastBiLSTM`: a bidirectional LSTM layer for tfjs-layers that computes exactly what
 * `tf.layers.bidirectional({layer: tf.layers.lstm({units, returnSequences: true,
 * recurrentDropout}), mergeMode: "concat"})` computes (the reference: what models are saved as
 * and tests compare with), with one fast implementation for training and inference alike.
 *
 * How it is fast: the input projection `x·W + b` of all time steps is one matMul per direction
 * (tfjs's threaded XNNPACK), and each direction's whole sweep over time — the recurrent GEMM of
 * every step, gates, cell, padding mask, recurrent dropout, and in the backward pass their
 * gradients — is ONE WebAssembly SIMD call (./wasm_sweep.ts over lib/model/wasm/kernels.c)
 * instead of several tfjs dispatches per step. The weight gradients are one matMul each.
 * Where the runtime lacks WebAssembly SIMD, ./reference.ts computes the same function in tf ops.
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
 * Files: ./wasm_sweep.ts (the WebAssembly sweeps), ./bilstm_function.ts ({@link fastBiLstm}, the
 * differentiable function around them), ./inference.ts (the inference pass), ./reference.ts (tf
 * ops), ./layer.ts ({@link FastBiLSTM}), ./dropout.ts, ./gather_rows.ts (embedding rows) and
 * ./_memory.ts (backend memory views).
 *
 * @module
 */
export { allocFloat32, DIRECT_MEMORY_BACKENDS, float32View, memoryView } from "./_memory.ts";
export { fastBiLstm } from "./bilstm_function.ts";
export type { FastBiLstmOptions, RecurrentActivation } from "./bilstm_function.ts";
export { referenceBiLstm } from "./reference.ts";
export { gatherRows } from "./gather_rows.ts";
export { drawDropoutMask, drawDropoutValues } from "./dropout.ts";
export { FastBiLSTM } from "./layer.ts";
export type { FastBiLSTMArgs } from "./layer.ts";
