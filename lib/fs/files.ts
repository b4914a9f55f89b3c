/**
 * Small file helpers shared by the library: atomic writes (temp file + rename), JSON reads
 * whose errors name the file, whether a path exists, and byte concatenation.
 *
 * @module
 */

/**
 * Writes a file atomically: to a temporary name in the same folder, then renamed.
 *
 * @param path the destination
 * @param data the contents
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(temporary, data);
    else await Deno.writeFile(temporary, data);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Reads and parses a JSON file, with errors that name the file.
 *
 * @param path the file
 * @param what what the file holds, for the message (e.g. "model topology")
 * @returns the parsed value
 */
export async function readJSONFile<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "not found" : (error as Error).message;
    throw new Error(`${path}: cannot read ${what} (${reason})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Reads a JSON file when it is there: `undefined` when it is missing, an error naming the file
 * when it cannot be read or parsed.
 *
 * @param path the file
 * @returns the parsed value, or `undefined` when the file does not exist
 */
export async function readJSONIfAny(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${path}: unreadable (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Whether something exists at `path` (a symbolic link counts, even a dangling one: it is
 * looked at with `lstat`, not followed).
 *
 * @param path the path
 * @throws what `Deno.lstat` throws other than `NotFound` (e.g. a permission error)
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The bytes of several arrays, one after another, in a new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./files.ts";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const part of parts) total += part.length;
  const result = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
