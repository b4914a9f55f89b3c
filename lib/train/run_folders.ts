/**
 * Where training runs live and which model a notebook or command means: run folders are named
 * from their settings, so re-running a notebook with the same settings continues its run and
 * other settings start a new one, and nothing is deleted to make room.
 *
 * Runs live under `runs/` in the project, or under `$BILSTM_NER_RUNS` when set (the quick
 * notebook run of the tests points it at a scratch folder).
 *
 * @module
 */
import { CHECKPOINT_POINTER } from "../io/model_folder.ts";
import { projectPath, runsRoot } from "../io/paths.ts";

export { runsRoot };
import { CHAR_FIELDS, DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import {
  DEFAULT_TRAIN_CONFIG,
  LATER_SETTINGS,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";

/** A stable JSON text of a value: object keys sorted at every level, undefined left out. */
function stableJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJSON).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, inner]) => inner !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${
    entries.map(([key, inner]) => `${JSON.stringify(key)}:${stableJSON(inner)}`).join(",")
  }}`;
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * The folder name of a run with these settings: a readable part (model type, units, seed) and a
 * hash of every resolved setting but `epochs` (so asking for more epochs continues the same run,
 * and writing a default out or leaving it implicit names the same run).
 *
 * @example
 * ```ts
 * import { runFolderName } from "./run_folders.ts";
 * runFolderName({ seed: 42, model: { units: 100 } }, "notebook"); // "notebook-bilstm-u100-s42-…"
 * ```
 *
 * @param settings the run's settings
 * @param prefix what starts the name, e.g. `"notebook"`
 * @returns a folder name (no slashes)
 * @throws {ConfigError} for settings training would refuse
 */
export function runFolderName(settings: TrainConfig, prefix = "run"): string {
  const { epochs: _epochs, ...resolved } = resolveTrainConfig(settings);
  const { maxLen: _maxLen, ...modelDefaults } = DEFAULT_TAGGER_OPTIONS;
  const model: Record<string, unknown> = {
    ...modelDefaults,
    seed: resolved.seed,
    ...resolved.model,
  };
  if (!model.charFeatures) { for (const key of CHAR_FIELDS) delete model[key]; }
  const identity: Record<string, unknown> = { ...resolved, model };
  for (const key of LATER_SETTINGS) {
    if (stableJSON(identity[key]) === stableJSON(DEFAULT_TRAIN_CONFIG[key])) delete identity[key];
  }
  const readable = `${model.modelType}-u${model.units}-s${resolved.seed}`;
  return `${prefix}-${readable}-${fnv1a(stableJSON(identity))}`;
}

/** Whether a folder holds a training run (a checkpoint pointer). */
export async function hasCheckpoint(directory: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${directory}/${CHECKPOINT_POINTER}`)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The run folder under `root` whose checkpoint was written last, or null when there is none.
 *
 * @param root the folder of runs (default {@linkcode runsRoot})
 */
export async function latestRunFolder(root = runsRoot()): Promise<string | null> {
  let latest: { path: string; time: number } | null = null;
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory) continue;
      const path = `${root}/${entry.name}`;
      const stat = await Deno.stat(`${path}/${CHECKPOINT_POINTER}`).catch(() => null);
      const time = stat?.mtime?.getTime() ?? null;
      if (time !== null && (latest === null || time > latest.time)) latest = { path, time };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return latest?.path ?? null;
}

/** Which model to use: the latest training run, the shipped model, or a folder's path. */
export type ModelChoice = "latest run" | "shipped" | (string & Record<never, never>);

/** The shipped model folder. */
export const SHIPPED_MODEL: string = projectPath("data/model");

/**
 * The folder a model choice names.
 *
 * @param choice `"latest run"` (the newest run under {@linkcode runsRoot}), `"shipped"`
 *   (`data/model`), or a path (relative to the project root unless absolute)
 * @returns the folder
 * @throws {Error} for `"latest run"` when there is no run, or a path that does not exist
 */
export async function chooseModel(choice: ModelChoice): Promise<string> {
  if (choice === "shipped") return SHIPPED_MODEL;
  if (choice === "latest run") {
    const latest = await latestRunFolder();
    if (latest === null) {
      throw new Error(
        `no training run under ${runsRoot()}: train one (notebook 5) or choose "shipped"`,
      );
    }
    return latest;
  }
  const path = choice.startsWith("/") ? choice : projectPath(choice);
  try {
    await Deno.stat(path);
  } catch {
    throw new Error(`${path}: model folder not found`);
  }
  return path;
}
