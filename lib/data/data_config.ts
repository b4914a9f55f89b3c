/**
 * The data settings of a training run (`TrainConfig.data`): your own files and how to read
 * them, and their check. Light on purpose (no reader is loaded), so that settings can be checked
 * and compared anywhere; `dataset.ts` loads the files.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { checkReadOptions, type ReadOptions } from "./read_options.ts";

/** Your own training data: the files and how to read them (every file the same way). */
export interface DataConfig extends ReadOptions {
  /** The training file (CoNLL, GMB CSV or JSONL; plain or gzip). */
  train: string;
  /** A dev file, the validation set; default none (the tail of `train` is held out). */
  dev?: string | null;
}

/**
 * Checks a data config and fills in `dev` (null when absent).
 *
 * @param data the config
 * @param prefix put before field names in errors (`data.`)
 * @returns the config with `dev` set
 * @throws {ConfigError} naming the field
 */
export function checkDataConfig(data: DataConfig, prefix = ""): DataConfig {
  if (typeof data !== "object" || data === null) {
    throw new ConfigError(prefix.replace(/\.$/, "") || "data", "must be an object", data);
  }
  if (typeof data.train !== "string" || data.train === "") {
    throw new ConfigError(`${prefix}train`, "must be a file path", data.train);
  }
  const dev = data.dev ?? null;
  if (dev !== null && (typeof dev !== "string" || dev === "")) {
    throw new ConfigError(`${prefix}dev`, "must be a file path or null", dev);
  }
  try {
    checkReadOptions(data);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${prefix}${error.field}`, error.problem, error.value);
  }
  return { ...data, dev };
}
