/**
 * The shapes, memory layouts and kernel exports of lib/model/bilstm/wasm_sweep.ts: where each
 * array of a sweep lives in the module's memory (inference and training), and what a peer thread
 * sharing that memory is asked to do.
 *
 * @module
 */
import { align16 } from "../wasm/module.ts";

/**
 * Another thread running the kernels on a `WasmSweep`'s shared memory, one job at a
 * time: a sweep of one direction, with the same arguments as the export it names.
 */
export interface SweepPeer {
  /** Whether it takes jobs yet (it starts in the background; until then the sweep runs alone). */
  ready(): boolean;
  /**
   * Starts `lstm_forward` with these arguments (all integers but `candidateScale`).
   *
   * @param args the export's arguments, in order
   */
  forward(args: readonly number[]): void;
  /**
   * Starts `lstm_backward`, then `transpose`.
   *
   * @param args `lstm_backward`'s arguments, in order
   * @param transpose `transpose`'s arguments, in order
   */
  backward(args: readonly number[], transpose: readonly number[]): void;
  /** Blocks until the started job is done; throws when the peer failed (it never hangs). */
  wait(): void;
}

/**
 * Makes the peer of a sweep: given the shared memory and the byte offset of its control block
 * ({@linkcode PEER_CONTROL_BYTES} bytes, 16-byte aligned, reserved for it).
 */
export type SweepPeerFactory = (memory: WebAssembly.Memory, control: number) => SweepPeer;

/** Bytes a shared sweep reserves at the start of its free memory for its peer's control block. */
export const PEER_CONTROL_BYTES = 256;

/** The fewest rows × steps of a training batch whose directions run on two threads. */
export const PARALLEL_MIN_TOKENS = 64;

/** Options of a `WasmSweep`. */
export interface WasmSweepOptions {
  /**
   * Run on a shared memory and, in training, sweep the reverse direction on the peer this makes
   * (started on the first training step). Ignored where no shared memory can be made.
   */
  peer?: SweepPeerFactory | null;
}

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
  /** `[batch, time]` padding mask (non-zero = real token), when `masked`. */
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
  /** Hard-sigmoid gates (tfjs-layers' default) instead of sigmoid; default false. */
  hard?: boolean;
}

/** A training batch: sizes, gate activation, padding mask and recurrent-dropout masks. */
export interface TrainingBatch {
  batch: number;
  time: number;
  units: number;
  /** Hard-sigmoid gates instead of sigmoid. */
  hard: boolean;
  /** `[batch, time]` padding mask (1 = real token), or null. */
  mask: Float32Array | null;
  /** Recurrent-dropout masks `[batch, U]` (forward, backward), or null. */
  dropout: readonly [Float32Array, Float32Array] | null;
}

/** The regions a training forward pass keeps for its backward pass, per direction. */
export const SAVED_REGIONS = [
  "gatesF",
  "gatesB",
  "cellsF",
  "cellsB",
  "hdPrevF",
  "hdPrevB",
] as const;

/**
 * What {@link WasmSweep.trainForward} keeps for the backward pass: per direction the gate
 * activations `[batch, time, 4U]`, the cell states `[batch, time, U]` and each step's recurrent
 * input (the previous step's dropped-out h) `[batch, time, U]`. They stay in the module's memory
 * while nothing else needs it (the usual case: the backward pass follows), and are copied out
 * (`values`, in {@link SAVED_REGIONS} order) only when another call would overwrite them.
 */
export interface SavedSweep {
  /** The batch they belong to. */
  readonly batch: TrainingBatch;
  /** Copies, once spilled out of the module's memory; null while they are there. */
  values: Float32Array[] | null;
}

export interface SweepExports {
  pack_panels(depth: number, width: number, w: number, packed: number): void;
  pack_panels_transposed(rows: number, cols: number, w: number, packed: number): void;
  transpose(rows: number, cols: number, src: number, dst: number): void;
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
  lstm_forward(
    batch: number,
    time: number,
    units: number,
    zx: number,
    zxT: number,
    zxB: number,
    packed: number,
    mask: number,
    reverse: number,
    candidateScale: number,
    hard: number,
    drop: number,
    h: number,
    c: number,
    hd: number,
    g: number,
    y: number,
    yOffset: number,
    gates: number,
    cells: number,
    hdPrev: number,
    rows: number,
    live: number,
    slot: number,
  ): void;
  lstm_backward(
    batch: number,
    time: number,
    units: number,
    dy: number,
    yOffset: number,
    gates: number,
    cells: number,
    mask: number,
    reverse: number,
    hard: number,
    drop: number,
    packedT: number,
    dz: number,
    dh: number,
    dc: number,
    rec: number,
    dbias: number,
    rows: number,
    live: number,
    slot: number,
  ): void;
}

