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

/** The most bytes a JSON file this project reads may hold (configs, pointers, histories): 64 MiB. */
export const MAX_JSON_BYTES = 64 * 2 ** 20;

/**
 * What a file that is not a regular file is, for messages.
 *
 * @param info the file's `Deno.stat`
 */
export function fileKind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/** An error about a file that was found but refused (not regular, too large): never "missing". */
export class RefusedFileError extends Error {}

/**
 * Reads a whole file that must be a regular file (links followed) of at most `maxBytes`, refusing
 * a FIFO, a device, a socket or a folder before reading a byte (they could block or never end).
 *
 * @param path the file
 * @param what what it holds, for messages (e.g. "checkpoint pointer")
 * @param maxBytes the most bytes it may hold; default {@linkcode MAX_JSON_BYTES}
 * @returns its bytes
 * @throws {Deno.errors.NotFound} when it does not exist (callers decide what missing means)
 * @throws {RefusedFileError} naming `path` when it is not a regular file or is too large
 */
export async function readRegularFile(
  path: string,
  what: string,
  maxBytes: number = MAX_JSON_BYTES,
): Promise<Uint8Array<ArrayBuffer>> {
  const info = await Deno.stat(path);
  if (!info.isFile) {
    throw new RefusedFileError(
      `${path}: ${what} is ${fileKind(info)}, not a regular file; refusing to read it`,
    );
  }
  const tooLarge = (size: number) =>
    new RefusedFileError(
      `${path}: ${what} is ${size} bytes or more, more than the ${maxBytes} it may hold; ` +
        "refusing to read it",
    );
  if (info.size > maxBytes) throw tooLarge(info.size);
  using file = await Deno.open(path);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  while (true) {
    const chunk = new Uint8Array(Math.min(maxBytes + 1 - total, 1 << 20));
    const count = await file.read(chunk);
    if (count === null) break;
    total += count;
    if (total > maxBytes) throw tooLarge(total);
    chunks.push(chunk.subarray(0, count));
  }
  return concatBytes(chunks);
}

/**
 * Reads and parses a JSON file (a regular file of at most {@linkcode MAX_JSON_BYTES}), with
 * errors that name the file.
 *
 * @param path the file
 * @param what what the file holds, for messages (e.g. "model topology")
 * @returns the parsed value
 */
export async function readJSONFile<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readRegularFile(path, what));
  } catch (error) {
    if (error instanceof RefusedFileError) throw error;
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
 * when it cannot be read or parsed, or is not a regular file of at most
 * {@linkcode MAX_JSON_BYTES}.
 *
 * @param path the file
 * @param what what the file holds, for messages
 * @returns the parsed value, or `undefined` when the file does not exist
 */
export async function readJSONIfAny(path: string, what = "JSON file"): Promise<unknown> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readRegularFile(path, what));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof RefusedFileError) throw error;
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
