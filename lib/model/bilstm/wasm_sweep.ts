/**
 * The BiLSTM inference sweep as one WebAssembly SIMD call per direction (lib/model/wasm/kernels.c),
 * instead of four tfjs dispatches per time step: the recurrent GEMM, the gates and the cell
 * update of every step run inside one module, on memory it owns.
 *
 * A {@linkcode WasmSweep} holds that module's memory: callers ask it for the input views of a
 * batch ({@linkcode WasmSweep.inputs}), write the input projections (and the padding mask) there,
 * then {@linkcode WasmSweep.run} sweeps both directions and returns a view of the layer output
 * ({@linkcode WasmSweep.head} then applies the tagger's output layer to it, in the module).
 * Views stay valid until the next `inputs` call. Each thread (a pool worker, the calling thread)
 * gets its own instance from {@linkcode wasmSweep}; nothing is shared. The memory grows to the
 * largest batch seen and is kept (WebAssembly memory cannot shrink): for 256 rows of 50 steps and
 * 200 units, about 100 MB per thread.
 *
 * The arithmetic is that of lib/model/bilstm/inference.ts (sigmoid gates, the cell's tanh as
 * Eigen's rational function; sigmoid here is `0.5 + 0.5·tanh(x/2)` through the same function),
 * so results agree with the tfjs sweeps to 1e-5 and with the layers' forward pass to 1e-4 (tested).
 *
 * @example
 * ```ts
 * import { WasmSweep } from "./wasm_sweep.ts";
 * const sweep = new WasmSweep(); // throws where the runtime lacks WebAssembly SIMD
 * const { zxF, zxB } = sweep.inputs({ batch: 1, time: 2, units: 4, masked: false });
 * zxF.fill(0.1);
 * zxB.fill(-0.1);
 * const y = sweep.run({ uF: new Float32Array(64), uB: new Float32Array(64), candidateScale: 1 });
 * console.log(y.length); // 1 · 2 · 8
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

/** The sizes of a batch. */
export interface SweepShape {
  /** Rows. */
  batch: number;
  /** Time steps. */
  time: number;
  /** Units per direction. */
  units: number;
  /** Whether a padding mask is given (then `inputs` returns its view). */
  masked: boolean;
  /** Outputs of a dense layer on the sweep's output ({@link WasmSweep.head}); 0 or absent: none. */
  headWidth?: number;
}

/** Views of a batch's inputs in the module's memory, to be filled before {@link WasmSweep.run}. */
export interface SweepInputs {
  /** Forward input projections `x·W + b`, time-major `[time, batch, 4U]`. */
  zxF: Float32Array;
  /** Backward input projections, the same layout. */
  zxB: Float32Array;
  /** `[time, batch]` padding mask (non-zero = real token), when `masked`. */
  mask: Float32Array | null;
}

/** The weights of one sweep. */
export interface SweepWeights {
  /** Forward recurrent kernel `[U, 4U]`, row-major. */
  uF: Float32Array;
  /** Backward recurrent kernel, the same. */
  uB: Float32Array;
  /**
   * The cell candidate is `tanh(candidateScale · pre-activation)`: 1, or 0.5 when the candidate
   * blocks of the projections and kernels were doubled (lib/model/_projection_cache.ts).
   */
  candidateScale: number;
}

interface SweepExports {
  pack_panels(depth: number, width: number, w: number, packed: number): void;
  dense(
    rows: number,
    depth: number,
    width: number,
    x: number,
    packed: number,
    bias: number,
    g: number,
    out: number,
  ): void;
  lstm_direction(
    batch: number,
    time: number,
    units: number,
    zx: number,
    packed: number,
    mask: number,
    reverse: number,
    candidateScale: number,
    h: number,
    c: number,
    g: number,
    y: number,
    yOffset: number,
  ): void;
}

/** Byte offsets of one batch's regions in the module's memory. */
interface Layout {
  shape: SweepShape;
  uF: number;
  uB: number;
  packedF: number;
  packedB: number;
  zxF: number;
  zxB: number;
  mask: number;
  h: number;
  c: number;
  g: number;
  y: number;
  headKernel: number;
  packedHead: number;
  headBias: number;
  headScratch: number;
  scores: number;
  end: number;
}

/** The most memory a sweep module takes (larger batches take the tfjs sweep instead). */
export const MAX_SWEEP_BYTES = 2 ** 31;

/** The memory layout of a batch, from `base` on. */
function layoutOf(base: number, shape: SweepShape): Layout {
  const { batch, time, units } = shape;
  const width = 4 * units;
  const panelWidth = Math.ceil(width / 8) * 8;
  const headWidth = shape.headWidth ?? 0;
  const headPanelWidth = Math.ceil(headWidth / 8) * 8;
  const sizes = {
    uF: units * width,
    uB: units * width,
    packedF: units * panelWidth,
    packedB: units * panelWidth,
    zxF: time * batch * width,
    zxB: time * batch * width,
    mask: shape.masked ? time * batch : 0,
    h: batch * units,
    c: batch * units,
    g: batch * panelWidth,
    y: batch * time * 2 * units,
    headKernel: 2 * units * headWidth,
    packedHead: 2 * units * headPanelWidth,
    headBias: headWidth,
    headScratch: batch * time * headPanelWidth,
    scores: batch * time * headWidth,
  };
  let at = align16(base);
  const offsets = {} as Record<keyof typeof sizes, number>;
  for (const [name, floats] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
    offsets[name] = at;
    at += align16(floats * 4);
  }
  return { shape, ...offsets, end: at };
}

/** One thread's instance of the sweep module and its memory. */
export class WasmSweep {
  readonly #memory: WebAssembly.Memory;
  readonly #exports: SweepExports;
  readonly #base: number;
  #layout: Layout | null = null;

