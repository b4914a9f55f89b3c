/**
 * A training run folder's checkpoints: after every epoch a complete model folder (tagger, maps,
 * config with the training record, history, optimiser state) is written beside the previous
 * one and renamed into place, then `checkpoint.json` is pointed at it, so a run killed at any
 * moment resumes from its last complete epoch. A run stopped on request (Ctrl-C, Jupyter's
 * Interrupt) also writes a mid-epoch checkpoint with the epoch's position, and resumes from
 * that step to the weights an uninterrupted run reaches.
 *
 * Nothing is lost and nothing silently wrong: a checkpoint that cannot be written (a full disk)
 * leaves no staging folder and the previous checkpoint in place; before training, the folder is
 * checked ({@linkcode prepareRunFolder}, {@linkcode checkFreeSpace}, {@linkcode checkRunFolder});
 * resuming checks every file it reads, naming the file and field of a malformed one, and
 * {@linkcode settingDifferences} lists the settings given that differ from the run's. Each such
 * failure is a {@linkcode RunFolderError}.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError } from "../errors.ts";
import { readJSONFile, writeFileAtomic } from "../io/files.ts";
import {
  CHECKPOINT_POINTER,
  type LoadedTagger,
  loadTaggerFolder,
  saveModelFolder,
  type TrainingRecord,
} from "../io/model_folder.ts";
import { loadState, saveState } from "../io/state_file.ts";
import { DEFAULT_TAGGER_OPTIONS } from "../model/config.ts";
import type { MappedTagger } from "../model/mapped.ts";
import type { Tagger } from "../model/tagger.ts";
import {
  DEFAULT_TRAIN_CONFIG,
  modelSettingsOf,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  type TrainConfig,
} from "./config.ts";
import type { EpochPosition } from "./epoch.ts";
import type { History } from "./history.ts";
import { LOCK_FILE, RunFolderError, RunLockedError, runLockHolder } from "./lock.ts";
import type { TrainerState } from "./trainer.ts";

export { RunFolderError };

/** What `checkpoint.json` of a run folder holds. */
export interface CheckpointPointer {
  /** The latest checkpoint, relative to the run folder. */
  latest: string;
  /** Epochs complete in it. */
  epoch: number;
  /** When the latest checkpoint is mid-epoch (an interrupted run): that epoch and its steps done. */
  partial?: { epoch: number; step: number };
}

/** The file of a mid-epoch checkpoint that says where its epoch stands. */
const POSITION_FILE = "epoch_position.json";

/** What a pointer's `latest` may be: a folder directly under `checkpoints/`. */
const LATEST = /^checkpoints\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Reads a run folder's pointer to its latest checkpoint, or null when there is none.
 *
 * @throws {RunFolderError} naming `checkpoint.json` when it is not valid JSON or not a pointer
 *   (`latest` must name a folder directly under `checkpoints/`, never outside the run folder)
 */
export async function readPointer(out: string): Promise<CheckpointPointer | null> {
  const path = `${out}/${CHECKPOINT_POINTER}`;
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  let pointer: Record<string, unknown>;
  try {
    pointer = await readJSONFile<Record<string, unknown>>(path, "checkpoint pointer");
  } catch (error) {
    throw new RunFolderError((error as Error).message, { cause: error });
  }
  const bad = (problem: string): never => {
    throw new RunFolderError(`${path}: not a checkpoint pointer: ${problem}`);
  };
  if (pointer === null || typeof pointer !== "object" || Array.isArray(pointer)) {
    bad("not an object");
  }
  const { latest, epoch, partial } = pointer;
  if (typeof latest !== "string" || !LATEST.test(latest)) {
    bad(`latest must name a folder under checkpoints/, got ${JSON.stringify(latest)}`);
  }
  if (!Number.isInteger(epoch) || (epoch as number) < 0) {
    bad(`epoch must be an integer >= 0, got ${JSON.stringify(epoch)}`);
  }
  if (partial !== undefined) {
    const { epoch: inEpoch, step } = (partial ?? {}) as Record<string, unknown>;
    if (
      !Number.isInteger(inEpoch) || inEpoch !== (epoch as number) + 1 ||
      !Number.isInteger(step) || (step as number) < 0
    ) {
      bad(
        `partial must be { epoch: ${(epoch as number) + 1}, step: N }, got ${
          JSON.stringify(partial)
        }`,
      );
    }
  }
  return pointer as unknown as CheckpointPointer;
}

/**
 * The training record a checkpoint stores: the settings without those the tagger config holds
 * (`maxLen`, `model`), and the epochs done.
 */
export function trainingRecord(config: ResolvedTrainConfig, epochsDone: number): TrainingRecord {
  const { model: _model, maxLen: _maxLen, ...settings } = config;
  return { ...settings, epochsDone };
}

