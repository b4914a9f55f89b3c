/**
 * A training run folder's checkpoints: after every epoch a complete model folder (tagger, maps,
 * config with the training record, history, optimiser state) is written beside the previous
 * one and renamed into place, then `checkpoint.json` is pointed at it, so a run killed at any
 * moment resumes from its last complete epoch. A run stopped on request (Ctrl-C, Jupyter's
 * Interrupt) also writes a mid-epoch checkpoint with the epoch's position, and resumes from
 * that step to the weights an uninterrupted run reaches.
 *
 * @module
 */
import { readJSONFile, writeFileAtomic } from "../io/files.ts";
import {
  CHECKPOINT_POINTER,
  type LoadedTagger,
  loadTaggerFolder,
  saveModelFolder,
  type TrainingRecord,
} from "../io/model_folder.ts";
import { loadState, saveState } from "../io/state_file.ts";
import type { MappedTagger } from "../model/mapped.ts";
import { modelSettingsOf, type ResolvedTrainConfig, resolveTrainConfig } from "./config.ts";
import type { EpochPosition } from "./epoch.ts";
import type { History } from "./history.ts";
import type { TrainerState } from "./trainer.ts";

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

/** Reads a run folder's pointer to its latest checkpoint, or null when there is none. */
export async function readPointer(out: string): Promise<CheckpointPointer | null> {
  try {
    await Deno.stat(`${out}/${CHECKPOINT_POINTER}`);
  } catch {
    return null;
  }
  return await readJSONFile<CheckpointPointer>(
    `${out}/${CHECKPOINT_POINTER}`,
    "checkpoint pointer",
  );
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
  const name = `epoch-${String(position?.epoch ?? epochsDone).padStart(3, "0")}` +
    (position ? `-step-${String(position.step).padStart(5, "0")}` : "");
  const folder = `${out}/checkpoints`;
  const staging = `${folder}/.${name}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(staging, { recursive: true });
  await saveModelFolder(staging, mapped, trainingRecord(config, epochsDone));
  await writeFileAtomic(`${staging}/history.json`, JSON.stringify(history, null, 2));
  await saveState(`${staging}/optimizer`, trainerState);
  if (position) {
    await writeFileAtomic(`${staging}/${POSITION_FILE}`, JSON.stringify(position, null, 2));
  }
  await Deno.remove(`${folder}/${name}`, { recursive: true }).catch(() => {});
  await Deno.rename(staging, `${folder}/${name}`);
  const pointer: CheckpointPointer = {
    latest: `checkpoints/${name}`,
    epoch: epochsDone,
    ...(position ? { partial: { epoch: position.epoch, step: position.step } } : {}),
  };
  await writeFileAtomic(`${out}/${CHECKPOINT_POINTER}`, JSON.stringify(pointer));
  await writeFileAtomic(`${out}/history.json`, JSON.stringify(history, null, 2));
  for await (const entry of Deno.readDir(folder)) {
    if (entry.name !== name) await Deno.remove(`${folder}/${entry.name}`, { recursive: true });
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

/**
 * Restores a run from its latest checkpoint: the tagger, its settings (the tagger's own
 * config for the model settings and `maxLen`, the training record for the rest), history and
 * optimiser state.
 *
 * @param out the run folder
 * @param pointer its checkpoint pointer
 * @param epochs the epochs asked for now, if given (the saved count otherwise)
 */
export async function resumeRun(
  out: string,
  pointer: CheckpointPointer,
  epochs: number | undefined,
): Promise<ResumedRun> {
  const checkpoint = `${out}/${pointer.latest}`;
  const loaded = await loadTaggerFolder(checkpoint);
  const { epochsDone: _done, ...record } = loaded.config.training ?? {};
  const saved = resolveTrainConfig({
    ...record,
    maxLen: loaded.tagger.config.maxLen,
    model: modelSettingsOf(loaded.tagger.config),
  });
  return {
    loaded,
    config: { ...saved, epochs: epochs ?? saved.epochs },
    history: await readJSONFile<History>(`${checkpoint}/history.json`, "history"),
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
}
