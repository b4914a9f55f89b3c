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

/** What {@linkcode replaceFolder} did. */
export interface ReplaceFolderResult {
  /** Whether a folder was there before and was replaced. */
  replaced: boolean;
  /**
   * The old folder, moved aside, when it could not be removed once the new one was in place
   * (the new folder is in place all the same); else null.
   */
  leftover: string | null;
}

/** Options of {@linkcode replaceFolder}. */
export interface ReplaceFolderOptions {
  /**
   * Checks the built folder before anything is swapped (e.g. loads it back); a throw leaves
   * the old folder as it was and removes the new one.
   */
  verify?: (staging: string) => Promise<void>;
}

/** A folder path without trailing slashes ("out/" stages beside "out", not inside it). */
function withoutTrailingSlash(path: string): string {
  return path.replace(/(?<=.)\/+$/, "");
}

/**
 * Writes a folder whole, never losing the one it replaces: `build` writes the new folder beside
 * `target` (a hidden staging folder in the same parent, so renames are atomic), `verify` checks
 * it, and only then is the old folder moved aside, the new one renamed into place and the old
 * one removed. Any failure before the swap removes the staging folder and leaves `target` as it
 * was, byte for byte; a failure of the swap itself puts the old folder back.
 *
 * @param target the folder to write (created, or replaced whole: no old file stays in it)
 * @param build writes the new folder's contents into the folder it is given
 * @param options a check of the built folder before the swap
 * @returns whether an old folder was replaced, and where it was left if it could not be removed
 * @throws {Error} naming `target` when it exists and is not a folder (a file or a symbolic link
 *   is never replaced), or what `build` or `verify` threw
 */
export async function replaceFolder(
  target: string,
  build: (staging: string) => Promise<void>,
  options: ReplaceFolderOptions = {},
): Promise<ReplaceFolderResult> {
  target = withoutTrailingSlash(target);
  const existing = await Deno.lstat(target).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`${target}: cannot inspect it (${(error as Error).message})`);
  });
  if (existing && !existing.isDirectory) {
    const kind = existing.isSymlink ? "a symbolic link" : "a file";
    throw new Error(
      `${target}: exists and is ${kind}, not a folder; refusing to replace it (choose another ` +
        "path or remove it yourself)",
    );
  }
  const slash = target.lastIndexOf("/");
  const parent = slash < 0 ? "." : slash === 0 ? "/" : target.slice(0, slash);
  const name = target.slice(slash + 1);
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const staging = `${parent}/.${name}.staging-${tag}`;
  const previous = `${parent}/.${name}.previous-${tag}`;
  try {
    await Deno.mkdir(staging, { recursive: true });
    await build(staging);
    await options.verify?.(staging);
    if (existing) await Deno.rename(target, previous);
    try {
      await Deno.rename(staging, target);
    } catch (error) {
      if (existing) await Deno.rename(previous, target);
      throw error;
    }
  } catch (error) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw error;
  }
  if (!existing) return { replaced: false, leftover: null };
  try {
    await Deno.remove(previous, { recursive: true });
    return { replaced: true, leftover: null };
  } catch {
    return { replaced: true, leftover: previous };
  }
}

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
