/**
 * The CRF's one fast path: its forward–backward in WebAssembly SIMD (lib/model/wasm/kernels.c).
 * Training's loss is ONE call per batch (`crf_loss`: the log-partitions, the gold scores, the soft
 * targets' term, and the gradient tables w.r.t. the emissions, transitions, start and end scores,
 * masking and the padding-tag penalty included), wrapped in a `tf.customGrad` by
 * {@link fastSequenceNegLogLikelihoods}; prediction's per-token marginals are the same
 * forward–backward without the pair counts (`crf_marginals`, {@link CrfKernel.marginals}).
 *
 * Float32 with each step renormalised (the log-norms summed in float64): the same values as the
 * tf-ops reference (./loss.ts) within 1e-4, tested. Where float32 underflows (a step whose every
 * path scores ~87 below its best) or the runtime lacks WebAssembly SIMD, the callers take the
 * tf-ops reference instead.
 *
 * @example
 * ```ts
 * import { CrfKernel } from "./wasm_forward_backward.ts";
 * const params = {
 *   transitions: new Float32Array(9),
 *   start: new Float32Array(3),
 *   end: new Float32Array(3),
 * };
 * const kernel = CrfKernel.create(params, 3, 0);
 * console.log(kernel?.marginals(new Float32Array([0, 1, 2, 0, 2, 1]), 2)); // 2 rows of 3
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { copyTensorInto, tensorOf } from "../bilstm/bilstm_function.ts";
import {
  align16,
  growMemory,
  instantiateKernels,
  kernelsModule,
  memoryFloats,
} from "../wasm/module.ts";
import {
  type CrfHostParameters,
  type CrfParameters,
  PADDING_TAG_PENALTY,
  type SoftTargets,
} from "./params.ts";

interface CrfExports {
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
  ): number;
  crf_loss(
    batch: number,
    time: number,
    k: number,
    emissions: number,
    tags: number,
    lengths: number,
    pad: number,
    penalty: number,
    trans: number,
    start: number,
    end: number,
    expTrans: number,
    expTransT: number,
    expStart: number,
    expEnd: number,
    shift: number,
    transMax: number,
    soft: number,
    weight: number,
    scratch: number,
    losses: number,
    gradEmit: number,
    gradTrans: number,
    gradStart: number,
    gradEnd: number,
  ): number;
}

/** The most memory a CRF kernel takes (larger batches take the tf-ops reference instead). */
export const MAX_CRF_BYTES = 2 ** 30;

/** Per-sequence losses and gradient tables of a batch (copies). */
export interface CrfLossTables {
  /** `[batch]` NLL. */
  losses: Float32Array;
  /** `[batch, T, K]` d loss / d emissions. */
  gradEmit: Float32Array;
  /** `[batch, K*K]` per-sequence d loss / d transitions. */
  gradTrans: Float32Array;
  /** `[batch, K]` per-sequence d loss / d start. */
  gradStart: Float32Array;
  /** `[batch, K]` per-sequence d loss / d end. */
  gradEnd: Float32Array;
}

/** Largest of `values`. */
function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return max;
}

/** Floats of the kernel's forward–backward scratch for `length` tokens (kernels.c). */
function scratchFloats(length: number, K: number): number {
  return (3 * length + K + 2) * Math.ceil(K / 4) * 4;
}

/** Byte offsets of named regions (sizes in 4-byte values), 16-byte aligned, from `base` on. */
function layout<N extends string>(
  base: number,
  sizes: Record<N, number>,
): Record<N, number> & { end: number } {
  let at = align16(base);
  const offsets: Record<string, number> = {};
  for (const [name, count] of Object.entries(sizes) as [N, number][]) {
    offsets[name] = at;
    at += align16(count * 4);
  }
  offsets.end = at;
  return offsets as Record<N, number> & { end: number };
}

/** A kernels instance holding one CRF's parameters, and the per-call buffers after them. */
export class CrfKernel {
  readonly #exports: CrfExports;
  readonly #memory: WebAssembly.Memory;
  readonly #heapBase: number;
  #numTags = 0;
  #paddingTagId = -1;
  /** `max(start) + max(end)` and `max(transitions)`: the shifts taken out of the exp tables. */
  #shift = 0;
  #transMax = 0;
  /** Byte offsets of the parameter tables, then of the free memory. */
  #at = { trans: 0, transT: 0, expStart: 0, expEnd: 0, raw: 0, rawStart: 0, rawEnd: 0 };
  /** Where the per-call buffers start. */
  #free = 0;

  private constructor(module: WebAssembly.Module) {
    const { exports, memory, heapBase } = instantiateKernels(module, 2);
    this.#exports = exports as unknown as CrfExports;
    this.#memory = memory;
    this.#heapBase = heapBase;
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
  ): CrfKernel | null {
    const module = kernelsModule();
    if (module === null) return null;
    const kernel = new CrfKernel(module);
    kernel.setParameters(params, numTags, paddingTagId);
    return kernel;
  }

