/**
 * Training run folders side by side: what each run changed from the defaults, how far it got,
 * its best validation entity F1 and the epoch of it, and its test entity F1 once
 * `deno task evaluate --model RUN` has scored it on a whole test set: the tutorial's test split,
 * or a labelled file of your own (`--test FILE`), recorded in `RUN/evaluation.json`.
 *
 * A run folder (written by `deno task train --out RUN`) holds `checkpoint.json` (the pointer to
 * its latest complete epoch and, in newer runs, to its best epoch's checkpoint: `best`),
 * `history.json` (per-epoch metrics as parallel arrays; NaN stored as null; `valF1` only in newer
 * runs) and `checkpoints/epoch-NNN/config.json` (format version 2: the resolved tagger config and
 * the training record; version 1: `maxLen`, `modelType`, a partial `model` record and a training
 * record with `model` inside).
 *
 * `evaluation.json` ({@linkcode RunEvaluationFile}) holds, at its top level, the record of the
 * latest evaluation on the tutorial's test split ({@linkcode RunEvaluation}, the whole file in
 * versions before file scores existed, which still read) and, under `tests`, one record per test
 * file of your own ({@linkcode RunFileEvaluation}), keyed by the SHA-256 of the file's bytes:
 *
 * ```json
 * {
 *   "split": "test", "checkpoint": "checkpoints/epoch-018", "epoch": 18, "scheme": "strict",
 *   "casing": "original", "entity": { "precision": 0.82, "recall": 0.8, "f1": 0.81,
 *   "support": 10000 }, "tokenAccuracy": 0.97, "evaluatedAt": "2026-01-01T00:00:00.000Z",
 *   "tests": {
 *     "9f86d0…": { "file": "data/mine/test.conll", "name": "test.conll", "sha256": "9f86d0…",
 *       "checkpoint": "checkpoints/epoch-018", "epoch": 18, "scheme": "strict",
 *       "casing": "original", "sentences": 1200, "entity": { … }, "tokenAccuracy": 0.95,
 *       "evaluatedAt": "2026-01-02T00:00:00.000Z" }
 *   }
 * }
 * ```
 *
 * The top-level fields are absent while the run was never scored on the tutorial's test split;
 * `tests` is absent while no file was. The same bytes scored again replace their own record
 * (whatever the file is called now); another file, or the same file edited, adds one.
 *
 * This module reads JSON only (no tfjs), so listing runs is cheap and needs read access alone.
 *
 * @example
 * ```ts
 * import { listRuns } from "./runs.ts";
 * for (const run of await listRuns()) {
 *   console.log(run.dir, run.settings, run.epochs, run.validationF1, run.testF1);
 * }
 * ```
 *
 * @module
 */
import { basename } from "node:path";
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
import { defaultPresetFor, PRESET_NAMES, type PresetName, PRESETS } from "../train/presets.ts";
import { writeFileAtomic } from "./files.ts";
import { runsRoot } from "./paths.ts";

/**
 * The pointer file of a run folder (the same name as `CHECKPOINT_POINTER` of
 * lib/io/model_folder.ts, repeated here so this module does not load tfjs).
 */
const POINTER_FILE = "checkpoint.json";

/** The file of a run folder that holds its test scores, written by `deno task evaluate`. */
export const EVALUATION_FILE = "evaluation.json";

/** A setting's value as a run folder stores it. */
export type SettingValue = string | number | boolean | null;

/** A run's per-epoch curves, for plotting: parallel arrays, null where nothing was measured. */
export interface RunCurves {
  /** 1-based epoch numbers. */
  epoch: number[];
  /** Mean training loss per real token. */
  loss: (number | null)[];
  /** Validation loss per real token (null when nothing was held out). */
  valLoss: (number | null)[];
  /** Validation entity F1 (null when nothing was held out, or for runs older than `valF1`). */
  valF1: (number | null)[];
}

