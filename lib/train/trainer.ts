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
 * Variants (lib/model.ts): with char features the word representation is the concatenation of
 * the gathered embedding rows, `charCnnForward` over each word's char ids and the casing
 * embedding rows (pass them as the `extras` argument, {@link BatchFeatures}); word-repr dropout
 * (the model's `word_dropout` layer) is applied with seeded masks. The char CNN, casing embedding
 * and CRF weights are updated by the dense Adam. For `"bilstm-crf"` the head is linear
 * (emissions) and the loss is the CRF negative log-likelihood (lib/crf.ts, `"host"`
 * implementation) summed over the batch's sentences and divided by its real tokens, so it is a
 * per-token figure like the softmax model's; the reported accuracy is that of the Viterbi path
 * (never the padding label). CRF models need `mask` to be 1 on exactly a prefix of each row
 * (real tokens, post padding): training on padding (`countPadding`) is refused.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { drawDropoutMask, FastBiLSTM, gatherRows } from "../model/bilstm.ts";
import {
  CharCnn,
  charCnnForward,
  type CharCnnParameters,
  charCnnVariables,
} from "../model/char_cnn.ts";
import {
  crfNegLogLikelihood,
  type CrfParameters,
  readCrfParameters,
  viterbiDecodeBatch,
} from "../model/crf.ts";
import { CrfLayer } from "../model/crf_layer.ts";
import { seededRandom } from "../data/random.ts";
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
  /** Mean cross-entropy per real token (CRF: sentence NLLs summed, divided by real tokens). */
  loss: number;
  /** Fraction of real tokens whose arg-max tag (CRF: Viterbi tag) is right. */
  accuracy: number;
}

/** Per-batch inputs beyond word ids, for models with char features. */
export interface BatchFeatures {
  /** `[batchSize * maxLen * maxChars]` char ids, aligned with the word ids (lib/chars.ts). */
  charIds?: Int32Array;
  /** `[batchSize * maxLen]` casing class ids (lib/chars.ts `encodeCasing`). */
  casingIds?: Int32Array;
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
   * @param extras char ids and casing ids; required when the model has char features
   */
  trainBatch(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    batchSize: number,
    extras?: BatchFeatures,
  ): BatchMetrics;
  /** Loss and accuracy without dropout and without updating anything (same arguments). */
  evaluateBatch(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    batchSize: number,
    extras?: BatchFeatures,
  ): BatchMetrics;
  /** Copy of the optimiser state. */
  getState(): TrainerState;
  /** Restores a state from {@link getState}. */
  setState(state: TrainerState): void;
}

/** The parts of a `buildModel` model the trainer works with. */
export interface TaggerParts {
  /** The word embedding layer. */
  embedding: tf.layers.Layer;
  /** Whether the word embedding masks padding (id 0). */
  maskZero: boolean;
  /** The BiLSTM layers (fast or stock), bottom first; one unless `biLstmLayers` > 1. */
  biLstms: tf.layers.Layer[];
  /** Head kernel `[2U, numTags]`. */
  denseKernel: tf.Variable;
  /** Head bias `[numTags]`. */
  denseBias: tf.Variable;
  /** Input row length. */
  maxLen: number;
  /** Word embedding width. */
  embeddingDim: number;
  /** Tag classes. */
  numTags: number;
  /** The char CNN's parameters (char-feature models), else null. */
  charCnn: CharCnnParameters | null;
  /** The casing embedding `[CASING_COUNT, dim]` (char-feature models with casing), else null. */
  casingEmbedding: tf.Variable | null;
  /** Dropout rate on the word representation (0 = none). */
  dropout: number;
  /** Dropout rate on the BiLSTM output, before the head (0 = none). */
  outputDropout: number;
  /** The CRF parameters (`"bilstm-crf"`), else null. */
  crf: CrfParameters | null;
  /** Characters per word of the char-id input (0 without char features). */
  maxChars: number;
  /** Width of the BiLSTM input (word embedding + char features + casing). */
  reprDim: number;
}

/**
 * Finds the parts of a `buildModel` model (any variant: softmax or CRF head, with or without
 * char features and word dropout); throws on anything else.
 *
 * @param model a tagger from `buildModel` (or loaded from a model folder)
 * @returns its layers and variables
 * @throws {Error} when the model is not such a tagger
 */
