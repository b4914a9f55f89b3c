/**
 * Model folders: a trained tagger with everything needed to use it again.
 *
 * A model folder holds `model.json` + `weights.bin` (the tagger's tfjs-layers graph and weights,
 * lib/io/model_io.ts), `vocab.json` (word/tag maps), `chars.json` (the character map, with char
 * features) and `config.json` ({@linkcode ModelFolderConfig}): the tagger's resolved config,
 * stored once, and how it was trained. Loading builds the tagger from that config and assigns
 * the stored weights to it, checking that maps, config and weights agree.
 *
 * A training run folder also holds `checkpoint.json`, pointing at its latest complete epoch
 * under `checkpoints/`; loading a run folder loads that epoch. An ensemble folder holds
 * `ensemble.json` and one model folder per member (lib/io/ensemble_folder.ts).
 *
 * Loading checks every file it reads and names the file and the field at fault: the JSON files
 * (`config.json`, `vocab.json`, `chars.json`, `model.json`, `checkpoint.json`) for missing
 * fields and wrong types, the weights for NaN and ±Infinity (`weights.bin: weight "…" has N
 * non-finite values`), and paths for staying inside their folder: a run's `checkpoint.json`
 * must point inside the run folder, and the weights files `model.json` names inside the model
 * folder, symbolic links followed. Before a byte of `config.json`, `vocab.json`, `chars.json`,
 * `model.json` or a weights file is read, the file must be a regular file (not a FIFO, a device
 * or a socket, which could block or never end) inside the model folder once links are followed,
 * and no larger than it can be: the weights exactly the bytes `model.json`'s manifest implies,
 * a JSON file at most 64 MiB. Errors name the file.
 *
 * Format versions: 2 (this one). Version 1 folders (written before the tagger had one config:
 * `maxLen`, `modelType` and a partial `model` record) load through {@linkcode migrateConfig}.
 *
 * @module
 */
import { charVocabToJSON } from "../data/chars.ts";
import { saveVocab } from "../data/vocab.ts";
import type { MappedTagger } from "../model/mapped.ts";
import type { Tagger } from "../model/tagger.ts";
import { findFolderLeftovers, type LeftoverKind } from "../fs/replace_folder.ts";
import { resolveInsideFolder } from "../fs/inside.ts";
import { exists, readJSONIfAny, writeFileAtomic } from "../fs/files.ts";
import { notAModelError } from "./_folder_kind.ts";
import { fileIOHandler, type FileIOOptions } from "./model_io.ts";
import { migrateConfig } from "./_migrate.ts";
import { checkMapsFitConfig, type LoadedTagger, loadTaggerFrom } from "./_build_tagger.ts";
import { diskSource } from "./_disk_source.ts";
import {
  ENSEMBLE_FILE,
  MODEL_FOLDER_VERSION,
  type ModelFolderConfig,
  type TrainingRecord,
} from "./folder_config.ts";

export { migrateConfig };
export { checkMapsFitConfig, type LoadedTagger };

export { MODEL_FOLDER_VERSION } from "./folder_config.ts";
export type { ModelFolderConfig, TrainingRecord } from "./folder_config.ts";

/** The pointer file a training run folder keeps to its latest complete checkpoint. */
export const CHECKPOINT_POINTER = "checkpoint.json";

/** The `config.json` a folder written now holds for a tagger and its training record. */
export function folderConfig(tagger: Tagger, training?: TrainingRecord): ModelFolderConfig {
  return {
    format: "bilstm-ner-model",
    version: MODEL_FOLDER_VERSION,
    tagger: tagger.config,
    ...(training === undefined ? {} : { training }),
  };
}

/**
 * Saves a tagger, its maps and its config into a folder (each file atomically).
 *
 * @param directory the folder (created if missing)
 * @param mapped the tagger and its maps
 * @param training how it was trained (stored in `config.json`)
 * @param options weight storage (e.g. float16)
 */
export async function saveModelFolder(
  directory: string,
  mapped: MappedTagger,
  training?: TrainingRecord,
  options: FileIOOptions = {},
): Promise<void> {
  const { tagger, vocab, chars } = mapped;
  checkMapsFitConfig(tagger.config, vocab, chars, directory);
  await Deno.mkdir(directory, { recursive: true });
  await tagger.model.save(fileIOHandler(directory, options));
  await saveVocab(vocab, `${directory}/vocab.json`);
  if (chars) {
    await writeFileAtomic(`${directory}/chars.json`, JSON.stringify(charVocabToJSON(chars)));
  }
  await writeFileAtomic(
    `${directory}/config.json`,
    JSON.stringify(folderConfig(tagger, training), null, 2),
  );
}

