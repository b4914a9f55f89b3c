/**
 * One training or validation step of a {@linkcode Tagger}, for every variant.
 *
 * A step:
 * 1. trims the batch to its longest row and uploads it (lib/train/batches.ts);
 * 2. gathers the embedding rows of the batch's distinct words only;
 * 3. runs the tagger's forward pass (with dropout when training) and the loss
 *    (lib/train/losses.ts): cross-entropy over real tokens, or the CRF negative log-likelihood;
 * 4. updates the embedding rows with lazy {@link SparseAdam} and everything else with
 *    {@link DenseAdam} (both in place);
 * 5. reads loss and accuracy back together: one host read per step (a CRF head's accuracy is
 *    that of the Viterbi path, decoded on the host before the update).
 *
 * The BiLSTM sweeps of a training step run their two directions at once where the runtime can
 * make a shared WebAssembly memory: the reverse one on a worker thread
 * (lib/model/bilstm/_sweep_peer.ts, registered here, where only training imports it, not in the
 * model code the browser bundle shares), bitwise the same numbers.
 *
 * Dropout is deterministic by `seed`: word-representation and output dropout draw from one
 * stream, each BiLSTM's recurrent dropout from its own.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { seededRandom } from "../data/random.ts";
import { gatherRows } from "../model/bilstm/mod.ts";
import { startSweepPeer } from "../model/bilstm/_sweep_peer.ts";
import { setSweepPeerFactory } from "../model/bilstm/wasm_sweep.ts";
import type { TrainingPass } from "../model/forward.ts";
import type { Tagger } from "../model/tagger.ts";
import {
  type BatchFeatures,
  type BatchTensors,
  batchTensors,
  checkBatch,
  disposeBatchTensors,
} from "./batches.ts";
import { stepLoss, viterbiAccuracy } from "./losses.ts";
import { type AdamState, DenseAdam, SparseAdam } from "./sparse_adam.ts";

setSweepPeerFactory(startSweepPeer);

export type { BatchFeatures } from "./batches.ts";
export { trimmedLength } from "./batches.ts";

/** Trainer options. */
export interface TrainerOptions {
  /** Adam step size; default 0.001. */
  learningRate?: number;
  /** Seed of the dropout masks; default 1234. */
  seed?: number;
  /**
   * Compute only up to the batch's last non-padding position (with a padding mask; same
   * results); default true. False always runs `maxLen` steps.
   */
  trimPadding?: boolean;
  /**
   * Weight of a batch's soft targets (`extras.softTargets`, a teacher's distributions) against
   * its gold tags in the training loss, in [0, 1]; default 0 (gold tags only). Validation
   * (`evaluateBatch`) always scores the gold tags.
   */
  softTargetWeight?: number;
  /** Leave the word embedding as it is (pretrained vectors kept frozen); default false. */
  freezeWordEmbedding?: boolean;
}

/** Defaults of {@link TrainerOptions}. */
export const DEFAULT_TRAINER_OPTIONS: Required<TrainerOptions> = {
  learningRate: 0.001,
  seed: 1234,
  trimPadding: true,
  softTargetWeight: 0,
  freezeWordEmbedding: false,
};

/** Loss and accuracy of one batch, over real (unmasked) tokens. */
export interface BatchMetrics {
  /** Mean cross-entropy per real token (CRF: sentence NLLs summed, divided by real tokens). */
  loss: number;
  /** Fraction of real tokens whose arg-max tag (CRF: Viterbi tag) is right. */
  accuracy: number;
}

/** Optimiser state for checkpoints. */
export interface TrainerState {
  /** Lazy Adam state of the embedding matrix. */
  embedding: AdamState;
  /** Adam state of the other trainable variables. */
  dense: AdamState;
}

/** Trains and evaluates a tagger batch by batch. */
export interface Trainer {
  /**
   * One optimisation step on a batch of post-padded rows.
   *
   * @param wordIds `[batchSize * maxLen]` word ids (0 = PAD)
   * @param tagIds `[batchSize * maxLen]` gold tag ids
   * @param mask `[batchSize * maxLen]` 1 for real tokens, 0 for padding
   * @param batchSize number of sentences
   * @param extras char ids and casing ids; required when the tagger has char features
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
  /** The dropout streams' states, for a mid-epoch checkpoint. */
  getRandomState(): TrainerRandomState;
  /** Restores the dropout streams from {@link getRandomState}: the same masks follow. */
  setRandomState(state: TrainerRandomState): void;
}

/** Where a trainer's dropout streams are: restoring it continues the same masks. */
export interface TrainerRandomState {
  /** The word-representation and output dropout stream. */
  dropout: number;
  /** Each BiLSTM's recurrent-dropout stream, bottom first. */
  recurrent: number[];
}

