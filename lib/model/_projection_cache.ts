/**
 * The first BiLSTM's input projection, word part, per word id: for inference.
 *
 * The first BiLSTM's input is `[word embedding ‖ char features ‖ casing]` and its input
 * projection `x·W + b` splits by rows of `W`: `E[id]·W_word + b` depends on the word id alone.
 * So instead of one `[tokens, E]·[E, 8U]` matMul per batch (about half the tutorial model's
 * arithmetic), the rows `E·W_word + b` of both directions are computed once per distinct word,
 * the first time a batch holds it, and kept in a host table (`[vocabSize, 8U]` float32,
 * allocated lazily: only the rows of words seen are touched). A batch's projections are then
 * row copies (one custom kernel, written time-major as the sweep reads them), plus for char
 * features one matMul of the remaining `[char ‖ casing]` columns.
 *
 * The table (host memory, not tensors) holds the weights' values when its rows were computed:
 * whoever changes the weights (the trainer, `setWeights`) must drop it (`Tagger.weightsChanged`).
 * The doubled weight tensors a pass needs ({@linkcode inferenceWeights}) live for that pass
 * only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { allocFloat32, float32View, gatherRows, memoryView } from "./bilstm.ts";
import { doubleCandidateBlock } from "./bilstm/inference.ts";

/** Kernel name: time-major projection rows of both directions from the host table. */
const GATHER_PROJECTION_KERNEL = "FastGatherProjection";

/** Attributes of the gather kernel (the table travels as an attribute: it is host memory). */
interface GatherProjectionAttrs {
  table: Float32Array;
  batch: number;
  time: number;
  /** Gate width per direction, 4U. */
  width: number;
}

/**
 * Per time step `t`, outputs `2t` (forward) and `2t + 1` (backward), each `[batch, 4U]`: the
 * table's rows of `ids` (`[batch, time]` int32, batch-major) at step `t`.
 */
const gatherProjectionKernel: tf.KernelFunc = ({ inputs, attrs, backend }) => {
  const { table, batch, time, width } = attrs as unknown as GatherProjectionAttrs;
  const outInfos: tf.TensorInfo[] = [];
  for (let k = 0; k < 2 * time; k++) outInfos.push(allocFloat32(backend, [batch, width]));
  const outs = outInfos.map((info) => float32View(backend, info));
  const ids = memoryView(backend, inputs.ids as tf.TensorInfo);
  const rowWidth = 2 * width;
  for (let t = 0; t < time; t++) {
    for (let b = 0; b < batch; b++) {
      const from = ids[b * time + t] * rowWidth;
      outs[2 * t].set(table.subarray(from, from + width), b * width);
      outs[2 * t + 1].set(table.subarray(from + width, from + rowWidth), b * width);
    }
  }
  return outInfos;
};

for (const backendName of ["wasm", "cpu"]) {
  if (tf.getKernel(GATHER_PROJECTION_KERNEL, backendName) === undefined) {
    tf.registerKernel({
      kernelName: GATHER_PROJECTION_KERNEL,
      backendName,
      kernelFunc: gatherProjectionKernel,
    });
  }
}

/**
 * The first BiLSTM's weights as an inference pass uses them, each gate matrix with its
 * cell-candidate block doubled (see `biLstmInferenceDoubled`). Made for one forward pass and
 * freed after it ({@linkcode disposeInferenceWeights}), so a tagger holds no extra tensors
 * between calls.
 */
export interface InferenceWeights {
  /** `[E, 8U]` the word rows of both directions' kernels, side by side. */
  wordKernel: tf.Tensor2D;
  /** `[8U]` both directions' biases. */
  bias: tf.Tensor1D;
  /**
   * Both directions' recurrent kernels `[U, 4U]`; with input features beyond the word
   * embedding (char and casing, `F − E` of them), the kernels' rows for those appended:
   * `[U + F − E, 4U]` (see `biLstmInferenceDoubled`'s `rest`).
   */
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
    const word = (k: tf.Tensor2D) => double(tf.slice(k, [0, 0], [embeddingDim, width]));
    const rest = (k: tf.Tensor2D) =>
      double(tf.slice(k, [embeddingDim, 0], [inputDim - embeddingDim, width]) as tf.Tensor2D);
    const recurrent = (u: tf.Tensor2D, k: tf.Tensor2D) =>
      inputDim > embeddingDim ? tf.concat([double(u), rest(k)], 0) as tf.Tensor2D : double(u);
    const result: InferenceWeights = {
      wordKernel: tf.concat([word(kF), word(kB)], 1) as tf.Tensor2D,
      bias: tf.concat([double(bF), double(bB)]) as unknown as tf.Tensor1D,
      recurrentKernels: [recurrent(uF, kF), recurrent(uB, kB)],
    };
    return result as unknown as tf.TensorContainer;
  }) as unknown as InferenceWeights;
}