  /**
   * Loads CRF parameters (their raw scores, and exp tables shifted by each table's maximum).
   *
   * @param params the CRF's host parameters
   * @param numTags `K`
   * @param paddingTagId the label whose emission gets the padding penalty; null for none
   */
  setParameters(params: CrfHostParameters, numTags: number, paddingTagId: number | null): void {
    const K = numTags;
    const kp = Math.ceil(K / 4) * 4;
    this.#numTags = K;
    this.#paddingTagId = paddingTagId ?? -1;
    const at = layout(this.#heapBase, {
      trans: K * kp,
      transT: K * kp,
      expStart: kp,
      expEnd: kp,
      raw: K * K,
      rawStart: K,
      rawEnd: K,
    });
    this.#at = at;
    this.#free = at.end;
    growMemory(this.#memory, at.end);
    const transMax = maxOf(params.transitions);
    const startMax = maxOf(params.start);
    const endMax = maxOf(params.end);
    this.#transMax = transMax;
    this.#shift = startMax + endMax;
    const trans = this.#view(at.trans, K * kp).fill(0);
    const transT = this.#view(at.transT, K * kp).fill(0);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        const value = Math.exp(params.transitions[i * K + j] - transMax);
        trans[i * kp + j] = value;
        transT[j * kp + i] = value;
      }
    }
    const start = this.#view(at.expStart, kp).fill(0);
    const end = this.#view(at.expEnd, kp).fill(0);
    for (let j = 0; j < K; j++) {
      start[j] = Math.exp(params.start[j] - startMax);
      end[j] = Math.exp(params.end[j] - endMax);
    }
    this.#view(at.raw, K * K).set(params.transitions.subarray(0, K * K));
    this.#view(at.rawStart, K).set(params.start.subarray(0, K));
    this.#view(at.rawEnd, K).set(params.end.subarray(0, K));
  }

  /**
   * Per-token marginals `P(y_t = j | x)` of one sequence.
   *
   * @param emissions `[T*K]` row-major emission scores (at least `length*K` values from `offset`)
   * @param length number of real tokens
   * @param offset where the sequence starts in `emissions`; default 0
   * @returns `[length*K]` row-major marginals (each row sums to 1), a new array; null when float32
   *   underflowed (then use the tf-ops reference, `crfMarginals` does)
   */
  marginals(emissions: ArrayLike<number>, length: number, offset = 0): Float32Array | null {
    const K = this.#numTags;
    if (length <= 0) return new Float32Array(0);
    const at = layout(this.#free, {
      input: length * K,
      scratch: scratchFloats(length, K),
      out: length * K,
    });
    growMemory(this.#memory, at.end);
    const input = this.#view(at.input, length * K);
    if (emissions instanceof Float32Array) {
      input.set(emissions.subarray(offset, offset + length * K));
    } else {
      for (let i = 0; i < length * K; i++) input[i] = emissions[offset + i];
    }
    const { trans, transT, expStart, expEnd } = this.#at;
    const ok = this.#exports.crf_marginals(
      length,
      K,
      at.input,
      this.#paddingTagId,
      PADDING_TAG_PENALTY,
      trans,
      transT,
      expStart,
      expEnd,
      at.scratch,
      at.out,
    );
    return ok ? this.#view(at.out, length * K).slice() : null;
  }

  /**
   * The per-sequence losses and gradient tables of a batch, in one kernel call.
   *
   * @param emissions `[batch, T, K]` emission scores
   * @param tags `[batch*T]` gold tags
   * @param lengths `[batch]` real tokens of each row (a prefix)
   * @param soft a teacher's soft targets mixed into the gold emission term, or none
   * @returns the tables (copies); null where float32 underflowed or the batch is too large
   */
  lossTables(
    emissions: tf.Tensor3D,
    tags: ArrayLike<number>,
    lengths: Int32Array,
    soft?: SoftTargets,
  ): CrfLossTables | null {
    const [batch, time, K] = emissions.shape;
    const cells = batch * time * K;
    if (soft && soft.targets.length !== cells) {
      throw new Error(
        `crf: ${soft.targets.length} soft-target values for [${batch}, ${time}, ${K}]`,
      );
    }
    const at = layout(this.#free, {
      emissions: cells,
      tags: batch * time,
      lengths: batch,
      soft: soft ? cells : 0,
      scratch: scratchFloats(time, K),
      losses: batch,
      gradEmit: cells,
      gradTrans: batch * K * K,
      gradStart: batch * K,
      gradEnd: batch * K,
    });
    if (at.end > MAX_CRF_BYTES) return null;
    growMemory(this.#memory, at.end);
    copyTensorInto(emissions, this.#view(at.emissions, cells));
    new Int32Array(this.#memory.buffer, at.tags, batch * time).set(tags);
    new Int32Array(this.#memory.buffer, at.lengths, batch).set(lengths);
    if (soft) this.#view(at.soft, cells).set(soft.targets);
    const p = this.#at;
    const failed = this.#exports.crf_loss(
      batch,
      time,
      K,
      at.emissions,
      at.tags,
      at.lengths,
      this.#paddingTagId,
      PADDING_TAG_PENALTY,
      p.raw,
      p.rawStart,
      p.rawEnd,
      p.trans,
      p.transT,
      p.expStart,
      p.expEnd,
      this.#shift,
      this.#transMax,
      soft ? at.soft : 0,
      soft ? soft.weight : 0,
      at.scratch,
      at.losses,
      at.gradEmit,
      at.gradTrans,
      at.gradStart,
      at.gradEnd,
    );
    if (failed > 0) return null;
    return {
      losses: this.#view(at.losses, batch).slice(),
      gradEmit: this.#view(at.gradEmit, cells).slice(),
      gradTrans: this.#view(at.gradTrans, batch * K * K).slice(),
      gradStart: this.#view(at.gradStart, batch * K).slice(),
      gradEnd: this.#view(at.gradEnd, batch * K).slice(),
    };
  }

  #view(byteOffset: number, floats: number): Float32Array {
    return memoryFloats(this.#memory, byteOffset, floats);
  }
}

let threadKernel: CrfKernel | null = null;

/** This thread's kernel for training's loss (its parameters reloaded at every call). */
function lossKernel(params: CrfHostParameters, K: number, pad: number | null): CrfKernel | null {
  if (threadKernel === null) return threadKernel = CrfKernel.create(params, K, pad);
  threadKernel.setParameters(params, K, pad);
  return threadKernel;
}

/** Number of real tokens in each row of a `[batch*T]` 1/0 mask (real tokens are a prefix). */
function rowLengths(mask: ArrayLike<number>, batch: number, time: number): Int32Array {
  const lengths = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let length = 0;
    while (length < time && mask[b * time + length] > 0.5) length++;
    lengths[b] = length;
  }
  return lengths;
}

