/**
 * The CRF's per-token marginals in WebAssembly SIMD (lib/model/wasm/kernels.c `crf_marginals`):
 * the same forward–backward as {@link ./marginals.ts}'s `crfMarginals`, in float32 with each step
 * renormalised, for prediction's decoder (about 10× less time than the float64 JavaScript; values
 * agree to about 1e-6, tested).
 *
 * @example
 * ```ts
 * import { CrfMarginalsKernel } from "./wasm_marginals.ts";
 * const params = {
 *   transitions: new Float32Array(9),
 *   start: new Float32Array(3),
 *   end: new Float32Array(3),
 * };
 * const kernel = CrfMarginalsKernel.create(params, 3, 0);
 * console.log(kernel?.marginals(new Float32Array([0, 1, 2, 0, 2, 1]), 2)); // 2 rows of 3
 * ```
 *
 * @module
 */
import {
  align16,
  growMemory,
  instantiateKernels,
  kernelsModule,
  memoryFloats,
} from "../wasm/module.ts";
import { maxOf } from "./_forward_backward.ts";
import { type CrfHostParameters, PADDING_TAG_PENALTY } from "./params.ts";

interface MarginalsExports {
  crf_marginals(
    length: number,
    k: number,
    emissions: number,
    pad: number,
    penalty: number,
    expTrans: number,
    expTransT: number,
    expStart: number,
    expEnd: number,
    scratch: number,
    out: number,
  ): void;
}

/** One CRF's parameters in a kernels instance, and the per-sequence scratch after them. */
export class CrfMarginalsKernel {
  readonly #exports: MarginalsExports;
  readonly #memory: WebAssembly.Memory;
  readonly #numTags: number;
  readonly #paddingTagId: number;
  /** Byte offsets of the parameter tables, then of the free memory. */
  readonly #at: { trans: number; transT: number; start: number; end: number; free: number };

  private constructor(
    module: WebAssembly.Module,
    params: CrfHostParameters,
    numTags: number,
    paddingTagId: number | null,
  ) {
    const { exports, memory, heapBase } = instantiateKernels(module, 2);
    this.#exports = exports as unknown as MarginalsExports;
    this.#memory = memory;
    this.#numTags = numTags;
    this.#paddingTagId = paddingTagId ?? -1;
    const K = numTags;
    const kp = Math.ceil(K / 4) * 4;
    const base = align16(heapBase);
    this.#at = {
      trans: base,
      transT: base + K * kp * 4,
      start: base + 2 * K * kp * 4,
      end: base + (2 * K * kp + kp) * 4,
      free: base + (2 * K * kp + 2 * kp) * 4,
    };
    growMemory(this.#memory, this.#at.free);
    const transMax = maxOf(params.transitions, 0, K * K);
    const trans = this.#view(this.#at.trans, K * kp);
    const transT = this.#view(this.#at.transT, K * kp);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        const value = Math.exp(params.transitions[i * K + j] - transMax);
        trans[i * kp + j] = value;
        transT[j * kp + i] = value;
      }
    }
    const startMax = maxOf(params.start, 0, K);
    const endMax = maxOf(params.end, 0, K);
    const start = this.#view(this.#at.start, kp);
    const end = this.#view(this.#at.end, kp);
    for (let j = 0; j < K; j++) {
      start[j] = Math.exp(params.start[j] - startMax);
      end[j] = Math.exp(params.end[j] - endMax);
    }
  }

  /**
   * A kernel for these CRF parameters, or null where this runtime lacks WebAssembly SIMD.
   *
   * @param params the CRF's host parameters
   * @param numTags `K`
   * @param paddingTagId the label whose emission gets the padding penalty; null for none
   */
  static create(
    params: CrfHostParameters,
    numTags: number,
    paddingTagId: number | null,
  ): CrfMarginalsKernel | null {
    const module = kernelsModule();
    return module === null ? null : new CrfMarginalsKernel(module, params, numTags, paddingTagId);
  }

  /**
   * Per-token marginals `P(y_t = j | x)` of one sequence.
   *
   * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`)
   * @param length number of real tokens
   * @param offset where the sequence starts in `emissions`; default 0
   * @returns `[length*K]` row-major marginals (each row sums to 1), a new array; null when float32
   *   underflowed (then use `crfMarginals`)
   */
  marginals(emissions: ArrayLike<number>, length: number, offset = 0): Float32Array | null {
    const K = this.#numTags;
    if (length <= 0) return new Float32Array(0);
    const kp = Math.ceil(K / 4) * 4;
    const at = this.#at.free;
    const scratch = at + length * K * 4;
    const out = scratch + 4 * length * kp * 4;
    growMemory(this.#memory, out + length * K * 4);
    const input = this.#view(at, length * K);
    if (emissions instanceof Float32Array) {
      input.set(emissions.subarray(offset, offset + length * K));
    } else {
      for (let i = 0; i < length * K; i++) input[i] = emissions[offset + i];
    }
    const { trans, transT, start, end } = this.#at;
    this.#exports.crf_marginals(
      length,
      K,
      at,
      this.#paddingTagId,
      PADDING_TAG_PENALTY,
      trans,
      transT,
      start,
      end,
      scratch,
      out,
    );
    const result = this.#view(out, length * K).slice();
    // float32 underflow (a step whose every path scores ~87 below its best) leaves 0/0: let the
    // float64 JavaScript have that sequence.
    for (let i = 0; i < result.length; i++) if (!(result[i] >= 0)) return null;
    return result;
  }

  #view(byteOffset: number, floats: number): Float32Array {
    return memoryFloats(this.#memory, byteOffset, floats);
  }
}
