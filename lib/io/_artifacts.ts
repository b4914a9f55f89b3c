/**
 * Reading a tagger's stored graph and weights (`model.json` + its weights files) through a
 * {@linkcode ModelFileSource}, with every check the loaders make: the manifest's fields and
 * paths (inside the folder), each weights file the exact size the manifest implies before it is
 * read, and no NaN or ±Infinity in a float weight. Pure (no `Deno.*`): shared by the Deno loader
 * (lib/io/model_io.ts) and the browser's (lib/web/load.ts).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { ModelFileSource } from "./model_source.ts";

/** File names inside a model folder. */
export const MODEL_FILES = { topology: "model.json", weights: "weights.bin" } as const;

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed `model.json`: a layers-model topology and a weights manifest whose files lie
 * inside the model folder and whose weights have names, shapes and dtypes.
 *
 * @param value the parsed file
 * @param file its path, for messages
 * @returns the file, typed
 * @throws {Error} naming the file and the field that is missing or wrong
 */
export function checkModelJSON(value: unknown, file: string): tf.io.ModelJSON {
  if (!isRecord(value) || !isRecord(value.modelTopology) || !Array.isArray(value.weightsManifest)) {
    throw new Error(`${file}: not a tfjs layers model (modelTopology missing)`);
  }
  const names = new Set<string>();
  value.weightsManifest.forEach((group: unknown, index: number) => {
    const field = `weightsManifest[${index}]`;
    const bad = (what: string, problem: string): never => {
      throw new Error(`${file}: field "${field}${what}" ${problem}`);
    };
    if (!isRecord(group)) bad("", "must be an object with paths and weights");
    const { paths, weights } = group as Record<string, unknown>;
    if (!Array.isArray(paths)) bad(".paths", "must be a list of file names");
    (paths as unknown[]).forEach((path, p) => {
      if (
        typeof path !== "string" || path === "" || path.startsWith("/") ||
        path.split(/[\\/]/).includes("..")
      ) {
        bad(
          `.paths[${p}]`,
          `must name a file inside the model folder, got ${JSON.stringify(path)}`,
        );
      }
    });
    if (!Array.isArray(weights)) bad(".weights", "must be a list of weights");
    (weights as unknown[]).forEach((spec, w) => {
      const at = `.weights[${w}]`;
      if (!isRecord(spec)) bad(at, "must be an object with name, shape and dtype");
      const { name, shape, dtype } = spec as Record<string, unknown>;
      if (typeof name !== "string" || name === "") bad(`${at}.name`, "must be a non-empty string");
      if (names.has(name as string)) bad(`${at}.name`, `repeats weight "${name}"`);
      names.add(name as string);
      if (
        !Array.isArray(shape) ||
        !shape.every((dim) => typeof dim === "number" && Number.isInteger(dim) && dim >= 0)
      ) {
        bad(`${at}.shape`, `must be a list of sizes (weight "${name}")`);
      }
      if (typeof dtype !== "string") bad(`${at}.dtype`, `must be a string (weight "${name}")`);
    });
  });
  return value as unknown as tf.io.ModelJSON;
}

/**
 * The weights files a checked `model.json` names, as names inside its folder (`./` dropped), in
 * manifest order.
 *
 * @param modelJSON a checked `model.json` ({@linkcode checkModelJSON})
 */
