/**
 * One training / evaluation step of the tagger built by `buildModel` (lib/model.ts), for both
 * BiLSTM kinds ("fast" and "stock").
 *
 * A step:
 * 1. finds the distinct word ids of the batch and gathers only those embedding rows;
 * 2. runs embedding lookup → BiLSTM (padding mask when the Embedding has `maskZero`, recurrent
 *    dropout on) → one `[batch·time, 2U]·[2U, tags]` matMul (the TimeDistributed Dense, done as a
 *    single matMul) → log-softmax;
 * 3. loss = sparse categorical cross-entropy averaged over real tokens (`mask` = 1), accuracy over
 *    real tokens only;
 * 4. updates the embedding rows with lazy {@link SparseAdam} and everything else with
 *    {@link DenseAdam} (both in place);
 * 5. reads loss and accuracy back together: one host read per step.
 *
 * Padding is trimmed: with a padding mask (`maskZero`), the steps after the longest real sentence
 * of a batch change no real token's output (the forward direction is causal; the backward
 * direction starts from a zero state that masked steps carry over unchanged), and they carry no
 * loss, so each step runs only `T` = the batch's last non-padding position + 1 time steps (see
 * {@link trimmedLength}). Without a padding mask the full `maxLen` is computed.
 *
 * Dropout is deterministic by `seed` for both kinds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FastBiLSTM, gatherRows } from "./bilstm.ts";
import { DenseAdam, SparseAdam } from "./sparse_adam.ts";
import type { AdamState } from "./sparse_adam.ts";

/** Trainer options. */
export interface TrainerOptions {
  /** Adam step size; default 0.001. */
  learningRate?: number;
  /** Seed of the recurrent-dropout masks; default 1234. */
  seed?: number;
  /**
   * Compute only up to the batch's last non-padding position (needs the Embedding's `maskZero`;
   * same results, see the module docs); default true. False always runs `maxLen` steps.
   */
  trimPadding?: boolean;
}

/** Defaults of {@link TrainerOptions}. */
export const DEFAULT_TRAINER_OPTIONS: Required<TrainerOptions> = {
  learningRate: 0.001,
  seed: 1234,
  trimPadding: true,
};

/** Loss and accuracy of one batch, over real (unmasked) tokens. */
export interface BatchMetrics {
  /** Mean cross-entropy per real token. */
  loss: number;
  /** Fraction of real tokens whose arg-max tag is right. */
  accuracy: number;
}

/** Optimiser state for checkpoints. */
export interface TrainerState {
  /** Lazy Adam state of the embedding matrix. */
  embedding: AdamState;
  /** Adam state of the other trainable variables. */
  dense: AdamState;
}

/** Trains and evaluates a tagger model batch by batch. */
export interface Trainer {
  /**
   * One optimisation step.
   *
   * @param wordIds `[batchSize * maxLen]` word ids (0 = PAD)
   * @param tagIds `[batchSize * maxLen]` gold tag ids
   * @param mask `[batchSize * maxLen]` 1 for real tokens, 0 for padding
   * @param batchSize number of sentences
   */
  trainBatch(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    batchSize: number,
  ): BatchMetrics;
  /** Loss and accuracy without dropout and without updating anything (same arguments). */
  evaluateBatch(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    batchSize: number,
  ): BatchMetrics;
  /** Copy of the optimiser state. */
  getState(): TrainerState;
  /** Restores a state from {@link getState}. */
  setState(state: TrainerState): void;
}

/** The parts of a `buildModel` model the trainer works with. */
export interface TaggerParts {
  embedding: tf.layers.Layer;
  maskZero: boolean;
  biLstm: tf.layers.Layer;
  denseKernel: tf.Variable;
  denseBias: tf.Variable;
  maxLen: number;
  embeddingDim: number;
  numTags: number;
}

/**
 * Finds embedding, BiLSTM and head of a `buildModel` model; throws on anything else. */
export function taggerParts(model: tf.LayersModel): TaggerParts {
  const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  const [embedding, biLstm, head] = layers;
  const names = layers.map((l) => l.getClassName()).join(", ");
  if (
    layers.length !== 3 || embedding.getClassName() !== "Embedding" ||
    !["FastBiLSTM", "Bidirectional"].includes(biLstm.getClassName()) ||
    head.getClassName() !== "TimeDistributed"
  ) {
    throw new Error(`createTrainer: expected Embedding, BiLSTM, TimeDistributed; got ${names}`);
  }
  const dense = (head as unknown as { layer: tf.layers.Layer }).layer;
  const denseConfig = dense.getConfig();
  if (dense.getClassName() !== "Dense" || denseConfig.activation !== "softmax") {
    throw new Error("createTrainer: the head must be TimeDistributed(Dense(softmax))");
  }
  const [denseKernel, denseBias] = dense.trainableWeights.map((w) => w.read() as tf.Variable);
  const embConfig = embedding.getConfig();
  return {
    embedding,
    maskZero: embConfig.maskZero === true,
    biLstm,
    denseKernel,
    denseBias,
    maxLen: model.inputs[0].shape[1] as number,
    embeddingDim: embConfig.outputDim as number,
    numTags: denseConfig.units as number,
  };
}

