/**
 * Guards for values read from JSON files written by this project (run folders, evaluation
 * records), which may be old, hand-edited or damaged.
 *
 * @module
 */

/**
 * A plain object, or undefined (for arrays, null and other values).
 *
 * @param value a parsed JSON value
 */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/**
 * A finite number, else null.
 *
 * @param value a parsed JSON value
 */
export function finiteOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
