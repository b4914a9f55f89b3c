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
import { concatBytes, writeFileAtomic } from "../fs/files.ts";
import { loadModelArtifacts, MODEL_FILES, weightBytes } from "./_artifacts.ts";
import { diskSource } from "./_disk_source.ts";

export { MODEL_FILES } from "./_artifacts.ts";

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

    load(): Promise<tf.io.ModelArtifacts> {
      return loadModelArtifacts(diskSource(directory));
    },
  };
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