/** Makes a stock Bidirectional(LSTM)'s recurrent dropout draw from a seeded stream. */
function seedStockDropout(biLstm: tf.layers.Layer, seed: number): void {
  let counter = seed;
  const dropoutFunc = (ones: tf.Tensor, rate: number) =>
    tf.dropout(ones, rate, undefined, counter++);
  const bi = biLstm as unknown as Record<string, { cell: { dropoutFunc?: unknown } }>;
  bi.forwardLayer.cell.dropoutFunc = dropoutFunc;
  bi.backwardLayer.cell.dropoutFunc = dropoutFunc;
}

/**
 * The number of leading time steps of a post-padded `[batchSize, maxLen]` batch that can affect
 * a real token or the loss: one past the last position (over all rows) whose word id is not PAD
 * (0) or whose mask is non-zero; at least 1.
 *
 * @param wordIds `[batchSize * maxLen]` word ids
 * @param mask `[batchSize * maxLen]` loss mask, or null
 * @param batchSize rows
 * @param maxLen row length
 */
export function trimmedLength(
  wordIds: Int32Array,
  mask: Float32Array | null,
  batchSize: number,
  maxLen: number,
): number {
  let time = 1;
  for (let b = 0; b < batchSize; b++) {
    const row = b * maxLen;
    for (let t = maxLen - 1; t >= time; t--) {
      if (wordIds[row + t] !== 0 || (mask !== null && mask[row + t] !== 0)) {
        time = t + 1;
        break;
      }
    }
  }
  return time;
}

/** The first `time` columns of a row-major `[rows, maxLen]` array. */
function firstColumns<A extends Int32Array | Float32Array>(
  values: A,
  rows: number,
  maxLen: number,
  time: number,
): A {
  if (time === maxLen) return values;
  const out = new (values.constructor as { new (n: number): A })(rows * time);
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * maxLen, r * maxLen + time), r * time);
  return out;
}

/**
 * `x·kernel + bias` with a hand-written gradient that multiplies explicitly transposed operands
 * (tfjs's own matMul gradient uses transposed matMuls, several times slower on wasm).
 */
function denseLayer(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  const f = tf.customGrad((...args: unknown[]) => {
    const [xIn, k, b] = args as tf.Tensor2D[];
    (args[3] as tf.GradSaveFunc)([xIn, k]);
    const value = tf.add(tf.matMul(xIn, k), b);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sk] = saved as tf.Tensor2D[];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sk)),
        tf.matMul(tf.transpose(sx), dy as tf.Tensor2D),
        tf.sum(dy, 0),
      ];
    };
    return { value, gradFunc };
  });
  return f(x, kernel, bias) as tf.Tensor2D;
}

/** Distinct ids of `ids` (first-seen order) and each position's index into them. */
function distinctIds(ids: Int32Array): { distinct: Int32Array; local: Int32Array } {
  const index = new Map<number, number>();
  const local = new Int32Array(ids.length);
  const distinct: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    let k = index.get(ids[i]);
    if (k === undefined) {
      k = distinct.length;
      index.set(ids[i], k);
      distinct.push(ids[i]);
    }
    local[i] = k;
  }
  return { distinct: Int32Array.from(distinct), local };
}

/**
 * Creates a trainer for a model from `buildModel`.
 *
 * @param model the tagger (fast or stock BiLSTM)
 * @param options learning rate and dropout seed
 */
