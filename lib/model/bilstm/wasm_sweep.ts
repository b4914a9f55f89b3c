/**
 * The BiLSTM's one fast implementation: its sweeps over time as WebAssembly SIMD calls
 * (lib/model/wasm/kernels.c), one call per direction for a whole batch, for training and
 * inference alike. The recurrent GEMM, the gates, the cell update, the padding mask and the
 * recurrent dropout of every step run inside one module, on memory it owns; the input projections
 * and the weight gradients (large matMuls) stay with the tfjs backend (./bilstm_function.ts).
 *
 * A {@linkcode WasmSweep} holds that module's memory:
 * - inference: callers ask it for the input views of a batch ({@linkcode WasmSweep.inputs}),
 *   write the input projections (and the padding mask) there, then {@linkcode WasmSweep.run}
 *   sweeps both directions and returns a view of the layer output ({@linkcode WasmSweep.head}
 *   then applies the tagger's output layer to it, in the module). Views stay valid until the
 *   next call;
 * - training: {@linkcode WasmSweep.trainForward} sweeps forward and returns the output and what
 *   the backward pass needs (copies), {@linkcode WasmSweep.trainBackward} the gradients of the
 *   gate pre-activations.
 *
 * Each thread (a pool worker, the calling thread) gets its own instance from
 * {@linkcode wasmSweep}; nothing is shared, except in training where a peer factory is
 * registered ({@linkcode setSweepPeerFactory}, by lib/train/trainer.ts) and the runtime can make
 * a shared WebAssembly memory: then the instance runs on a shared memory, and once the peer (a
 * worker thread with its own instance on the same memory, its own scratch regions) is ready, a
 * training batch of at least {@linkcode PARALLEL_MIN_TOKENS} rows × steps sweeps its reverse
 * direction there while the forward direction runs here: the same kernels on the same values,
 * so bitwise the same results. This module never imports the worker itself, so a browser bundle
 * of it has none. The memory grows to the largest batch seen and is
 * kept (WebAssembly memory cannot shrink): for 256 rows of 50 steps and 200 units, about 100 MB
 * per thread.
 *
 * The arithmetic: sigmoid or hard-sigmoid gates, tanh as Eigen's float rational function (max
 * abs error 2.6e-7; sigmoid is `0.5 + 0.5·tanh(x/2)` through it), so outputs and gradients agree
 * with tfjs-layers' LSTM to 1e-4 (tested).
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
  instantiateSharedKernels,
  kernelsModule,
  memoryFloats,
  sharedKernelsModule,
} from "../wasm/module.ts";
import {
  type InferenceLayout,
  inferenceLayout,
  MAX_SWEEP_BYTES,
  PARALLEL_MIN_TOKENS,
  PEER_CONTROL_BYTES,
  SAVED_REGIONS,
  savedFloats,
  type SavedSweep,
  type SweepExports,
  type SweepInputs,
  type SweepPeer,
  type SweepPeerFactory,
  type SweepShape,
  type SweepWeights,
  type TrainingBatch,
  trainingLayout,
  type WasmSweepOptions,
} from "./_sweep_layout.ts";
export type {
  SavedSweep,
  SweepInputs,
  SweepPeer,
  SweepPeerFactory,
  SweepShape,
  SweepWeights,
  TrainingBatch,
  WasmSweepOptions,
} from "./_sweep_layout.ts";
export { MAX_SWEEP_BYTES, PARALLEL_MIN_TOKENS, PEER_CONTROL_BYTES } from "./_sweep_layout.ts";

let peerFactory: SweepPeerFactory | null = null;

/**
 * Registers how training's sweeps get a peer thread (lib/train/trainer.ts does, with
 * ./_sweep_peer.ts): {@linkcode wasmSweep}'s instances made from then on run on a shared memory
 * where the runtime can make one. Null: none (the default).
 *
 * @param factory makes a sweep's peer
 */
export function setSweepPeerFactory(factory: SweepPeerFactory | null): void {
  peerFactory = factory;
}

