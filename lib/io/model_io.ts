/**
 * Saving and loading models with Deno's file system.
 *
 * tfjs's `file://` scheme needs tfjs-node, which this project does not use, so
 * {@linkcode fileIOHandler} implements `tf.io.IOHandler` over `Deno.readFile` /
 * `Deno.writeFile`: `model.save(fileIOHandler(dir))` writes `model.json` and
 * `weights.bin`, and `tf.loadLayersModel(fileIOHandler(dir))` reads them back.
 * Files are written atomically (temp file + rename). Weights can be stored as
 * float16 (half the size; tfjs dequantizes on load).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkFileInside, readFileInside, readJSONFileInside } from "../fs/inside.ts";
import { concatBytes, writeFileAtomic } from "../fs/files.ts";

/** File names inside a model folder. */
export const MODEL_FILES = { topology: "model.json", weights: "weights.bin" } as const;

/** Options for {@linkcode fileIOHandler}. */
export interface FileIOOptions {
  /** Store float32 weights as float16 (tfjs dequantizes them on load). Default false. */
  float16?: boolean;
}

/**
 * A `tf.io.IOHandler` that saves to and loads from a folder on disk.
 *
 * @param directory the model folder (created on save)
 * @param options storage options
 * @returns the handler, for `model.save(...)` and `tf.loadLayersModel(...)`
 */
export function fileIOHandler(directory: string, options: FileIOOptions = {}): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error("fileIOHandler: binary (graph) topologies are not supported");
      }
      await Deno.mkdir(directory, { recursive: true });
      let specs = artifacts.weightSpecs ?? [];
      let weightData = concatWeightData(artifacts.weightData);
      if (options.float16) ({ specs, weightData } = toFloat16(specs, weightData));
      const modelJSON = {
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: [`./${MODEL_FILES.weights}`], weights: specs }],
      };
      await writeFileAtomic(`${directory}/${MODEL_FILES.weights}`, new Uint8Array(weightData));
      await writeFileAtomic(`${directory}/${MODEL_FILES.topology}`, JSON.stringify(modelJSON));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weightData.byteLength,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const topologyPath = `${directory}/${MODEL_FILES.topology}`;
      const modelJSON = checkModelJSON(
        await readJSONFileInside<unknown>(directory, topologyPath, "model topology"),
        topologyPath,
      );
      const specs: tf.io.WeightsManifestEntry[] = [];
      const fileOf = new Map<string, string>(); // weight name → the file it is stored in
      // Every weights file is checked (inside the folder, a regular file, the size the manifest
      // implies) before any is read: a link to /dev/zero or a FIFO would never end.
      const groups: { paths: string[]; sizes: number[] }[] = [];
      for (const group of modelJSON.weightsManifest) {
        specs.push(...group.weights);
        const paths = group.paths.map((path) => `${directory}/${path.replace(/^\.\//, "")}`);
        for (const spec of group.weights) fileOf.set(spec.name, paths[0] ?? directory);
        let expected: number;
        try {
          expected = group.weights.reduce((sum, spec) => sum + weightBytes(spec), 0);
        } catch (error) {
          throw new Error(`${topologyPath}: ${(error as Error).message}`);
        }
        const sizes: number[] = [];
        for (const path of paths) {
          sizes.push(await checkFileInside(directory, path, "weights", Number.MAX_SAFE_INTEGER));
        }
        const stored = sizes.reduce((sum, size) => sum + size, 0);
        if (stored !== expected) {
          throw new Error(
            `${paths.join(", ")}: weights are ${stored} bytes, the manifest in ` +
              `${MODEL_FILES.topology} describes ${expected}: corrupt or mismatched files; ` +
              "refusing to read them",
          );
        }
        groups.push({ paths, sizes });
      }
      const buffers: Uint8Array<ArrayBuffer>[] = [];
      for (const { paths, sizes } of groups) {
        for (const [index, path] of paths.entries()) {
          buffers.push(await readFileInside(directory, path, "weights", sizes[index]));
        }
      }
      const weightData = buffers.length === 1 ? buffers[0] : concatBytes(buffers);
      const expected = specs.reduce((sum, spec) => sum + weightBytes(spec), 0);
      if (expected !== weightData.byteLength) {
        throw new Error(
          `${directory}: weights are ${weightData.byteLength} bytes, the manifest in ` +
            `${MODEL_FILES.topology} describes ${expected}: corrupt or mismatched files`,
        );
      }
      checkFiniteWeights(specs, weightData, fileOf);
      return {
        modelTopology: modelJSON.modelTopology,
        format: modelJSON.format,
        generatedBy: modelJSON.generatedBy,
        convertedBy: modelJSON.convertedBy,
        trainingConfig: modelJSON.trainingConfig,
        weightSpecs: specs,
        weightData: weightData.buffer as ArrayBuffer,
      };
    },
  };
}

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
function checkModelJSON(value: unknown, file: string): tf.io.ModelJSON {
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
function checkFiniteWeights(
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

/** Bytes one weight occupies on disk, honouring quantization. */
function weightBytes(spec: tf.io.WeightsManifestEntry): number {
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

function concatWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (Array.isArray(data)) return concatBytes(data.map((buffer) => new Uint8Array(buffer))).buffer;
  return data as ArrayBuffer;
}

/** Re-encodes float32 weights as float16 with tfjs's quantization metadata. */
function toFloat16(
  specs: tf.io.WeightsManifestEntry[],
  weightData: ArrayBuffer,
): { specs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const converted = specs.map((spec) => {
    const bytes = weightBytes(spec);
    const slice = weightData.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== "float32" || spec.quantization) {
      parts.push(new Uint8Array(slice));
      return spec;
    }
    const values = new Float32Array(slice);
    const halves = new Uint16Array(values.length);
    for (let index = 0; index < values.length; index++) {
      halves[index] = float32ToFloat16(values[index]);
    }
    parts.push(new Uint8Array(halves.buffer));
    return {
      ...spec,
      quantization: { dtype: "float16" as const, original_dtype: "float32" as const },
    };
  });
  return { specs: converted, weightData: concatBytes(parts).buffer };
}

const float32View = new Float32Array(1);
const int32View = new Int32Array(float32View.buffer);

/**
 * Converts a float32 to IEEE 754 half precision bits, rounding to nearest even.
 *
 * @param value the number
 * @returns the 16-bit pattern
 */
export function float32ToFloat16(value: number): number {
  float32View[0] = value;
  const bits = int32View[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf / NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // underflow → ±0
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half++;
  return sign | half;
}