export function createTrainer(model: tf.LayersModel, options: TrainerOptions = {}): Trainer {
  const o = { ...DEFAULT_TRAINER_OPTIONS, ...options };
  const parts = taggerParts(model);
  const { maxLen, embeddingDim, numTags } = parts;
  const embeddingVar = parts.embedding.trainableWeights[0].read() as tf.Variable;
  const denseVars = [
    ...parts.biLstm.trainableWeights.map((w) => w.read() as tf.Variable),
    parts.denseKernel,
    parts.denseBias,
  ];
  const adamConfig = { learningRate: o.learningRate };
  const sparseAdam = new SparseAdam(embeddingVar, adamConfig);
  const denseAdam = new DenseAdam(denseVars, adamConfig);
  if (parts.biLstm instanceof FastBiLSTM) parts.biLstm.setDropoutSeed(o.seed);
  else seedStockDropout(parts.biLstm, o.seed);

  function checkBatch(wordIds: Int32Array, tagIds: Int32Array, mask: Float32Array, b: number) {
    const n = b * maxLen;
    if (wordIds.length !== n || tagIds.length !== n || mask.length !== n) {
      throw new Error(`trainer: expected ${n} = ${b}×${maxLen} ids, tags and mask values`);
    }
  }

  /** Loss and accuracy (scalars) of a batch from gathered embedding rows. */
  function forward(
    rows: tf.Tensor2D,
    local: tf.Tensor1D,
    idsT: tf.Tensor2D,
    tagsT: tf.Tensor1D,
    maskT: tf.Tensor1D,
    batchSize: number,
    time: number,
    training: boolean,
  ): { loss: tf.Scalar; accuracy: tf.Scalar } {
    const embedded = tf.reshape(gatherRows(rows, local), [batchSize, time, embeddingDim]);
    const lstmMask = parts.maskZero ? tf.notEqual(idsT, 0) : undefined;
    const sequence = parts.biLstm.apply(embedded, { mask: lstmMask, training }) as tf.Tensor;
    const features = tf.reshape(sequence, [batchSize * time, sequence.shape[2]!]) as tf.Tensor2D;
    const logits = denseLayer(features, parts.denseKernel, parts.denseBias);
    const logProbs = tf.logSoftmax(logits);
    const gold = tf.oneHot(tagsT, numTags);
    const nll = tf.neg(tf.sum(tf.mul(logProbs, gold), 1));
    const realTokens = tf.maximum(tf.sum(maskT), 1);
    const loss = tf.div(tf.sum(tf.mul(nll, maskT)), realTokens) as tf.Scalar;
    const hits = tf.cast(tf.equal(tf.argMax(logits, 1), tagsT), "float32");
    const accuracy = tf.div(tf.sum(tf.mul(hits, maskT)), realTokens) as tf.Scalar;
    return { loss, accuracy };
  }

  function inputs(wordIds: Int32Array, tagIds: Int32Array, mask: Float32Array, b: number) {
    const time = o.trimPadding && parts.maskZero ? trimmedLength(wordIds, mask, b, maxLen) : maxLen;
    const ids = firstColumns(wordIds, b, maxLen, time);
    const { distinct, local } = distinctIds(ids);
    return {
      time,
      distinct,
      distinctT: tf.tensor1d(distinct, "int32"),
      localT: tf.tensor1d(local, "int32"),
      idsT: tf.tensor2d(ids, [b, time], "int32"),
      tagsT: tf.tensor1d(firstColumns(tagIds, b, maxLen, time), "int32"),
      maskT: tf.tensor1d(firstColumns(mask, b, maxLen, time), "float32"),
    };
  }

  function readMetrics(pair: tf.Tensor): BatchMetrics {
    const [loss, accuracy] = pair.dataSync();
    pair.dispose();
    return { loss, accuracy };
  }

  return {
    trainBatch(wordIds, tagIds, mask, batchSize) {
      checkBatch(wordIds, tagIds, mask, batchSize);
      const input = inputs(wordIds, tagIds, mask, batchSize);
      const { metrics, grads } = tf.tidy(() => {
        const rows = gatherRows(embeddingVar as tf.Tensor2D, input.distinctT);
        let accuracy: tf.Scalar | null = null;
        const { value, grads } = tf.engine().gradients(() => {
          const out = forward(
            rows,
            input.localT,
            input.idsT,
            input.tagsT,
            input.maskT,
            batchSize,
            input.time,
            true,
          );
          accuracy = tf.keep(out.accuracy);
          return out.loss;
        }, [rows, ...denseVars]);
        const kept = accuracy! as tf.Scalar;
        const metrics = tf.stack([value, kept]);
        kept.dispose();
        return { metrics, grads };
      });
      sparseAdam.update(input.distinct, grads[0]);
      denseAdam.update(grads.slice(1));
      tf.dispose([...grads, input.distinctT, input.localT, input.idsT, input.tagsT, input.maskT]);
      return readMetrics(metrics);
    },

    evaluateBatch(wordIds, tagIds, mask, batchSize) {
      checkBatch(wordIds, tagIds, mask, batchSize);
      const input = inputs(wordIds, tagIds, mask, batchSize);
      const metrics = tf.tidy(() => {
        const rows = gatherRows(embeddingVar as tf.Tensor2D, input.distinctT);
        const out = forward(
          rows,
          input.localT,
          input.idsT,
          input.tagsT,
          input.maskT,
          batchSize,
          input.time,
          false,
        );
        return tf.stack([out.loss, out.accuracy]);
      });
      tf.dispose([input.distinctT, input.localT, input.idsT, input.tagsT, input.maskT]);
      return readMetrics(metrics);
    },

    getState() {
      return { embedding: sparseAdam.getState(), dense: denseAdam.getState() };
    },

    setState(state) {
      sparseAdam.setState(state.embedding);
      denseAdam.setState(state.dense);
    },
  };
}