/** One thread's instance of the sweep module and its memory. */
export class WasmSweep {
  readonly #memory: WebAssembly.Memory;
  readonly #exports: SweepExports;
  readonly #base: number;
  #layout: InferenceLayout | null = null;
  /** The training forward pass whose saved regions are in memory now, if any. */
  #resident: SavedSweep | null = null;
  /** Makes the peer (shared memory only), and the peer once made. */
  readonly #peerFactory: SweepPeerFactory | null = null;
  #peer: SweepPeer | null = null;
  readonly #control: number = 0;

  /**
   * Instantiates the kernels with a memory of its own.
   *
   * @param module the compiled kernels; default this thread's ({@linkcode kernelsModule})
   * @param options a peer for training's reverse direction (then a shared memory)
   */
  constructor(
    module: WebAssembly.Module | null = kernelsModule(),
    options: WasmSweepOptions = {},
  ) {
    if (module === null) throw new Error("WasmSweep: this runtime lacks WebAssembly SIMD");
    const shared = options.peer ? sharedKernelsModule() : null;
    const { exports, memory, heapBase } = shared === null
      ? instantiateKernels(module)
      : instantiateSharedKernels(shared);
    this.#memory = memory;
    this.#exports = exports as unknown as SweepExports;
    this.#base = heapBase;
    if (shared !== null) {
      this.#peerFactory = options.peer!;
      this.#control = align16(heapBase);
      this.#base = this.#control + PEER_CONTROL_BYTES;
    }
  }

  /** Whether this sweep runs on a shared memory with a peer for training. */
  get shared(): boolean {
    return this.#peerFactory !== null;
  }

  /** Whether its peer has started and takes the reverse direction of large training batches. */
  get peerReady(): boolean {
    return this.#peer !== null && this.#peer.ready();
  }

  /** The layout of a training batch (with the peer's scratch on a shared memory). */
  #trainingLayout(s: Omit<TrainingBatch, "hard">) {
    return trainingLayout(this.#base, s, this.#peerFactory !== null);
  }

  /** Whether a training batch runs its reverse direction on the peer (started on first ask). */
  #parallel(s: TrainingBatch): boolean {
    if (this.#peerFactory === null) return false;
    this.#peer ??= this.#peerFactory(this.#memory, this.#control);
    return s.batch * s.time >= PARALLEL_MIN_TOKENS && this.#peer.ready();
  }

