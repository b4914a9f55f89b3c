/**
 * bilstm-ner: named-entity recognition with a BiLSTM(-CRF) tagger on TensorFlow.js's
 * WebAssembly backend. This module is the library's public surface, what a program of your own
 * calls: start the backend, load a model folder, tag text or tokens, train, evaluate, and read
 * and write labelled corpora. A {@linkcode Model} keeps its taggers and maps to itself; code that
 * needs them (the notebooks, the CLIs) imports the stage folders' own `mod.ts` (`lib/data/`,
 * `lib/model/`, `lib/train/`, `lib/io/`, `lib/predict/`, `lib/evaluate/`).
 *
 * Tagging needs read permission only (`deno run --allow-read`): importing this module loads
 * nothing that asks for more (nodejs-polars, the GMB CSV reader, is loaded when a CSV is read).
 * `docs/library.md` shows how another Deno project imports it.
 *
 * @example
 * ```ts
 * import { initBackend, loadModelFolder, predictText, SHIPPED_MODEL } from "./mod.ts";
 *
 * await initBackend();
 * const model = await loadModelFolder(SHIPPED_MODEL);
 * for (const entity of predictText(model, "Angela Merkel visited Paris on Monday.").entities) {
 *   console.log(entity.text, entity.type); // Angela Merkel per, Paris geo, Monday tim
 * }
 * model.dispose();
 * ```
 *
 * @module
 */
import type { Sentence } from "./data/corpus.ts";
import { PAD_TAG } from "./data/vocab.ts";
import {
  evaluateModel as evaluatePredictor,
  type EvaluateOptions,
  type EvaluationResult,
} from "./evaluate/evaluate.ts";
import {
  disposeLoadedModel,
  loadModelFolder as loadFolder,
  type LoadModelOptions,
} from "./io/ensemble_folder.ts";
import { membersOf, type Predictor } from "./model/mapped.ts";
import {
  type PredictOptions,
  predictTokens as predictTokensWith,
  type TokenPrediction,
} from "./predict/predict.ts";
import {
  predictText as predictTextWith,
  type PredictTextOptions,
  predictTexts as predictTextsWith,
  type TextPrediction,
} from "./predict/predict_text.ts";
import type { ResolvedTrainConfig, TrainConfig } from "./train/config.ts";
import type { History } from "./train/history.ts";
import type { ProgressSink } from "./train/progress.ts";
import { train as trainTagger } from "./train/train.ts";

// --- Backend ------------------------------------------------------------------------------

export { describeBackend, initBackend } from "./backend/backend.ts";
export type { BackendInfo, BackendName, BackendOptions } from "./backend/backend.ts";

// --- Models -------------------------------------------------------------------------------

/** How a model is given to the functions of this module (see {@linkcode Model}). */
let predictorOf: (model: Model) => Predictor;

/**
 * A model ready to tag: a model, ensemble or run folder loaded by {@linkcode loadModelFolder},
 * or the tagger {@linkcode train} returned. Give it to {@linkcode predictText},
 * {@linkcode predictTexts}, {@linkcode predictTokens} and {@linkcode evaluateModel}; free its
 * weights with {@linkcode Model.dispose} when done. Its taggers and maps stay inside (the stage
 * modules `lib/io/` and `lib/model/` work with them directly).
 */
export class Model {
  readonly #predictor: Predictor;
  readonly #dispose: () => void;
  /** The folder it was loaded from (a run folder's checkpoint folder), or null if trained here. */
  readonly directory: string | null;
  /** The tags it predicts, e.g. `O`, `B-geo`, `I-geo` (the padding label left out). */
  readonly tags: readonly string[];
  /** The taggers whose scores it averages: 1, or an ensemble's members. */
  readonly size: number;

  static {
    predictorOf = (model) => model.#predictor;
  }

  /**
   * Wraps a predictor of the stage modules (`lib/io/`'s `loadModelFolder`, `lib/train/`'s
   * `train`); {@linkcode loadModelFolder} and {@linkcode train} make models for you.
   *
   * @internal
   * @param predictor a tagger with its maps, or an ensemble of them
   * @param directory where it was loaded from, or null
   * @param dispose frees its weights
   */
  constructor(predictor: Predictor, directory: string | null, dispose: () => void) {
    const members = membersOf(predictor);
    this.#predictor = predictor;
    this.#dispose = dispose;
    this.directory = directory;
    this.tags = Object.freeze(members[0].vocab.tags.filter((tag) => tag !== PAD_TAG));
    this.size = members.length;
  }