/** What `checkpoint.json` of a training run folder holds, as model loading reads it. */
export interface CheckpointPointerFile {
  /** The latest checkpoint folder, relative to the run folder (e.g. `checkpoints/epoch-005`). */
  latest: string;
  /** Epochs complete in it. */
  epoch?: number;
  /** When the latest checkpoint is mid-epoch: that epoch and its steps done. */
  partial?: { epoch: number; step: number };
  /**
   * The checkpoint of the epoch with the best validation entity F1 so far (the earliest of
   * equals), kept beside the latest: the run's model. Absent in runs without validation, and in
   * runs written before it existed (their model is the latest checkpoint).
   */
  best?: BestCheckpoint;
}

/** The best epoch's checkpoint of a run (see {@linkcode CheckpointPointerFile.best}). */
export interface BestCheckpoint {
  /** Its folder, relative to the run folder (e.g. `checkpoints/epoch-003`). */
  checkpoint: string;
  /** Its epoch (1-based). */
  epoch: number;
  /** Its validation entity F1. */
  valF1: number;
}

/**
 * Which checkpoint of a training run folder a command loads: `"best"` (the epoch with the best
 * validation entity F1, the default; the latest when the run kept no best) or `"last"` (the
 * latest, which `--resume` continues from).
 */
export type CheckpointChoice = "best" | "last";

/** The checkpoint choices, for flags. */
export const CHECKPOINT_CHOICES: readonly CheckpointChoice[] = ["best", "last"];

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a value is an integer >= 0. */
function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Checks the parsed `checkpoint.json` of a run folder.
 *
 * @param value the parsed file
 * @param file its path, for messages
 * @returns the pointer
 * @throws {Error} naming the file and the field that is missing or of the wrong type
 */
export function checkCheckpointPointer(value: unknown, file: string): CheckpointPointerFile {
  const bad = (field: string, problem: string, got?: unknown): never => {
    throw new Error(
      `${file}: field "${field}" ${problem}` +
        (got === undefined ? "" : `, got ${JSON.stringify(got)?.slice(0, 80)}`),
    );
  };
  if (!isRecord(value)) {
    throw new Error(`${file}: not a checkpoint pointer (a JSON object with "latest")`);
  }
  if (value.latest === undefined) bad("latest", "is missing");
  if (typeof value.latest !== "string" || value.latest === "") {
    bad("latest", "must be a non-empty folder path", value.latest);
  }
  if (value.epoch !== undefined && !isCount(value.epoch)) {
    bad("epoch", "must be an integer >= 0", value.epoch);
  }
  if (value.partial !== undefined) {
    const partial = value.partial;
    if (!isRecord(partial)) bad("partial", "must be an object", partial);
    const { epoch, step } = partial as Record<string, unknown>;
    if (!isCount(epoch)) bad("partial.epoch", "must be an integer >= 0", epoch);
    if (!isCount(step)) bad("partial.step", "must be an integer >= 0", step);
  }
  if (value.best !== undefined) {
    const best = value.best;
    if (!isRecord(best)) bad("best", "must be an object", best);
    const { checkpoint, epoch, valF1 } = best as Record<string, unknown>;
    if (typeof checkpoint !== "string" || checkpoint === "") {
      bad("best.checkpoint", "must be a non-empty folder path", checkpoint);
    }
    if (!isCount(epoch) || epoch < 1) bad("best.epoch", "must be an integer >= 1", epoch);
    if (typeof valF1 !== "number" || !Number.isFinite(valF1)) {
      bad("best.valF1", "must be a finite number", valF1);
    }
  }
  return value as unknown as CheckpointPointerFile;
}

/**
 * Reads a run folder's `checkpoint.json` and resolves the checkpoint asked for (the best epoch's
 * by default, else the latest), which must lie inside the run folder once symbolic links are
 * followed.
 *
 * @param directory the run folder
 * @param choice `"best"` (the latest when the run kept no best) or `"last"`
 * @returns the pointer and the checkpoint folder, or null when the folder has no pointer
 * @throws {Error} naming `checkpoint.json` and the field when it is unreadable, malformed, or
 *   points outside the run folder or at nothing
 */
