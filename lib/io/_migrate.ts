/**
 * Reading `config.json` of any format version into the current one (2).
 *
 * Version 1 stored `maxLen` and `modelType` at the top, the builder's settings as given (a
 * partial `model` record, which could miss settings: a model built by the caller was recorded
 * as `modelType: "bilstm"` with no `units`), the training settings (again with `model` and
 * `maxLen`), and left the map sizes to the map files. Version 2 stores the tagger's resolved
 * config once (`tagger`) and the training settings without what the tagger config holds.
 * A v1 record that does not describe its weights is caught when the weights are assigned.
 *
 * @module
 */
import type { CharVocab } from "../data/chars.ts";
import type { Vocab } from "../data/vocab.ts";
import { ConfigError } from "../errors.ts";
import { resolveTaggerConfig, type TaggerOptions } from "../model/config.ts";
import type { ModelFolderConfig, TrainingRecord } from "./folder_config.ts";

/** What a v1 `config.json` held. */
interface ConfigV1 {
  format: "bilstm-ner-model";
  version: 1;
  maxLen: number;
  modelType?: string;
  model?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

/** The folder's maps, which give the sizes a v1 config left out. */
export interface FolderMaps {
  /** The word/tag maps (`vocab.json`). */
  vocab: Vocab;
  /** The character map (`chars.json`), or null. */
  chars: CharVocab | null;
  /** The config file's path, for messages. */
  path: string;
}

/** Resolves a stored tagger config, naming the file and the field on a bad value. */
function resolveStored(options: TaggerOptions, path: string, prefix: string) {
  try {
    return resolveTaggerConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new Error(`${path}: ${prefix}${error.message}`);
    }
    throw error;
  }
}

/** Training settings without those the tagger config now holds once. */
function trainingWithoutModel(training: Record<string, unknown>): TrainingRecord {
  const { model: _model, maxLen: _maxLen, ...rest } = training;
  return rest;
}

/**
 * A stored `config.json` in the current format (version 2).
 *
 * @param stored the parsed file
 * @param maps the folder's maps
 * @returns the config, its tagger config resolved and checked
 * @throws {Error} naming the file when it is not a model config, is of an unknown version or
 *   holds a bad setting
 */
export function migrateConfig(stored: unknown, maps: FolderMaps): ModelFolderConfig {
  const { path } = maps;
  const record = stored as { format?: unknown; version?: unknown } | null;
  if (!isRecord(record) || record.format !== "bilstm-ner-model") {
    throw new Error(`${path}: not a bilstm-ner model config (format "bilstm-ner-model")`);
  }
  if (record.version === 2) {
    const v2 = stored as ModelFolderConfig;
    if (v2.tagger === undefined) throw new Error(`${path}: the "tagger" config is missing`);
    if (!isRecord(v2.tagger)) {
      throw new Error(`${path}: field "tagger" must be an object (the tagger's config)`);
    }
    const training = checkTraining(v2.training, path, "training");
    return {
      ...v2,
      tagger: resolveStored(v2.tagger, path, "tagger."),
      ...(training === undefined ? {} : { training }),
    };
  }
  if (record.version !== 1) {
    throw new Error(
      `${path}: format version ${JSON.stringify(record.version)} is not one this program reads ` +
        "(1 or 2)",
    );
  }
  const v1 = stored as ConfigV1;
  if (v1.model !== undefined && !isRecord(v1.model)) {
    throw new Error(`${path}: field "model" must be an object (the model settings)`);
  }
  if (!(typeof v1.maxLen === "number" && Number.isInteger(v1.maxLen) && v1.maxLen >= 1)) {
    throw new Error(
      `${path}: field "maxLen" must be a positive integer, got ${JSON.stringify(v1.maxLen)}`,
    );
  }
  const training = checkTraining(v1.training, path, "training");
  const tagger = resolveStored(
    {
      ...(v1.model ?? {}),
      vocabSize: maps.vocab.words.length,
      numTags: maps.vocab.tags.length,
      maxLen: v1.maxLen,
      ...(maps.chars ? { numChars: maps.chars.chars.length } : {}),
    },
    path,
    "model.",
  );
  return {
    format: "bilstm-ner-model",
    version: 2,
    tagger,
    ...(training ? { training: trainingWithoutModel(training) } : {}),
  };
}

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the stored training record: absent, or an object whose `epochsDone` (when present) is
 * an integer >= 0.
 *
 * @throws {Error} naming the file and the field
 */
function checkTraining(
  training: unknown,
  path: string,
  field: string,
): Record<string, unknown> | undefined {
  if (training === undefined) return undefined;
  if (!isRecord(training)) {
    throw new Error(`${path}: field "${field}" must be an object (how the tagger was trained)`);
  }
  const { epochsDone } = training;
  if (
    epochsDone !== undefined &&
    !(typeof epochsDone === "number" && Number.isInteger(epochsDone) && epochsDone >= 0)
  ) {
    throw new Error(
      `${path}: field "${field}.epochsDone" must be an integer >= 0, got ` +
        `${JSON.stringify(epochsDone)}`,
    );
  }
  return training;
}
