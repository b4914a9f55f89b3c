/**
 * Files that must stay inside a folder: paths a file names resolved and checked against their
 * folder after links are followed, and model files read only when they are regular files of a
 * bounded size.
 *
 * @module
 */
import { fileKind } from "./files.ts";

/**
 * Whether `path` is `root` or lies inside it (both absolute and already resolved with
 * `Deno.realPath`).
 */
export function isInsideFolder(path: string, root: string): boolean {
  const base = root.endsWith("/") ? root : `${root}/`;
  return path === root || path.startsWith(base);
}

/**
 * Resolves a path that a file inside `root` names (a checkpoint pointer, an ensemble member)
 * and checks that it stays inside `root` once symbolic links are followed.
 *
 * @param root the folder the path must stay inside
 * @param relative the path as the file gives it, relative to `root`
 * @param file the file that names the path, for messages
 * @param what what the path is, for messages (e.g. `member "member-1"`)
 * @returns `${root}/${relative}`, checked
 * @throws {Error} naming `file` when the path is absolute, climbs out with `..`, does not exist,
 *   or resolves (through a symbolic link) outside `root`
 */
export async function resolveInsideFolder(
  root: string,
  relative: string,
  file: string,
  what: string,
): Promise<string> {
  if (relative.startsWith("/") || relative.split(/[\\/]/).includes("..")) {
    throw new Error(
      `${file}: ${what} (${JSON.stringify(relative)}) must be a path inside ${root}, without ` +
        `"/" at the start or ".." in it`,
    );
  }
  const path = `${root}/${relative}`;
  let real: string;
  let realRoot: string;
  try {
    realRoot = await Deno.realPath(root);
    real = await Deno.realPath(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "not found" : (error as Error).message;
    throw new Error(`${file}: ${what} (${JSON.stringify(relative)}) cannot be read: ${reason}`);
  }
  if (!isInsideFolder(real, realRoot)) {
    throw new Error(
      `${file}: ${what} (${JSON.stringify(relative)}) resolves to ${real}, outside ${realRoot} ` +
        "(a symbolic link leaves the folder); refusing to load it",
    );
  }
  return path;
}

/** The most bytes a model folder's JSON file may hold (`config.json`, `vocab.json`, …): 64 MiB. */
export const MAX_MODEL_JSON_BYTES = 64 * 2 ** 20;

/**
 * Checks a file that a loader is about to read from a folder, before reading a byte of it: it
 * must exist, lie inside `root` once symbolic links are followed, be a regular file (not a
 * FIFO, a device, a socket or a folder, which could block or never end) and hold at most
 * `maxBytes`.
 *
 * @param root the folder the file belongs to
 * @param path the file, `${root}/…`
 * @param what what it holds, for messages (e.g. "model weights")
 * @param maxBytes the most bytes it may hold
 * @returns its size in bytes
 * @throws {Error} naming `path` and what is wrong with it
 */
export async function checkFileInside(
  root: string,
  path: string,
  what: string,
  maxBytes: number,
): Promise<number> {
  let real: string;
  let realRoot: string;
  let info: Deno.FileInfo;
  let link: boolean;
  try {
    realRoot = await Deno.realPath(root);
    real = await Deno.realPath(path);
    info = await Deno.stat(real);
    link = (await Deno.lstat(path)).isSymlink;
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "not found" : (error as Error).message;
    throw new Error(`${path}: cannot read ${what} (${reason})`);
  }
  if (!info.isFile) {
    const target = link ? ` (a link to ${real})` : "";
    throw new Error(
      `${path}: ${what} is ${fileKind(info)}${target}, not a regular file; refusing to read it`,
    );
  }
  if (!isInsideFolder(real, realRoot)) {
    throw new Error(
      `${path}: ${what} resolves to ${real}, outside ${realRoot} (a symbolic link leaves the ` +
        "folder); refusing to read it",
    );
  }
  if (info.size > maxBytes) {
    throw new Error(
      `${path}: ${what} is ${info.size} bytes, more than the ${maxBytes} it may hold; refusing ` +
        "to read it",
    );
  }
  return info.size;
}

/**
 * Reads a file of a folder after {@linkcode checkFileInside}'s checks, never more than
 * `maxBytes` (a file that grew past its check is refused too).
 *
 * @param root the folder the file belongs to
 * @param path the file, `${root}/…`
 * @param what what it holds, for messages
 * @param maxBytes the most bytes it may hold
 * @returns its bytes
 * @throws {Error} naming `path`, as {@linkcode checkFileInside} does, or when it cannot be read
 */
export async function readFileInside(
  root: string,
  path: string,
  what: string,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const size = await checkFileInside(root, path, what, maxBytes);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new Error(`${path}: cannot read ${what} (${(error as Error).message})`);
  }
  try {
    const bytes = new Uint8Array(size);
    let length = 0;
    while (length < size) {
      const read = await file.read(bytes.subarray(length));
      if (read === null) break;
      length += read;
    }
    // A byte past the size checked: the file grew since (it is read no further).
    if (length === size && await file.read(new Uint8Array(1)) !== null) {
      throw new Error(`${path}: ${what} grew while it was read; refusing to read it`);
    }
    return length === size ? bytes : bytes.slice(0, length);
  } catch (error) {
    if ((error as Error).message.startsWith(path)) throw error;
    throw new Error(`${path}: cannot read ${what} (${(error as Error).message})`);
  } finally {
    file.close();
  }
}

/**
 * Reads and parses a JSON file of a folder with {@linkcode readFileInside}'s checks (inside the
 * folder, a regular file, at most `maxBytes`), with errors that name the file.
 *
 * @param root the folder the file belongs to
 * @param path the file, `${root}/…`
 * @param what what the file holds, for messages (e.g. "model config")
 * @param maxBytes the most bytes it may hold; default {@linkcode MAX_MODEL_JSON_BYTES}
 * @returns the parsed value
 * @throws {Error} naming the file when it is refused, unreadable or not JSON
 */
export async function readJSONFileInside<T>(
  root: string,
  path: string,
  what: string,
  maxBytes: number = MAX_MODEL_JSON_BYTES,
): Promise<T> {
  // Decoded as Deno.readTextFile decodes (a BOM dropped, bad bytes replaced).
  const text = new TextDecoder().decode(await readFileInside(root, path, what, maxBytes));
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path}: ${what} is not valid JSON (${(error as Error).message})`);
  }
}
