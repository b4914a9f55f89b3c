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
import type { Vocab } from "../data/vocab.ts";
import { evaluateModel } from "../evaluate/evaluate.ts";
import { checkMapsFitConfig } from "../io/model_folder.ts";
import type { MappedTagger } from "../model/mapped.ts";
import { Tagger } from "../model/tagger.ts";
import { bestEpochOf, givenSettings, readPointer, writeCheckpoint } from "./checkpoint.ts";
import { ResumeMismatchError, resumeRun, settingDifferences } from "./resume.ts";
import {
  alreadyHoldsRun,
  checkFreeSpace,
  checkpointBytes,
  nothingToResume,
  prepareRunFolder,
} from "./run_folder_checks.ts";
import {
  checkGivenTrainConfig,
  epochLearningRate,
  modelSettingsOf,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";
import type { DistillConfig } from "./config.ts";
import { prepareData, sentencesOf, type TrainingData } from "./data.ts";
import { softTargetsFor } from "./distill.ts";
import { type EpochPosition, evaluateRows, runEpoch } from "./epoch.ts";
import { appendEpoch, emptyHistory, type History } from "./history.ts";
import { listenForInterrupt, type StopRequest } from "./interrupt.ts";
import { acquireRunLock, RunFolderError, type RunLock } from "../io/run_lock.ts";
import { createProgress, defaultProgressSink, type ProgressSink } from "./progress.ts";
import { createTrainer, type TrainerState } from "./trainer.ts";
import { applyWordVectors, loadWordVectorsFor } from "./word_vectors.ts";
import {
  checkDataFingerprint,
  type DataFingerprint,
  dataFingerprint,
  fingerprintDifference,
} from "./data_fingerprint.ts";

export { evaluateRows } from "./epoch.ts";
export { RunFolderError, RunLockedError } from "../io/run_lock.ts";
export { ResumeMismatchError } from "./resume.ts";
export { checkRunFolder } from "./run_folder_checks.ts";

/** Options for {@linkcode train}. */
export interface TrainOptions {
  /**
   * The training sentences, in order; default: loaded as `config.data` says (your own files,
   * or the bundled corpus's tutorial training split), which is also what a resumed run uses.
   */
  trainSentences?: readonly Sentence[];
  /**
   * Validation sentences of their own, with `trainSentences` (default: the tail of
   * `trainSentences`, `config.validationSplit`; loaded from `config.data.dev` otherwise).
   */
  devSentences?: readonly Sentence[] | null;
  /**
   * Settings. With `resume`, the fields set here (not undefined, at any level: `limit`,
   * `model.units`) are the settings "given": each must equal the run's saved value, or
   * {@linkcode ResumeMismatchError} lists the differences; fields left out (so defaults) take
   * the run's values. `epochs` may differ: it is how many epochs the run should have in all.
   */
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
  /**
   * Run folder for checkpoints; none when omitted. It is checked before training (a folder, or
   * created; writable; room for two checkpoints, one when resuming) and locked while training
   * runs (lib/io/run_lock.ts): a second training on it fails at once, naming the holder.
   */
  out?: string;
  /**
   * Continue the run in `out` from its latest checkpoint. It must hold one; the settings given
   * in `config` must be the run's (see `config`); `config.epochs`, when given, must not be below
   * the epochs done (nor the epoch a mid-epoch checkpoint is in); `tagger`, `vocab` and `chars`
   * must not be given (the run's own are restored).
   */
  resume?: boolean;
  /** Where progress goes; default stderr (stdout lines in a notebook). `null` silences it. */
  progress?: ProgressSink | null;
  /** Called after each epoch (after its checkpoint is written). */
  onEpoch?: (epoch: number, history: History) => void | Promise<void>;
  /**
   * Called after each training step with the epoch's running mean loss and accuracy. A promise
   * it returns holds training at that step boundary until it settles; a stop asked for
   * meanwhile (SIGINT, `signal`) stops training there (e.g. a test holds a step until its
   * Interrupt has come, instead of racing the signal against the epoch's end).
   */
  onStep?:
    | ((epoch: number, step: number, metrics: { loss: number; acc: number }) => void)
    | ((epoch: number, step: number, metrics: { loss: number; acc: number }) => Promise<void>);
  /**
   * Stop at the next step boundary when aborted: a mid-epoch checkpoint is written (with `out`)
   * and the result says where training stopped.
   */
  signal?: AbortSignal;
  /**
   * Stop the same way on SIGINT (Ctrl-C, Jupyter's Interrupt) while training runs, instead of
   * the process (or kernel) being killed; default true.
   */
  stopOnInterrupt?: boolean;
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
  /**
   * Where training stopped when a stop was requested (SIGINT or `signal`) before the last
   * epoch ended: the epoch and its steps done (a checkpoint of them is in `out`); else null.
   */
  interrupted: { epoch: number; step: number; reason: string } | null;
  /**
   * The epoch with the best validation entity F1 (the earliest of equals): its checkpoint is
   * the run's model (what `evaluate`, `predict`, `serve` and `export` load from `out`); null
   * without validation. `tagger` is the last epoch's weights either way.
   */
  bestEpoch: { epoch: number; valF1: number } | null;
  /**
   * The epoch after which early stopping ended training (`config.patience` epochs without a
   * better validation F1) before `config.epochs`; else null.
   */
  stoppedEarlyAfter: number | null;
}

/** Raised when the loss stops being a finite number. */
export class NonFiniteLossError extends Error {
  /**
   * An error naming where the loss stopped being finite.
   *
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
  position?: EpochPosition;
  /** A resumed run's record of the settings it was given (their paths). */
  overrides?: readonly string[];
  /** A resumed run's record of the data it was trained on (absent in older runs). */
  data?: DataFingerprint;
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
  if (existing && out && !options.resume) {
    throw alreadyHoldsRun(out, existing.epoch);
  }
  if (options.resume && out) {
    if (!existing) {
      throw nothingToResume(out);
    }
    if (options.tagger || options.vocab || options.chars) {
      throw new RunFolderError(
        `${out}: resuming continues the run's own tagger and maps; do not pass tagger, vocab ` +
          "or chars",
      );
    }
    const run = await resumeRun(out, existing, options.config?.epochs, options.config?.patience);
    try {
      const differences = settingDifferences(options.config ?? {}, run.config);
      if (differences.length > 0) throw new ResumeMismatchError(out, differences);
      const reached = run.position?.epoch ?? run.epoch;
      if (run.config.epochs < reached) {
        throw new RunFolderError(
          `${out}: epochs ${run.config.epochs} is below the run's progress: ${run.epoch} ` +
            `epoch${run.epoch === 1 ? "" : "s"} done` +
            (run.position ? `, epoch ${run.position.epoch} under way` : "") +
            `; ask for ${reached} or more`,
        );
      }
    } catch (error) {
      run.loaded.tagger.dispose();
      throw error;
    }
    sink(
      run.position
        ? `resuming ${out} at epoch ${run.position.epoch}, after step ${run.position.step}\n`
        : `resuming ${out} after epoch ${run.epoch} of ${run.config.epochs}\n`,
    );
    const { tagger, vocab, chars } = run.loaded;
    const recorded = run.loaded.config.training?.overrides;
    const overrides = Array.isArray(recorded) && recorded.every((path) => typeof path === "string")
      ? recorded as string[]
      : undefined;
    const data = checkDataFingerprint(run.loaded.config.training?.dataFingerprint);
    return { ...run, tagger, vocab, chars: chars ?? undefined, overrides, data };
  }
  let config = resolveTrainConfig(options.config);
  if (options.tagger) {
    if (!options.vocab) throw new Error("train: a given tagger needs the vocab it was built for");
    config = configForTagger(config, options.tagger, options.config);
  }
  const { tagger, vocab, chars } = options;
  return { config, tagger, vocab, chars, history: emptyHistory(), epoch: 0 };
}

/** A run folder prepared and locked for a training, and how to let go of it. */
interface HeldFolder {
  lock: RunLock;
  /** Releases the lock; removes the folder again when this training created it and left it empty. */
  release(): Promise<void>;
}

/** Checks `out` (a writable folder, or created) and takes its lock. */
async function holdRunFolder(out: string, sink: ProgressSink): Promise<HeldFolder> {
  const created = await prepareRunFolder(out);
  let lock: RunLock;
  try {
    lock = await acquireRunLock(out, sink);
  } catch (error) {
    if (created) await removeIfEmpty(out);
    throw error;
  }
  return {
    lock,
    async release() {
      await lock.release();
      if (created) await removeIfEmpty(out);
    },
  };
}

/** Removes a run folder this training created when nothing was written to it. */
async function removeIfEmpty(out: string): Promise<void> {
  try {
    await Deno.remove(out); // only if empty
  } catch {
    // Not empty (a checkpoint was written): it stays.
  }
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
 * @throws {RunFolderError} before training when `out` cannot be used: it holds a run and
 *   `resume` is not set; it is locked by another training ({@linkcode RunLockedError}, naming
 *   the holder); it is a file, cannot be written or has too little free space; when resuming,
 *   it holds no checkpoint, the settings given differ ({@linkcode ResumeMismatchError}), the
 *   epochs asked for are below those done, or a checkpoint file is malformed (named). While
 *   training, when a checkpoint cannot be written (the previous one stays in place).
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const sink = options.progress === null ? () => {} : options.progress ?? defaultProgressSink();
  const out = options.out ?? null;
  if (options.resume && out === null) {
    throw new RunFolderError("train: resume needs out, the run folder to continue");
  }
  // the settings given are checked before anything else
  checkGivenTrainConfig(options.config, options.resume);
  // Listening from before the lock is taken to after it is released, so that a SIGINT at any
  // moment in between stops the run at a step boundary rather than killing the process with
  // the lock held (a stop before the first step checkpoints step 0).
  const stop = listenForInterrupt({
    sigint: options.stopOnInterrupt ?? true,
    signal: options.signal,
  });
  let held: HeldFolder | null = null;
  try {
    held = out ? await holdRunFolder(out, sink) : null;
    return await trainHeld(options, out, sink, stop);
  } finally {
    await held?.release();
    stop.release();
  }
}

/** {@linkcode train} once its run folder (if any) is checked and locked. */
async function trainHeld(
  options: TrainOptions,
  out: string | null,
  sink: ProgressSink,
  stop: StopRequest,
): Promise<TrainResult> {
  const start = await startOf(options, out, sink);
  const loaded = await sentencesOf(options, start.config, sink);
  const { train: trainSentences, dev } = loaded;
  // A resumed run must see the data it was trained on: its maps and its history assume it.
  const fingerprint = await dataFingerprint(trainSentences, dev);
  if (start.data && out) {
    const difference = fingerprintDifference(start.data, fingerprint);
    if (difference) {
      start.tagger?.dispose();
      throw new RunFolderError(
        `${out}: cannot resume: ${difference}; a run resumes on the data it was trained on ` +
          "(start a new run with another --out to train on the new data)",
      );
    }
  }
  let config = loaded.config;
  // Pretrained vectors are read for a new run only: a resumed run holds them in its weights.
  const fresh = start.vocab === undefined && start.tagger === undefined;
  const withVectors = config.embeddings && fresh
    ? await loadWordVectorsFor(trainSentences, config, options.config, dev, sink)
    : null;
  if (withVectors) config = withVectors.config;
  const data = prepareData(
    trainSentences,
    config,
    withVectors?.vocab ?? start.vocab,
    start.chars,
    dev,
  );
  if (config.distill) {
    const distill = config.distill as Required<DistillConfig>;
    data.softTargets = await softTargetsFor(distill, config, data, out, sink);
  }
  const tagger = taggerFor(data, config, start.tagger);
  if (withVectors) applyWordVectors(tagger, data.vocab, withVectors.vectors);
  if (out) {
    // The first checkpoint is written beside none, each later one beside the previous one.
    const checkpoints = start.epoch > 0 || start.position ? 1 : 2;
    try {
      const note = await checkFreeSpace(out, checkpoints * checkpointBytes(tagger));
      if (note) sink(`(${note})\n`);
    } catch (error) {
      if (tagger !== options.tagger) tagger.dispose();
      throw error;
    }
  }
  const mapped = { tagger, vocab: data.vocab, chars: data.chars ?? null };
  // What was given explicitly: a resumed run keeps its own record of it.
  const overrides = start.overrides ?? givenSettings(options.config);
  const steps = Math.ceil(data.fit.size / config.batchSize);
  const cut = data.fitSentences.filter((sentence) => sentence.words.length > config.maxLen);
  if (cut.length > 0) {
    const longest = cut.reduce((most, sentence) => Math.max(most, sentence.words.length), 0);
    sink(
      `note: ${cut.length} of ${data.fitSentences.length} training sentences are longer than ` +
        `maxLen ${config.maxLen} tokens (the longest ${longest}) and are trained on their first ` +
        `${config.maxLen} only (--max-len N to change it; prediction and evaluation tag long ` +
        "sentences whole, in overlapping windows)\n",
    );
  }
  sink(
    `training on ${data.fit.size} sentences (${steps} steps of ${config.batchSize}), ` +
      `validating on ${data.validation.size}; vocabulary ${data.vocab.words.length} words, ` +
      `${data.vocab.tags.length} labels\n`,
  );
  let { history, trainerState } = start;
  let totalMs = 0;
  let totalSteps = 0;
  let interrupted: TrainResult["interrupted"] = null;
  let stoppedEarlyAfter: number | null = null;
  let warnedNothingLearned = false;
  for (let epoch = start.epoch + 1; epoch <= config.epochs; epoch++) {
    if (earlyStopDue(history, config.patience)) {
      stoppedEarlyAfter = epoch - 1;
      const best = bestEpochOf(history)!;
      sink(
        `early stop after epoch ${epoch - 1}: no better validation F1 for ${config.patience} ` +
          `epoch${config.patience === 1 ? "" : "s"}; the run's model is epoch ${best.epoch} ` +
          `(validation F1 ${best.valF1.toFixed(4)})\n`,
      );
      break;
    }
    const from = start.position?.epoch === epoch ? start.position : undefined;
    const result = await runEpochWithValidation(
      { mapped, data, config, epoch, steps, trainerState, sink, stop, onStep: options.onStep },
      from,
    );
    trainerState = result.trainerState;
    totalMs += result.msPerStep * result.stepsRun;
    totalSteps += result.stepsRun;
    if (result.stopped) {
      const { step } = result.position;
      interrupted = { epoch, step, reason: stop.reason ?? "stop" };
      if (out) {
        const checkpoint = {
          mapped,
          config,
          history,
          trainerState,
          position: result.position,
          overrides,
          dataFingerprint: start.data ?? fingerprint,
        };
        await writeCheckpoint(out, checkpoint);
      }
      sink(
        `stopped (${interrupted.reason}) at epoch ${epoch}, step ${step} of ${steps}` +
          (out ? `; checkpoint written: resume with --resume --out ${out}\n` : "\n"),
      );
      break;
    }
    history = appendEpoch(history, result.record!);
    sink(`  tf.memory(): ${tf.memory().numTensors} tensors, ${tf.memory().numBytes} bytes\n`);
    if (out) {
      await writeCheckpoint(out, {
        mapped,
        config,
        history,
        trainerState,
        overrides,
        dataFingerprint: start.data ?? fingerprint,
      });
    }
    if (!warnedNothingLearned && nothingLearned(history)) {
      warnedNothingLearned = true;
      sink(nothingLearnedWarning(history, config));
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
    interrupted,
    bestEpoch: bestEpochOf(history),
    stoppedEarlyAfter,
  };
}

/**
 * Whether `patience` epochs have passed since the best validation F1 (0: never). Epochs before
 * the first entity is found do not count: a small corpus can take several epochs to find one.
 */
function earlyStopDue(history: History, patience: number): boolean {
  if (patience <= 0 || history.epoch.length === 0) return false;
  const best = bestEpochOf(history);
  return best !== null && best.valF1 > 0 &&
    history.epoch[history.epoch.length - 1] - best.epoch >= patience;
}

/** Whether two or more epochs were validated and none found a single entity right (F1 0). */
function nothingLearned(history: History): boolean {
  const scores = (history.valF1 ?? []).filter((value) => Number.isFinite(value));
  return scores.length >= 2 && scores.every((value) => value === 0);
}

/** What to say when {@linkcode nothingLearned}: what the model does, and what to try. */
function nothingLearnedWarning(history: History, config: ResolvedTrainConfig): string {
  const epochs = history.epoch.length;
  return `warning: validation entity F1 is still 0 after ${epochs} epochs: the model finds no ` +
    "entity of the validation set. Try a higher learning rate (--learning-rate 0.01), more " +
    "epochs, more training sentences, or --preset accurate" +
    (config.preset === "accurate" ? "" : ` (this run uses --preset ${config.preset})`) +
    "; and check that the validation file uses the training file's entity types.\n";
}

/** What one epoch needs. */
interface EpochContext {
  mapped: MappedTagger;
  data: TrainingData;
  config: ResolvedTrainConfig;
  epoch: number;
  steps: number;
  trainerState: TrainerState | undefined;
  sink: ProgressSink;
  stop: StopRequest;
  onStep?: TrainOptions["onStep"];
}

/**
 * One epoch of training (or its rest, from a mid-epoch position), then validation: loss and
 * accuracy over real tokens, and entity F1 on the held-out sentences.
 */
async function runEpochWithValidation(context: EpochContext, from?: EpochPosition) {
  const { mapped, data, config, epoch, steps, sink } = context;
  const trainer = createTrainer(mapped.tagger, {
    learningRate: epochLearningRate(config, epoch),
    seed: config.seed * 1000 + epoch,
    softTargetWeight: config.distill?.weight ?? 0,
    freezeWordEmbedding: config.embeddings?.freeze ?? false,
  });
  if (context.trainerState) trainer.setState(context.trainerState);
  const progress = createProgress({
    label: `epoch ${epoch}/${config.epochs}`,
    total: steps,
    sink,
    startStep: from?.step ?? 0,
  });
  const outcome = await runEpoch(trainer, data, config, epoch, {
    from,
    stop: context.stop,
    onStep: (step, metrics) => {
      if (!Number.isFinite(metrics.loss)) throw new NonFiniteLossError(epoch, step, metrics.loss);
      progress.update(step, metrics);
      return context.onStep?.(epoch, step, metrics);
    },
  });
  const common = {
    trainerState: trainer.getState(),
    msPerStep: progress.msPerStep(),
    stepsRun: outcome.position.step - (from?.step ?? 0),
    position: outcome.position,
    stopped: outcome.stopped,
  };
  if (outcome.stopped) return { ...common, record: null };
  const validationStarted = performance.now();
  const validation = evaluateRows(
    trainer,
    data.validation,
    config.batchSize,
    config.countPadding,
    data.validationFeatures,
  );
  const valF1 = data.validationSentences.length === 0
    ? NaN
    : evaluateModel(mapped, data.validationSentences).entity.f1;
  progress.done({
    ...outcome.metrics,
    ...(data.validation.size === 0
      ? {}
      : { val_loss: validation.loss, val_acc: validation.accuracy, val_f1: valF1 }),
  });
  return {
    ...common,
    record: {
      epoch,
      loss: outcome.metrics.loss,
      accuracy: outcome.metrics.acc,
      valLoss: validation.loss,
      valAccuracy: validation.accuracy,
      valF1,
      seconds: outcome.position.seconds + (performance.now() - validationStarted) / 1000,
      msPerStep: progress.msPerStep(),
      numTensors: tf.memory().numTensors,
    },
  };
}
