/**
 * The save/load stage: model folders (a tagger, its maps and its one config), training run
 * folders, ensemble folders, the tfjs file handler, atomic files and project paths.
 *
 * @example
 * ```ts
 * import { loadModelFolder, projectPath } from "./mod.ts";
 * const loaded = await loadModelFolder(projectPath("data/model"));
 * console.log(loaded.members.length); // 4: the shipped model is an ensemble
 * ```
 *
 * @module
 */
export {
  checkMapsFitConfig,
  CHECKPOINT_POINTER,
  disposeLoadedTagger,
  folderConfig,
  loadTaggerFolder,
  migrateConfig,
  MODEL_FOLDER_VERSION,
  resolveModelDirectory,
  saveModelFolder,
} from "./model_folder.ts";
export type {
  CheckpointPointerFile,
  LoadedTagger,
  ModelFolderConfig,
  TrainingRecord,
} from "./model_folder.ts";
export {
  checkEnsembleConfig,
  checkEnsembleMembers,
  disposeLoadedModel,
  ENSEMBLE_FILE,
  loadModelFolder,
  saveEnsembleFolder,
} from "./ensemble_folder.ts";
export type { EnsembleFolderConfig, LoadedModel, SaveEnsembleOptions } from "./ensemble_folder.ts";
export * from "./model_io.ts";
export * from "../fs/files.ts";
export * from "../fs/replace_folder.ts";
export * from "../fs/inside.ts";
export * from "./state_file.ts";
export * from "../fs/paths.ts";
export * from "./runs.ts";
export * from "./run_evaluations.ts";
export {
  acquireRunLock,
  LOCK_FILE,
  RunFolderError,
  RunLockedError,
  runLockHolder,
} from "./run_lock.ts";
export type { LockHolder, RunLock } from "./run_lock.ts";