  /**
   * Whether a batch fits in {@linkcode MAX_SWEEP_BYTES} of this module's memory, for inference
   * and for training.
   *
   * @param shape the batch's sizes
   */
  fits(shape: SweepShape): boolean {
    const training = { ...shape, mask: null, dropout: null };
    return inferenceLayout(this.#base, shape).end <= MAX_SWEEP_BYTES &&
      this.#trainingLayout(training).end <= MAX_SWEEP_BYTES;
  }

  /**
   * Lays out a batch (growing the memory when needed) and returns the views to fill.
   *
   * @param shape the batch's sizes
   * @returns views of the projections and mask, valid until the next call
   */
  inputs(shape: SweepShape): SweepInputs {
    const at = inferenceLayout(this.#base, shape);
    this.#spill();
    this.#reserve(at.end, shape);
    this.#layout = { ...at, shape };
    const { batch, time, units } = shape;
    const zxFloats = time * batch * 4 * units;
    return {
      zxF: this.#view(at.zxF, zxFloats),
      zxB: this.#view(at.zxB, zxFloats),
      mask: shape.masked ? this.#view(at.mask, time * batch) : null,
    };
  }

  /**
   * Sweeps both directions over the batch laid out by the last {@link inputs} call.
   *
   * @param weights the recurrent kernels, the candidate scale and the gate activation
   * @returns the layer output `[batch, time, 2U]` (forward then backward units), a view valid
   *   until the next {@link inputs} call
   */
  run(weights: SweepWeights): Float32Array {
    const at = this.#layout;
    if (at === null) throw new Error("WasmSweep.run: call inputs() first");
    const { batch, time, units, masked } = at.shape;
    this.#setKernels(weights.uF, weights.uB, at.uF, at.uB, units, "WasmSweep.run");
    const e = this.#exports;
    e.pack_panels(units, 4 * units, at.uF, at.packedF);
    e.pack_panels(units, 4 * units, at.uB, at.packedB);
    const mask = masked ? at.mask : 0;
    const hard = weights.hard ? 1 : 0;
    const { h, c, hd, g, y } = at;
    const directions = [
      { zx: at.zxF, packed: at.packedF, reverse: 0 }, // steps in order, columns 0..U
      { zx: at.zxB, packed: at.packedB, reverse: 1 }, // reversed, columns U..2U
    ];
    for (const { zx, packed, reverse } of directions) {
      e.lstm_forward(
        batch,
        time,
        units,
        zx,
        batch,
        1,
        packed,
        mask,
        reverse,
        weights.candidateScale,
        hard,
        0,
        h,
        c,
        hd,
        g,
        y,
        reverse * units,
        0,
        0,
        0,
        at.rows,
        at.live,
        at.slot,
      );
    }
    return this.#view(at.y, batch * time * 2 * units);
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
    const at = this.#layout;
    const width = at?.shape.headWidth ?? 0;
    if (at === null || width === 0) {
      throw new Error("WasmSweep.head: call inputs() with a headWidth first");
    }
    const { batch, time, units } = at.shape;
    if (kernel.length !== 2 * units * width || bias.length !== width) {
      throw new RangeError(
        `WasmSweep.head: kernel has ${kernel.length} values and bias ${bias.length}, not ${
          2 * units * width
        } ([${2 * units}, ${width}]) and ${width}`,
      );
    }
    this.#view(at.headKernel, kernel.length).set(kernel);
    this.#view(at.headBias, width).set(bias);
    const e = this.#exports;
    e.pack_panels(2 * units, width, at.headKernel, at.packedHead);
    const rows = batch * time;
    e.dense(rows, 2 * units, width, at.y, at.packedHead, at.headBias, at.headScratch, at.scores);
    return this.#view(at.scores, rows * width);
  }

  /**
   * The forward sweep of a training pass: both directions over batch-major input projections.
   *
   * @param s the batch's sizes, gates, mask and dropout masks
   * @param fill writes the input projections `x·W + b` of both directions, batch-major
   *   `[batch, time, 8U]` (each row's forward then backward projections), into the view it is
   *   given
   * @param uF forward recurrent kernel `[U, 4U]`
   * @param uB backward recurrent kernel
   * @returns the layer output `[batch, time, 2U]` (a view, valid until the next call) and what
   *   {@link trainBackward} needs
   */
  trainForward(
    s: TrainingBatch,
    fill: (zx: Float32Array) => void,
    uF: Float32Array,
    uB: Float32Array,
  ): { y: Float32Array; saved: SavedSweep } {
    const { batch, time, units } = s;
    const rows = batch * time;
    const at = this.#trainingLayout(s);
    this.#spill();
    this.#reserve(at.end, { ...s, masked: s.mask !== null });
    this.#layout = null;
    this.#setKernels(uF, uB, at.uF, at.uB, units, "WasmSweep.trainForward");
    // The zxF and zxB regions are adjacent: together they hold the [rows, 8U] projections.
    fill(this.#view(at.zxF, rows * 8 * units));
    this.#setMaskAndDropout(s, at);
    const e = this.#exports;
    e.pack_panels(units, 4 * units, at.uF, at.packedF);
    e.pack_panels(units, 4 * units, at.uB, at.packedB);
    const directions = [
      { zx: at.zxF, packed: at.packedF, drop: at.dropF, gates: at.gatesF, cells: at.cellsF },
      {
        zx: at.zxF + 16 * units,
        packed: at.packedB,
        drop: at.dropB,
        gates: at.gatesB,
        cells: at.cellsB,
      },
    ];
    const hdPrev = [at.hdPrevF, at.hdPrevB];
    const scratch = [
      [at.h, at.c, at.hd, at.g],
      [at.h2, at.c2, at.hd2, at.g2],
    ];
    const counts = [[at.rows, at.live, at.slot], [at.rows2, at.live2, at.slot2]];
    const peer = this.#parallel(s) ? this.#peer : null;
    const args = ({ zx, packed, drop, gates, cells }: typeof directions[0], reverse: number) => {
      const [h, c, hd, g] = scratch[peer === null ? 0 : reverse];
      const [rowsAt, live, slot] = counts[peer === null ? 0 : reverse];
      return [
        batch,
        time,
        units,
        zx,
        2, // a step is two rows of 4U (forward, backward) apart
        2 * time,
        packed,
        s.mask === null ? 0 : at.mask,
        reverse,
        1,
        s.hard ? 1 : 0,
        s.dropout === null ? 0 : drop,
        h,
        c,
        hd,
        g,
        at.y,
        reverse * units,
        gates,
        cells,
        hdPrev[reverse],
        rowsAt,
        live,
        slot,
      ] as const;
    };
    if (peer === null) {
      directions.forEach((d, reverse) => e.lstm_forward(...args(d, reverse)));
    } else {
      // The reverse direction on the peer, the forward one here: disjoint regions but the
      // shared inputs (read only) and the output's columns (each its own half).
      peer.forward(args(directions[1], 1));
      e.lstm_forward(...args(directions[0], 0));
      peer.wait();
    }
    const saved: SavedSweep = { batch: s, values: null };
    this.#resident = saved;
    return { y: this.#view(at.y, rows * 2 * units), saved };
  }

  /**
   * The backward sweep of a training pass: the gradients of both directions' gate
   * pre-activations, batch-major `[batch·time, 4U]`, and their sums over rows (the biases'
   * gradients, `[4U]`).
   *
   * @param saved what {@link trainForward} returned for the batch
   * @param fillDy writes the gradient of the layer output `[batch, time, 2U]` into its view
   * @param uF forward recurrent kernel `[U, 4U]`
   * @param uB backward recurrent kernel
   * @returns views (valid until the next call) of the forward and backward directions'
   *   gradients (`[batch·time, 4U]`, and transposed: `[4U, batch·time]`) and bias gradients, and of the recurrent inputs saved by the forward pass
   *   (`[batch·time, U]` per direction)
   */
  trainBackward(
    saved: SavedSweep,
    fillDy: (dy: Float32Array) => void,
    uF: Float32Array,
    uB: Float32Array,
  ): {
    dzF: Float32Array;
    dzB: Float32Array;
    dzFT: Float32Array;
    dzBT: Float32Array;
    dbF: Float32Array;
    dbB: Float32Array;
    hdPrevF: Float32Array;
    hdPrevB: Float32Array;
  } {
    const s = saved.batch;
    const { batch, time, units } = s;
    const rows = batch * time;
    const width = 4 * units;
    const at = this.#trainingLayout(s);
    if (this.#resident !== saved) {
      this.#spill();
      this.#reserve(at.end, { ...s, masked: s.mask !== null });
      if (saved.values === null) throw new Error("WasmSweep.trainBackward: lost its forward pass");
      SAVED_REGIONS.forEach((name, i) =>
        this.#view(at[name], savedFloats(s, name)).set(saved.values![i])
      );
      saved.values = null;
      this.#resident = saved;
    }
    this.#layout = null;
    this.#setKernels(uF, uB, at.uF, at.uB, units, "WasmSweep.trainBackward");
    fillDy(this.#view(at.y, rows * 2 * units));
    this.#setMaskAndDropout(s, at);
    const e = this.#exports;
    e.pack_panels_transposed(units, width, at.uF, at.packedF);
    e.pack_panels_transposed(units, width, at.uB, at.packedB);
    const directions = [
      { gates: at.gatesF, cells: at.cellsF, drop: at.dropF, packed: at.packedF, dz: at.zxF },
      { gates: at.gatesB, cells: at.cellsB, drop: at.dropB, packed: at.packedB, dz: at.zxB },
    ];
    const dbias = [at.dbiasF, at.dbiasB];
    const scratch = [
      [at.dh, at.dc, at.rec, at.rows, at.live, at.slot],
      [at.dh2, at.dc2, at.rec2, at.rows2, at.live2, at.slot2],
    ];
    const peer = this.#parallel(s) ? this.#peer : null;
    const args = ({ gates, cells, drop, packed, dz }: typeof directions[0], reverse: number) => {
      const [dh, dc, rec, rowsAt, live, slot] = scratch[peer === null ? 0 : reverse];
      return [
        batch,
        time,
        units,
        at.y,
        reverse * units,
        gates,
        cells,
        s.mask === null ? 0 : at.mask,
        reverse,
        s.hard ? 1 : 0,
        s.dropout === null ? 0 : drop,
        packed,
        dz,
        dh,
        dc,
        rec,
        dbias[reverse],
        rowsAt,
        live,
        slot,
      ] as const;
    };
    // Consumed: nothing needs these regions kept any more, so the saved gates' regions take
    // the transposed gradients.
    this.#resident = null;
    if (peer === null) {
      directions.forEach((d, reverse) => e.lstm_backward(...args(d, reverse)));
      e.transpose(rows, width, at.zxF, at.gatesF);
      e.transpose(rows, width, at.zxB, at.gatesB);
    } else {
      // The reverse direction and its transpose on the peer, the forward ones here.
      peer.backward(args(directions[1], 1), [rows, width, at.zxB, at.gatesB]);
      e.lstm_backward(...args(directions[0], 0));
      e.transpose(rows, width, at.zxF, at.gatesF);
      peer.wait();
    }
    return {
      dzF: this.#view(at.zxF, rows * width),
      dzB: this.#view(at.zxB, rows * width),
      dzFT: this.#view(at.gatesF, rows * width),
      dzBT: this.#view(at.gatesB, rows * width),
      dbF: this.#view(at.dbiasF, width),
      dbB: this.#view(at.dbiasB, width),
      hdPrevF: this.#view(at.hdPrevF, rows * units),
      hdPrevB: this.#view(at.hdPrevB, rows * units),
    };
  }

  /** Copies the resident forward pass's saved regions out, before other work overwrites them. */
  #spill(): void {
    const resident = this.#resident;
    if (resident === null) return;
    const at = this.#trainingLayout(resident.batch);
    resident.values = SAVED_REGIONS.map((name) =>
      this.#view(at[name], savedFloats(resident.batch, name)).slice()
    );
    this.#resident = null;
  }

  /** Grows the memory to `end` bytes, refusing a batch over {@linkcode MAX_SWEEP_BYTES}. */
  #reserve(end: number, shape: SweepShape): void {
    if (end > MAX_SWEEP_BYTES) {
      throw new RangeError(
        `WasmSweep: a batch of ${shape.batch} rows × ${shape.time} steps × ${shape.units} units ` +
          `needs ${Math.ceil(end / 2 ** 20)} MB, over ${MAX_SWEEP_BYTES / 2 ** 20} MB`,
      );
    }
    growMemory(this.#memory, end);
  }

  /** Copies both recurrent kernels in, checking their size. */
  #setKernels(
    uF: Float32Array,
    uB: Float32Array,
    atF: number,
    atB: number,
    units: number,
    caller: string,
  ): void {
    const kernelFloats = units * 4 * units;
    for (const [w, at] of [[uF, atF], [uB, atB]] as const) {
      if (w.length !== kernelFloats) {
        throw new RangeError(
          `${caller}: a recurrent kernel has ${w.length} values, not ${kernelFloats} ([${units}, ${
            4 * units
          }])`,
        );
      }
      this.#view(at, kernelFloats).set(w);
    }
  }

  /** Copies a training batch's padding and dropout masks in. */
  #setMaskAndDropout(
    s: TrainingBatch,
    at: { mask: number; dropF: number; dropB: number },
  ): void {
    if (s.mask !== null) this.#view(at.mask, s.batch * s.time).set(s.mask);
    if (s.dropout !== null) {
      this.#view(at.dropF, s.batch * s.units).set(s.dropout[0]);
      this.#view(at.dropB, s.batch * s.units).set(s.dropout[1]);
    }
  }

  #view(byteOffset: number, floats: number): Float32Array {
    return memoryFloats(this.#memory, byteOffset, floats);
  }
}

let threadSweep: WasmSweep | null = null;

/**
 * This thread's {@linkcode WasmSweep}, made on first use; null where WebAssembly SIMD is not
 * available (then callers take the tfjs reference).
 */
export function wasmSweep(): WasmSweep | null {
  if (threadSweep === null && kernelsModule() !== null) {
    threadSweep = new WasmSweep(kernelsModule(), { peer: peerFactory });
  }
  return threadSweep;
}
