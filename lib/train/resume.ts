/**
 * Resuming a run from its latest checkpoint: the tagger, its settings (the tagger's own config
 * for the model settings and `maxLen`, the checked training record for the rest), history,
 * optimiser state and, for a mid-epoch checkpoint, the epoch's position; and the settings a
 * caller gave that differ from the run's ({@linkcode settingDifferences}).
 *
 * @module
 */
import { type CheckpointPointer, POSITION_FILE } from "./checkpoint.ts";
import { ConfigError } from "../errors.ts";
import { readJSONFile } from "../fs/files.ts";
import { CHECKPOINT_POINTER, type LoadedTagger, loadTaggerFolder } from "../io/model_folder.ts";
import { loadState } from "../io/state_file.ts";
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import {
  DEFAULT_DISTILL_WEIGHT,
  DEFAULT_TRAIN_CONFIG,
  modelSettingsOf,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";
import type { EpochPosition } from "./epoch.ts";
import type { History } from "./history.ts";
import { RunFolderError } from "../io/run_lock.ts";
import type { TrainerState } from "./trainer.ts";

/** A run restored from its latest checkpoint. */
export interface ResumedRun {
  /** The tagger and maps of the checkpoint. */
  loaded: LoadedTagger;
  /** The run's settings (`epochs` as asked now, when given). */
  config: ResolvedTrainConfig;
  /** The history up to the checkpoint. */
  history: History;
  /** The optimiser state. */
  trainerState: TrainerState;
  /** Epochs complete. */
  epoch: number;
  /** Where the interrupted epoch stands, when the checkpoint is mid-epoch. */
  position?: EpochPosition;
}

/** The training settings a checkpoint's record holds, with the JSON type each must have. */
const RECORD_FIELDS = Object.keys(DEFAULT_TRAIN_CONFIG).filter((key) =>
  key !== "model" && key !== "maxLen"
) as (keyof Omit<ResolvedTrainConfig, "model" | "maxLen">)[];

/**
 * The training settings recorded in a checkpoint's `config.json`, checked: each known field has
 * its type (`limit` a number or null, `lowercase` a boolean, …) and a value training accepts.
 *
 * @param record the `training` object of `config.json`
 * @param file that file, for the messages
 * @param epochsDone the epochs the pointer says are done, which the record must agree with
 * @throws {RunFolderError} naming the file and the field
 */
function recordedSettings(
  record: unknown,
  file: string,
  epochsDone: number,
): Omit<TrainConfig, "model" | "maxLen"> {
  const bad = (problem: string): never => {
    throw new RunFolderError(`${file}: ${problem}`);
  };
  if (record === undefined) bad('no training record ("training"): not a training checkpoint');
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    bad(`training must be an object, got ${JSON.stringify(record)}`);
  }
  const fields = record as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const key of RECORD_FIELDS) {
    const value = fields[key];
    if (value === undefined) continue; // written before the setting existed: its default
    const type = key === "limit"
      ? "number or null"
      : key === "data" || key === "distill" || key === "embeddings"
      ? "object or null"
      : typeof DEFAULT_TRAIN_CONFIG[key];
    const actual = value === null ? "null" : typeof value;
    if (!type.split(" or ").includes(actual)) {
      bad(`training.${key} must be a ${type}, got ${JSON.stringify(value)}`);
    }
    settings[key] = value;
  }
  // Written before presets existed: made with the tutorial's settings (its patience, 0).
  if (settings.preset === undefined) settings.preset = "tutorial";
  if (fields.epochsDone !== undefined && fields.epochsDone !== epochsDone) {
    bad(
      `training.epochsDone is ${JSON.stringify(fields.epochsDone)}, but ${CHECKPOINT_POINTER} ` +
        `says ${epochsDone} epochs are done`,
    );
  }
  return settings;
}

/**
 * Restores a run from its latest checkpoint: the tagger, its settings (the tagger's own
 * config for the model settings and `maxLen`, the training record for the rest), history and
 * optimiser state.
 *
 * @param out the run folder
 * @param pointer its checkpoint pointer
 * @param epochs the epochs asked for now, if given (the saved count otherwise)
 * @param patience the early-stopping patience asked for now, if given (the saved one otherwise)
 * @throws {RunFolderError} naming the file when the checkpoint does not load or a file of it is
 *   malformed (the tagger is disposed of then)
 */