/**
 * Reads a batch's metrics: `extra` is the accuracy scalar (softmax head) or the emissions (CRF
 * head: Viterbi accuracy on the host). Disposes `loss` and `extra`.
 */
function readMetrics(
  tagger: Tagger,
  loss: tf.Tensor,
  extra: tf.Tensor,
  batch: BatchTensors,
): BatchMetrics {
  const crf = tagger.parts.crf;
  if (crf) {
    const value = loss.dataSync()[0];
    const accuracy = viterbiAccuracy(extra, batch, crf);
    tf.dispose([loss, extra]);
    return { loss: value, accuracy };
  }
  const pair = tf.stack([loss, extra]);
  tf.dispose([loss, extra]);
  const [lossValue, accuracyValue] = pair.dataSync();
  pair.dispose();
  return { loss: lossValue, accuracy: accuracyValue };
}

/**
 * Loss, and what the metrics need (accuracy or emissions), of the batch's forward pass; the
 * embedding rows are `rows`, the batch's distinct words' rows.
 */
function forwardLoss(
  tagger: Tagger,
  rows: tf.Tensor2D,
  batch: BatchTensors & { localIds: tf.Tensor1D },
  training?: TrainingPass,
  softTargetWeight = 0,
): { loss: tf.Scalar; extra: tf.Tensor } {
  const input = { ...batch.input, wordRows: { table: rows, ids: batch.localIds } };
  const scores = tagger.forward(input, training);
  const { loss, accuracy } = stepLoss(scores, batch, tagger.parts.crf, softTargetWeight);
  return { loss, extra: accuracy ?? scores };
}

/**
 * Creates a trainer for a tagger (any variant).
 *
 * @param tagger the tagger to train (its weights are updated in place)
 * @param options learning rate, dropout seed, trimming
 */
export function createTrainer(tagger: Tagger, options: TrainerOptions = {}): Trainer {
  const o = { ...DEFAULT_TRAINER_OPTIONS, ...options };
  const embedding = tagger.parts.wordEmbedding;
  const denseVars = tagger.denseVariables();
  const sparseAdam = new SparseAdam(embedding, { learningRate: o.learningRate });
  const denseAdam = new DenseAdam(denseVars, { learningRate: o.learningRate });
  tagger.setRecurrentDropoutSeed(o.seed);
  const dropoutRandom = seededRandom(o.seed * 31 + 17);
  const training: TrainingPass = { random: dropoutRandom };
  const upload = (
    wordIds: Int32Array,
    tagIds: Int32Array,
    mask: Float32Array,
    batchSize: number,
    features: BatchFeatures = {},
  ) => {
    const batch = { wordIds, tagIds, mask, batchSize, features };
    checkBatch(tagger.config, batch);
    return batchTensors(tagger.config, batch, o.trimPadding);
  };

  return {
    trainBatch(wordIds, tagIds, mask, batchSize, extras) {
      const batch = upload(wordIds, tagIds, mask, batchSize, extras);
      const { loss, extra, grads } = tf.tidy(() => {
        const rows = gatherRows(embedding as tf.Tensor2D, batch.distinctIds);
        let extra: tf.Tensor | null = null;
        const { value, grads } = tf.engine().gradients(() => {
          const out = forwardLoss(tagger, rows, batch, training, o.softTargetWeight);
          extra = tf.keep(out.extra);
          return out.loss;
        }, [rows, ...denseVars]);
        return { loss: value, extra: extra! as tf.Tensor, grads };
      });
      // Metrics are read before the update: the Viterbi accuracy needs the CRF weights the
      // loss was computed with.
      const metrics = readMetrics(tagger, loss, extra, batch);
      if (!o.freezeWordEmbedding) sparseAdam.update(batch.distinct, grads[0]);
      denseAdam.update(grads.slice(1));
      tagger.weightsChanged();
      tf.dispose(grads);
      disposeBatchTensors(batch);
      return metrics;
    },

    evaluateBatch(wordIds, tagIds, mask, batchSize, extras) {
      const batch = upload(wordIds, tagIds, mask, batchSize, extras);
      const { loss, extra } = tf.tidy(() => {
        const rows = gatherRows(embedding as tf.Tensor2D, batch.distinctIds);
        return forwardLoss(tagger, rows, batch);
      });
      const metrics = readMetrics(tagger, loss, extra, batch);
      disposeBatchTensors(batch);
      return metrics;
    },

    getState() {
      return { embedding: sparseAdam.getState(), dense: denseAdam.getState() };
    },

    setState(state) {
      sparseAdam.setState(state.embedding);
      denseAdam.setState(state.dense);
    },

    getRandomState() {
      return { dropout: dropoutRandom.state, recurrent: tagger.recurrentDropoutState };
    },

    setRandomState(state) {
      dropoutRandom.state = state.dropout;
      tagger.recurrentDropoutState = state.recurrent;
    },
  };
}
