/**
 * A training run's settings: {@linkcode TrainConfig} as given, {@linkcode ResolvedTrainConfig}
 * with every default filled in and every value checked, once, here (the train CLI and the
 * notebooks pass settings through unchanged and report the {@linkcode ConfigError} this throws).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { defaultPresetFor, PRESET_NAMES, type PresetName, PRESETS } from "./presets.ts";
import { checkDataConfig, type DataConfig } from "../data/data_config.ts";
import {
  CHAR_FIELDS,
  checkTaggerOptions,
  type ModelSettings,
  type TaggerConfig,
} from "../model/config.ts";

/**
 * Training settings. A field left out takes its preset's value ({@linkcode TrainConfig.preset}),
 * else the tutorial's (or ours, where the tutorial's is wrong).
 */
export interface TrainConfig {
  /**
   * The recipe that fills in the settings left out (lib/train/presets.ts): `"tutorial"` or
   * `"accurate"`. Default `"accurate"` with your own training file (`data.train`), else
   * `"tutorial"`.
   */
  preset?: PresetName;
  /** Passes over the training rows: the most, with `patience`. Default 5. */
  epochs?: number;
  /**
   * Early stopping: stop after this many epochs in a row without a better validation entity F1
   * than the best so far (the best epoch's checkpoint is the run's model either way). 0: never
   * stop early. Default 0.
   */
  patience?: number;
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
   * on (labelled `<pad>`) and counted in loss and accuracy, and the tagger does not
   * mask padding (`model.maskPadding` defaults to false then). Default false.
   */
  countPadding?: boolean;
  /**
   * Share of training sentences, drawn afresh in each batch (seeded), whose words are
   * uppercased (half of them) or lowercased (the other half) before they are looked up, so the
   * tagger learns names without their capitals. Default 0 (none).
   */
  caseAugmentation?: number;
  /**
   * Look words the vocabulary lacks up in their other casings (`OBAMA`, `obama` → `Obama`);
   * see lib/data/vocab.ts. Default false.
   */
  caseFallback?: boolean;
  /**
   * Where the sentences come from: your own files (lib/data/dataset.ts); default null, the
   * bundled GMB corpus's tutorial training split.
   */
  data?: DataConfig | null;
  /**
   * Distillation: train on a teacher's per-token tag distributions together with the gold tags
   * (lib/train/distill.ts); default null (gold tags only).
   */
  distill?: DistillConfig | null;
  /**
   * Pretrained word vectors to start the word embedding from (lib/data/embeddings.ts); default
   * null (random). The width of the vectors sets `model.embeddingDim` (one given must equal it),
   * and `caseFallback` defaults to true with them (most vector files are lowercase).
   */
  embeddings?: EmbeddingsConfig | null;
  /** The tagger's settings beyond the sizes the data decides (see lib/model/config.ts). */
  model?: ModelSettings;
}

/** Pretrained word vectors (see {@linkcode TrainConfig.embeddings}). */
export interface EmbeddingsConfig {
  /** A GloVe, word2vec text or fastText `.vec` file, plain or gzip. */
  file: string;
  /**
   * How many words of the file that the training file lacks to add to the vocabulary (the
   * file's first, i.e. most frequent, ones), so test words found only in the vectors are known.
   * Default 50,000.
   */
  extraWords?: number;
  /** Keep the vectors as they are instead of fine-tuning them. Default false. */
  freeze?: boolean;
}

/** Default {@linkcode EmbeddingsConfig.extraWords}. */
export const DEFAULT_EMBEDDINGS_EXTRA_WORDS = 50_000;

/** Distillation settings (see {@linkcode TrainConfig.distill}). */
export interface DistillConfig {
  /** The teacher: a model folder or an ensemble folder (e.g. `data/model-teacher`). */
  teacher: string;
  /**
   * Weight of the teacher's distributions against the gold tags, in (0, 1]: each token's target
   * is `(1 − weight)·gold + weight·teacher`. Default 0.5.
   */
  weight?: number;
}

/** Default {@linkcode DistillConfig.weight}. */
export const DEFAULT_DISTILL_WEIGHT = 0.5;

/** {@linkcode TrainConfig} with every default filled in. */
export type ResolvedTrainConfig = Required<Omit<TrainConfig, "limit">> & { limit: number | null };

/** The defaults: the tutorial's settings. */
export const DEFAULT_TRAIN_CONFIG: ResolvedTrainConfig = {
  preset: "tutorial",
  epochs: 5,
  patience: 0,
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
  caseAugmentation: 0,
  caseFallback: false,
  data: null,
  distill: null,
  embeddings: null,
  model: {},
};

/**
 * Settings added after runs were first recorded: left out of a run's identity (its folder name)
 * while they hold their default, so older runs keep their names.
 */
export const LATER_SETTINGS = [
  "caseAugmentation",
  "caseFallback",
  "data",
  "distill",
  "preset",
  "patience",
  "embeddings",
] as const;

/** The object without its undefined fields. */
function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/** Throws a {@linkcode ConfigError} unless `ok`. */
function require(ok: boolean, field: string, problem: string, value: unknown): void {
  if (!ok) throw new ConfigError(field, problem, value);
}

/**
 * Fills in defaults and checks values, the model settings included.
 *
 * @param config partial settings
 * @returns complete settings
 * @throws {ConfigError} naming the bad setting (`epochs`, `model.units`, …)
 */
