/**
 * Training settings from a file, so a run can be replayed: the `config.json` of a run's
 * checkpoint or of any model folder this project wrote (its tagger's settings and its training
 * record), a run folder (its latest checkpoint's `config.json`), or a hand-written JSON object
 * with {@linkcode TrainConfig}'s fields (`docs/config.md` lists them). Settings given beside the
 * file (flags) override it: {@linkcode mergeTrainConfigs}.
 *
 * @example
 * ```ts
 * import { mergeTrainConfigs, readTrainConfigFile } from "./config_file.ts";
 * const file = await readTrainConfigFile("runs/own").catch(() => ({}));
 * const config = mergeTrainConfigs(file, { epochs: 3 }); // the run's settings, 3 epochs
 * ```
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { readCheckpointPointer } from "../io/model_folder.ts";
import { TAGGER_FIELDS, type TaggerConfig } from "../model/config.ts";
import {
  checkGivenTrainConfig,
  DEFAULT_TRAIN_CONFIG,
  modelSettingsOf,
  type TrainConfig,
} from "./config.ts";

/** A settings file that cannot be used: the message names the file and the field. */
export class ConfigFileError extends Error {
  /**
   * @param file the file
   * @param problem what is wrong with it
   */
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "ConfigFileError";
  }
}

/** The fields a hand-written settings file may hold (a training record's, and `maxLen`). */
const TRAIN_FIELDS = new Set<string>(Object.keys(DEFAULT_TRAIN_CONFIG));
/** Fields of a training record that are not settings (written by the trainer). */
const RECORD_ONLY_FIELDS = new Set(["epochsDone", "overrides", "dataFingerprint"]);
/** The model settings a file may give (the tagger's fields but those the data decides). */
const MODEL_FIELDS = new Set<string>(
  TAGGER_FIELDS.filter((field) => !["vocabSize", "numTags", "maxLen", "numChars"].includes(field)),
);

/** Whether a value is a plain JSON object. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads training settings from a file or folder.
 *
 * @param path a `config.json` (checkpoint, model folder, or hand-written), a run folder (its
 *   latest checkpoint's settings) or a model folder (its `config.json`)
 * @returns the settings, as given (defaults not filled in; `epochs` and `patience` included)
 * @throws {ConfigFileError} naming the file (and the field) when it is missing, not JSON, not a
 *   settings object, holds an unknown field, or a setting training would refuse
 */
export async function readTrainConfigFile(path: string): Promise<TrainConfig> {
  const file = await settingsFileOf(path);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ConfigFileError(file, "file not found");
    throw new ConfigFileError(file, `unreadable (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(file, `not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed)) throw new ConfigFileError(file, "must hold a JSON object of settings");
  const config = parsed.format === "bilstm-ner-model"
    ? settingsOfModelConfig(parsed, file)
    : settingsOfObject(parsed, file, "");
  try {
    checkGivenTrainConfig(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigFileError(file, `field "${error.field}" ${error.problem}` + gotText(error));
  }
  return config;
}

/** `, got VALUE` for a config error that carries a value. */
function gotText(error: ConfigError): string {
  return error.value === undefined ? "" : `, got ${JSON.stringify(error.value)}`;
}

/** The JSON file a path means: itself, a run folder's latest checkpoint's, a folder's. */
async function settingsFileOf(path: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new ConfigFileError(path, "file not found");
  }
  if (!info.isDirectory) return path;
  let resolved;
  try {
    resolved = await readCheckpointPointer(path.replace(/(?<=.)\/+$/, ""), "last");
  } catch (error) {
    throw new ConfigFileError(path, (error as Error).message);
  }
  return `${resolved?.checkpoint ?? path}/config.json`;
}

/** The settings a model folder's `config.json` records: its tagger's and its training record. */
function settingsOfModelConfig(parsed: Record<string, unknown>, file: string): TrainConfig {
  const tagger = parsed.tagger;
  if (!isRecord(tagger)) throw new ConfigFileError(file, 'field "tagger" must be an object');
  const training = parsed.training ?? {};
  if (!isRecord(training)) throw new ConfigFileError(file, 'field "training" must be an object');
  const settings = Object.fromEntries(
    Object.entries(training).filter(([key]) => !RECORD_ONLY_FIELDS.has(key)),
  );
  return {
    ...settingsOfObject(settings, file, "training."),
    ...(typeof tagger.maxLen === "number" ? { maxLen: tagger.maxLen } : {}),
    model: modelSettingsOf(tagger as unknown as TaggerConfig),
  };
}

/** Checks that an object holds only known settings (and a `model` of known fields). */
function settingsOfObject(
  object: Record<string, unknown>,
  file: string,
  prefix: string,
): TrainConfig {
  for (const [key, value] of Object.entries(object)) {
    if (key === "model") {
      if (!isRecord(value)) {
        throw new ConfigFileError(file, `field "${prefix}model" must be an object`);
      }
      for (const field of Object.keys(value)) {
        if (!MODEL_FIELDS.has(field)) {
          throw new ConfigFileError(
            file,
            `unknown field "${prefix}model.${field}" (model settings: ${
              [...MODEL_FIELDS].join(", ")
            })`,
          );
        }
      }
    } else if (!TRAIN_FIELDS.has(key)) {
      throw new ConfigFileError(
        file,
        `unknown field "${prefix}${key}" (settings: ${[...TRAIN_FIELDS].join(", ")})`,
      );
    }
  }
  return object as TrainConfig;
}

/**
 * Settings from a file with settings given beside it on top: every field given (not undefined)
 * wins, `model` merged field by field; `data` given replaces the file's whole.
 *
 * @param file the file's settings
 * @param given the settings given (e.g. by flags)
 * @returns the merged settings
 */
export function mergeTrainConfigs(file: TrainConfig, given: TrainConfig): TrainConfig {
  const defined = Object.fromEntries(
    Object.entries(given).filter(([, value]) => value !== undefined),
  ) as TrainConfig;
  const model = Object.fromEntries(
    Object.entries(given.model ?? {}).filter(([, value]) => value !== undefined),
  );
  return { ...file, ...defined, model: { ...(file.model ?? {}), ...model } };
}
