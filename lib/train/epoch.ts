/**
 * One epoch of training over shuffled rows, and loss/accuracy over held-out rows.
 *
 * An epoch can stop at any step boundary and continue later exactly where it stopped: its
 * {@linkcode EpochPosition} holds the steps done, the running sums and the states of every
 * random stream (shuffling and unknown-word replacement, dropout), so a resumed epoch draws the
 * same numbers an uninterrupted one would have.
 *
 * @module
 */
import type { EncodedSentences } from "../data/encode.ts";
import { seededRandom, shuffled } from "../data/random.ts";
import type { ResolvedTrainConfig } from "./config.ts";
import {
  augmentCase,
  dropSingletons,
  gatherBatch,
  gatherFeatures,
  gatherSoftTargets,
  type RowFeatures,
  type TrainingData,
} from "./data.ts";
import { type StopRequest, yieldToEvents } from "./interrupt.ts";
import type { Trainer, TrainerRandomState } from "./trainer.ts";

/** Where an epoch stands after some steps: enough to continue it exactly. */
export interface EpochPosition {
  /** The 1-based epoch. */
  epoch: number;
  /** Steps done. */
  step: number;
  /** Token-weighted sums of loss and correct tags, and the tokens, over the steps done. */
  sums: { loss: number; correct: number; tokens: number };
  /** The epoch's shuffling and unknown-word stream after those steps. */
  randomState: number;
  /** The trainer's dropout streams after those steps. */
  trainerRandom: TrainerRandomState;
  /** Wall seconds spent on the epoch so far. */
  seconds: number;
}

/** How an epoch ended: its mean metrics and where it stands (all steps, or where it stopped). */
export interface EpochOutcome {
  /** Token-weighted mean loss and accuracy over the steps done. */
  metrics: { loss: number; acc: number };
  /** Where the epoch stands. */
  position: EpochPosition;
  /** Whether it stopped before its last step (a stop was requested). */
  stopped: boolean;
}

/** Options of {@linkcode runEpoch}. */
export interface RunEpochOptions {
  /** Continue from this position (a resumed epoch); default: the epoch's start. */
  from?: EpochPosition;
  /** Checked at every step boundary; when requested, the epoch stops there. */
  stop?: StopRequest;
  /**
   * Called after each step with the running means. A promise it returns holds the loop at
   * that step boundary until it settles (the stop request is checked after it).
   */
  onStep?:
    | ((step: number, metrics: { loss: number; acc: number }) => void)
    | ((step: number, metrics: { loss: number; acc: number }) => Promise<void>);
}

/**
 * Runs one epoch (or the rest of one) over the shuffled fit rows.
 *
 * @param trainer the trainer (its optimiser state already restored when resuming)
 * @param data the training data
 * @param config the run's settings
 * @param epoch the 1-based epoch
 * @param options where to start, when to stop, progress
 */
export async function runEpoch(
  trainer: Trainer,
  data: TrainingData,
  config: ResolvedTrainConfig,
  epoch: number,
  options: RunEpochOptions = {},
): Promise<EpochOutcome> {
  const started = performance.now();
  const random = seededRandom(config.seed * 7919 + epoch);
  const order = shuffled(Array.from({ length: data.fit.size }, (_, row) => row), random);
  const from = options.from;
  if (from) {
    random.state = from.randomState;
    trainer.setRandomState(from.trainerRandom);
  }
  const sums = { ...(from?.sums ?? { loss: 0, correct: 0, tokens: 0 }) };
  const means = () => ({ loss: sums.loss / sums.tokens, acc: sums.correct / sums.tokens });
  const steps = Math.ceil(order.length / config.batchSize);
  let lastTurn = performance.now();
  let step = from?.step ?? 0;
  for (; step < steps; step++) {
    lastTurn = await yieldToEvents(lastTurn);
    if (options.stop?.requested) break;
    const rows = order.slice(step * config.batchSize, (step + 1) * config.batchSize);
    const batch = gatherBatch(data.fit, rows, config.countPadding);
    dropSingletons(batch.wordIds, batch.mask, data.singletons, data.vocab.unknownId, {
      rate: config.unknownWordRate,
      random,
    });
    const features = gatherFeatures(data.fitFeatures, rows, data.fit.maxLen);
    augmentCase(batch, features, rows, data, { rate: config.caseAugmentation, random });
    const softTargets = gatherSoftTargets(
      data.softTargets,
      rows,
      data.fit.maxLen * data.vocab.tags.length,
    );
    const metrics = trainer.trainBatch(
      batch.wordIds,
      batch.tagIds,
      batch.mask,
      rows.length,
      softTargets ? { ...features, softTargets } : features,
    );
    sums.loss += metrics.loss * batch.tokens;
    sums.correct += metrics.accuracy * batch.tokens;
    sums.tokens += batch.tokens;
    const held = options.onStep?.(step + 1, means());
    if (held instanceof Promise) await held;
  }
  const position: EpochPosition = {
    epoch,
    step,
    sums,
    randomState: random.state,
    trainerRandom: trainer.getRandomState(),
    seconds: (from?.seconds ?? 0) + (performance.now() - started) / 1000,
  };
  return { metrics: means(), position, stopped: step < steps };
}

/**
 * Loss and accuracy over the real tokens of encoded rows, without dropout.
 *
 * @param trainer the trainer of the tagger
 * @param rows encoded rows
 * @param batchSize rows per forward pass
 * @param countPadding count padding positions too (the tutorial's way; default false)
 * @param features char ids and casing ids of the rows (char-feature taggers)
 * @returns token-weighted mean loss and accuracy (NaN for no rows)
 */
export function evaluateRows(
  trainer: Trainer,
  rows: EncodedSentences,
  batchSize = 32,
  countPadding = false,
  features?: RowFeatures,
): { loss: number; accuracy: number } {
  let lossSum = 0;
  let correctSum = 0;
  let tokenSum = 0;
  for (let start = 0; start < rows.size; start += batchSize) {
    const indices = Array.from(
      { length: Math.min(batchSize, rows.size - start) },
      (_, offset) => start + offset,
    );
    const batch = gatherBatch(rows, indices, countPadding);
    const metrics = trainer.evaluateBatch(
      batch.wordIds,
      batch.tagIds,
      batch.mask,
      indices.length,
      gatherFeatures(features, indices, rows.maxLen),
    );
    lossSum += metrics.loss * batch.tokens;
    correctSum += metrics.accuracy * batch.tokens;
    tokenSum += batch.tokens;
  }
  return tokenSum === 0
    ? { loss: NaN, accuracy: NaN }
    : { loss: lossSum / tokenSum, accuracy: correctSum / tokenSum };
}