export function resolveTrainConfig(config: TrainConfig = {}): ResolvedTrainConfig {
  const given = Object.fromEntries(
    Object.entries(config).filter(([, value]) => value !== undefined),
  );
  const presetName = config.preset ?? defaultPresetFor(config);
  require(
    (PRESET_NAMES as readonly unknown[]).includes(presetName),
    "preset",
    `must be one of ${PRESET_NAMES.join(", ")}`,
    presetName,
  );
  const preset = PRESETS[presetName];
  const resolved: ResolvedTrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    ...preset.train,
    ...given,
    preset: presetName,
    model: {
      ...preset.model,
      ...(config.countPadding ? { maskPadding: false } : {}),
      ...definedOnly(config.model ?? {}),
    },
  };
  require(
    Number.isInteger(resolved.patience) && resolved.patience >= 0,
    "patience",
    "must be an integer >= 0 (0: no early stopping)",
    resolved.patience,
  );
  for (const key of ["epochs", "batchSize", "maxLen", "minFrequency"] as const) {
    const value = resolved[key];
    require(Number.isInteger(value) && value >= 1, key, "must be a positive integer", value);
  }
  const limit = resolved.limit;
  require(
    limit === null || (Number.isInteger(limit) && limit >= 2),
    "limit",
    "must be an integer >= 2",
    limit,
  );
  require(Number.isInteger(resolved.seed), "seed", "must be an integer", resolved.seed);
  for (const key of ["learningRate", "learningRateDecay"] as const) {
    const value = resolved[key];
    require(value > 0 && Number.isFinite(value), key, "must be a positive number", value);
  }
  const { validationSplit, unknownWordRate, caseAugmentation } = resolved;
  require(
    caseAugmentation >= 0 && caseAugmentation <= 1,
    "caseAugmentation",
    "must be in [0, 1]",
    caseAugmentation,
  );
  require(
    typeof resolved.caseFallback === "boolean",
    "caseFallback",
    "must be true or false",
    resolved.caseFallback,
  );
  if (resolved.data !== null) resolved.data = checkDataConfig(resolved.data, "data.");
  if (resolved.distill !== null) resolved.distill = checkDistillConfig(resolved.distill);
  if (resolved.embeddings !== null) {
    resolved.embeddings = checkEmbeddingsConfig(resolved.embeddings);
    // Vector files are mostly lowercase (GloVe): "Lima" must find the vector word "lima".
    if (config.caseFallback === undefined) resolved.caseFallback = true;
  }
  require(
    !(resolved.data?.dev && config.validationSplit !== undefined && config.validationSplit > 0),
    "validationSplit",
    "cannot be used with a validation file of its own (data.dev): that file is the validation set",
    config.validationSplit,
  );
  if (resolved.data?.dev) resolved.validationSplit = 0;
  require(
    validationSplit >= 0 && validationSplit < 1,
    "validationSplit",
    "must be in [0, 1)",
    validationSplit,
  );
  require(
    unknownWordRate >= 0 && unknownWordRate <= 1,
    "unknownWordRate",
    "must be in [0, 1]",
    unknownWordRate,
  );
  checkTaggerOptions(resolved.model, "model.");
  require(
    !(resolved.countPadding && resolved.model.modelType === "bilstm-crf"),
    "countPadding",
    "cannot be used with a bilstm-crf model",
    true,
  );
  return resolved;
}

/** Checks word-vector settings and fills in their defaults. */
function checkEmbeddingsConfig(embeddings: EmbeddingsConfig): Required<EmbeddingsConfig> {
  require(
    typeof embeddings === "object" && typeof embeddings.file === "string" &&
      embeddings.file.length > 0,
    "embeddings.file",
    "must name a vectors file",
    embeddings?.file,
  );
  const extraWords = embeddings.extraWords ?? DEFAULT_EMBEDDINGS_EXTRA_WORDS;
  require(
    Number.isInteger(extraWords) && extraWords >= 0,
    "embeddings.extraWords",
    "must be an integer >= 0",
    extraWords,
  );
  const freeze = embeddings.freeze ?? false;
  require(typeof freeze === "boolean", "embeddings.freeze", "must be true or false", freeze);
  return { file: embeddings.file, extraWords, freeze };
}

/** Checks distillation settings and fills in the default weight. */
function checkDistillConfig(distill: DistillConfig): Required<DistillConfig> {
  require(
    typeof distill === "object" && typeof distill.teacher === "string" &&
      distill.teacher.length > 0,
    "distill.teacher",
    "must name a model folder",
    distill?.teacher,
  );
  const weight = distill.weight ?? DEFAULT_DISTILL_WEIGHT;
  require(
    typeof weight === "number" && weight > 0 && weight <= 1,
    "distill.weight",
    "must be in (0, 1]",
    weight,
  );
  return { teacher: distill.teacher, weight };
}

/**
 * Checks settings as given, before training: as {@linkcode resolveTrainConfig} does, except that
 * when resuming, `data` may hold some fields only (no `train`): those are compared with the run's
 * own, so only their values are checked here.
 *
 * @param config the settings given
 * @param resuming whether a run is being resumed
 * @throws {ConfigError} naming the bad setting
 */
export function checkGivenTrainConfig(config: TrainConfig = {}, resuming = false): void {
  const data = config.data;
  if (resuming && data && data.train === undefined) {
    checkDataConfig({ ...data, train: "(the run's own)" }, "data.");
    resolveTrainConfig({ ...config, data: undefined });
  } else {
    resolveTrainConfig(config);
  }
}

/**
 * The model settings a tagger config holds (everything but the sizes the data decides), e.g.
 * to restate a resumed run's settings from its saved tagger.
 *
 * @param config a tagger's config
 */
export function modelSettingsOf(config: TaggerConfig): ModelSettings {
  const { vocabSize: _v, numTags: _n, maxLen: _m, ...settings } = config;
  const dropped = new Set<string>(config.charFeatures ? ["numChars"] : CHAR_FIELDS);
  return Object.fromEntries(
    Object.entries(settings).filter(([key]) => !dropped.has(key)),
  ) as ModelSettings;
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
