/**
 * The first BiLSTM's input projection per token, looked up: for inference.
 *
 * The first BiLSTM's input is `[word embedding ‖ char CNN features ‖ casing embedding]`, all
 * functions of the token alone (its word id, its char ids, its casing class), and so is its input
 * projection `x·W + b`. So instead of running the char CNN and one `[tokens, F]·[F, 8U]` matMul
 * per batch (more than half of a small model's arithmetic), each distinct token's projection
 * rows (both directions, `8U` floats) are computed once, the first time a batch holds it, and
 * kept in a host table keyed by the token's ids. A batch's projections are then row copies (one
 * copy per time step, written as the sweep reads them). The table grows as tokens are
 * seen, up to {@linkcode MAX_TABLE_BYTES} (a thread that holds many tables, such as a prediction
 * pool's worker or a streaming command, sets a smaller cap with {@linkcode setMaxTableBytes}).
 * When full, the table is thinned: the half of it that batches used most since the last
 * thinning stays (frequent words), the rest makes room (never wrong, only slower).
 *
 * The table (host memory, not tensors) holds the weights' values when its rows were computed:
 * whoever changes the weights (the trainer, `setWeights`) must drop it (`Tagger.weightsChanged`).
 * The doubled weight tensors a pass needs ({@linkcode inferenceWeights}) live for that pass
 * only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { gatherRows } from "./bilstm/mod.ts";
import { doubleCandidateBlock } from "./bilstm/inference.ts";

/** The most memory the table of one tagger takes by default (then it starts afresh). */
export const MAX_TABLE_BYTES = 64 * 2 ** 20;

/** The cap of the tables made from now on in this thread; see {@linkcode setMaxTableBytes}. */
let maxTableBytes = MAX_TABLE_BYTES;

/**
 * Sets the cap of the projection tables made from now on in this thread (each worker has its
 * own): a thread that holds many taggers' tables, such as a prediction pool's worker, keeps each
 * smaller. A smaller table is never wrong, only slower on input with many distinct tokens.
 *
 * @param bytes the cap of one tagger's table, at least one row
 * @returns the cap it replaces
 * @throws {RangeError} unless `bytes` is a positive number
 */
export function setMaxTableBytes(bytes: number): number {
  if (!(bytes > 0)) throw new RangeError(`the table cap must be positive, got ${bytes}`);
  const previous = maxTableBytes;
  maxTableBytes = bytes;
  return previous;
}

/** Where a batch's tokens are in the table. */
interface TableRows {
  table: Float32Array;
  /** `[batch·time]` batch-major: each token's row in `table`. */
  rows: Int32Array;
  batch: number;
  time: number;
  /** Gate width per direction, 4U. */
  width: number;
}

/**
 * Copies step `t`'s table rows of a batch's tokens (`rows`, batch-major `[batch, time]`) into
 * `toF` (forward halves) and `toB` (backward halves), `[batch, width]` each from `at`.
 */
function copyStepRows(
  { table, rows, batch, time, width }: TableRows,
  t: number,
  toF: Float32Array,
  toB: Float32Array,
  at: number,
): void {
  const rowWidth = 2 * width;
  for (let b = 0; b < batch; b++) {
    const from = rows[b * time + t] * rowWidth;
    toF.set(table.subarray(from, from + width), at + b * width);
    toB.set(table.subarray(from + width, from + rowWidth), at + b * width);
  }
}

/**
 * The first BiLSTM's weights as an inference pass uses them, each gate matrix with its
 * cell-candidate block doubled (see `doubleCandidateBlock`). Made for one forward pass and
 * freed after it ({@linkcode disposeInferenceWeights}), so a tagger holds no extra tensors
 * between calls.
 */
export interface InferenceWeights {
  /** `[E, 8U]` the word rows of both directions' kernels, side by side. */
  wordKernel: tf.Tensor2D;
  /** `[8U]` both directions' biases. */
  bias: tf.Tensor1D;
  /** `[F − E, 8U]` the kernels' other rows (char and casing features), or null. */
  restKernel: tf.Tensor2D | null;
  /** Both directions' recurrent kernels `[U, 4U]`. */
  recurrentKernels: [tf.Tensor2D, tf.Tensor2D];
}

/**
 * The first BiLSTM's {@linkcode InferenceWeights}.
 *
 * @param embeddingDim the word embedding's width `E`
 * @param weights the layer's six weights (kernel, recurrent kernel, bias per direction)
 */