/** Micro-averaged entity scores, as `evaluation.json` stores them. */
export interface RecordedEntityScores {
  /** Entity precision. */
  precision: number;
  /** Entity recall. */
  recall: number;
  /** Entity F1. */
  f1: number;
  /** Gold entities. */
  support: number;
}

/**
 * The record of a run's latest full evaluation on the tutorial's test split: the top-level
 * fields of `evaluation.json` ({@linkcode RunEvaluationFile}; the whole file before file scores
 * existed).
 */
export interface RunEvaluation {
  /** Always `"test"`: only full test-split evaluations are recorded. */
  split: "test";
  /**
   * The checkpoint evaluated, relative to the run folder (`checkpoints/epoch-018`); absent in
   * records written before it was kept, null when unknown.
   */
  checkpoint?: string | null;
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** The entity scheme (`"strict"`, seqeval's). */
  scheme: string;
  /** How the words were cased (`"original"`); absent in records written before it was kept. */
  casing?: string;
  /** Micro-averaged entity scores. */
  entity: RecordedEntityScores;
  /** Accuracy over real tokens of the full sentences. */
  tokenAccuracy: number;
  /** When it was evaluated (ISO 8601). */
  evaluatedAt: string;
}

/**
 * The record of a run's latest full evaluation on a labelled file of your own
 * (`deno task evaluate --model RUN --test FILE`), kept under its {@linkcode sha256} in the
 * `tests` of `evaluation.json`.
 */
export interface RunFileEvaluation {
  /** The file's path as it was given. */
  file: string;
  /** The file's base name (`test.conll`). */
  name: string;
  /** SHA-256 (lowercase hex) of the file's bytes as stored (gzip included): the record's key. */
  sha256: string;
  /** The checkpoint evaluated, relative to the run folder (`checkpoints/epoch-018`), or null. */
  checkpoint: string | null;
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** The entity scheme (`"strict"`). */
  scheme: string;
  /** How the words were cased (`"original"`). */
  casing: string;
  /** Sentences scored (all of the file's). */
  sentences: number;
  /** Micro-averaged entity scores. */
  entity: RecordedEntityScores;
  /** Accuracy over real tokens of the full sentences. */
  tokenAccuracy: number;
  /** When it was evaluated (ISO 8601). */
  evaluatedAt: string;
}

/**
 * What `evaluation.json` of a run folder holds: the tutorial test split's record at the top
 * level (absent until there is one; older versions wrote only that), and the records of your own
 * test files under `tests`, keyed by their SHA-256 (absent until there is one).
 */
export type RunEvaluationFile = Partial<RunEvaluation> & {
  /** Your own test files' records, by the SHA-256 of each file's bytes. */
  tests?: Record<string, RunFileEvaluation>;
};

/** A run's recorded test scores, as {@linkcode readRunEvaluations} reads them. */
export interface RunEvaluations {
  /** The tutorial test split's record, or null when there is none. */
  split: RunEvaluation | null;
  /** Your own test files' records, oldest evaluation first. */
  tests: RunFileEvaluation[];
}

/** One recorded score of a run on a test file of your own, as {@linkcode RunSummary} lists it. */
export interface RunTestScore {
  /** The file's path as it was given to `deno task evaluate --test`. */
  file: string;
  /** The file's base name. */
  name: string;
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  /** Its entity F1. */
  f1: number;
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** When it was evaluated (ISO 8601). */
  evaluatedAt: string;
}

/** One training run, as {@linkcode listRuns} summarises it. */
export interface RunSummary {
  /** The run folder's name (under the listed root). */
  dir: string;
  /** The run folder's full path. */
  path: string;
  /**
   * The settings that differ from the defaults (`DEFAULT_TAGGER_OPTIONS`,
   * `DEFAULT_TRAIN_CONFIG`, with the run's preset filled in), flat: `units`, `modelType`,
   * `learningRate`, `seed`, `limit`, … (not `epochs`, nor the sizes the data decides); see
   * {@linkcode settingsDiff}. A tagger seed other than the run's seed (set through the library
   * only) is `modelSeed`; your own data is `data.train`, `data.dev`, …; a preset that is not the
   * default for the run's data is `preset`.
   */
  settings: Record<string, SettingValue>;
  /** Epochs complete (null when `checkpoint.json` is unreadable). */
  epochs: number | null;
  /** The best validation entity F1 over the epochs, or null when none was recorded. */
  validationF1: number | null;
  /**
   * The epoch of {@linkcode validationF1}: `best.epoch` of `checkpoint.json`, else (runs older
   * than it) the earliest epoch of the history with the best validation F1; null when none.
   */
  bestEpoch: number | null;
  /**
   * The epoch of the checkpoint commands load from the run by default: the best epoch's when
   * the run kept it, else the latest (`epochs`); null when `checkpoint.json` is unreadable.
   */
  checkpointEpoch: number | null;
  /**
   * The run's test entity F1: from its evaluation on the tutorial's test split when one is
   * recorded, else from its latest recorded evaluation on a file of your own
   * ({@linkcode testFile}); null when the run was not evaluated.
   */
  testF1: number | null;
  /** The epoch the test F1 is of (it may differ from `checkpointEpoch`), or null. */
  testEpoch: number | null;
  /**
   * The file {@linkcode testF1} is of, as it was given to `deno task evaluate --test`; null for
   * the tutorial's test split (or no test F1).
   */
  testFile: string | null;
  /** The recorded scores on test files of your own, oldest evaluation first. */
  tests: RunTestScore[];
  /** The per-epoch curves, or null when `history.json` is missing or unreadable. */
  history: RunCurves | null;
  /** What could not be read, naming the file; absent when every file read. */
  error?: string;
}

/** A file that exists but cannot be read or parsed. */
class UnreadableFile extends Error {}

/** Reads a JSON file: undefined when it is missing, an {@linkcode UnreadableFile} otherwise. */
async function readJSONIfAny(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new UnreadableFile(`${path}: unreadable (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UnreadableFile(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** A plain object, or undefined. */
function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/** A finite number, else null. */
function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Whether two stored setting values are the same. */
function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Settings that are sizes the data decides, not choices. */
const SIZES = new Set(["vocabSize", "numTags", "numChars"]);

/** The char settings (besides the map size), meaningful only with `charFeatures`. */
const CHAR_SETTINGS = new Set([
  "maxChars",
  "charDim",
  "charFilters",
  "charWidth",
  "charActivation",
]);

/** The preset a training record names (runs older than presets: `"tutorial"`, theirs). */
function recordedPreset(training: Record<string, unknown>): PresetName {
  const preset = training.preset;
  return (PRESET_NAMES as readonly unknown[]).includes(preset) ? preset as PresetName : "tutorial";
}

/**
 * The settings of a stored `config.json` (format version 1 or 2) that differ from the
 * defaults, flat (`units`, `learningRate`, …): the defaults with the run's preset filled in
 * (lib/train/presets.ts), so a run of the `accurate` preset lists only what it changed from that
 * recipe. Your own data comes first, file by file (`data.train`, `data.dev`, `data.format`, …),
 * then the preset when it is not the default for that data (`accurate` for your own training
 * file, else `tutorial`), then the tagger's settings and the training settings.
 * `validationSplit` is left out for a run with a dev file (it is 0 then: the dev file is the
 * validation set).
 *
 * @example
 * ```ts
 * import { settingsDiff } from "./runs.ts";
 * settingsDiff({
 *   format: "bilstm-ner-model",
 *   version: 2,
 *   tagger: { vocabSize: 900, numTags: 18, units: 64, maxLen: 50, seed: 7 },
 *   training: { epochs: 3, seed: 7, learningRate: 0.002, epochsDone: 3 },
 * }); // { units: 64, seed: 7, learningRate: 0.002 }
 * ```
 *
 * @param stored the parsed `config.json`
 * @returns setting → value: data, preset, tagger settings (in the defaults' order), training
 *   settings (in the defaults' order)
 * @throws {Error} when it is not a model config of version 1 or 2
 */
export function settingsDiff(stored: unknown): Record<string, SettingValue> {
  const config = record(stored);
  if (config?.format !== "bilstm-ner-model" || (config.version !== 1 && config.version !== 2)) {
    throw new Error(
      `not a bilstm-ner model config of version 1 or 2 (format ${
        JSON.stringify(config?.format)
      }, version ${JSON.stringify(config?.version)})`,
    );
  }
  const training = { ...record(config.training) };
  let tagger: Record<string, unknown>;
  if (config.version === 2) {
    tagger = { ...record(config.tagger) };
  } else {
    // v1: the builder's settings as given; the top-level maxLen and modelType win.
    tagger = { ...record(training.model), ...record(config.model) };
    if (config.maxLen !== undefined) tagger.maxLen = config.maxLen;
    if (config.modelType !== undefined) tagger.modelType = config.modelType;
  }
  if (tagger.charFeatures !== true) {
    for (const key of CHAR_SETTINGS) delete tagger[key];
  }
  const data = record(training.data);
  const preset = recordedPreset(training);
  // The defaults this run's settings are compared with: its preset's.
  const taggerDefaults: Record<string, unknown> = {
    ...DEFAULT_TAGGER_OPTIONS,
    ...PRESETS[preset].model,
  };
  const trainDefaults: Record<string, unknown> = {
    ...DEFAULT_TRAIN_CONFIG,
    ...PRESETS[preset].train,
    ...(record(training.embeddings) ? { caseFallback: true } : {}),
  };
  const runSeed = training.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const settings: Record<string, SettingValue> = {};
  if (data) {
    // Your own data: its files and how they were read, one setting each (`data.train`, …).
    for (const [field, inner] of Object.entries(data)) {
      if (inner !== null && inner !== undefined) settings[`data.${field}`] = inner as SettingValue;
    }
  }
  if ("preset" in training) {
    const expected = defaultPresetFor({ data: data as { train?: string } | undefined });
    if (!same(training.preset, expected)) settings.preset = training.preset as SettingValue;
  }
  for (const [key, fallback] of Object.entries(taggerDefaults)) {
    if (SIZES.has(key) || !(key in tagger)) continue;
    const value = tagger[key] as SettingValue;
    if (key === "seed") {
      if (!same(value, runSeed)) settings.modelSeed = value;
    } else if (!same(value, fallback)) {
      settings[key] = value;
    }
  }
  for (const [key, fallback] of Object.entries(trainDefaults)) {
    if (["epochs", "model", "data", "preset"].includes(key) || !(key in training)) continue;
    if (key === "maxLen" && "maxLen" in settings) continue;
    if (key === "validationSplit" && typeof data?.dev === "string") continue;
    const value = training[key];
    if (!same(value, fallback)) settings[key] = value as SettingValue;
  }
  return settings;
}

/**
 * A run's per-epoch curves from its parsed `history.json` (`valF1` all null for runs older
 * than it).
 *
 * @param stored the parsed `history.json`
 * @returns the curves, or null when it holds no `epoch` array
 */
export function runCurves(stored: unknown): RunCurves | null {
  const history = record(stored);
  if (!history || !Array.isArray(history.epoch)) return null;
  const epoch = history.epoch.map(Number);
  const column = (key: string) => {
    const values = Array.isArray(history[key]) ? history[key] as unknown[] : [];
    return epoch.map((_, index) => finite(values[index]));
  };
  return { epoch, loss: column("loss"), valLoss: column("valLoss"), valF1: column("valF1") };
}

/** The best validation F1 of some curves and its epoch (the earliest of equals), or null. */
function bestOf(curves: RunCurves | null): { valF1: number; epoch: number } | null {
  let best: { valF1: number; epoch: number } | null = null;
  for (const [index, valF1] of (curves?.valF1 ?? []).entries()) {
    if (valF1 !== null && (best === null || valF1 > best.valF1)) {
      best = { valF1, epoch: curves!.epoch[index] };
    }
  }
  return best;
}

/**
 * Whether a folder is a training run folder (holds `checkpoint.json`).
 *
 * @param directory the folder
 */
export async function isRunFolder(directory: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${directory}/${POINTER_FILE}`)).isFile;
  } catch {
    return false;
  }
}