/** Frees {@linkcode InferenceWeights}. */
export function disposeInferenceWeights(weights: InferenceWeights): void {
  tf.dispose([weights.wordKernel, weights.bias, ...weights.recurrentKernels]);
}

/** The first BiLSTM's per-word input projections, filled as words are seen (host memory). */
export class ProjectionCache {
  /** `[vocabSize, 8U]`: forward `4U` then backward `4U` per word; rows of unseen words unset. */
  readonly #table: Float32Array;
  readonly #filled: Uint8Array;
  readonly #width: number;
  /** The tensors the rows were computed from (the embedding and the layer's weights). */
  readonly #sources: readonly tf.DataId[];

  /**
   * @param vocabSize words in the embedding
   * @param width gate width per direction, `4U`
   * @param sources the tensors the rows are computed from (embedding, the layer's weights): a
   *   weight assigned anew (e.g. `tagger.model.setWeights`) gets a new buffer, which
   *   {@linkcode ProjectionCache.computedFrom} notices
   */
  constructor(vocabSize: number, width: number, sources: readonly tf.Tensor[]) {
    this.#sources = sources.map((tensor) => tensor.dataId);
    this.#width = width;
    this.#table = new Float32Array(vocabSize * 2 * width);
    this.#filled = new Uint8Array(vocabSize);
  }

  /**
   * Whether the rows were computed from these tensors' current buffers (an in-place update
   * keeps the buffer: its writer calls `Tagger.weightsChanged`).
   */
  computedFrom(sources: readonly tf.Tensor[]): boolean {
    return sources.length === this.#sources.length &&
      sources.every((tensor, index) => tensor.dataId === this.#sources[index]);
  }

  /** Computes the rows of the words of `ids` not in the table yet (one matMul). */
  #fill(ids: Int32Array, embedding: tf.Tensor2D, weights: InferenceWeights): void {
    const missing: number[] = [];
    for (const id of ids) {
      if (this.#filled[id] === 0) {
        this.#filled[id] = 1;
        missing.push(id);
      }
    }
    if (missing.length === 0) return;
    const rows = tf.tidy(() =>
      tf.fused.matMul({
        a: gatherRows(embedding, tf.tensor1d(missing, "int32")) as tf.Tensor2D,
        b: weights.wordKernel,
        bias: weights.bias,
      })
    );
    const values = rows.dataSync() as Float32Array;
    rows.dispose();
    const rowWidth = 2 * this.#width;
    missing.forEach((id, k) => {
      this.#table.set(values.subarray(k * rowWidth, (k + 1) * rowWidth), id * rowWidth);
    });
  }

  /**
   * Both directions' input projections of a batch, word part, per time step, with the
   * cell-candidate block doubled (for `biLstmInferenceDoubled` with `weights.recurrentKernels`,
   * which adds the other input features' part).
   *
   * @param embedding the word embedding `[vocabSize, E]`
   * @param weights the first BiLSTM's inference weights (the same values for every call: the
   *   table keeps rows computed from them)
   * @param wordIds `[batch, time]` int32 word ids
   * @returns per time step, `[batch, 4U]` forward and backward projections (the caller disposes
   *   them)
   */
  project(
    embedding: tf.Tensor2D,
    weights: InferenceWeights,
    wordIds: tf.Tensor2D,
  ): { zxF: tf.Tensor[]; zxB: tf.Tensor[] } {
    const [batch, time] = wordIds.shape;
    this.#fill(wordIds.dataSync() as Int32Array, embedding, weights);
    const attrs: GatherProjectionAttrs = { table: this.#table, batch, time, width: this.#width };
    const outs = tf.engine().runKernel(
      GATHER_PROJECTION_KERNEL,
      { ids: wordIds },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return {
      zxF: outs.filter((_, k) => k % 2 === 0),
      zxB: outs.filter((_, k) => k % 2 === 1),
    };
  }
}