export function taggerParts(model: tf.LayersModel): TaggerParts {
  const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  const names = layers.map((l) => l.getClassName()).join(", ");
  const fail = (why: string): never => {
    throw new Error(
      `createTrainer: expected Embedding, [CharCnn, Embedding, Concatenate,] [Dropout,] BiLSTM…, ` +
        `[Dropout "output_dropout",] TimeDistributed[, CrfLayer]; got ${names}${
          why ? ` (${why})` : ""
        }`,
    );
  };
  const embeddings = layers.filter((l) => l.getClassName() === "Embedding");
  const embedding = embeddings.find((l) => l.name !== "casing_embedding") ?? fail("no embedding");
  const casingLayer = embeddings.find((l) => l !== embedding) ?? null;
  const charLayer = layers.find((l) => l instanceof CharCnn) as CharCnn | undefined;
  const biLstms = layers.filter((l) => ["FastBiLSTM", "Bidirectional"].includes(l.getClassName()));
  const heads = layers.filter((l) => l.getClassName() === "TimeDistributed");
  const crfLayer = layers.find((l) => l instanceof CrfLayer) as CrfLayer | undefined;
  const dropoutLayers = layers.filter((l) => l.getClassName() === "Dropout");
  const outputDropoutLayer = dropoutLayers.find((l) => l.name === "output_dropout");
  const dropoutLayer = dropoutLayers.find((l) => l !== outputDropoutLayer);
  const concat = layers.find((l) => l.getClassName() === "Concatenate");
  const known = new Set<tf.layers.Layer>([
    embedding,
    ...biLstms,
    ...heads,
    ...[casingLayer, charLayer, crfLayer, dropoutLayer, outputDropoutLayer, concat].filter((l) =>
      l != null
    ),
  ] as tf.layers.Layer[]);
  if (
    biLstms.length < 1 || heads.length !== 1 || known.size !== layers.length ||
    (charLayer === undefined) !== (concat === undefined) || embeddings.length > 2 ||
    (casingLayer !== null && charLayer === undefined) || model.outputs.length !== 1 ||
    model.inputs.length !== (charLayer ? 3 : 1)
  ) {
    fail("");
  }
  if (!charLayer && layers[0] !== embedding) fail("");
  const head = heads[0];
  const dense = (head as unknown as { layer: tf.layers.Layer }).layer;
  const denseConfig = dense.getConfig();
  const activation = crfLayer ? "linear" : "softmax";
  if (dense.getClassName() !== "Dense" || denseConfig.activation !== activation) {
    throw new Error(`createTrainer: the head must be TimeDistributed(Dense(${activation}))`);
  }
  const [denseKernel, denseBias] = dense.trainableWeights.map((w) => w.read() as tf.Variable);
  const embConfig = embedding.getConfig();
  const embeddingDim = embConfig.outputDim as number;
  const charCnn = charLayer ? charLayer.parameters() : null;
  const casingEmbedding = casingLayer ? casingLayer.weights[0].read() as tf.Variable : null;
  const maxChars = charLayer ? model.inputs[1].shape[2] as number : 0;
  return {
    embedding,
    maskZero: embConfig.maskZero === true,
    biLstms,
    denseKernel,
    denseBias,
    maxLen: model.inputs[0].shape[1] as number,
    embeddingDim,
    numTags: denseConfig.units as number,
    charCnn,
    casingEmbedding,
    dropout: dropoutLayer ? dropoutLayer.getConfig().rate as number : 0,
    outputDropout: outputDropoutLayer ? outputDropoutLayer.getConfig().rate as number : 0,
    crf: crfLayer ? crfLayer.parameters() : null,
    maxChars,
    reprDim: embeddingDim + (charCnn?.config.filters ?? 0) + (casingEmbedding?.shape[1] ?? 0),
  };
}

