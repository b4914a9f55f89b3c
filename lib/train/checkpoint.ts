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
 * checked (lib/train/run_folder_checks.ts); resuming checks every file it reads, naming the file
 * and field of a malformed one, and lists the settings given that differ from the run's
 * (lib/train/resume.ts). Each such failure is a {@linkcode RunFolderError}.
 *
 * @module
 */
import { exists, readJSONFile, writeFileAtomic } from "../fs/files.ts";
import {
  type BestCheckpoint,
  checkCheckpointPointer,
  CHECKPOINT_POINTER,
  saveModelFolder,
  type TrainingRecord,
} from "../io/model_folder.ts";
import { saveState } from "../io/state_file.ts";
import type { MappedTagger } from "../model/mapped.ts";
import { type ResolvedTrainConfig } from "./config.ts";
import type { DataFingerprint } from "./data_fingerprint.ts";
import type { EpochPosition } from "./epoch.ts";
import type { History } from "./history.ts";
import { RunFolderError } from "../io/run_lock.ts";
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
  /** The best epoch's checkpoint (by validation entity F1), kept beside the latest. */
  best?: BestCheckpoint;
}

/** The file of a mid-epoch checkpoint that says where its epoch stands. */
export const POSITION_FILE = "epoch_position.json";

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
  try {
    checkCheckpointPointer(pointer, path);
  } catch (error) {
    throw new RunFolderError((error as Error).message, { cause: error });
  }
  const best = pointer.best as BestCheckpoint | undefined;
  if (best && !LATEST.test(best.checkpoint)) {
    bad(`best.checkpoint must name a folder under checkpoints/, got ${JSON.stringify(best)}`);
  }
  return pointer as unknown as CheckpointPointer;
}

/**
 * The best epoch of a history by validation entity F1 (the earliest of equals), or null when no
 * epoch has a finite validation F1 (a run without validation).
 *
 * @param history the epochs done
 * @returns the epoch (1-based, as the history numbers it) and its F1
 */
export function bestEpochOf(history: History): { epoch: number; valF1: number } | null {
  let best: { epoch: number; valF1: number } | null = null;
  const scores = history.valF1 ?? [];
  for (let index = 0; index < history.epoch.length; index++) {
    const valF1 = scores[index];
    if (typeof valF1 !== "number" || !Number.isFinite(valF1)) continue;
    if (best === null || valF1 > best.valF1) best = { epoch: history.epoch[index], valF1 };
  }
  return best;
}

/**
 * The training record a checkpoint stores: the settings without those the tagger config holds
 * (`maxLen`, `model`), the epochs done, and which settings were given explicitly (flags, a
 * `--config` file, a notebook's settings) rather than taken from the preset or the defaults, by
 * their paths (`learningRate`, `model.units`; the values are the record's and the tagger's).
 *
 * @param config the resolved settings
 * @param epochsDone complete epochs
 * @param overrides the paths of the settings given
 */
export function trainingRecord(
  config: ResolvedTrainConfig,
  epochsDone: number,
  overrides?: readonly string[],
): TrainingRecord {
  const { model: _model, maxLen: _maxLen, ...settings } = config;
  return { ...settings, epochsDone, ...(overrides ? { overrides: [...overrides] } : {}) };
}

/**
 * The paths of the settings given, for {@linkcode trainingRecord}: `epochs`, `model.units`,
 * `data` (objects other than `model` count as one setting); undefined fields left out.
 *
 * @example
 * ```ts
 * import { givenSettings } from "./checkpoint.ts";
 * givenSettings({ epochs: 3, seed: undefined, model: { units: 50 } }); // ["epochs", "model.units"]
 * ```
 *
 * @param given the settings as given
 */
export function givenSettings(given: object | undefined): string[] {
  const paths: string[] = [];
  for (const [key, value] of Object.entries(given ?? {})) {
    if (value === undefined) continue;
    if (key === "model" && value !== null && typeof value === "object") {
      for (const [field, inner] of Object.entries(value)) {
        if (inner !== undefined) paths.push(`model.${field}`);
      }
    } else paths.push(key);
  }
  return paths.sort();
}

/**
 * Writes a checkpoint into `out/checkpoints/<name>` (via a temp folder renamed into place), then
 * points `out/checkpoint.json` at it (and at the best epoch's checkpoint, which is this one when
 * its validation F1 is the best so far), then removes the checkpoints that are neither. A crash
 * at any moment leaves the previous checkpoints loadable.
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
    overrides?: readonly string[];
    dataFingerprint?: DataFingerprint;
  },
): Promise<void> {
  const { mapped, config, history, trainerState, position, overrides, dataFingerprint } = state;
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
    await saveModelFolder(staging, mapped, {
      ...trainingRecord(config, epochsDone, overrides),
      ...(dataFingerprint ? { dataFingerprint } : {}),
    });
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
  const best = await bestCheckpointAfter(out, history, position ? null : name);
  const pointer: CheckpointPointer = {
    latest: `checkpoints/${name}`,
    epoch: epochsDone,
    ...(position ? { partial: { epoch: position.epoch, step: position.step } } : {}),
    ...(best ? { best } : {}),
  };
  try {
    await writeFileAtomic(`${out}/${CHECKPOINT_POINTER}`, JSON.stringify(pointer));
  } catch (error) {
    await Deno.remove(`${folder}/${name}`, { recursive: true }).catch(() => {});
    throw failed(`pointing ${CHECKPOINT_POINTER} at checkpoint ${name}`, error);
  }
  const keep = new Set([name, best?.checkpoint.slice("checkpoints/".length)]);
  for await (const entry of Deno.readDir(folder)) {
    if (!keep.has(entry.name)) await Deno.remove(`${folder}/${entry.name}`, { recursive: true });
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

/**
 * The best checkpoint once a checkpoint is written: the new one when its epoch is the history's
 * best (`written`, null for a mid-epoch checkpoint), else the one the run's pointer already
 * names for that epoch; none when no epoch was validated or the old pointer kept no best.
 */
async function bestCheckpointAfter(
  out: string,
  history: History,
  written: string | null,
): Promise<BestCheckpoint | undefined> {
  const best = bestEpochOf(history);
  if (best === null) return undefined;
  const lastEpoch = history.epoch[history.epoch.length - 1];
  if (written !== null && best.epoch === lastEpoch) {
    return { checkpoint: `checkpoints/${written}`, ...best };
  }
  const previous = (await readPointer(out))?.best;
  return previous?.epoch === best.epoch ? previous : undefined;
}