/**
 * Summarises one run folder. Files that cannot be read are named in `error`; what could be read
 * is still filled in.
 *
 * @example
 * ```ts
 * import { projectPath } from "./paths.ts";
 * import { summarizeRun } from "./runs.ts";
 * const run = await summarizeRun(projectPath("runs/notebook"));
 * console.log(run.epochs, run.validationF1, run.bestEpoch, run.testF1, run.testFile);
 * ```
 *
 * @param path the run folder
 * @returns its summary (`dir` is the folder's last path segment)
 */
export async function summarizeRun(path: string): Promise<RunSummary> {
  const summary: RunSummary = {
    dir: path.replace(/\/+$/, "").split("/").at(-1) ?? path,
    path,
    settings: {},
    epochs: null,
    validationF1: null,
    bestEpoch: null,
    checkpointEpoch: null,
    testF1: null,
    testEpoch: null,
    testFile: null,
    tests: [],
    history: null,
  };
  const errors: string[] = [];
  const attempt = async (body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      errors.push((error as Error).message);
    }
  };
  // The best epoch the pointer names (newer runs), once read.
  const kept: { best: { epoch: number; valF1: number | null } | null } = { best: null };
  await attempt(async () => {
    const file = `${path}/${POINTER_FILE}`;
    const pointer = record(await readJSONIfAny(file));
    if (!pointer || typeof pointer.latest !== "string") {
      throw new Error(`${file}: no "latest" checkpoint`);
    }
    summary.epochs = finite(pointer.epoch);
    const best = record(pointer.best);
    const bestEpoch = finite(best?.epoch);
    if (bestEpoch !== null) kept.best = { epoch: bestEpoch, valF1: finite(best?.valF1) };
    summary.checkpointEpoch = bestEpoch ?? summary.epochs;
    const configFile = `${path}/${pointer.latest}/config.json`;
    const config = await readJSONIfAny(configFile);
    if (config === undefined) throw new Error(`${configFile}: not found`);
    try {
      summary.settings = settingsDiff(config);
    } catch (error) {
      throw new Error(`${configFile}: ${(error as Error).message}`);
    }
  });
  await attempt(async () => {
    summary.history = runCurves(await readJSONIfAny(`${path}/history.json`));
  });
  const fromHistory = bestOf(summary.history);
  summary.validationF1 = fromHistory?.valF1 ?? kept.best?.valF1 ?? null;
  summary.bestEpoch = kept.best?.epoch ?? fromHistory?.epoch ?? null;
  await attempt(async () => {
    const { split, tests } = await readRunEvaluations(path);
    summary.tests = tests.map(({ file, name, sha256, entity, epoch, evaluatedAt }) => ({
      file,
      name,
      sha256,
      f1: entity.f1,
      epoch,
      evaluatedAt,
    }));
    const latest = tests.at(-1);
    if (split) {
      summary.testF1 = split.entity.f1;
      summary.testEpoch = finite(split.epoch);
    } else if (latest) {
      summary.testF1 = latest.entity.f1;
      summary.testEpoch = latest.epoch;
      summary.testFile = latest.file;
    }
  });
  if (errors.length > 0) summary.error = errors.join("; ");
  return summary;
}

