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
export * from "./files.ts";
export * from "./state_file.ts";
export * from "./paths.ts";
export * from "./runs.ts";