/**
 * The CRF loss's fast path: per-sequence negative log-likelihoods from ONE WebAssembly call, in a
 * `tf.customGrad` whose gradient is the kernel's tables (expected counts − gold counts) weighted
 * by the upstream per-sequence `dy`.
 *
 * @param emissions `[batch, T, K]` emission scores
 * @param tags `[batch, T]` int32 gold tags
 * @param mask `[batch, T]` 1/0, real tokens a prefix of each row
 * @param params the CRF parameters
 * @param soft a teacher's soft targets mixed into the gold emission term, or none
 * @returns `[batch]` per-sequence NLL; null where the kernel cannot (no WebAssembly SIMD, float32
 *   underflow, a batch too large): then take the tf-ops reference
 */
export function fastSequenceNegLogLikelihoods(
  emissions: tf.Tensor3D,
  tags: tf.Tensor2D,
  mask: tf.Tensor2D,
  params: CrfParameters,
  soft?: SoftTargets,
): tf.Tensor1D | null {
  const [batch, time, K] = emissions.shape;
  const host: CrfHostParameters = {
    transitions: params.transitions.dataSync() as Float32Array,
    start: params.startTransitions.dataSync() as Float32Array,
    end: params.endTransitions.dataSync() as Float32Array,
  };
  const kernel = lossKernel(host, K, params.paddingTagId);
  if (kernel === null) return null;
  const lengths = rowLengths(mask.dataSync(), batch, time);
  const t = kernel.lossTables(emissions, tags.dataSync(), lengths, soft);
  if (t === null) return null;
  const f = tf.customGrad((...args: unknown[]) => {
    const save = args[4] as tf.GradSaveFunc;
    save([
      tensorOf(t.gradEmit, [batch, time, K]),
      tensorOf(t.gradTrans, [batch, K * K]),
      tensorOf(t.gradStart, [batch, K]),
      tensorOf(t.gradEnd, [batch, K]),
    ]);
    return {
      value: tensorOf<tf.Rank.R1>(t.losses, [batch]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => weightedGradients(dy, saved, batch, K),
    };
  });
  return f(
    emissions,
    params.transitions,
    params.startTransitions,
    params.endTransitions,
  ) as tf.Tensor1D;
}

/**
 * The gradient of the fast loss: the saved per-sequence tables weighted by the upstream `dy`
 * (emissions per sequence; the parameters' tables summed over the batch with weights `dy`).
 */
function weightedGradients(
  dy: tf.Tensor,
  savedTensors: tf.Tensor[],
  batch: number,
  K: number,
): tf.Tensor[] {
  const [gEmit, gTrans, gStart, gEnd] = savedTensors as [
    tf.Tensor3D,
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
  const dyRow = tf.reshape(dy, [1, batch]) as tf.Tensor2D;
  return [
    tf.mul(gEmit, tf.reshape(dy, [batch, 1, 1])),
    tf.reshape(tf.matMul(dyRow, gTrans), [K, K]),
    tf.reshape(tf.matMul(dyRow, gStart), [K]),
    tf.reshape(tf.matMul(dyRow, gEnd), [K]),
  ];
}