export function inferenceWeights(
  embeddingDim: number,
  weights: readonly tf.Tensor[],
): InferenceWeights {
  return tf.tidy(() => {
    const [kF, uF, bF, kB, uB, bB] = weights as tf.Tensor2D[];
    const [inputDim, width] = kF.shape;
    const double = doubleCandidateBlock;
    const rows = (k: tf.Tensor2D, from: number, count: number) =>
      double(tf.slice(k, [from, 0], [count, width]) as tf.Tensor2D);
    const both = (from: number, count: number) =>
      tf.concat([rows(kF, from, count), rows(kB, from, count)], 1) as tf.Tensor2D;
    const restDim = inputDim - embeddingDim;
    const result: InferenceWeights = {
      wordKernel: both(0, embeddingDim),
      bias: tf.concat([double(bF), double(bB)]) as unknown as tf.Tensor1D,
      restKernel: restDim > 0 ? both(embeddingDim, restDim) : null,
      recurrentKernels: [double(uF), double(uB)],
    };
    return result as unknown as tf.TensorContainer;
  }) as unknown as InferenceWeights;
}

/** Frees {@linkcode InferenceWeights}. */
export function disposeInferenceWeights(weights: InferenceWeights): void {
  tf.dispose([
    weights.wordKernel,
    weights.bias,
    ...(weights.restKernel ? [weights.restKernel] : []),
    ...weights.recurrentKernels,
  ]);
}

/** A batch's tokens as the table keys them (host copies of the tagger's inputs). */
export interface BatchTokens {
  /** `[batch·time]` word ids, batch-major. */
  wordIds: Int32Array;
  /** `[batch·time·maxChars]` char ids, or null without char features. */
  charIds: Int32Array | null;
  /** Chars per token in `charIds`. */
  maxChars: number;
  /** `[batch·time]` casing classes, or null. */
  casingIds: Int32Array | null;
}

/** The first BiLSTM's per-token input projections, filled as tokens are seen (host memory). */
export class ProjectionCache {
  /** `[rows, 8U]`: forward `4U` then backward `4U` per token. */
  #table: Float32Array;
  /** Token key → its row in the table. */
  readonly #keys = new Map<number | string, number>();
  /**
   * With char or casing features: word id → the row of the first token seen with it, whose
   * casing and char ids {@linkcode ProjectionCache.#signatures} keeps, so that a token spelled
   * as that one is found without building its string key (most word ids have one spelling).
   */
  readonly #byWord = new Map<number, number>();
  /** Per row: its token's casing class, then its char ids (`1 + maxChars` values). */
  #signatures = new Int32Array(0);
  /** Values per row in {@linkcode ProjectionCache.#signatures} (`1 + maxChars`, once known). */
  #signatureWidth = 1;
  /** Per row: the batch tokens that used it since it was made or the table was last thinned. */
  #hits = new Int32Array(0);
  readonly #width: number;
  readonly #maxRows: number;
  /** The tensors the rows were computed from (the embedding and the layer's weights). */
  readonly #sources: readonly tf.DataId[];

  /**
   * @param width gate width per direction, `4U`
   * @param sources the tensors the rows are computed from (the layer's inputs' weights and its
   *   own): a weight assigned anew (e.g. `tagger.model.setWeights`) gets a new buffer, which
   *   {@linkcode ProjectionCache.computedFrom} notices
   * @param maxBytes the table's cap; default this thread's ({@linkcode MAX_TABLE_BYTES} unless
   *   {@linkcode setMaxTableBytes} changed it)
   */
  constructor(width: number, sources: readonly tf.Tensor[], maxBytes = maxTableBytes) {
    this.#sources = sources.map((tensor) => tensor.dataId);
    this.#width = width;
    this.#maxRows = Math.max(1, Math.floor(maxBytes / (2 * width * 4)));
    this.#table = new Float32Array(Math.min(4096, this.#maxRows) * 2 * width);
  }