export async function readCheckpointPointer(
  directory: string,
  choice: CheckpointChoice = "best",
): Promise<{ pointer: CheckpointPointerFile; checkpoint: string } | null> {
  const file = `${directory}/${CHECKPOINT_POINTER}`;
  const parsed = await readJSONIfAny(file, "checkpoint pointer");
  if (parsed === undefined) return null;
  const pointer = checkCheckpointPointer(parsed, file);
  const best = choice === "best" ? pointer.best : undefined;
  const checkpoint = await resolveInsideFolder(
    directory,
    best ? best.checkpoint : pointer.latest,
    file,
    best ? 'field "best.checkpoint"' : 'field "latest"',
  );
  return { pointer, checkpoint };
}

/**
 * The error for a model folder that is not there, naming what an interrupted export
 * (`replaceFolder` of lib/fs/replace_folder.ts) left beside it: the previous model (moved aside, whole,
 * when the export was killed between the two renames of its swap: it is named with how to put
 * it back) or an unfinished new folder. Loading only reads, so nothing is renamed here: commands that
 * load (predict, evaluate, serve) may not write there; `deno task export` to the same folder
 * puts the previous model back itself before writing.
 */
async function missingFolderError(directory: string): Promise<Error> {
  const base = `${directory}: model folder not found`;
  const leftovers = await findFolderLeftovers(directory).catch(() => []);
  const list = (kind: LeftoverKind) =>
    leftovers.filter((leftover) => leftover.kind === kind).map((leftover) => leftover.path);
  const live = leftovers.filter((leftover) => leftover.live).map((leftover) => leftover.path);
  const previous = list("previous");
  const staging = list("staging");
  if (live.length > 0) {
    return new Error(
      `${base}: an export is replacing it right now (it holds ${live.join(", ")}); try again ` +
        "once it ends",
    );
  }
  if (previous.length === 1) {
    return new Error(
      `${base}; an interrupted export left the previous model in ${previous[0]}: rename it ` +
        `back (mv ${previous[0]} ${directory}), or run deno task export --to ${directory} ` +
        "again (it puts it back first)",
    );
  }
  if (previous.length > 1) {
    return new Error(
      `${base}; interrupted exports left earlier models beside it (${previous.join(", ")}): ` +
        `rename the one to keep back to ${directory}`,
    );
  }
  if (staging.length > 0) {
    return new Error(
      `${base}; an export to it was interrupted before it finished (its unfinished folder ` +
        `${staging.join(", ")} can be removed): run deno task export again`,
    );
  }
  return new Error(base);
}

/**
 * Resolves a run folder to the folder of one of its checkpoints (the best epoch's unless
 * `choice` is `"last"`); a plain model folder resolves to itself. The checkpoint must lie
 * inside the run folder (symbolic links followed).
 *
 * @param directory a model folder or a training run folder
 * @param choice which checkpoint of a run folder: `"best"` (default) or `"last"`
 * @returns the folder that holds `model.json` (or `ensemble.json`)
 * @throws {Error} naming the folder when it is missing (and, when an interrupted export left
 *   the previous model beside it, naming that folder and how to put it back), or
 *   `checkpoint.json` when it is malformed or points outside the run folder
 */
export async function resolveModelDirectory(
  directory: string,
  choice: CheckpointChoice = "best",
): Promise<string> {
  directory = directory.replace(/(?<=.)\/+$/, "");
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(directory);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw await missingFolderError(directory);
    throw new Error(`${directory}: cannot read the model folder (${(error as Error).message})`);
  }
  if (!info.isDirectory) throw new Error(`${directory}: is a file, not a model folder`);
  const resolved = await readCheckpointPointer(directory, choice);
  if (resolved !== null) return resolved.checkpoint;
  if (
    !(await exists(`${directory}/config.json`)) && !(await exists(`${directory}/${ENSEMBLE_FILE}`))
  ) {
    throw await notAModelError(directory);
  }
  return directory;
}

/**
 * Loads one tagger from a model folder (not an ensemble; a run folder loads its best epoch's
 * checkpoint, or with `choice` `"last"` its latest).
 *
 * @param directory the folder
 * @param choice which checkpoint of a run folder: `"best"` (default) or `"last"`
 * @returns the tagger, its maps and its config
 * @throws {Error} naming the folder or file when files are missing, corrupt or mismatched
 */
export async function loadTaggerFolder(
  directory: string,
  choice: CheckpointChoice = "best",
): Promise<LoadedTagger> {
  return await loadTaggerFrom(diskSource(await resolveModelDirectory(directory, choice)));
}

/** Frees a loaded tagger's weights. */
export function disposeLoadedTagger(loaded: LoadedTagger): void {
  loaded.tagger.dispose();
}
