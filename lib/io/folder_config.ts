/**
 * What a model folder's `config.json` holds: the tagger's resolved config and, when this project
 * trained it, the training record. Loading, saving and migration: lib/io/model_folder.ts and
 * lib/io/_migrate.ts.
 *
 * @module
 */
import type { TaggerConfig } from "../model/config.ts";

/** How a tagger was trained, as recorded in its folder (the training settings, resolved). */
export interface TrainingRecord {
  /** Epochs complete when the folder was written. */
  epochsDone?: number;
  /** Training settings (lib/train/config.ts), without those the tagger config holds. */
  [setting: string]: unknown;
}

/** What `config.json` of a model folder holds (format version 2). */
export interface ModelFolderConfig {
  /** Always `"bilstm-ner-model"`. */
  format: "bilstm-ner-model";
  /** Format version. */
  version: 2;
  /** The tagger's resolved config: its shape, once. */
  tagger: TaggerConfig;
  /** How it was trained, when this project trained it. */
  training?: TrainingRecord;
}

/** The current format version of `config.json`. */
export const MODEL_FOLDER_VERSION = 2;

/** The file whose presence makes a folder an ensemble. */
export const ENSEMBLE_FILE = "ensemble.json";