  /** Tokens in the table. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Whether the rows were computed from these tensors' current buffers (an in-place update
   * keeps the buffer: its writer calls `Tagger.weightsChanged`).
   */
  computedFrom(sources: readonly tf.Tensor[]): boolean {
    return sources.length === this.#sources.length &&
      sources.every((tensor, index) => tensor.dataId === this.#sources[index]);
  }

  /** Each token's key: its word id, or its word id, casing and char ids. */
  #keyOf(tokens: BatchTokens, i: number): number | string {
    const { wordIds, charIds, casingIds, maxChars } = tokens;
    if (charIds === null && casingIds === null) return wordIds[i];
    const chars = charIds === null ? [] : charIds.subarray(i * maxChars, (i + 1) * maxChars);
    return String.fromCharCode(
      wordIds[i] >>> 16,
      wordIds[i] & 0xffff,
      casingIds === null ? 0 : casingIds[i],
      ...chars,
    );
  }

  /** Whether token `i` has the casing and char ids of the token that made `row`. */
  #sameToken(tokens: BatchTokens, i: number, row: number): boolean {
    const { charIds, casingIds, maxChars } = tokens;
    const at = row * (1 + maxChars);
    if (this.#signatures[at] !== (casingIds === null ? 0 : casingIds[i])) return false;
    if (charIds === null) return true;
    for (let c = 0; c < maxChars; c++) {
      if (this.#signatures[at + 1 + c] !== charIds[i * maxChars + c]) return false;
    }
    return true;
  }

  /** Records the casing and char ids of token `i`, the first of `row`. */
  #sign(tokens: BatchTokens, i: number, row: number): void {
    const { charIds, casingIds, maxChars } = tokens;
    const width = 1 + maxChars;
    this.#signatureWidth = width;
    if ((row + 1) * width > this.#signatures.length) {
      const grown = new Int32Array(Math.max(4096, 2 * (row + 1)) * width);
      grown.set(this.#signatures);
      this.#signatures = grown;
    }
    this.#signatures[row * width] = casingIds === null ? 0 : casingIds[i];
    if (charIds !== null) {
      this.#signatures.set(charIds.subarray(i * maxChars, (i + 1) * maxChars), row * width + 1);
    }
  }

  /** Each token's row, adding rows for new keys; `missing` gets one token index per new row. */
  #assignRows(tokens: BatchTokens, missing: number[]): Int32Array {
    const count = tokens.wordIds.length;
    const rows = new Int32Array(count);
    const byWord = tokens.charIds !== null || tokens.casingIds !== null;
    for (let i = 0; i < count; i++) {
      if (byWord) {
        const known = this.#byWord.get(tokens.wordIds[i]);
        if (known !== undefined && this.#sameToken(tokens, i, known)) {
          rows[i] = known;
          this.#hits[known]++;
          continue;
        }
      }
      const key = this.#keyOf(tokens, i);
      let row = this.#keys.get(key);
      if (row === undefined) {
        row = this.#keys.size;
        this.#keys.set(key, row);
        missing.push(i);
        if (byWord && !this.#byWord.has(tokens.wordIds[i])) {
          this.#sign(tokens, i, row);
          this.#byWord.set(tokens.wordIds[i], row);
        }
        if (row >= this.#hits.length) {
          const grown = new Int32Array(Math.max(4096, 2 * (row + 1)));
          grown.set(this.#hits);
          this.#hits = grown;
        }
        this.#hits[row] = 0;
      }
      this.#hits[row]++;
      rows[i] = row;
    }
    return rows;
  }

  /**
   * Thins the table: of its first `computed` rows (those whose values are filled in), keeps the
   * `keep` that batches used most since the last thinning (the earlier row of equals), moved to
   * the front in their order, with their hit counts reset; every other row (and every key made
   * after `computed`) is dropped. Frequent tokens stay in the table; rare ones make room.
   */
  #thin(computed: number, keep: number): void {
    const candidates = Array.from({ length: computed }, (_, row) => row);
    const hits = this.#hits;
    const kept = candidates.sort((a, b) => hits[b] - hits[a] || a - b).slice(0, keep)
      .sort((a, b) => a - b);
    const moved = new Int32Array(computed).fill(-1);
    const rowWidth = 2 * this.#width;
    const signatureWidth = this.#signatureWidth;
    kept.forEach((from, to) => {
      moved[from] = to;
      if (from === to) return;
      this.#table.copyWithin(to * rowWidth, from * rowWidth, (from + 1) * rowWidth);
      if ((from + 1) * signatureWidth <= this.#signatures.length) {
        this.#signatures.copyWithin(
          to * signatureWidth,
          from * signatureWidth,
          (from + 1) * signatureWidth,
        );
      }
    });
    this.#hits.fill(0);
    for (const map of [this.#keys, this.#byWord] as Map<number | string, number>[]) {
      const entries = [...map];
      map.clear();
      for (const [key, row] of entries) {
        if (row < computed && moved[row] >= 0) map.set(key, moved[row]);
      }
    }
  }