  /**
   * Instantiates the kernels with a memory of its own.
   *
   * @param module the compiled kernels; default this thread's ({@linkcode kernelsModule})
   */
  constructor(module: WebAssembly.Module | null = kernelsModule()) {
    if (module === null) throw new Error("WasmSweep: this runtime lacks WebAssembly SIMD");
    const { exports, memory, heapBase } = instantiateKernels(module);
    this.#memory = memory;
    this.#exports = exports as unknown as SweepExports;
    this.#base = heapBase;
  }

  /**
   * Whether a batch fits in {@linkcode MAX_SWEEP_BYTES} of this module's memory.
   *
   * @param shape the batch's sizes
   */
  fits(shape: SweepShape): boolean {
    return layoutOf(this.#base, shape).end <= MAX_SWEEP_BYTES;
  }

  /**
   * Lays out a batch (growing the memory when needed) and returns the views to fill.
   *
   * @param shape the batch's sizes
   * @returns views of the projections and mask, valid until the next call
   */
  inputs(shape: SweepShape): SweepInputs {
    const layout = layoutOf(this.#base, shape);
    if (layout.end > MAX_SWEEP_BYTES) {
      throw new RangeError(
        `WasmSweep: a batch of ${shape.batch} rows × ${shape.time} steps × ${shape.units} units ` +
          `needs ${Math.ceil(layout.end / 2 ** 20)} MB, over ${MAX_SWEEP_BYTES / 2 ** 20} MB`,
      );
    }
    growMemory(this.#memory, layout.end);
    this.#layout = layout;
    const { batch, time, units } = shape;
    const zxFloats = time * batch * 4 * units;
    return {
      zxF: this.#view(layout.zxF, zxFloats),
      zxB: this.#view(layout.zxB, zxFloats),
      mask: shape.masked ? this.#view(layout.mask, time * batch) : null,
    };
  }

  /**
   * Sweeps both directions over the batch laid out by the last {@link inputs} call.
   *
   * @param weights the recurrent kernels and the candidate scale
   * @returns the layer output `[batch, time, 2U]` (forward then backward units), a view valid
   *   until the next {@link inputs} call
   */
  run(weights: SweepWeights): Float32Array {
    const layout = this.#layout;
    if (layout === null) throw new Error("WasmSweep.run: call inputs() first");
    const { batch, time, units, masked } = layout.shape;
    const kernelFloats = units * 4 * units;
    for (const [w, at] of [[weights.uF, layout.uF], [weights.uB, layout.uB]] as const) {
      if (w.length !== kernelFloats) {
        throw new RangeError(
          `WasmSweep.run: a recurrent kernel has ${w.length} values, not ${kernelFloats} ([${units}, ${
            4 * units
          }])`,
        );
      }
      this.#view(at, kernelFloats).set(w);
    }
    const e = this.#exports;
    e.pack_panels(units, 4 * units, layout.uF, layout.packedF);
    e.pack_panels(units, 4 * units, layout.uB, layout.packedB);
    const mask = masked ? layout.mask : 0;
    const { h, c, g, y } = layout;
    const scale = weights.candidateScale;
    const directions = [
      { zx: layout.zxF, packed: layout.packedF, reverse: 0 }, // steps in order, columns 0..U
      { zx: layout.zxB, packed: layout.packedB, reverse: 1 }, // reversed, columns U..2U
    ];
    for (const { zx, packed, reverse } of directions) {
      const yOffset = reverse * units;
      e.lstm_direction(batch, time, units, zx, packed, mask, reverse, scale, h, c, g, y, yOffset);
    }
    return this.#view(layout.y, batch * time * 2 * units);
  }

  /**
   * A dense layer on the output of the last {@link run}: `y·kernel + bias` per token, e.g. the
   * tagger's output layer, so the layer output never leaves this module.
   *
   * @param kernel `[2U, headWidth]`, row-major
   * @param bias `[headWidth]`
   * @returns `[batch·time, headWidth]`, a view valid until the next {@link inputs} call
   */
  head(kernel: Float32Array, bias: Float32Array): Float32Array {
    const layout = this.#layout;
    const width = layout?.shape.headWidth ?? 0;
    if (layout === null || width === 0) {
      throw new Error("WasmSweep.head: call inputs() with a headWidth first");
    }
    const { batch, time, units } = layout.shape;
    if (kernel.length !== 2 * units * width || bias.length !== width) {
      throw new RangeError(
        `WasmSweep.head: kernel has ${kernel.length} values and bias ${bias.length}, not ${
          2 * units * width
        } ([${2 * units}, ${width}]) and ${width}`,
      );
    }
    this.#view(layout.headKernel, kernel.length).set(kernel);
    this.#view(layout.headBias, width).set(bias);
    const e = this.#exports;
    e.pack_panels(2 * units, width, layout.headKernel, layout.packedHead);
    const rows = batch * time;
    e.dense(
      rows,
      2 * units,
      width,
      layout.y,
      layout.packedHead,
      layout.headBias,
      layout.headScratch,
      layout.scores,
    );
    return this.#view(layout.scores, rows * width);
  }

  #view(byteOffset: number, floats: number): Float32Array {
    return memoryFloats(this.#memory, byteOffset, floats);
  }
}

let threadSweep: WasmSweep | null = null;

/**
 * This thread's {@linkcode WasmSweep}, made on first use; null where WebAssembly SIMD is not
 * available (then callers keep the tfjs path).
 */
export function wasmSweep(): WasmSweep | null {
  if (threadSweep === null && kernelsModule() !== null) threadSweep = new WasmSweep();
  return threadSweep;
}
