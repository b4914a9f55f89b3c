/**
 * Saving plain state objects that contain typed arrays (optimizer moments,
 * counters) as a JSON file plus one binary file, atomically.
 *
 * @module
 */
import { concatBytes, readJSONFile, readRegularFile, writeFileAtomic } from "../fs/files.ts";

type Packed =
  | { $f32: [offset: number, length: number] }
  | { $i32: [offset: number, length: number] }
  | Packed[]
  | { [key: string]: Packed }
  | string
  | number
  | boolean
  | null;

/**
 * Writes `state` as `<base>.json` (structure) and `<base>.bin` (the bytes of
 * every `Float32Array` / `Int32Array` in it), each atomically; the binary file
 * is written first so the JSON never points at missing data.
 *
 * @param base path without extension
 * @param state a JSON-like value whose leaves may be Float32Array or Int32Array
 */
export async function saveState(base: string, state: unknown): Promise<void> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const pack = (value: unknown): Packed => {
    if (value instanceof Float32Array || value instanceof Int32Array) {
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
      chunks.push(bytes);
      const entry: [number, number] = [offset, value.length];
      offset += bytes.byteLength;
      return value instanceof Float32Array ? { $f32: entry } : { $i32: entry };
    }
    if (Array.isArray(value)) return value.map(pack);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, pack(item)]));
    }
    if (value === undefined) return null;
    return value as string | number | boolean | null;
  };
  const packed = pack(state);
  const binary = concatBytes(chunks);
  await writeFileAtomic(`${base}.bin`, binary);
  await writeFileAtomic(`${base}.json`, JSON.stringify({ byteLength: offset, state: packed }));
}

/**
 * Reads a state saved by {@linkcode saveState}.
 *
 * @param base path without extension
 * @returns the state with its typed arrays restored
 * @throws {Error} naming the file when it is missing or its size does not match
 */
export async function loadState<T>(base: string): Promise<T> {
  const { byteLength, state } = await readJSONFile<{ byteLength: number; state: Packed }>(
    `${base}.json`,
    "saved state",
  );
  let binary: Uint8Array;
  try {
    binary = await readRegularFile(`${base}.bin`, "saved state", byteLength);
  } catch (error) {
    throw new Error(`${base}.bin: cannot read saved state (${(error as Error).message})`);
  }
  if (binary.byteLength !== byteLength) {
    throw new Error(`${base}.bin: ${binary.byteLength} bytes, expected ${byteLength}: corrupt`);
  }
  const unpack = (value: Packed): unknown => {
    if (Array.isArray(value)) return value.map(unpack);
    if (value !== null && typeof value === "object") {
      if ("$f32" in value && Array.isArray(value.$f32)) {
        const [start, length] = value.$f32 as [number, number];
        return new Float32Array(binary.slice(start, start + length * 4).buffer);
      }
      if ("$i32" in value && Array.isArray(value.$i32)) {
        const [start, length] = value.$i32 as [number, number];
        return new Int32Array(binary.slice(start, start + length * 4).buffer);
      }
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, unpack(item as Packed)]),
      );
    }
    return value;
  };
  return unpack(state) as T;
}
