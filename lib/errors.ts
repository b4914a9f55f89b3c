/**
 * The error a config resolver throws for a bad setting. It names the setting by its path in
 * the config (`units`, `model.dropout`, `learningRate`), so a CLI can translate it into the flag
 * that set it and a notebook can show which field to fix.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * try {
 *   throw new ConfigError("units", "must be a positive integer", 0);
 * } catch (error) {
 *   console.log((error as ConfigError).field); // "units"
 * }
 * ```
 *
 * @module
 */

/** A setting that is out of range or of the wrong type. */
export class ConfigError extends RangeError {
  /**
   * An error naming the setting, what is wrong with it and the value given.
   *
   * @param field the setting's path in its config object, e.g. `"units"` or `"learningRate"`
   * @param problem what is wrong, e.g. `"must be a positive integer"`
   * @param value the value given (shown in the message)
   */
  constructor(readonly field: string, readonly problem: string, readonly value?: unknown) {
    super(`${field} ${problem}${value === undefined ? "" : `, got ${JSON.stringify(value)}`}`);
    this.name = "ConfigError";
  }
}
