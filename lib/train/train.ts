/**
 * Training: step 5 of the tutorial, as a loop a reader can follow.
 *
 * {@linkcode prepareData} turns the corpus into padded training and validation
 * rows (the tutorial's split, its 10% validation tail); {@linkcode train} runs
 * the epochs — seeded shuffling, a progress bar, validation over real tokens
 * only, a NaN guard — and after every epoch writes a complete checkpoint
 * (model, maps, config, history, optimizer state) into the run folder,
 * atomically, so an interrupted run resumes from its last complete epoch.
 *
 * Model variants (`config.model.modelType: "bilstm-crf"`, `config.model.charFeatures`, see
 * lib/model.ts) train through the same loop: with char features, {@linkcode prepareData} builds a
 * character map from the fit rows and encodes char ids and casing classes aligned with the word
 * ids; the map is saved with every checkpoint (`chars.json`) and reused on resume. For a CRF
 * model the epoch accuracies are those of the Viterbi paths (lib/train_step.ts).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { buildCharVocab, type CharVocab, encodeCasing, encodeChars } from "../data/chars.ts";
import type { Sentence } from "../data/corpus.ts";
import {
  type EncodedSentences,
  encodeSentences,
  loadSplitFile,
  splitByIds,
  validationTail,
} from "../data/encode.ts";
import { buildModel, DEFAULT_MODEL_CONFIG, type ModelConfig } from "../model/build.ts";
import {
  CHECKPOINT_POINTER,
  loadModelFolder,
  type ModelFolderConfig,
  saveModelFolder,
} from "../io/model_folder.ts";
import { readJSONFile, writeFileAtomic } from "../io/files.ts";
import { createProgress, type ProgressSink, stderrSink } from "./progress.ts";
import { seededRandom, shuffled } from "../data/random.ts";
import { loadState, saveState } from "../io/state_file.ts";
import { type BatchFeatures, createTrainer, type Trainer, type TrainerState } from "./trainer.ts";
import { buildVocab, type Vocab } from "../data/vocab.ts";

/** Training settings. Every field has the tutorial's value (or ours, where it is wrong). */
export interface TrainConfig {
  /** Passes over the training rows. Default 5. */
  epochs?: number;
  /** Sentences per step. Default 32. */
  batchSize?: number;
  /** Share of the training split held out, from its end, like Keras. Default 0.1. */
  validationSplit?: number;
  /** Use only the first N training sentences (quick runs); default all. */
  limit?: number;
  /** Seed of weights, shuffling and dropout. Default 42. */
  seed?: number;
  /** Adam step size. Default 0.001. */
  learningRate?: number;
  /**
   * Factor applied to the learning rate after each epoch: epoch `e` (1-based) trains at
   * `learningRate · learningRateDecay^(e−1)`. Default 1 (constant, the tutorial's).
   */
  learningRateDecay?: number;
  /** Padded length. Default 50. */
  maxLen?: number;
  /** Words seen fewer times in the training rows map to `<unk>`. Default 1. */
  minFrequency?: number;
  /** Lowercase words. Default false. */
  lowercase?: boolean;
  /**
   * Probability of replacing a word seen once in training by `<unk>` in a batch,
   * so the `<unk>` embedding is trained for unseen words at test time. Default 0.5.
   */
  unknownWordRate?: number;
  /**
   * Reproduce the tutorial's fault, for comparison: padding positions are trained
   * on (labelled `<pad>`) and counted in loss and accuracy, and the model does not
   * mask padding (`model.maskPadding` defaults to false then). Default false.
   */
  countPadding?: boolean;
  /** Model hyper-parameters beyond the sizes (see `ModelConfig`). */
  model?: Partial<Omit<ModelConfig, "vocabSize" | "numTags" | "maxLen">>;
}

/** {@linkcode TrainConfig} with every default filled in. */
export type ResolvedTrainConfig = Required<Omit<TrainConfig, "limit">> & { limit: number | null };

/** The defaults: the tutorial's settings. */
export const DEFAULT_TRAIN_CONFIG: ResolvedTrainConfig = {
  epochs: 5,
  batchSize: 32,
  validationSplit: 0.1,
  limit: null,
  seed: 42,
  learningRate: 0.001,
  learningRateDecay: 1,
  maxLen: 50,
  minFrequency: 1,
  lowercase: false,
  unknownWordRate: 0.5,
  countPadding: false,
  model: {},
};

/**
 * Fills in defaults and checks values.
 *
 * @param config partial settings
 * @returns complete settings
 * @throws {RangeError} naming the bad setting
 */