/**
 * The BiLSTM input of a batch: word embedding rows, then (char-feature models) char CNN features
 * and casing embedding rows, concatenated per token. Shared by the trainer and the fast
 * inference path.
 *
 * @param parts the model's parts
 * @param wordRows `[batch·time, embeddingDim]` word embedding rows, one per token
 * @param charIds `[batch·time, maxChars]` char ids, or null without char features
 * @param casingIds `[batch·time]` casing ids, or null
 * @param batchSize rows
 * @param time steps per row
 * @returns `[batch, time, reprDim]`
 */
export function wordRepresentation(
  parts: TaggerParts,
  wordRows: tf.Tensor2D,
  charIds: tf.Tensor2D | null,
  casingIds: tf.Tensor1D | null,
  batchSize: number,
  time: number,
): tf.Tensor3D {
  const pieces: tf.Tensor2D[] = [wordRows];
  if (parts.charCnn) {
    if (!charIds) throw new Error("this model has char features: char ids are required");
    pieces.push(charCnnForward(parts.charCnn, charIds));
  }
  if (parts.casingEmbedding) {
    if (!casingIds) throw new Error("this model has casing features: casing ids are required");
    pieces.push(gatherRows(parts.casingEmbedding as tf.Tensor2D, casingIds));
  }
  const joined = pieces.length === 1 ? wordRows : tf.concat(pieces, 1);
  return tf.reshape(joined, [batchSize, time, parts.reprDim]) as tf.Tensor3D;
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

/**
 * The first `time` columns of a row-major `[rows, maxLen, inner]` array (`inner` values per
 * column; default 1).
 */
function firstColumns<A extends Int32Array | Float32Array>(
  values: A,
  rows: number,
  maxLen: number,
  time: number,
  inner = 1,
): A {
  if (time === maxLen) return values;
  const out = new (values.constructor as { new (n: number): A })(rows * time * inner);
  const from = maxLen * inner;
  const to = time * inner;
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * from, r * from + to), r * to);
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
 * Creates a trainer for a model from `buildModel` (any variant, see the module docs).
 *
 * @param model the tagger (fast or stock BiLSTM; softmax or CRF head; with or without chars)
 * @param options learning rate and dropout seed
 */