export async function resumeRun(
  out: string,
  pointer: CheckpointPointer,
  epochs: number | undefined,
  patience?: number,
): Promise<ResumedRun> {
  let checkpoint = `${out}/${pointer.latest}`;
  let loaded: LoadedTagger;
  try {
    // Through the run folder, so the pointer is checked to stay inside it (links followed).
    loaded = await loadTaggerFolder(out, "last");
    checkpoint = loaded.directory;
  } catch (error) {
    const text = (error as Error).message;
    throw new RunFolderError(
      text.includes(checkpoint) || text.includes(out)
        ? text
        : `${checkpoint}: the checkpoint does not load: ${text}`,
      { cause: error },
    );
  }
  try {
    const file = `${checkpoint}/config.json`;
    const record = recordedSettings(loaded.config.training, file, pointer.epoch);
    let saved: ResolvedTrainConfig;
    try {
      saved = resolveTrainConfig({
        ...record,
        maxLen: loaded.tagger.config.maxLen,
        model: modelSettingsOf(loaded.tagger.config),
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new RunFolderError(`${file}: training.${error.message}`, { cause: error });
    }
    const history = await readJSONFile<History>(`${checkpoint}/history.json`, "history");
    if (!Array.isArray(history?.epoch) || history.epoch.length !== pointer.epoch) {
      throw new RunFolderError(
        `${checkpoint}/history.json: the history must hold the ${pointer.epoch} epochs done`,
      );
    }
    return {
      loaded,
      config: { ...saved, epochs: epochs ?? saved.epochs, patience: patience ?? saved.patience },
      history,
      trainerState: await loadState<TrainerState>(`${checkpoint}/optimizer`),
      epoch: pointer.epoch,
      ...(pointer.partial
        ? {
          position: await readJSONFile<EpochPosition>(
            `${checkpoint}/${POSITION_FILE}`,
            "epoch position",
          ),
        }
        : {}),
    };
  } catch (error) {
    loaded.tagger.dispose();
    if (error instanceof RunFolderError) throw error;
    throw new RunFolderError((error as Error).message, { cause: error });
  }
}

/** A setting given now that differs from the run's saved one. */
export interface SettingDifference {
  /** The setting's path in {@linkcode TrainConfig} (`limit`, `model.units`). */
  field: string;
  /** The run's value. */
  saved: unknown;
  /** The value given now. */
  given: unknown;
}

/**
 * The settings given now that differ from a saved run's. Only fields set in `given` (not
 * undefined) count — a setting left out takes the run's value, so defaults never differ — and
 * `epochs` and `patience` never count (resuming may ask for more, or stop otherwise). A model setting given is compared with the
 * run tagger's resolved value.
 *
 * @param given the settings as the caller gave them
 * @param saved the run's resolved settings
 * @returns one entry per differing setting, in the order given
 */
export function settingDifferences(
  given: TrainConfig,
  saved: ResolvedTrainConfig,
): SettingDifference[] {
  const differences: SettingDifference[] = [];
  for (const [key, value] of Object.entries(given)) {
    if (
      value === undefined ||
      ["epochs", "patience", "model", "data", "distill", "embeddings"].includes(key)
    ) {
      continue;
    }
    const was = (saved as unknown as Record<string, unknown>)[key];
    if (!Object.is(value, was)) differences.push({ field: key, saved: was, given: value });
  }
  differences.push(...dataDifferences(given.data, saved.data));
  differences.push(...distillDifferences(given.distill, saved.distill));
  const model = saved.model as Record<string, unknown>;
  const defaults = DEFAULT_TAGGER_OPTIONS as Record<string, unknown>;
  for (const [key, value] of Object.entries(given.model ?? {})) {
    if (value === undefined) continue;
    const was = model[key] ?? defaults[key];
    if (!Object.is(value, was)) {
      differences.push({ field: `model.${key}`, saved: was, given: value });
    }
  }
  return differences;
}

/** The differences of the distillation settings given from a run's (the weight by its default). */
function distillDifferences(
  given: TrainConfig["distill"],
  saved: ResolvedTrainConfig["distill"],
): SettingDifference[] {
  if (given === undefined) return [];
  if (given === null || saved === null) {
    return given === saved ? [] : [{ field: "distill", saved, given }];
  }
  const differences: SettingDifference[] = [];
  if (given.teacher !== saved.teacher) {
    differences.push({ field: "distill.teacher", saved: saved.teacher, given: given.teacher });
  }
  const weight = given.weight ?? DEFAULT_DISTILL_WEIGHT;
  if (weight !== saved.weight) {
    differences.push({ field: "distill.weight", saved: saved.weight, given: weight });
  }
  return differences;
}

/** The differences of the data settings given from a run's (each field given is compared). */
function dataDifferences(
  given: TrainConfig["data"],
  saved: ResolvedTrainConfig["data"],
): SettingDifference[] {
  if (given === undefined) return [];
  if (given === null || saved === null) {
    return given === saved ? [] : [{ field: "data", saved, given }];
  }
  return Object.entries(given).flatMap(([key, value]) => {
    const was = (saved as unknown as Record<string, unknown>)[key];
    if (value === undefined || Object.is(value, was ?? (key === "dev" ? null : undefined))) {
      return [];
    }
    return [{ field: `data.${key}`, saved: was, given: value }];
  });
}

/** Raised when a run is resumed with settings other than its own. */
export class ResumeMismatchError extends RunFolderError {
  /**
   * The error, listing the differences.
   *
   * @param out the run folder
   * @param differences each setting given that differs from the run's
   */
  constructor(readonly out: string, readonly differences: SettingDifference[]) {
    super(
      `${out}: cannot resume with settings other than the run's own (only epochs and patience may change):\n` +
        differences.map((d) => `  ${formatDifference(d)}\n`).join("") +
        "give the run's values or leave those settings out, or start a new run in another folder",
    );
    this.name = "ResumeMismatchError";
  }
}

/**
 * One difference as a line: `limit: saved 1000, given 2000` (null shows as `none`).
 *
 * @param difference the difference
 * @param name how to name the setting; default its field path
 */
export function formatDifference(difference: SettingDifference, name = difference.field): string {
  const show = (value: unknown) => value === null ? "none" : JSON.stringify(value);
  return `${name}: saved ${show(difference.saved)}, given ${show(difference.given)}`;
}