export function resolveTrainConfig(config: TrainConfig = {}): ResolvedTrainConfig {
  const resolved: ResolvedTrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    ...Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)),
    model: {
      ...DEFAULT_TRAIN_CONFIG.model,
      ...(config.countPadding ? { maskPadding: false } : {}),
      ...config.model,
    },
  };
  for (const key of ["epochs", "batchSize", "maxLen", "minFrequency"] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${resolved[key]}`);
    }
  }
  if (resolved.limit !== null && (!Number.isInteger(resolved.limit) || resolved.limit < 2)) {
    throw new RangeError(`limit must be an integer >= 2, got ${resolved.limit}`);
  }
  for (const key of ["learningRate", "learningRateDecay"] as const) {
    if (!(resolved[key] > 0 && Number.isFinite(resolved[key]))) {
      throw new RangeError(`${key} must be a positive number, got ${resolved[key]}`);
    }
  }
  if (!(resolved.validationSplit >= 0 && resolved.validationSplit < 1)) {
    throw new RangeError(`validationSplit must be in [0, 1), got ${resolved.validationSplit}`);
  }
  if (!(resolved.unknownWordRate >= 0 && resolved.unknownWordRate <= 1)) {
    throw new RangeError(`unknownWordRate must be in [0, 1], got ${resolved.unknownWordRate}`);
  }
  if (!(resolved.learningRate > 0)) {
    throw new RangeError(`learningRate must be positive, got ${resolved.learningRate}`);
  }
  if (resolved.countPadding && resolved.model.modelType === "bilstm-crf") {
    throw new RangeError("countPadding cannot be used with a bilstm-crf model");
  }
  return resolved;
}

/** Padded rows ready for training. */
export interface TrainingData {
  /** Rows the optimizer sees. */
  fit: EncodedSentences;
  /** The held-out tail, for validation loss and accuracy. */
  validation: EncodedSentences;
  /** Maps built from the `fit` rows. */
  vocab: Vocab;
  /** Per word id: 1 when the word occurs once in the `fit` rows. */
  singletons: Uint8Array;
  /** Character map built from the `fit` rows (char-feature models only). */
  chars?: CharVocab;
  /** Char ids and casing ids of the `fit` rows, aligned with `fit.wordIds` (char features). */
  fitFeatures?: RowFeatures;
  /** Char ids and casing ids of the `validation` rows (char features). */
  validationFeatures?: RowFeatures;
}

/** Char ids `[size * maxLen * maxChars]` and casing ids `[size * maxLen]` of encoded rows. */
export interface RowFeatures {
  /** Char ids (lib/chars.ts `encodeChars`). */
  charIds: Int32Array;
  /** Casing class ids (lib/chars.ts `encodeCasing`). */
  casingIds: Int32Array;
  /** Characters per word. */
  maxChars: number;
}

/** Characters per word of a config's model. */
function configMaxChars(config: ResolvedTrainConfig): number {
  return config.model.maxChars ?? DEFAULT_MODEL_CONFIG.maxChars;
}

/**
 * Builds maps from the training rows and encodes training and validation rows.
 *
 * @param trainSentences the training split, in order (its tail becomes validation)
 * @param config resolved settings
 * @param vocab maps to reuse (when resuming); built from the fit rows otherwise
 * @param chars character map to reuse (char-feature models); built from the fit rows otherwise
 * @returns the encoded data
 */
export function prepareData(
  trainSentences: readonly Sentence[],
  config: ResolvedTrainConfig,
  vocab?: Vocab,
  chars?: CharVocab,
): TrainingData {
  const limited = config.limit === null ? trainSentences : trainSentences.slice(0, config.limit);
  const { train, validation } = validationTail(limited, config.validationSplit);
  const tags = buildVocab(trainSentences).tags; // the full split's tags, even when limited
  const maps = vocab ??
    buildVocab(train, { minFrequency: config.minFrequency, lowercase: config.lowercase, tags });
  const fit = encodeSentences(train, maps, { maxLen: config.maxLen });
  const counts = new Uint32Array(maps.words.length);
  for (let cell = 0; cell < fit.wordIds.length; cell++) {
    if (fit.mask[cell] === 1) counts[fit.wordIds[cell]]++;
  }
  const singletons = counts.map((count, id) => (count === 1 && id !== maps.unknownId ? 1 : 0));
  const data: TrainingData = {
    fit,
    validation: encodeSentences(validation, maps, { maxLen: config.maxLen }),
    vocab: maps,
    singletons: new Uint8Array(singletons),
  };
  if (!config.model.charFeatures) return data;
  const charVocab = chars ?? buildCharVocab(train);
  const maxChars = configMaxChars(config);
  const features = (sentences: readonly Sentence[]): RowFeatures => ({
    charIds: encodeChars(sentences, charVocab, { maxLen: config.maxLen, maxChars }),
    casingIds: encodeCasing(sentences, { maxLen: config.maxLen }),
    maxChars,
  });
  return {
    ...data,
    chars: charVocab,
    fitFeatures: features(train),
    validationFeatures: features(validation),
  };
}

/**
 * The tutorial's training sentences, in its order.
 *
 * @param sentences the whole corpus
 * @returns the 38,367 training sentences of `data/tutorial_split.json` (for the full corpus)
 */
export async function tutorialTrainSentences(sentences: readonly Sentence[]): Promise<Sentence[]> {
  return splitByIds(sentences, await loadSplitFile()).train;
}

/** Per-epoch metrics, as parallel arrays (Keras's `history.history`). */
export interface History {
  /** 1-based epoch numbers. */
  epoch: number[];
  /** Mean training loss per real token. */
  loss: number[];
  /** Training accuracy over real tokens. */
  accuracy: number[];
  /** Validation loss per real token (NaN, stored as null, when nothing is held out). */
  valLoss: number[];
  /** Validation accuracy over real tokens, padding excluded (NaN/null when nothing is held out). */
  valAccuracy: number[];
  /** Wall seconds of the epoch (training + validation). */
  seconds: number[];
  /** Mean milliseconds per training step. */
  msPerStep: number[];
  /** Live tensors after the epoch (`tf.memory().numTensors`): flat means no leak. */
  numTensors: number[];
}

/** Options for {@linkcode train}. */
export interface TrainOptions {
  /** The training split, in order. */
  trainSentences: readonly Sentence[];
  /** Settings. */
  config?: TrainConfig;
  /**
   * A model to train (e.g. built and inspected in a notebook); default: one built
   * from `config.model`. It must fit `vocab`.
   */
  model?: tf.LayersModel;
  /** Word/tag maps to use; default: built from the training rows. */
  vocab?: Vocab;
  /** Character map of a given char-feature `model`; default: built from the training rows. */
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
  /** The trained model. */
  model: tf.LayersModel;
  /** Its maps. */
  vocab: Vocab;
  /** Its character map (char-feature models). */
  chars?: CharVocab;
  /** The settings used. */
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

/**
 * The learning rate of an epoch under {@linkcode TrainConfig.learningRateDecay}.
 *
 * @param config resolved settings
 * @param epoch 1-based epoch
 * @returns `learningRate · learningRateDecay^(epoch−1)`
 */
export function epochLearningRate(config: ResolvedTrainConfig, epoch: number): number {
  return config.learningRate * config.learningRateDecay ** (epoch - 1);
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

/** The run-folder file holding the settings of a training run. */
const RUN_CONFIG = "train_config.json";

/**
 * Trains a tagger, checkpointing every epoch into `out`.
 *
 * @param options data, settings, run folder and callbacks
 * @returns the model, maps, history and timing
 * @throws {NonFiniteLossError} when the loss becomes NaN or infinite
 * @throws {Error} when `out` holds a run and `resume` is not set
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const sink = options.progress === null ? () => {} : options.progress ?? stderrSink;
  const out = options.out ?? null;
  let config = resolveTrainConfig(options.config);
  let history = emptyHistory();
  let model: tf.LayersModel | undefined = options.model;
  let vocab: Vocab | undefined = options.vocab;
  let chars: CharVocab | undefined = options.chars;
  if (model && !vocab) throw new Error("train: a given model needs the vocab it was built for");
  let trainerState: TrainerState | undefined;
  let startEpoch = 0;

  const existing = out ? await readPointer(out) : null;
  if (existing && !options.resume) {
    throw new Error(
      `${out} already holds a training run (epoch ${existing.epoch} done): ` +
        "pass --resume to continue it, or choose another --out",
    );
  }
  if (existing && out && options.resume) {
    const checkpoint = `${out}/${existing.latest}`;
    const saved = resolveTrainConfig(
      await readJSONFile<TrainConfig>(`${checkpoint}/${RUN_CONFIG}`, "training config"),
    );
    config = { ...saved, epochs: options.config?.epochs ?? saved.epochs };
    const loaded = await loadModelFolder(checkpoint);
    ({ model, vocab, chars } = loaded);
    history = await readJSONFile<History>(`${checkpoint}/history.json`, "history");
    trainerState = await loadState<TrainerState>(`${checkpoint}/optimizer`);
    startEpoch = existing.epoch;
    sink(`resuming ${out} after epoch ${startEpoch} of ${config.epochs}\n`);
  }

  const data = prepareData(options.trainSentences, config, vocab, chars);
  model ??= buildModel({
    ...config.model,
    vocabSize: data.vocab.words.length,
    numTags: data.vocab.tags.length,
    maxLen: config.maxLen,
    seed: config.model.seed ?? config.seed,
    ...(data.chars ? { numChars: data.chars.chars.length } : {}),
  });
  const steps = Math.ceil(data.fit.size / config.batchSize);
  sink(
    `training on ${data.fit.size} sentences (${steps} steps of ${config.batchSize}), ` +
      `validating on ${data.validation.size}; vocabulary ${data.vocab.words.length} words, ` +
      `${data.vocab.tags.length} labels\n`,
  );

  let totalMs = 0;
  let totalSteps = 0;
  for (let epoch = startEpoch + 1; epoch <= config.epochs; epoch++) {
    const started = performance.now();
    const trainer = createTrainer(model, {
      learningRate: epochLearningRate(config, epoch),
      seed: config.seed * 1000 + epoch,
    });
    if (trainerState) trainer.setState(trainerState);
    const progress = createProgress({
      label: `epoch ${epoch}/${config.epochs}`,
      total: steps,
      sink,
    });
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
    trainerState = trainer.getState();
    totalMs += progress.msPerStep() * steps;
    totalSteps += steps;
    history = appendEpoch(history, {
      epoch,
      loss: fitMetrics.loss,
      accuracy: fitMetrics.acc,
      valLoss: validation.loss,
      valAccuracy: validation.accuracy,
      seconds: (performance.now() - started) / 1000,
      msPerStep: progress.msPerStep(),
      numTensors: tf.memory().numTensors,
    });
    sink(`  tf.memory(): ${tf.memory().numTensors} tensors, ${tf.memory().numBytes} bytes\n`);
    if (out) {
      await writeCheckpoint(out, epoch, model, data, config, history, trainerState);
    }
    await options.onEpoch?.(epoch, history);
  }
  return {
    model,
    vocab: data.vocab,
    ...(data.chars ? { chars: data.chars } : {}),
    config,
    history,
    out,
    msPerStep: totalSteps > 0 ? totalMs / totalSteps : 0,
    steps: totalSteps,
    resumedFromEpoch: startEpoch,
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
    const batch = gatherRows(data.fit, rows, config.countPadding);
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
    const tokens = batch.tokens;
    lossSum += metrics.loss * tokens;
    correctSum += metrics.accuracy * tokens;
    tokenSum += tokens;
    onStep(step, { loss: lossSum / tokenSum, acc: correctSum / tokenSum });
  }
  return { loss: lossSum / tokenSum, acc: correctSum / tokenSum };
}

/**
 * Loss and accuracy over the real tokens of encoded rows, without dropout.
 *
 * @param trainer the trainer of the model
 * @param rows encoded rows
 * @param batchSize rows per forward pass
 * @param countPadding count padding positions too (the tutorial's way; default false)
 * @param features char ids and casing ids of the rows (char-feature models)
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
    const batch = gatherRows(rows, indices, countPadding);
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

/**
 * Copies the given rows into fresh batch arrays; with `countPadding` the mask is
 * all ones, so padding positions (labelled `<pad>`) count like tokens.
 */
function gatherRows(
  data: EncodedSentences,
  rows: readonly number[],
  countPadding = false,
): { wordIds: Int32Array; tagIds: Int32Array; mask: Float32Array; tokens: number } {
  const width = data.maxLen;
  const wordIds = new Int32Array(rows.length * width);
  const tagIds = new Int32Array(rows.length * width);
  const mask = new Float32Array(rows.length * width);
  let tokens = 0;
  rows.forEach((row, index) => {
    const from = row * width;
    wordIds.set(data.wordIds.subarray(from, from + width), index * width);
    tagIds.set(data.tagIds.subarray(from, from + width), index * width);
    mask.set(data.mask.subarray(from, from + width), index * width);
    tokens += Math.min(data.lengths[row], width);
  });
  if (countPadding) return { wordIds, tagIds, mask: mask.fill(1), tokens: mask.length };
  return { wordIds, tagIds, mask, tokens };
}

/** The char ids and casing ids of the given rows (undefined without features). */
function gatherFeatures(
  features: RowFeatures | undefined,
  rows: readonly number[],
  maxLen: number,
): BatchFeatures | undefined {
  if (!features) return undefined;
  const charWidth = maxLen * features.maxChars;
  const charIds = new Int32Array(rows.length * charWidth);
  const casingIds = new Int32Array(rows.length * maxLen);
  rows.forEach((row, index) => {
    charIds.set(
      features.charIds.subarray(row * charWidth, (row + 1) * charWidth),
      index * charWidth,
    );
    casingIds.set(features.casingIds.subarray(row * maxLen, (row + 1) * maxLen), index * maxLen);
  });
  return { charIds, casingIds };
}

/**
 * Replaces words seen once in training by `unknownId` with probability `rate`,
 * in place, so the unknown-word embedding learns from real contexts.
 *
 * @param wordIds batch word ids (modified)
 * @param mask 1 on real tokens
 * @param singletons per word id, 1 when the word occurs once in training
 * @param unknownId the id to substitute
 * @param options the rate and the seeded PRNG
 */
export function dropSingletons(
  wordIds: Int32Array,
  mask: Float32Array,
  singletons: Uint8Array,
  unknownId: number,
  options: { rate: number; random: () => number },
): void {
  if (options.rate <= 0) return;
  for (let cell = 0; cell < wordIds.length; cell++) {
    if (mask[cell] === 1 && singletons[wordIds[cell]] === 1 && options.random() < options.rate) {
      wordIds[cell] = unknownId;
    }
  }
}

/** An empty history. */
export function emptyHistory(): History {
  return {
    epoch: [],
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    seconds: [],
    msPerStep: [],
    numTensors: [],
  };
}

function appendEpoch(history: History, record: { [K in keyof History]: number }): History {
  const next = emptyHistory();
  for (const key of Object.keys(next) as (keyof History)[]) {
    next[key] = [...history[key], record[key]];
  }
  return next;
}

/** Reads a run folder's pointer to its latest checkpoint, or null when there is none. */
async function readPointer(out: string): Promise<{ latest: string; epoch: number } | null> {
  try {
    await Deno.stat(`${out}/${CHECKPOINT_POINTER}`);
  } catch {
    return null;
  }
  return await readJSONFile<{ latest: string; epoch: number }>(
    `${out}/${CHECKPOINT_POINTER}`,
    "checkpoint pointer",
  );
}

/**
 * Writes a complete checkpoint into `out/checkpoints/epoch-NNN` (via a temp
 * folder renamed into place), then points `out/checkpoint.json` at it, then
 * removes older checkpoints. A crash at any moment leaves the previous
 * complete checkpoint loadable.
 */
async function writeCheckpoint(
  out: string,
  epoch: number,
  model: tf.LayersModel,
  data: TrainingData,
  config: ResolvedTrainConfig,
  history: History,
  trainerState: TrainerState,
): Promise<void> {
  const name = `epoch-${String(epoch).padStart(3, "0")}`;
  const folder = `${out}/checkpoints`;
  const staging = `${folder}/.${name}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(staging, { recursive: true });
  const modelConfig: ModelFolderConfig = {
    format: "bilstm-ner-model",
    version: 1,
    maxLen: config.maxLen,
    modelType: config.model.modelType ?? "bilstm",
    model: {
      ...config.model,
      maxLen: config.maxLen,
      seed: config.model.seed ?? config.seed,
      ...(data.chars ? { numChars: data.chars.chars.length } : {}),
    },
    training: { ...config, epochsDone: epoch },
  };
  await saveModelFolder(staging, model, data.vocab, modelConfig, { chars: data.chars });
  await writeFileAtomic(`${staging}/${RUN_CONFIG}`, JSON.stringify(config, null, 2));
  await writeFileAtomic(`${staging}/history.json`, JSON.stringify(history, null, 2));
  await saveState(`${staging}/optimizer`, trainerState);
  await Deno.remove(`${folder}/${name}`, { recursive: true }).catch(() => {});
  await Deno.rename(staging, `${folder}/${name}`);
  await writeFileAtomic(
    `${out}/${CHECKPOINT_POINTER}`,
    JSON.stringify({ latest: `checkpoints/${name}`, epoch }),
  );
  await writeFileAtomic(`${out}/history.json`, JSON.stringify(history, null, 2));
  for await (const entry of Deno.readDir(folder)) {
    if (entry.name !== name) await Deno.remove(`${folder}/${entry.name}`, { recursive: true });
  }
}