/**
 * Writes a checkpoint into `out/checkpoints/<name>` (via a temp folder renamed into place), then
 * points `out/checkpoint.json` at it, then removes older checkpoints. A crash at any moment
 * leaves the previous checkpoint loadable.
 *
 * @param out the run folder
 * @param state what to save: the tagger and maps, the settings, the history of complete
 *   epochs, the optimiser state, and for a mid-epoch checkpoint the epoch's position
 */
export async function writeCheckpoint(
  out: string,
  state: {
    mapped: MappedTagger;
    config: ResolvedTrainConfig;
    history: History;
    trainerState: TrainerState;
    position?: EpochPosition;
  },
): Promise<void> {
  const { mapped, config, history, trainerState, position } = state;
  const epochsDone = history.epoch.length === 0 ? 0 : history.epoch[history.epoch.length - 1];
  let name = `epoch-${String(position?.epoch ?? epochsDone).padStart(3, "0")}` +
    (position ? `-step-${String(position.step).padStart(5, "0")}` : "");
  const folder = `${out}/checkpoints`;
  // A folder of that name may be the latest checkpoint itself (a run stopped again at the step
  // it resumed from): never replace it in place; the new one gets a name of its own.
  if (await exists(`${folder}/${name}`)) name += `-${crypto.randomUUID().slice(0, 8)}`;
  const staging = `${folder}/.${name}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  const failed = (what: string, error: unknown) =>
    new RunFolderError(
      `${out}: ${what} failed (${(error as Error).message}); ${CHECKPOINT_POINTER} still points ` +
        "at the previous checkpoint, which is unchanged",
      { cause: error },
    );
  try {
    await Deno.mkdir(staging, { recursive: true });
    await saveModelFolder(staging, mapped, trainingRecord(config, epochsDone));
    await writeFileAtomic(`${staging}/history.json`, JSON.stringify(history, null, 2));
    await saveState(`${staging}/optimizer`, trainerState);
    if (position) {
      await writeFileAtomic(`${staging}/${POSITION_FILE}`, JSON.stringify(position, null, 2));
    }
    await Deno.rename(staging, `${folder}/${name}`);
  } catch (error) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw failed(`writing checkpoint ${name}`, error);
  }
  const pointer: CheckpointPointer = {
    latest: `checkpoints/${name}`,
    epoch: epochsDone,
    ...(position ? { partial: { epoch: position.epoch, step: position.step } } : {}),
  };
  try {
    await writeFileAtomic(`${out}/${CHECKPOINT_POINTER}`, JSON.stringify(pointer));
  } catch (error) {
    await Deno.remove(`${folder}/${name}`, { recursive: true }).catch(() => {});
    throw failed(`pointing ${CHECKPOINT_POINTER} at checkpoint ${name}`, error);
  }
  for await (const entry of Deno.readDir(folder)) {
    if (entry.name !== name) await Deno.remove(`${folder}/${entry.name}`, { recursive: true });
  }
  try {
    await writeFileAtomic(`${out}/history.json`, JSON.stringify(history, null, 2));
  } catch (error) {
    throw new RunFolderError(
      `${out}: checkpoint ${name} is written, but history.json (a copy of its history) could ` +
        `not be updated (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

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
    const type = key === "limit" ? "number or null" : typeof DEFAULT_TRAIN_CONFIG[key];
    const actual = value === null ? "null" : typeof value;
    if (!type.split(" or ").includes(actual)) {
      bad(`training.${key} must be a ${type}, got ${JSON.stringify(value)}`);
    }
    settings[key] = value;
  }
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
 * @throws {RunFolderError} naming the file when the checkpoint does not load or a file of it is
 *   malformed (the tagger is disposed of then)
 */
export async function resumeRun(
  out: string,
  pointer: CheckpointPointer,
  epochs: number | undefined,
): Promise<ResumedRun> {
  let checkpoint = `${out}/${pointer.latest}`;
  let loaded: LoadedTagger;
  try {
    // Through the run folder, so the pointer is checked to stay inside it (links followed).
    loaded = await loadTaggerFolder(out);
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
      config: { ...saved, epochs: epochs ?? saved.epochs },
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
 * `epochs` never counts (resuming may ask for more). A model setting given is compared with the
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
    if (value === undefined || key === "epochs" || key === "model") continue;
    const was = (saved as unknown as Record<string, unknown>)[key];
    if (!Object.is(value, was)) differences.push({ field: key, saved: was, given: value });
  }
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
      `${out}: cannot resume with settings other than the run's own (only epochs may change):\n` +
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

/**
 * Makes sure a run folder can take checkpoints, before any training: `out` is a folder (created
 * if missing) and files can be written in it and in its `checkpoints/` when that exists (a probe
 * file is written and removed in each).
 *
 * @param out the run folder
 * @returns whether the folder was created now
 * @throws {RunFolderError} naming the folder when it is a file, or cannot be created or written
 */
export async function prepareRunFolder(out: string): Promise<boolean> {
  let created = false;
  try {
    const stat = await Deno.stat(out);
    if (!stat.isDirectory) {
      throw new RunFolderError(`${out}: not a folder (a file is in the way); choose another --out`);
    }
  } catch (error) {
    if (error instanceof RunFolderError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new RunFolderError(
        `${out}: cannot use it as the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
    try {
      await Deno.mkdir(out, { recursive: true });
      created = true;
    } catch (inner) {
      throw new RunFolderError(
        `${out}: cannot create the run folder (${(inner as Error).message})`,
        { cause: inner },
      );
    }
  }
  await probeWritable(out);
  return created;
}

/**
 * A rough size of one checkpoint of a tagger: its float32 weights and the optimiser's two
 * moments of each (3× the weights), plus 1 MiB for maps and JSON.
 *
 * @param tagger the tagger trained
 */
export function checkpointBytes(tagger: Tagger): number {
  return 3 * 4 * tagger.model.countParams() + 2 ** 20;
}

/** Bytes as MiB with one decimal. */
function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Checks that a run folder has room for what training will write there. Free space is read
 * with `statfs` (node:fs; it needs read permission on the folder); where it cannot be read
 * (no permission, a platform without it) the check is skipped and the reason returned.
 *
 * @param out the run folder
 * @param needed bytes needed
 * @returns null when checked, else why it was not
 * @throws {RunFolderError} naming the folder when less than `needed` is free
 */
export async function checkFreeSpace(out: string, needed: number): Promise<string | null> {
  let available: number;
  try {
    const stats = await statfs(out);
    available = Number(stats.bavail) * Number(stats.bsize);
  } catch (error) {
    return `free space in ${out} not checked: ${(error as Error).message}`;
  }
  if (!Number.isFinite(available)) return `free space in ${out} not checked: not reported`;
  if (available < needed) {
    throw new RunFolderError(
      `${out}: too little free space for checkpoints: ${mebibytes(available)} free, about ` +
        `${mebibytes(needed)} needed (a checkpoint — weights and the optimiser's two moments — ` +
        "and the next one written beside it)",
    );
  }
  return null;
}

/** The error for a run folder that holds a run, when a new run was asked for. */
export function alreadyHoldsRun(out: string, epoch: number): RunFolderError {
  return new RunFolderError(
    `${out} already holds a training run (epoch ${epoch} done): ` +
      "pass --resume to continue it, or choose another --out",
  );
}

/** The error for resuming a folder without a checkpoint. */
export function nothingToResume(out: string): RunFolderError {
  return new RunFolderError(
    `${out}: nothing to resume: the folder holds no checkpoint (${CHECKPOINT_POINTER}); ` +
      "leave out --resume to start a new run in it",
  );
}

/**
 * The checks {@linkcode prepareRunFolder}, the lock and resuming make of a run folder, made
 * without training and without leaving anything behind, so that a command fails within a
 * second rather than after loading its data: `out` is a folder or can be created, can be
 * written, is not locked by a running training, and holds a checkpoint exactly when resuming.
 * (The free space is checked once the model's size is known, by training itself.)
 *
 * @param out the run folder
 * @param options `resume`: whether the run is to be continued
 * @throws {RunFolderError} (a {@linkcode RunLockedError} for a lock) naming the folder
 */
export async function checkRunFolder(out: string, options: { resume: boolean }): Promise<void> {
  let stat: Deno.FileInfo | null = null;
  try {
    stat = await Deno.stat(out);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new RunFolderError(
        `${out}: cannot use it as the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  if (stat === null) {
    if (options.resume) throw nothingToResume(out);
    // Create it (and any missing parents) to see that it can be, then remove what was created.
    let top = out;
    while (!(await exists(dirname(top))) && dirname(top) !== top) top = dirname(top);
    try {
      await Deno.mkdir(out, { recursive: true });
    } catch (error) {
      throw new RunFolderError(
        `${out}: cannot create the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
    await Deno.remove(top, { recursive: true }).catch(() => {});
    return;
  }
  if (!stat.isDirectory) {
    throw new RunFolderError(`${out}: not a folder (a file is in the way); choose another --out`);
  }
  const holder = await runLockHolder(out);
  if (holder) throw new RunLockedError(out, `${out}/${LOCK_FILE}`, holder);
  const pointer = await readPointer(out);
  if (options.resume && !pointer) throw nothingToResume(out);
  if (!options.resume && pointer) throw alreadyHoldsRun(out, pointer.epoch);
  await probeWritable(out);
}

/** Writes and removes a probe file in `out` and in its `checkpoints/` when that exists. */
async function probeWritable(out: string): Promise<void> {
  const folders = (await exists(`${out}/checkpoints`)) ? [out, `${out}/checkpoints`] : [out];
  for (const folder of folders) {
    const probe = `${folder}/.write-probe-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeTextFile(probe, "probe", { createNew: true });
      await Deno.remove(probe);
    } catch (error) {
      await Deno.remove(probe).catch(() => {});
      throw new RunFolderError(
        `${out}: cannot write checkpoints in the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
}
