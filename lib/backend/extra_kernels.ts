/**
 * Kernels that tfjs 4.22.0's WebAssembly backend lacks but a training step of the BiLSTM tagger
 * needs. Registered by `initBackend` in `lib/backend/backend.ts`.
 *
 * @module
 */
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { unsortedSegmentSumWasmConfig } from "./unsorted_segment_sum.ts";

/** Every extra wasm kernel this project registers, in registration order. */
export const EXTRA_WASM_KERNELS: readonly KernelConfig[] = [unsortedSegmentSumWasmConfig];