/**
 * One summary per training run folder directly under `root` (each folder holding
 * `checkpoint.json`), sorted by folder name. A run whose files cannot be read is listed with
 * an `error` naming the file; nothing is thrown for it.
 *
 * @example
 * ```ts
 * import { listRuns } from "./runs.ts";
 * const runs = await listRuns();
 * const best = runs.toSorted((a, b) => (b.validationF1 ?? -1) - (a.validationF1 ?? -1))[0];
 * console.log(best?.dir, best?.settings);
 * ```
 *
 * @param root the folder holding run folders; default the project's `runs/`
 * @returns the runs (empty when `root` does not exist)
 */
export async function listRuns(root: string = runsRoot()): Promise<RunSummary[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
  const base = root.replace(/\/+$/, "");
  const runs: RunSummary[] = [];
  for (const name of names.sort()) {
    const path = `${base}/${name}`;
    if (await isRunFolder(path)) runs.push(await summarizeRun(path));
  }
  return runs;
}

/** The path of a run folder's `evaluation.json`. */
function evaluationPath(directory: string): string {
  return `${directory.replace(/(?<=.)\/+$/, "")}/${EVALUATION_FILE}`;
}

/** The keys of the tutorial split's record, the top level of `evaluation.json`. */
const SPLIT_KEYS = [
  "split",
  "checkpoint",
  "epoch",
  "scheme",
  "casing",
  "entity",
  "tokenAccuracy",
  "evaluatedAt",
] as const;

