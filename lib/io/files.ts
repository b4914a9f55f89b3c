/**
 * Small file helpers shared by the library: atomic writes (temp file + rename)
 * and JSON reads whose errors name the file.
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