  /** Makes room for `rows` rows (beyond the cap only for one batch's own tokens). */
  #grow(rows: number): void {
    const rowWidth = 2 * this.#width;
    if (rows * rowWidth <= this.#table.length) return;
    const grown = new Float32Array(Math.max(rows, Math.min(this.#maxRows, 2 * rows)) * rowWidth);
    grown.set(this.#table.subarray(0, Math.min(this.#table.length, grown.length)));
    this.#table = grown;
  }

  /**
   * Both directions' input projections of a batch, with the cell-candidate block doubled, written
   * time-major into host arrays (`[time, batch, 4U]` each), for the WebAssembly sweep
   * (lib/model/bilstm/inference.ts, with `weights.recurrentKernels` and candidate scale 0.5).
   *
   * @param embedding the word embedding `[vocabSize, E]`
   * @param weights the first BiLSTM's inference weights (the same values for every call: the
   *   table keeps rows computed from them)
   * @param tokens the batch's tokens, `[batch, time]` batch-major
   * @param shape `[batch, time]`
   * @param otherFeatures for the given token indices, their `[count, F − E]` char and casing
   *   features (the layer's input after the word embedding), or null without them
   * @param zxF receives the forward projections
   * @param zxB receives the backward projections
   */
  projectInto(
    embedding: tf.Tensor2D,
    weights: InferenceWeights,
    tokens: BatchTokens,
    [batch, time]: [number, number],
    otherFeatures: (tokenIndices: Int32Array) => tf.Tensor2D | null,
    zxF: Float32Array,
    zxB: Float32Array,
  ): void {
    const rows = this.#rowsOf(embedding, weights, tokens, otherFeatures);
    const gather = { table: this.#table, rows, batch, time, width: this.#width };
    for (let t = 0; t < time; t++) copyStepRows(gather, t, zxF, zxB, t * batch * this.#width);
  }

  /** Each token's row in the table, computing the rows of tokens it lacks. */
  #rowsOf(
    embedding: tf.Tensor2D,
    weights: InferenceWeights,
    tokens: BatchTokens,
    otherFeatures: (tokenIndices: Int32Array) => tf.Tensor2D | null,
  ): Int32Array {
    let missing: number[] = [];
    const computed = this.#keys.size;
    let rows = this.#assignRows(tokens, missing);
    if (this.#keys.size > this.#maxRows && this.#keys.size > missing.length) {
      // Over the cap with earlier tokens: keep the most used half of the table and make room.
      this.#thin(computed, Math.floor(this.#maxRows / 2));
      missing = [];
      rows = this.#assignRows(tokens, missing);
    }
    if (this.#keys.size > this.#maxRows && this.#keys.size > missing.length) {
      // Still over (a batch of many new tokens): start afresh with this batch's own.
      this.#keys.clear();
      this.#byWord.clear();
      missing = [];
      rows = this.#assignRows(tokens, missing);
    }
    this.#grow(this.#keys.size);
    if (missing.length > 0) this.#fill(embedding, weights, tokens, rows, missing, otherFeatures);
    return rows;
  }

  /** Computes the rows of the tokens `missing` (one token per new row). */
  #fill(
    embedding: tf.Tensor2D,
    weights: InferenceWeights,
    tokens: BatchTokens,
    rows: Int32Array,
    missing: number[],
    otherFeatures: (tokenIndices: Int32Array) => tf.Tensor2D | null,
  ): void {
    const indices = Int32Array.from(missing);
    const projected = tf.tidy(() => {
      const wordIds = tf.tensor1d(indices.map((i) => tokens.wordIds[i]), "int32");
      const word = tf.fused.matMul({
        a: gatherRows(embedding, wordIds) as tf.Tensor2D,
        b: weights.wordKernel,
        bias: weights.bias,
      });
      const other = weights.restKernel === null ? null : otherFeatures(indices);
      return other === null ? word : tf.add(word, tf.matMul(other, weights.restKernel!));
    });
    const values = projected.dataSync() as Float32Array;
    projected.dispose();
    const rowWidth = 2 * this.#width;
    missing.forEach((token, k) => {
      this.#table.set(values.subarray(k * rowWidth, (k + 1) * rowWidth), rows[token] * rowWidth);
    });
  }
}