/** A SHA-256 in hex, as `tests` is keyed. */
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Checks a parsed `evaluation.json` (either layout) and splits it into its records.
 *
 * @throws {Error} naming the file and the field when it is not an evaluation record
 */
function parseRunEvaluations(stored: unknown, file: string): RunEvaluations {
  const top = record(stored);
  if (!top) throw new Error(`${file}: not a JSON object`);
  const scores = (value: unknown, where: string): RecordedEntityScores => {
    const entity = record(value);
    if (!entity || finite(entity.f1) === null) {
      throw new Error(`${file}: ${where}entity.f1 is not a number`);
    }
    return entity as unknown as RecordedEntityScores;
  };
  let split: RunEvaluation | null = null;
  if (top.entity !== undefined) {
    scores(top.entity, "");
    split = Object.fromEntries(
      SPLIT_KEYS.filter((key) => key in top).map((key) => [key, top[key]]),
    ) as unknown as RunEvaluation;
  }
  const tests: RunFileEvaluation[] = [];
  if (top.tests !== undefined) {
    const byKey = record(top.tests);
    if (!byKey) throw new Error(`${file}: "tests" is not an object keyed by SHA-256`);
    for (const [key, value] of Object.entries(byKey)) {
      const where = `tests[${JSON.stringify(key)}].`;
      const entry = record(value);
      if (!entry) throw new Error(`${file}: ${where.slice(0, -1)} is not an object`);
      if (!SHA256.test(key) || entry.sha256 !== key) {
        throw new Error(`${file}: ${where}sha256 must be the key, a SHA-256 in hex`);
      }
      if (typeof entry.file !== "string") throw new Error(`${file}: ${where}file is not a path`);
      if (finite(entry.epoch) === null) throw new Error(`${file}: ${where}epoch is not a number`);
      scores(entry.entity, where);
      tests.push({
        ...entry,
        name: typeof entry.name === "string" ? entry.name : basename(entry.file),
      } as unknown as RunFileEvaluation);
    }
  }
  const time = (entry: RunFileEvaluation) => Date.parse(entry.evaluatedAt) || 0;
  tests.sort((a, b) => time(a) - time(b));
  return { split, tests };
}

