/**
 * A training run folder's checkpoints: after every epoch a complete model folder (tagger, maps,
 * config with the training record, history, optimiser state) is written beside the previous
 * one and renamed into place, then `checkpoint.json` is pointed at it, so a run interrupted at
 * any moment resumes from its last complete epoch.
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
import type { History } from "./history.ts";
import type { TrainerState } from "./trainer.ts";

/** What `checkpoint.json` of a run folder holds. */
export interface CheckpointPointer {
  /** The latest complete checkpoint, relative to the run folder. */
  latest: string;
  /** Epochs complete in it. */
  epoch: number;
}

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
 * Writes a complete checkpoint into `out/checkpoints/epoch-NNN` (via a temp folder renamed into
 * place), then points `out/checkpoint.json` at it, then removes older checkpoints.
 *
 * @param out the run folder
 * @param epoch the epoch just completed
 * @param mapped the tagger and its maps
 * @param config the run's settings
 * @param history the history so far
 * @param trainerState the optimiser state
 */
export async function writeCheckpoint(
  out: string,
  epoch: number,
  mapped: MappedTagger,
  config: ResolvedTrainConfig,
  history: History,
  trainerState: TrainerState,
): Promise<void> {
  const name = `epoch-${String(epoch).padStart(3, "0")}`;
  const folder = `${out}/checkpoints`;
  const staging = `${folder}/.${name}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(staging, { recursive: true });
  await saveModelFolder(staging, mapped, trainingRecord(config, epoch));
  await writeFileAtomic(`${staging}/history.json`, JSON.stringify(history, null, 2));
  await saveState(`${staging}/optimizer`, trainerState);
  await Deno.remove(`${folder}/${name}`, { recursive: true }).catch(() => {});
  await Deno.rename(staging, `${folder}/${name}`);
  const pointer: CheckpointPointer = { latest: `checkpoints/${name}`, epoch };
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
  };
}
