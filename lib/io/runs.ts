/**
 * Training run folders side by side: what each run changed from the defaults, how far it got,
 * its best validation entity F1 and, once `deno task evaluate --model RUN` has scored it on the
 * full test split, its test entity F1 (`RUN/evaluation.json`, {@linkcode RunEvaluation}).
 *
 * A run folder (written by `deno task train --out RUN`) holds `checkpoint.json` (the pointer to
 * its latest complete epoch), `history.json` (per-epoch metrics as parallel arrays; NaN stored as
 * null; `valF1` only in newer runs) and `checkpoints/epoch-NNN/config.json` (format version 2:
 * the resolved tagger config and the training record; version 1: `maxLen`, `modelType`, a
 * partial `model` record and a training record with `model` inside).
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
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import { DEFAULT_TRAIN_CONFIG } from "../train/config.ts";
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

/** What `evaluation.json` of a run folder holds: its latest full test-split evaluation. */
export interface RunEvaluation {
  /** Always `"test"`: only full test-split evaluations are recorded. */
  split: "test";
  /** Epochs the evaluated checkpoint had completed. */
  epoch: number;
  /** The entity scheme (`"strict"`, seqeval's). */
  scheme: string;
  /** Micro-averaged entity scores. */
  entity: { precision: number; recall: number; f1: number; support: number };
  /** Accuracy over real tokens of the full sentences. */
  tokenAccuracy: number;
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
   * `DEFAULT_TRAIN_CONFIG`), flat: `units`, `modelType`, `learningRate`, `seed`, `limit`, …
   * (not `epochs`, nor the sizes the data decides). A tagger seed other than the run's seed
   * (set through the library only) is `modelSeed`.
   */
  settings: Record<string, SettingValue>;
  /** Epochs complete (null when `checkpoint.json` is unreadable). */
  epochs: number | null;
  /** The best validation entity F1 over the epochs, or null when none was recorded. */
  validationF1: number | null;
  /** The test entity F1 from `evaluation.json`, or null when the run was not evaluated. */
  testF1: number | null;
  /** The epoch the test F1 is of (it may be older than `epochs`), or null. */
  testEpoch: number | null;
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

/**
 * The settings of a stored `config.json` (format version 1 or 2) that differ from the
 * defaults, flat (`units`, `learningRate`, …).
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
 * @returns setting → value, tagger settings first, in the defaults' order
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
  const runSeed = training.seed ?? DEFAULT_TRAIN_CONFIG.seed;
  const settings: Record<string, SettingValue> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_TAGGER_OPTIONS)) {
    if (SIZES.has(key) || !(key in tagger)) continue;
    const value = tagger[key] as SettingValue;
    if (key === "seed") {
      if (!same(value, runSeed)) settings.modelSeed = value;
    } else if (!same(value, fallback)) {
      settings[key] = value;
    }
  }
  for (const [key, fallback] of Object.entries(DEFAULT_TRAIN_CONFIG)) {
    if (key === "epochs" || key === "model" || !(key in training)) continue;
    if (key === "maxLen" && "maxLen" in settings) continue;
    const value = training[key];
    if (key === "data" && typeof value === "object" && value !== null) {
      // Your own data: its files and how they were read, one setting each (`data.train`, …).
      for (const [field, inner] of Object.entries(value)) {
        if (inner !== null && inner !== undefined) {
          settings[`data.${field}`] = inner as SettingValue;
        }
      }
    } else if (!same(value, fallback)) {
      settings[key] = value as SettingValue;
    }
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

/** The best of some values, or null when none is a number. */
function best(values: readonly (number | null)[]): number | null {
  const numbers = values.filter((value): value is number => value !== null);
  return numbers.length === 0 ? null : Math.max(...numbers);
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
 * console.log(run.epochs, run.validationF1);
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
    testF1: null,
    testEpoch: null,
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
  await attempt(async () => {
    const file = `${path}/${POINTER_FILE}`;
    const pointer = record(await readJSONIfAny(file));
    if (!pointer || typeof pointer.latest !== "string") {
      throw new Error(`${file}: no "latest" checkpoint`);
    }
    summary.epochs = finite(pointer.epoch);
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
    summary.validationF1 = best(summary.history?.valF1 ?? []);
  });
  await attempt(async () => {
    const evaluation = record(await readJSONIfAny(`${path}/${EVALUATION_FILE}`));
    summary.testF1 = finite(record(evaluation?.entity)?.f1);
    summary.testEpoch = summary.testF1 === null ? null : finite(evaluation?.epoch);
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

/**
 * Reads a run folder's `evaluation.json`.
 *
 * @param directory the run folder
 * @returns its recorded test evaluation, or null when there is none
 * @throws {Error} naming the file when it is not valid JSON
 */
export async function readRunEvaluation(directory: string): Promise<RunEvaluation | null> {
  const stored = await readJSONIfAny(`${directory}/${EVALUATION_FILE}`);
  return (record(stored) as RunEvaluation | undefined) ?? null;
}

/**
 * Records a run's test scores in `RUN/evaluation.json` (atomically, replacing an older one).
 *
 * @example
 * ```ts
 * import { writeRunEvaluation } from "./runs.ts";
 * await writeRunEvaluation("runs/units-200", {
 *   split: "test",
 *   epoch: 5,
 *   scheme: "strict",
 *   entity: { precision: 0.82, recall: 0.8, f1: 0.81, support: 10_000 },
 *   tokenAccuracy: 0.97,
 *   evaluatedAt: new Date().toISOString(),
 * });
 * ```
 *
 * @param directory the run folder
 * @param evaluation the scores
 * @returns the file written
 */
export async function writeRunEvaluation(
  directory: string,
  evaluation: RunEvaluation,
): Promise<string> {
  const path = `${directory.replace(/\/+$/, "")}/${EVALUATION_FILE}`;
  await writeFileAtomic(path, JSON.stringify(evaluation, null, 2) + "\n");
  return path;
}