  /** Frees the model's weights (tfjs tensors); the model cannot tag afterwards. */
  dispose(): void {
    this.#dispose();
  }
}

/**
 * Loads a model folder, an ensemble folder (`data/model`, {@linkcode SHIPPED_MODEL}) or a
 * training run folder (its best epoch's checkpoint unless `options.checkpoint` is `"last"`).
 * Call {@linkcode initBackend} first.
 *
 * @param directory the folder
 * @param options which checkpoint of a run folder; whether to load an ensemble's caseless
 *   members
 * @returns the model
 * @throws {Error} naming the folder or file when it is missing (`DIR: model folder not found`),
 *   corrupt or mismatched
 */
export async function loadModelFolder(
  directory: string,
  options: LoadModelOptions = {},
): Promise<Model> {
  const loaded = await loadFolder(directory, options);
  return new Model(loaded, loaded.directory, () => disposeLoadedModel(loaded));
}

export type { LoadModelOptions } from "./io/ensemble_folder.ts";
export type { CheckpointChoice } from "./io/model_folder.ts";
export { projectPath } from "./fs/paths.ts";

export { SHIPPED_MODEL } from "./io/runs.ts";

// --- Prediction ---------------------------------------------------------------------------

/**
 * Tags raw text: splits it into sentences and tokens (offsets kept), tags every token and
 * groups the tags into entities. Any length works; empty text gives no tokens.
 *
 * @param model the model
 * @param text the text
 * @param options entity scheme (default lenient `"conlleval"`), offset unit (default
 *   `"utf16"`), batch size, decoder
 * @returns tokens with offsets, tags and probabilities; entities with offsets, types and scores
 * @throws {RangeError} when `options.offsets` is neither `"utf16"` nor `"codepoints"`
 */
export function predictText(
  model: Model,
  text: string,
  options: PredictTextOptions = {},
): TextPrediction {
  return predictTextWith(predictorOf(model), text, options);
}

/**
 * Tags several raw texts, batching their sentences together (see {@linkcode predictText}).
 *
 * @param model the model
 * @param texts the texts
 * @param options as {@linkcode predictText}'s
 * @returns one prediction per text, in order
 * @throws {RangeError} when `options.offsets` is neither `"utf16"` nor `"codepoints"`
 */
export function predictTexts(
  model: Model,
  texts: readonly string[],
  options: PredictTextOptions = {},
): TextPrediction[] {
  return predictTextsWith(predictorOf(model), texts, options);
}

/**
 * Tags sentences already split into tokens. Unknown words go through `<unk>`; long sentences
 * are tagged in overlapping windows; an empty sentence gives `[]`.
 *
 * @param model the model
 * @param sentences the tokens of each sentence
 * @param options batch size, decoder
 * @returns per sentence, per token: the tag and its probability
 */
export function predictTokens(
  model: Model,
  sentences: readonly (readonly string[])[],
  options: PredictOptions = {},
): TokenPrediction[][] {
  return predictTokensWith(predictorOf(model), sentences, options);
}

export type {
  DecodedTags,
  PredictOptions,
  TagDecoder,
  TokenPrediction,
} from "./predict/predict.ts";
export type {
  PredictTextOptions,
  TaggedToken,
  TextEntity,
  TextPrediction,
} from "./predict/predict_text.ts";
export type { OffsetUnit } from "./data/jsonl.ts";
export type { EntityScheme } from "./data/entities.ts";

// --- Training -----------------------------------------------------------------------------

