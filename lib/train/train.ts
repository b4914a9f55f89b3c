/**
 * Training: step 5 of the tutorial, as a loop a reader can follow.
 *
 * {@linkcode train} prepares the data (lib/train/data.ts), builds the tagger from the settings
 * (or takes one built in a notebook), and runs the epochs — seeded shuffling, a progress bar,
 * validation over real tokens only, a NaN guard — writing a complete checkpoint after every
 * epoch (lib/train/checkpoint.ts), so an interrupted run resumes from its last complete epoch.
 * Every tagger variant trains through the same loop and the same trainer (lib/train/trainer.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CharVocab } from "../data/chars.ts";
import type { Sentence } from "../data/corpus.ts";
import type { EncodedSentences } from "../data/encode.ts";
import { seededRandom, shuffled } from "../data/random.ts";
import type { Vocab } from "../data/vocab.ts";
import { checkMapsFitConfig } from "../io/model_folder.ts";
import { Tagger } from "../model/tagger.ts";
import { readPointer, resumeRun, writeCheckpoint } from "./checkpoint.ts";
import {
  epochLearningRate,
  modelSettingsOf,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";
import {
  dropSingletons,
  gatherBatch,
  gatherFeatures,
  prepareData,
  type RowFeatures,
  type TrainingData,
} from "./data.ts";
import { appendEpoch, emptyHistory, type History } from "./history.ts";
import { createProgress, type ProgressSink, stderrSink } from "./progress.ts";
import { createTrainer, type Trainer, type TrainerState } from "./trainer.ts";

/** Options for {@linkcode train}. */
export interface TrainOptions {
  /** The training split, in order. */
  trainSentences: readonly Sentence[];
  /** Settings. */
  config?: TrainConfig;
  /**
   * A tagger to train (e.g. built and inspected in a notebook); default: one built from
   * `config.model`. It must fit `vocab` (and `chars`); its own config is what is saved.
   */
  tagger?: Tagger;
  /** Word/tag maps to use; default: built from the training rows. */
  vocab?: Vocab;
  /** Character map of a given char-feature `tagger`; default: built from the training rows. */
  chars?: CharVocab;
  /** Run folder for checkpoints; none when omitted. */
  out?: string;
  /** Continue the run in `out` from its last complete epoch. */
  resume?: boolean;
  /** Where progress goes; default stderr. `null` silences it. */
  progress?: ProgressSink | null;
  /** Called after each epoch (after its checkpoint is written). */
  onEpoch?: (epoch: number, history: History) => void | Promise<void>;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** The trained tagger. */
  tagger: Tagger;
  /** Its maps. */
  vocab: Vocab;
  /** Its character map (char-feature taggers). */
  chars?: CharVocab;
  /** The settings used (the model settings being the tagger's own). */
  config: ResolvedTrainConfig;
  /** Per-epoch metrics. */
  history: History;
  /** The run folder, if any. */
  out: string | null;
  /** Mean ms per training step over the epochs run in this call. */
  msPerStep: number;
  /** Training steps run in this call. */
  steps: number;
  /** Epochs already complete when this call started (resume). */
  resumedFromEpoch: number;
}

/** Raised when the loss stops being a finite number. */
export class NonFiniteLossError extends Error {
  /**
   * @param epoch 1-based epoch
   * @param step 1-based step
   * @param loss the value seen
   */
  constructor(readonly epoch: number, readonly step: number, readonly loss: number) {
    super(
      `training stopped: loss became ${loss} at epoch ${epoch}, step ${step} ` +
        "(try a lower learning rate; the last checkpoint is unchanged)",
    );
    this.name = "NonFiniteLossError";
  }
}

/** Where a call to {@linkcode train} starts: fresh, or from a run's last checkpoint. */
interface Start {
  config: ResolvedTrainConfig;
  tagger?: Tagger;
  vocab?: Vocab;
  chars?: CharVocab;
  history: History;
  trainerState?: TrainerState;
  epoch: number;
}

/** Settings that agree with a tagger the caller built: its own model settings and `maxLen`. */
function configForTagger(config: ResolvedTrainConfig, tagger: Tagger, given?: TrainConfig) {
  if (given?.maxLen !== undefined && given.maxLen !== tagger.config.maxLen) {
    throw new Error(
      `train: maxLen ${given.maxLen} differs from the given tagger's ${tagger.config.maxLen}`,
    );
  }
  return { ...config, maxLen: tagger.config.maxLen, model: modelSettingsOf(tagger.config) };
}

/** Resolves where training starts, refusing to overwrite a run unless resuming. */
async function startOf(
  options: TrainOptions,
  out: string | null,
  sink: ProgressSink,
): Promise<Start> {
  const existing = out ? await readPointer(out) : null;
  if (existing && !options.resume) {
    throw new Error(
      `${out} already holds a training run (epoch ${existing.epoch} done): ` +
        "pass --resume to continue it, or choose another --out",
    );
  }
  if (existing && out) {
    const run = await resumeRun(out, existing, options.config?.epochs);
    sink(`resuming ${out} after epoch ${run.epoch} of ${run.config.epochs}\n`);
    const { tagger, vocab, chars } = run.loaded;
    return { ...run, tagger, vocab, chars: chars ?? undefined };
  }
  let config = resolveTrainConfig(options.config);
  if (options.tagger) {
    if (!options.vocab) throw new Error("train: a given tagger needs the vocab it was built for");
    config = configForTagger(config, options.tagger, options.config);
  }
  const { tagger, vocab, chars } = options;
  return { config, tagger, vocab, chars, history: emptyHistory(), epoch: 0 };
}

