/**
 * Training run folders side by side: what each run changed from the defaults, how far it got,
 * its best validation entity F1 and the epoch of it, and its test entity F1 once
 * `deno task evaluate --model RUN` has scored it on a whole test set: the tutorial's test split,
 * or a labelled file of your own (`--test FILE`), recorded in `RUN/evaluation.json` (see
 * lib/io/run_evaluations.ts). What a run folder holds: lib/io/runs.ts.
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
import { DEFAULT_TRAIN_CONFIG } from "./config.ts";
import { defaultPresetFor, PRESET_NAMES, type PresetName, PRESETS } from "./presets.ts";
import { readJSONIfAny } from "../fs/files.ts";
import { resolveInsideFolder } from "../fs/inside.ts";
import { runsRoot } from "../fs/paths.ts";
import { asRecord, finiteOrNull } from "../io/json_values.ts";
import { readRunEvaluations } from "../io/run_evaluations.ts";
import { isRunFolder, POINTER_FILE } from "../io/runs.ts";

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
  const config = asRecord(stored);
  if (config?.format !== "bilstm-ner-model" || (config.version !== 1 && config.version !== 2)) {
    throw new Error(
      `not a bilstm-ner model config of version 1 or 2 (format ${
        JSON.stringify(config?.format)
      }, version ${JSON.stringify(config?.version)})`,
    );
  }
  const training = { ...asRecord(config.training) };
  let tagger: Record<string, unknown>;
  if (config.version === 2) {
    tagger = { ...asRecord(config.tagger) };
  } else {
    // v1: the builder's settings as given; the top-level maxLen and modelType win.
    tagger = { ...asRecord(training.model), ...asRecord(config.model) };
    if (config.maxLen !== undefined) tagger.maxLen = config.maxLen;
    if (config.modelType !== undefined) tagger.modelType = config.modelType;
  }
  if (tagger.charFeatures !== true) {
    for (const key of CHAR_SETTINGS) delete tagger[key];
  }
  const data = asRecord(training.data);
  const preset = recordedPreset(training);
  // The defaults this run's settings are compared with: its preset's.
  const taggerDefaults: Record<string, unknown> = {
    ...DEFAULT_TAGGER_OPTIONS,
    ...PRESETS[preset].model,
  };
  const trainDefaults: Record<string, unknown> = {
    ...DEFAULT_TRAIN_CONFIG,
    ...PRESETS[preset].train,
    ...(asRecord(training.embeddings) ? { caseFallback: true } : {}),
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
  const history = asRecord(stored);
  if (!history || !Array.isArray(history.epoch)) return null;
  const epoch = history.epoch.map(Number);
  const column = (key: string) => {
    const values = Array.isArray(history[key]) ? history[key] as unknown[] : [];
    return epoch.map((_, index) => finiteOrNull(values[index]));
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
 * Summarises one run folder. Files that cannot be read are named in `error`; what could be read
 * is still filled in.
 *
 * @example
 * ```ts
 * import { projectPath } from "../fs/paths.ts";
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
    const pointer = asRecord(await readJSONIfAny(file, "checkpoint pointer"));
    if (!pointer || typeof pointer.latest !== "string") {
      throw new Error(`${file}: no "latest" checkpoint`);
    }
    summary.epochs = finiteOrNull(pointer.epoch);
    const best = asRecord(pointer.best);
    const bestEpoch = finiteOrNull(best?.epoch);
    if (bestEpoch !== null) kept.best = { epoch: bestEpoch, valF1: finiteOrNull(best?.valF1) };
    summary.checkpointEpoch = bestEpoch ?? summary.epochs;
    const latest = await resolveInsideFolder(path, pointer.latest, file, 'checkpoint "latest"');
    const configFile = `${latest}/config.json`;
    const config = await readJSONIfAny(configFile, "model config");
    if (config === undefined) throw new Error(`${configFile}: not found`);
    try {
      summary.settings = settingsDiff(config);
    } catch (error) {
      throw new Error(`${configFile}: ${(error as Error).message}`);
    }
  });
  await attempt(async () => {
    summary.history = runCurves(await readJSONIfAny(`${path}/history.json`, "training history"));
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
      summary.testEpoch = finiteOrNull(split.epoch);
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