/** Options for {@linkcode train} (lib/train/'s `TrainOptions` has more, for the notebooks). */
export interface TrainOptions {
  /**
   * The training sentences, in order; default: loaded as `config.data` says (your own files,
   * or the bundled corpus's tutorial training split), which is also what a resumed run uses.
   */
  trainSentences?: readonly Sentence[];
  /**
   * Validation sentences of their own (default: the tail of `trainSentences`,
   * `config.validationSplit`; loaded from `config.data.dev` otherwise).
   */
  devSentences?: readonly Sentence[] | null;
  /** The settings; left out, the preset's (see {@linkcode TrainConfig}). */
  config?: TrainConfig;
  /**
   * Run folder for checkpoints (a model folder per epoch; {@linkcode loadModelFolder} loads its
   * best epoch); none when omitted. Locked while training runs.
   */
  out?: string;
  /**
   * Continue the run in `out` from its latest checkpoint; the settings given in `config` must
   * be the run's, and `config.epochs` is how many epochs the run should have in all.
   */
  resume?: boolean;
  /** Where progress goes; default stderr. `null` silences it. */
  progress?: ProgressSink | null;
  /** Called after each epoch (after its checkpoint is written). */
  onEpoch?: (epoch: number, history: History) => void | Promise<void>;
  /**
   * Stop at the next step boundary when aborted: a mid-epoch checkpoint is written (with `out`)
   * and the result says where training stopped.
   */
  signal?: AbortSignal;
  /** Stop the same way on SIGINT (Ctrl-C) instead of the process being killed; default true. */
  stopOnInterrupt?: boolean;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** The trained model (the last epoch's weights), ready to tag. */
  model: Model;
  /** The settings used, every default filled in. */
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
  /** Where training stopped when a stop was requested before the last epoch ended, else null. */
  interrupted: { epoch: number; step: number; reason: string } | null;
  /**
   * The epoch with the best validation entity F1: its checkpoint is the run's model (what
   * `loadModelFolder(out)` loads); null without validation.
   */
  bestEpoch: { epoch: number; valF1: number } | null;
  /** The epoch after which early stopping ended training, else null. */
  stoppedEarlyAfter: number | null;
}

/**
 * Trains a tagger: on `options.trainSentences`, or the files `config.data` names, or the
 * bundled corpus's tutorial training split; with checkpoints in `options.out` when given.
 * Call {@linkcode initBackend} first. Reading a GMB CSV (the bundled corpus) needs the
 * permissions nodejs-polars asks for (`--allow-ffi`, `--allow-sys`); see `deno task train`.
 *
 * @param options sentences, settings, run folder, progress
 * @returns the trained model, its settings and history, and where training stopped
 * @throws {ConfigError} naming the setting that is out of range or of the wrong type
 * @throws {NonFiniteLossError} when the loss becomes NaN or infinite
 * @throws {RunFolderError} when `out` cannot be used (it holds a run and `resume` is not set,
 *   another training holds it, it cannot be written, a resume's settings differ)
 */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const { tagger, vocab, chars, ...result } = await trainTagger(options);
  const model = new Model(
    { tagger, vocab, chars: chars ?? null, source: result.out ?? undefined },
    null,
    () => tagger.dispose(),
  );
  return { ...result, model };
}

export type {
  DistillConfig,
  EmbeddingsConfig,
  ResolvedTrainConfig,
  TrainConfig,
} from "./train/config.ts";
export type { PresetName } from "./train/presets.ts";
export type { DataConfig } from "./data/data_config.ts";
export type {
  BiLstmKind,
  CharActivation,
  ModelSettings,
  ModelType,
  RecurrentActivation,
  TaggerOptions,
} from "./model/config.ts";
export type { History } from "./train/history.ts";
export type { ProgressSink } from "./train/progress.ts";

// --- Evaluation ---------------------------------------------------------------------------

/**
 * Evaluates a model on gold sentences: seqeval-style entity precision, recall and F1 (micro,
 * per type, macro, weighted), token accuracy and a classification report.
 *
 * @param model the model
 * @param sentences gold sentences (e.g. from {@linkcode loadSentences})
 * @param options entity scheme (default `"strict"`), casing, batch size, progress callback
 * @returns the scores; {@linkcode formatEvaluation} prints them
 */
export function evaluateModel(
  model: Model,
  sentences: readonly Sentence[],
  options: EvaluateOptions = {},
): EvaluationResult {
  return evaluatePredictor(predictorOf(model), sentences, options);
}

export { formatEvaluation } from "./evaluate/evaluate.ts";
export type {
  EvaluateOptions,
  EvaluationResult,
  PRF,
  TypeEvaluation,
} from "./evaluate/evaluate.ts";
export type { ConfusionMatrix } from "./evaluate/metrics.ts";
export type { TextCasing } from "./data/recase.ts";

// --- Corpora ------------------------------------------------------------------------------

export { DEFAULT_CORPUS_PATH } from "./data/corpus.ts";
export type { CorpusEncoding, CorpusEncodingOption, Sentence } from "./data/corpus.ts";
export { loadSentences } from "./data/formats.ts";
export type {
  CorpusFormat,
  CorpusFormatOption,
  LoadedSentences,
  ReadOptions,
  ReadSummary,
} from "./data/formats.ts";
export type { TagScheme, TagSchemeOption } from "./data/tag_schemes.ts";
export { toConll, toJsonl } from "./data/write.ts";
export type { ConllWriteOptions, JsonlWriteOptions } from "./data/write.ts";

// --- Errors -------------------------------------------------------------------------------

export { ConfigError } from "./errors.ts";
export { CorpusError } from "./data/corpus.ts";
export { NonFiniteLossError, RunFolderError } from "./train/train.ts";