/** The most memory a sweep module takes (larger batches take the tfjs reference instead). */
export const MAX_SWEEP_BYTES = 2 ** 31;

/** Byte offsets of named regions (sizes in floats), 16-byte aligned, from `base` on. */
export function layout<K extends string>(
  base: number,
  sizes: Record<K, number>,
): Record<K, number> & { end: number } {
  let at = align16(base);
  const offsets: Record<string, number> = {};
  for (const [name, floats] of Object.entries(sizes) as [K, number][]) {
    offsets[name] = at;
    at += align16(floats * 4);
  }
  offsets.end = at;
  return offsets as Record<K, number> & { end: number };
}

/** Floats of a packed `[depth, width]` matrix. */
export function packedFloats(depth: number, width: number): number {
  return depth * Math.ceil(width / 8) * 8;
}

/** The inference layout of a batch. */
export function inferenceLayout(base: number, shape: SweepShape) {
  const { batch, time, units } = shape;
  const width = 4 * units;
  const headWidth = shape.headWidth ?? 0;
  return layout(base, {
    uF: units * width,
    uB: units * width,
    packedF: packedFloats(units, width),
    packedB: packedFloats(units, width),
    zxF: time * batch * width,
    zxB: time * batch * width,
    mask: shape.masked ? time * batch : 0,
    h: batch * units,
    c: batch * units,
    hd: batch * units,
    g: batch * Math.ceil(width / 8) * 8,
    rows: batch * units,
    live: batch,
    slot: batch,
    y: batch * time * 2 * units,
    headKernel: 2 * units * headWidth,
    packedHead: packedFloats(2 * units, headWidth),
    headBias: headWidth,
    headScratch: batch * time * Math.ceil(headWidth / 8) * 8,
    scores: batch * time * headWidth,
  });
}

/** The training layout of a batch: the forward and the backward pass share it. */
export function trainingLayout(base: number, s: Omit<TrainingBatch, "hard">, peer = false) {
  const { batch, time, units } = s;
  const two = peer ? 1 : 0;
  const width = 4 * units;
  const rows = batch * time;
  return layout(base, {
    uF: units * width,
    uB: units * width,
    packedF: Math.max(packedFloats(units, width), packedFloats(width, units)),
    packedB: Math.max(packedFloats(units, width), packedFloats(width, units)),
    // The input projections, then (backward) the pre-activations' gradients.
    zxF: rows * width,
    zxB: rows * width,
    mask: s.mask === null ? 0 : rows,
    dropF: s.dropout === null ? 0 : batch * units,
    dropB: s.dropout === null ? 0 : batch * units,
    h: batch * units,
    c: batch * units,
    hd: batch * units,
    g: batch * Math.ceil(width / 8) * 8,
    rows: batch * width,
    live: batch,
    slot: batch,
    // The layer output, then (backward) its gradient.
    y: rows * 2 * units,
    gatesF: rows * width,
    gatesB: rows * width,
    cellsF: rows * units,
    cellsB: rows * units,
    hdPrevF: rows * units,
    hdPrevB: rows * units,
    dh: batch * units,
    dc: batch * units,
    rec: batch * Math.ceil(units / 8) * 8,
    dbiasF: width,
    dbiasB: width,
    // The peer's scratch (the reverse direction's, when it runs there).
    h2: two * batch * units,
    c2: two * batch * units,
    hd2: two * batch * units,
    g2: two * batch * Math.ceil(width / 8) * 8,
    rows2: two * batch * width,
    live2: two * batch,
    slot2: two * batch,
    dh2: two * batch * units,
    dc2: two * batch * units,
    rec2: two * batch * Math.ceil(units / 8) * 8,
  });
}

/** Floats of each saved region of a batch. */
export function savedFloats(s: TrainingBatch, name: typeof SAVED_REGIONS[number]): number {
  return s.batch * s.time * (name.startsWith("gates") ? 4 * s.units : s.units);
}

export type InferenceLayout = ReturnType<typeof inferenceLayout> & { shape: SweepShape };