export function createTrainer(model: tf.LayersModel, options: TrainerOptions = {}): Trainer {
  const o = { ...DEFAULT_TRAINER_OPTIONS, ...options };
  const parts = taggerParts(model);
  const { maxLen, embeddingDim, numTags, maxChars } = parts;
  const crf = parts.crf;
  const embeddingVar = parts.embedding.trainableWeights[0].read() as tf.Variable;
  const denseVars = [
    ...(parts.charCnn ? charCnnVariables(parts.charCnn) : []),
    ...(parts.casingEmbedding ? [parts.casingEmbedding] : []),
    ...parts.biLstms.flatMap((layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable)),
    parts.denseKernel,
    parts.denseBias,
    ...(crf ? [crf.transitions, crf.startTransitions, crf.endTransitions] : []),
  ];
  const adamConfig = { learningRate: o.learningRate };
  const sparseAdam = new SparseAdam(embeddingVar, adamConfig);
  const denseAdam = new DenseAdam(denseVars, adamConfig);
  parts.biLstms.forEach((layer, index) => {
    const seed = o.seed + 7919 * index; // the first layer keeps the single-layer stream
    if (layer instanceof FastBiLSTM) layer.setDropoutSeed(seed);
    else seedStockDropout(layer, seed);
  });
  const dropoutRandom = seededRandom(o.seed * 31 + 17);
  /** Inverted dropout on the last axis of `[batch, time, width]` features, one mask per token. */
  const dropUnits = <T extends tf.Tensor3D>(features: T, rate: number): T => {
    const [batchSize, time, width] = features.shape;
    const keep = drawDropoutMask(dropoutRandom, batchSize * time, width, rate);
    return tf.mul(features, tf.reshape(keep, features.shape)) as T;
  };

  function checkBatch(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    b: number,
    extras: BatchFeatures,
  ) {
    const n = b * maxLen;
    if (wordIds.length !== n || tagIds.length !== n || mask.length !== n) {
      throw new Error(`trainer: expected ${n} = ${b}×${maxLen} ids, tags and mask values`);
    }
    if (parts.charCnn && extras.charIds?.length !== n * maxChars) {
      throw new Error(`trainer: this model needs extras.charIds (${n}×${maxChars} char ids)`);
    }
    if (parts.casingEmbedding && extras.casingIds?.length !== n) {
      throw new Error(`trainer: this model needs extras.casingIds (${n} casing ids)`);
    }
    if (crf) {
      for (let r = 0; r < b; r++) {
        let seenPadding = false;
        for (let t = 0; t < maxLen; t++) {
          const real = mask[r * maxLen + t] > 0.5;
          if (real && seenPadding) {
            throw new Error("trainer: a CRF model needs real tokens as a prefix of each row");
          }
          if (real && tagIds[r * maxLen + t] === crf.paddingTagId) {
            throw new Error(
              "trainer: a CRF model cannot train on the padding label (countPadding)",
            );
          }
          if (!real) seenPadding = true;
        }
      }
    }
  }

  type Inputs = ReturnType<typeof inputs>;

  /** Loss (scalar) and accuracy (scalar, or null when computed on the host) of a batch. */
  function forward(
    rows: tf.Tensor2D,
    input: Inputs,
    batchSize: number,
    training: boolean,
  ): { loss: tf.Scalar; accuracy: tf.Scalar | null; emissions: tf.Tensor | null } {
    const { time, localT, idsT, tagsT, maskT } = input;
    let embedded = parts.charCnn || parts.casingEmbedding
      ? wordRepresentation(
        parts,
        gatherRows(rows, localT),
        input.charsT,
        input.casingT,
        batchSize,
        time,
      )
      : tf.reshape(gatherRows(rows, localT), [batchSize, time, embeddingDim]) as tf.Tensor3D;
    if (training && parts.dropout > 0) embedded = dropUnits(embedded, parts.dropout);
    const lstmMask = parts.maskZero ? tf.notEqual(idsT, 0) : undefined;
    let sequence: tf.Tensor3D = embedded;
    for (const layer of parts.biLstms) {
      sequence = layer.apply(sequence, { mask: lstmMask, training }) as tf.Tensor3D;
    }
    if (training && parts.outputDropout > 0) sequence = dropUnits(sequence, parts.outputDropout);
    const features = tf.reshape(sequence, [batchSize * time, sequence.shape[2]]) as tf.Tensor2D;
    const logits = denseLayer(features, parts.denseKernel, parts.denseBias);
    const realTokens = tf.maximum(tf.sum(maskT), 1);
    if (crf) {
      const emissions = tf.reshape(logits, [batchSize, time, numTags]) as tf.Tensor3D;
      const nll = crfNegLogLikelihood(
        emissions,
        tf.reshape(tagsT, [batchSize, time]) as tf.Tensor2D,
        tf.reshape(maskT, [batchSize, time]) as tf.Tensor2D,
        crf,
        { reduction: "sum", implementation: "host" },
      );
      return { loss: tf.div(nll, realTokens) as tf.Scalar, accuracy: null, emissions };
    }
    const logProbs = tf.logSoftmax(logits);
    const gold = tf.oneHot(tagsT, numTags);
    const nll = tf.neg(tf.sum(tf.mul(logProbs, gold), 1));
    const loss = tf.div(tf.sum(tf.mul(nll, maskT)), realTokens) as tf.Scalar;
    const hits = tf.cast(tf.equal(tf.argMax(logits, 1), tagsT), "float32");
    const accuracy = tf.div(tf.sum(tf.mul(hits, maskT)), realTokens) as tf.Scalar;
    return { loss, accuracy, emissions: null };
  }

  function inputs(
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    b: number,
    extras: BatchFeatures,
  ) {
    const time = o.trimPadding && parts.maskZero ? trimmedLength(wordIds, mask, b, maxLen) : maxLen;
    const ids = firstColumns(wordIds, b, maxLen, time);
    const { distinct, local } = distinctIds(ids);
    const tags = firstColumns(tagIds, b, maxLen, time);
    const maskValues = firstColumns(mask, b, maxLen, time);
    return {
      time,
      distinct,
      tags,
      maskValues,
      distinctT: tf.tensor1d(distinct, "int32"),
      localT: tf.tensor1d(local, "int32"),
      idsT: tf.tensor2d(ids, [b, time], "int32"),
      tagsT: tf.tensor1d(tags, "int32"),
      maskT: tf.tensor1d(maskValues, "float32"),
      charsT: parts.charCnn
        ? tf.tensor2d(
          firstColumns(extras.charIds!, b, maxLen, time, maxChars),
          [b * time, maxChars],
          "int32",
        )
        : null,
      casingT: parts.casingEmbedding
        ? tf.tensor1d(firstColumns(extras.casingIds!, b, maxLen, time), "int32")
        : null,
    };
  }

  function disposeInputs(input: Inputs) {
    tf.dispose([input.distinctT, input.localT, input.idsT, input.tagsT, input.maskT]);
    if (input.charsT) input.charsT.dispose();
    if (input.casingT) input.casingT.dispose();
  }

  /** Viterbi accuracy over real tokens, on the host. */
  function viterbiAccuracy(emissions: tf.Tensor, input: Inputs, batchSize: number): number {
    const lengths = new Int32Array(batchSize);
    let real = 0;
    for (let r = 0; r < batchSize; r++) {
      let length = 0;
      while (length < input.time && input.maskValues[r * input.time + length] > 0.5) length++;
      lengths[r] = length;
      real += length;
    }
    const decoded = viterbiDecodeBatch(
      emissions.dataSync() as Float32Array,
      lengths,
      readCrfParameters(crf!),
      numTags,
      crf!.paddingTagId,
    );
    let hits = 0;
    decoded.forEach(({ tags }, r) => {
      tags.forEach((tag, t) => {
        if (tag === input.tags[r * input.time + t]) hits++;
      });
    });
    return hits / Math.max(real, 1);
  }

  /**
   * Reads a batch's metrics: `extra` is the accuracy scalar (softmax head) or the emissions
   * (CRF head: Viterbi accuracy on the host). Disposes `loss` and `extra`.
   */
  function readMetrics(
    loss: tf.Tensor,
    extra: tf.Tensor,
    input: Inputs,
    batchSize: number,
  ): BatchMetrics {
    if (crf) {
      const value = loss.dataSync()[0];
      const hostAccuracy = viterbiAccuracy(extra, input, batchSize);
      tf.dispose([loss, extra]);
      return { loss: value, accuracy: hostAccuracy };
    }
    const pair = tf.stack([loss, extra]);
    tf.dispose([loss, extra]);
    const [lossValue, accuracyValue] = pair.dataSync();
    pair.dispose();
    return { loss: lossValue, accuracy: accuracyValue };
  }

  return {
    trainBatch(wordIds, tagIds, mask, batchSize, extras = {}) {
      checkBatch(wordIds, tagIds, mask, batchSize, extras);
      const input = inputs(wordIds, tagIds, mask, batchSize, extras);
      const { loss, extra, grads } = tf.tidy(() => {
        const rows = gatherRows(embeddingVar as tf.Tensor2D, input.distinctT);
        let extra: tf.Tensor | null = null;
        const { value, grads } = tf.engine().gradients(() => {
          const out = forward(rows, input, batchSize, true);
          extra = tf.keep((out.accuracy ?? out.emissions)!);
          return out.loss;
        }, [rows, ...denseVars]);
        return { loss: value, extra: extra! as tf.Tensor, grads };
      });
      // Metrics are read before the update: the Viterbi accuracy needs the CRF weights the
      // loss was computed with.
      const metrics = readMetrics(loss, extra, input, batchSize);
      sparseAdam.update(input.distinct, grads[0]);
      denseAdam.update(grads.slice(1));
      tf.dispose(grads);
      disposeInputs(input);
      return metrics;
    },

    evaluateBatch(wordIds, tagIds, mask, batchSize, extras = {}) {
      checkBatch(wordIds, tagIds, mask, batchSize, extras);
      const input = inputs(wordIds, tagIds, mask, batchSize, extras);
      const { loss, extra } = tf.tidy(() => {
        const rows = gatherRows(embeddingVar as tf.Tensor2D, input.distinctT);
        const out = forward(rows, input, batchSize, false);
        return { loss: out.loss, extra: (out.accuracy ?? out.emissions)! };
      });
      const metrics = readMetrics(loss, extra, input, batchSize);
      disposeInputs(input);
      return metrics;
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
