/**
 * Checks that the tagger a folder's `config.json` describes has the same layers as the graph
 * stored in its `model.json`: the same layer kinds in the same order with the same settings.
 * Weight shapes are checked when the weights are assigned; this catches what shapes cannot
 * show (a gate activation, the padding mask, the forget-gate bias, the BiLSTM implementation),
 * e.g. a version-1 record that left settings out.
 *
 * Names (tfjs generates some per process), initialisers and seeds (irrelevant once weights are
 * stored) and trainability are left out of the comparison.
 *
 * @module
 */

/** Keys that do not change what a stored graph computes. */
const IGNORED_KEYS = new Set([
  "name",
  "trainable",
  "seed",
  "inbound_nodes",
  "input_layers",
  "output_layers",
  "batch_input_shape",
  "input_length",
  "dtype",
  "keras_version",
  "backend",
  "custom_objects",
]);

/** The graph without the keys that do not change what it computes, as comparable JSON. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([key]) => !IGNORED_KEYS.has(key) && !key.endsWith("_initializer"))
    .map(([key, inner]) => [key, normalise(inner)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

/** The first path at which two normalised values differ, or null when they are equal. */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const inner = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (inner) return inner;
    }
  }
  return `${path}: stored ${JSON.stringify(a)?.slice(0, 80)}, config gives ` +
    `${JSON.stringify(b)?.slice(0, 80)}`;
}

/**
 * Throws unless the stored graph and the one the config builds agree.
 *
 * @param stored `modelTopology` from `model.json`
 * @param rebuilt the rebuilt tagger's `model.toJSON(null, false)`
 * @param directory the folder, for the message
 * @throws {Error} naming the folder and the first setting that differs
 */
export function checkSameTopology(stored: unknown, rebuilt: unknown, directory: string): void {
  const layersOf = (topology: unknown) =>
    (topology as { config?: { layers?: unknown } })?.config?.layers;
  const difference = firstDifference(
    normalise(layersOf(stored)),
    normalise(layersOf(rebuilt)),
    "layers",
  );
  if (difference) {
    throw new Error(
      `${directory}: config.json does not describe the graph in model.json (${difference}): ` +
        "config and weights do not match",
    );
  }
}