/**
 * Reads a run folder's `evaluation.json`: either layout (only the tutorial split's record, as
 * older versions wrote it, or with `tests`).
 *
 * @example
 * ```ts
 * import { readRunEvaluations } from "./runs.ts";
 * const { split, tests } = await readRunEvaluations("runs/my-run");
 * console.log(split?.entity.f1, tests.map((test) => [test.name, test.entity.f1]));
 * ```
 *
 * @param directory the run folder
 * @returns the tutorial split's record (or null) and the test files' records, oldest first
 *   (none of either when the file is missing)
 * @throws {Error} naming the file when it is not valid JSON or not an evaluation record
 */
export async function readRunEvaluations(directory: string): Promise<RunEvaluations> {
  const file = evaluationPath(directory);
  const stored = await readJSONIfAny(file);
  return stored === undefined ? { split: null, tests: [] } : parseRunEvaluations(stored, file);
}

/**
 * Reads the tutorial test split's record of a run folder's `evaluation.json`.
 *
 * @param directory the run folder
 * @returns its recorded evaluation on the tutorial's test split, or null when there is none
 * @throws {Error} naming the file when it is not valid JSON or not an evaluation record
 */
export async function readRunEvaluation(directory: string): Promise<RunEvaluation | null> {
  return (await readRunEvaluations(directory)).split;
}

