/**
 * The name of a run folder: run folders are named from their settings, so re-running a notebook
 * with the same settings continues its run and other settings start a new one, and nothing is
 * deleted to make room. Where runs live and which one a notebook means: lib/io/runs.ts.
 *
 * @module
 */
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
 * import { runFolderName } from "./run_name.ts";
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