/** The tagger a run trains: the given one (checked against the maps) or a new one. */
function taggerFor(data: TrainingData, config: ResolvedTrainConfig, given?: Tagger): Tagger {
  if (given) {
    checkMapsFitConfig(given.config, data.vocab, data.chars, "train");
    return given;
  }
  return new Tagger({
    ...config.model,
    vocabSize: data.vocab.words.length,
    numTags: data.vocab.tags.length,
    maxLen: config.maxLen,
    seed: config.model.seed ?? config.seed,
    ...(data.chars ? { numChars: data.chars.chars.length } : {}),
  });
}

/**
 * Trains a tagger, checkpointing every epoch into `out`.
 *
 * @param options data, settings, run folder and callbacks
 * @returns the tagger, maps, history and timing
 * @throws {NonFiniteLossError} when the loss becomes NaN or infinite
 * @throws {Error} when `out` holds a run and `resume` is not set
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const sink = options.progress === null ? () => {} : options.progress ?? stderrSink;
  const out = options.out ?? null;
  const start = await startOf(options, out, sink);
  const { config } = start;
  const data = prepareData(options.trainSentences, config, start.vocab, start.chars);
  const tagger = taggerFor(data, config, start.tagger);
  const steps = Math.ceil(data.fit.size / config.batchSize);
  sink(
    `training on ${data.fit.size} sentences (${steps} steps of ${config.batchSize}), ` +
      `validating on ${data.validation.size}; vocabulary ${data.vocab.words.length} words, ` +
      `${data.vocab.tags.length} labels\n`,
  );
  let { history, trainerState } = start;
  let totalMs = 0;
  let totalSteps = 0;
  for (let epoch = start.epoch + 1; epoch <= config.epochs; epoch++) {
    const result = runEpochWithValidation(tagger, data, config, epoch, steps, trainerState, sink);
    trainerState = result.trainerState;
    totalMs += result.msPerStep * steps;
    totalSteps += steps;
    history = appendEpoch(history, result.record);
    sink(`  tf.memory(): ${tf.memory().numTensors} tensors, ${tf.memory().numBytes} bytes\n`);
    if (out) {
      const mapped = { tagger, vocab: data.vocab, chars: data.chars ?? null };
      await writeCheckpoint(out, epoch, mapped, config, history, trainerState);
    }
    await options.onEpoch?.(epoch, history);
  }
  return {
    tagger,
    vocab: data.vocab,
    ...(data.chars ? { chars: data.chars } : {}),
    config,
    history,
    out,
    msPerStep: totalSteps > 0 ? totalMs / totalSteps : 0,
    steps: totalSteps,
    resumedFromEpoch: start.epoch,
  };
}

/** One epoch of training, then validation; the epoch's history record and optimiser state. */
function runEpochWithValidation(
  tagger: Tagger,
  data: TrainingData,
  config: ResolvedTrainConfig,
  epoch: number,
  steps: number,
  trainerState: TrainerState | undefined,
  sink: ProgressSink,
) {
  const started = performance.now();
  const trainer = createTrainer(tagger, {
    learningRate: epochLearningRate(config, epoch),
    seed: config.seed * 1000 + epoch,
  });
  if (trainerState) trainer.setState(trainerState);
  const progress = createProgress({ label: `epoch ${epoch}/${config.epochs}`, total: steps, sink });
  const fitMetrics = runEpoch(trainer, data, config, epoch, (step, metrics) => {
    if (!Number.isFinite(metrics.loss)) throw new NonFiniteLossError(epoch, step, metrics.loss);
    progress.update(step, metrics);
  });
  const validation = evaluateRows(
    trainer,
    data.validation,
    config.batchSize,
    config.countPadding,
    data.validationFeatures,
  );
  progress.done({
    ...fitMetrics,
    ...(data.validation.size === 0
      ? {}
      : { val_loss: validation.loss, val_acc: validation.accuracy }),
  });
  return {
    trainerState: trainer.getState(),
    msPerStep: progress.msPerStep(),
    record: {
      epoch,
      loss: fitMetrics.loss,
      accuracy: fitMetrics.acc,
      valLoss: validation.loss,
      valAccuracy: validation.accuracy,
      seconds: (performance.now() - started) / 1000,
      msPerStep: progress.msPerStep(),
      numTensors: tf.memory().numTensors,
    },
  };
}

/** Runs one epoch over shuffled rows; returns token-weighted mean loss and accuracy. */
function runEpoch(
  trainer: Trainer,
  data: TrainingData,
  config: ResolvedTrainConfig,
  epoch: number,
  onStep: (step: number, metrics: { loss: number; acc: number }) => void,
): { loss: number; acc: number } {
  const random = seededRandom(config.seed * 7919 + epoch);
  const order = shuffled(Array.from({ length: data.fit.size }, (_, row) => row), random);
  let lossSum = 0;
  let correctSum = 0;
  let tokenSum = 0;
  for (let start = 0, step = 1; start < order.length; start += config.batchSize, step++) {
    const rows = order.slice(start, start + config.batchSize);
    const batch = gatherBatch(data.fit, rows, config.countPadding);
    dropSingletons(batch.wordIds, batch.mask, data.singletons, data.vocab.unknownId, {
      rate: config.unknownWordRate,
      random,
    });
    const metrics = trainer.trainBatch(
      batch.wordIds,
      batch.tagIds,
      batch.mask,
      rows.length,
      gatherFeatures(data.fitFeatures, rows, data.fit.maxLen),
    );
    lossSum += metrics.loss * batch.tokens;
    correctSum += metrics.accuracy * batch.tokens;
    tokenSum += batch.tokens;
    onStep(step, { loss: lossSum / tokenSum, acc: correctSum / tokenSum });
  }
  return { loss: lossSum / tokenSum, acc: correctSum / tokenSum };
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