/**
 * Rewrites `evaluation.json` atomically with a change to its records (a read-modify-write:
 * two evaluations of one run finishing at the same moment may keep only one record).
 */
async function updateRunEvaluations(
  directory: string,
  change: (evaluations: RunEvaluations) => RunEvaluations,
): Promise<string> {
  const path = evaluationPath(directory);
  const { split, tests } = change(await readRunEvaluations(directory));
  const stored: RunEvaluationFile = {
    ...split,
    ...(tests.length > 0
      ? { tests: Object.fromEntries(tests.map((test) => [test.sha256, test])) }
      : {}),
  };
  await writeFileAtomic(path, JSON.stringify(stored, null, 2) + "\n");
  return path;
}

/**
 * Records a run's scores on the tutorial's test split in `RUN/evaluation.json` (atomically),
 * replacing the split's older record and keeping the records of test files.
 *
 * @example
 * ```ts
 * import { writeRunEvaluation } from "./runs.ts";
 * await writeRunEvaluation("runs/units-200", {
 *   split: "test",
 *   checkpoint: "checkpoints/epoch-005",
 *   epoch: 5,
 *   scheme: "strict",
 *   casing: "original",
 *   entity: { precision: 0.82, recall: 0.8, f1: 0.81, support: 10_000 },
 *   tokenAccuracy: 0.97,
 *   evaluatedAt: new Date().toISOString(),
 * });
 * ```
 *
 * @param directory the run folder
 * @param evaluation the scores
 * @returns the file written
 * @throws {Error} naming the file when the existing one cannot be read (it is left as it is)
 */
export async function writeRunEvaluation(
  directory: string,
  evaluation: RunEvaluation,
): Promise<string> {
  return await updateRunEvaluations(directory, ({ tests }) => ({ split: evaluation, tests }));
}

/**
 * Records a run's scores on a test file of your own in `RUN/evaluation.json` (atomically), under
 * the file's SHA-256: replacing the record of the same bytes, keeping every other record.
 *
 * @example
 * ```ts
 * import { fileSha256, writeRunFileEvaluation } from "./runs.ts";
 * const file = "data/mine/test.conll";
 * await writeRunFileEvaluation("runs/mine", {
 *   file,
 *   name: "test.conll",
 *   sha256: await fileSha256(file),
 *   checkpoint: "checkpoints/epoch-018",
 *   epoch: 18,
 *   scheme: "strict",
 *   casing: "original",
 *   sentences: 1200,
 *   entity: { precision: 0.7, recall: 0.6, f1: 0.646, support: 2000 },
 *   tokenAccuracy: 0.95,
 *   evaluatedAt: new Date().toISOString(),
 * });
 * ```
 *
 * @param directory the run folder
 * @param evaluation the scores, with the file's path, base name and SHA-256
 * @returns the file written
 * @throws {Error} naming the file when the existing one cannot be read (it is left as it is),
 *   or when `evaluation.sha256` is not a SHA-256 in hex
 */
export async function writeRunFileEvaluation(
  directory: string,
  evaluation: RunFileEvaluation,
): Promise<string> {
  if (!SHA256.test(evaluation.sha256)) {
    throw new Error(`not a SHA-256 in lowercase hex: ${JSON.stringify(evaluation.sha256)}`);
  }
  return await updateRunEvaluations(directory, ({ split, tests }) => ({
    split,
    tests: [...tests.filter((test) => test.sha256 !== evaluation.sha256), evaluation],
  }));
}

/**
 * The SHA-256 of a file's bytes, as {@linkcode RunFileEvaluation.sha256} keys a test file.
 *
 * @param path the file
 * @returns lowercase hex
 */
export async function fileSha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