export function weightFileNames(modelJSON: tf.io.ModelJSON): string[] {
  return modelJSON.weightsManifest.flatMap((group) =>
    group.paths.map((path) => path.replace(/^\.\//, ""))
  );
}

/**
 * Reads a model folder's `model.json` and weights through a source, checked: the weights files
 * are checked (and their sizes compared with the manifest's) before any is read, and the float
 * weights are checked for NaN and ±Infinity.
 *
 * @param source the model folder's files
 * @returns the artifacts `tf.io.decodeWeights` and the tagger need
 * @throws {Error} naming the file and what is wrong with it
 */
export async function loadModelArtifacts(source: ModelFileSource): Promise<tf.io.ModelArtifacts> {
  const directory = source.directory;
  const topologyPath = `${directory}/${MODEL_FILES.topology}`;
  const modelJSON = checkModelJSON(
    await source.readJSON(MODEL_FILES.topology, "model topology"),
    topologyPath,
  );
  const specs: tf.io.WeightsManifestEntry[] = [];
  const fileOf = new Map<string, string>(); // weight name → the file it is stored in
  // Every weights file is checked (inside the folder, a regular file, the size the manifest
  // implies) before any is read: a link to /dev/zero or a FIFO would never end.
  const groups: { names: string[]; sizes: number[] }[] = [];
  for (const group of modelJSON.weightsManifest) {
    specs.push(...group.weights);
    const names = group.paths.map((path) => path.replace(/^\.\//, ""));
    const paths = names.map((name) => `${directory}/${name}`);
    for (const spec of group.weights) fileOf.set(spec.name, paths[0] ?? directory);
    let expected: number;
    try {
      expected = group.weights.reduce((sum, spec) => sum + weightBytes(spec), 0);
    } catch (error) {
      throw new Error(`${topologyPath}: ${(error as Error).message}`);
    }
    const sizes: number[] = [];
    for (const name of names) sizes.push(await source.sizeOf(name, "weights"));
    const stored = sizes.reduce((sum, size) => sum + size, 0);
    if (stored !== expected) {
      throw new Error(
        `${paths.join(", ")}: weights are ${stored} bytes, the manifest in ` +
          `${MODEL_FILES.topology} describes ${expected}: corrupt or mismatched files; ` +
          "refusing to read them",
      );
    }
    groups.push({ names, sizes });
  }
  const buffers: Uint8Array<ArrayBuffer>[] = [];
  for (const { names, sizes } of groups) {
    for (const [index, name] of names.entries()) {
      buffers.push(await source.readBytes(name, "weights", sizes[index]));
    }
  }
  const weightData = buffers.length === 1 ? buffers[0] : joinBytes(buffers);
  const expected = specs.reduce((sum, spec) => sum + weightBytes(spec), 0);
  if (expected !== weightData.byteLength) {
    throw new Error(
      `${directory}: weights are ${weightData.byteLength} bytes, the manifest in ` +
        `${MODEL_FILES.topology} describes ${expected}: corrupt or mismatched files`,
    );
  }
  checkFiniteWeights(specs, weightData, fileOf);
  // The bytes of exactly this view (a file read may hand back a view of a larger buffer).
  const buffer =
    weightData.byteOffset === 0 && weightData.byteLength === weightData.buffer.byteLength
      ? weightData.buffer
      : weightData.slice().buffer;
  return {
    modelTopology: modelJSON.modelTopology,
    format: modelJSON.format,
    generatedBy: modelJSON.generatedBy,
    convertedBy: modelJSON.convertedBy,
    trainingConfig: modelJSON.trainingConfig,
    weightSpecs: specs,
    weightData: buffer,
  };
}

/** Concatenates byte arrays into one. */
function joinBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Throws, naming the weights file and the weight, when a stored float weight (float32, or
 * float16 storage) holds NaN or ±Infinity: a damaged file or a diverged run. Such a tagger
 * would otherwise tag every token alike with no probability, or fail far from the cause. Reads
 * the stored bits (exponent all ones), so it costs one pass over the bytes.
 *
 * @param specs the weights, in storage order
 * @param weightData their bytes
 * @param fileOf the file each weight is stored in, for messages
 * @throws {Error} `FILE: weight "NAME" has N non-finite values …`
 */
export function checkFiniteWeights(
  specs: readonly tf.io.WeightsManifestEntry[],
  weightData: Uint8Array<ArrayBuffer>,
  fileOf: ReadonlyMap<string, string>,
): void {
  let offset = 0;
  for (const spec of specs) {
    const bytes = weightBytes(spec);
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    let nonFinite = 0;
    let values = 0;
    if (dtype === "float32" || dtype === "float16") {
      const width = dtype === "float32" ? 4 : 2;
      const start = weightData.byteOffset + offset;
      const buffer = start % width === 0
        ? weightData.buffer
        : weightData.buffer.slice(start, start + bytes);
      const at = start % width === 0 ? start : 0;
      if (width === 4) {
        const bits = new Uint32Array(buffer, at, bytes / 4);
        values = bits.length;
        for (let i = 0; i < bits.length; i++) {
          if ((bits[i] & 0x7f800000) === 0x7f800000) nonFinite++;
        }
      } else {
        const bits = new Uint16Array(buffer, at, bytes / 2);
        values = bits.length;
        for (let i = 0; i < bits.length; i++) if ((bits[i] & 0x7c00) === 0x7c00) nonFinite++;
      }
    }
    if (nonFinite > 0) {
      throw new Error(
        `${fileOf.get(spec.name)}: weight "${spec.name}" has ${nonFinite} non-finite values ` +
          `(NaN or ±Infinity) of ${values}: the weights are corrupt (a damaged file or a ` +
          "diverged run)",
      );
    }
    offset += bytes;
  }
}

/**
 * Bytes one weight occupies on disk, honouring quantization.
 *
 * @param spec the weight's manifest entry
 * @throws {Error} for a dtype tfjs cannot store
 */
export function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((product, dim) => product * dim, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytesPer: Record<string, number> = {
    float32: 4,
    int32: 4,
    bool: 1,
    float16: 2,
    uint8: 1,
    uint16: 2,
  };
  const per = bytesPer[dtype];
  if (per === undefined) throw new Error(`unsupported weight dtype ${dtype} for ${spec.name}`);
  return size * per;
}
