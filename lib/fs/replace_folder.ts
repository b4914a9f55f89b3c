/**
 * Folders replaced whole without ever losing the old one ({@linkcode replaceFolder}), with what
 * an interrupted replace leaves beside its target and how the next one cleans it.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";

/**
 * The folders {@linkcode replaceFolder} keeps beside its target `NAME` (in the same parent, so
 * renames are atomic), as `.NAME.KIND-PID-XXXXXXXX`:
 *
 * - `staging`: the new folder while it is written and checked (never complete for certain:
 *   never restored, only removed);
 * - `previous`: the old folder, whole, moved aside for the swap; with `NAME` missing it is the
 *   only copy of the old folder (a kill between the two renames of the swap);
 * - `trash`: the old folder being removed once the new one is in place (possibly half deleted:
 *   only ever removed).
 */
export type LeftoverKind = "staging" | "previous" | "trash";

/** A folder of {@linkcode LeftoverKind} found beside a target. */
export interface FolderLeftover {
  /** Its path (in the target's parent). */
  path: string;
  /** What it is. */
  kind: LeftoverKind;
  /**
   * Whether a running {@linkcode replaceFolder} holds it now (it keeps an OS advisory lock on
   * the folders of its swap): such a folder is never touched.
   */
  live: boolean;
}

/** What {@linkcode cleanFolderLeftovers} did. */
export interface LeftoverCleanup {
  /**
   * The `previous` folder renamed back to the target, when the target was missing next to it
   * (a replace killed between the two renames of its swap); else null.
   */
  restored: string | null;
  /** The leftovers removed. */
  removed: string[];
  /** The leftovers that could not be removed, each with the reason. */
  failed: { path: string; reason: string }[];
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
  /** Why {@linkcode ReplaceFolderResult.leftover} could not be removed; else null. */
  leftoverReason: string | null;
  /** What was done with leftovers of earlier, interrupted replaces of the same target. */
  cleanup: LeftoverCleanup;
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

/** The parent folder and the name of a target (".", ".." and "/" resolved to real names). */
function splitTarget(target: string): { parent: string; name: string } {
  const name = basename(target);
  if (name === "" || name === "." || name === "..") {
    const absolute = resolve(target);
    return { parent: dirname(absolute), name: basename(absolute) };
  }
  return { parent: dirname(target), name };
}

/** A path in a folder ("NAME" rather than "./NAME" in the current one). */
function inFolder(parent: string, name: string): string {
  return parent === "." ? name : `${parent}/${name}`;
}

/** The tail of a leftover's name after `.NAME.`: its kind and a `PID-XXXXXXXX` tag. */
const LEFTOVER_TAIL = /^(staging|previous|trash)-\d+-[0-9a-f]{8}$/;

/** Error text of an unknown thrown value. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Opens a folder and takes an exclusive OS advisory lock on it (flock on Linux and macOS; the
 * lock stays with the folder through renames and goes when the process ends, however it ends).
 *
 * @returns the open folder holding the lock; `"taken"` when another holds it; null where a
 *   folder cannot be opened or locked on this platform (nothing is locked then)
 */
async function lockFolder(path: string): Promise<Deno.FsFile | "taken" | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    if (await file.tryLock(true)) return file;
    file.close();
    return "taken";
  } catch {
    file.close();
    return null;
  }
}

/** Whether a running replace holds the folder's lock. */
async function isHeld(path: string): Promise<boolean> {
  const lock = await lockFolder(path);
  if (lock === "taken") return true;
  lock?.close();
  return false;
}

/** Closes a lock taken by {@linkcode lockFolder}, if any; never throws. */
function unlock(lock: Deno.FsFile | "taken" | null): void {
  if (lock === null || lock === "taken") return;
  try {
    lock.close();
  } catch {
    // closed already
  }
}

/**
 * The folders that replaces of `target` ({@linkcode replaceFolder}) left beside it, or hold
 * now: only names of its own scheme (`.NAME.staging-PID-XXXXXXXX`, `.NAME.previous-…`,
 * `.NAME.trash-…`, see {@linkcode LeftoverKind}), never another file.
 *
 * @param target the folder replaced
 * @returns the leftovers, by name; none when the parent folder does not exist
 * @throws {Error} naming the parent folder when it cannot be read
 */
export async function findFolderLeftovers(target: string): Promise<FolderLeftover[]> {
  const { parent, name } = splitTarget(withoutTrailingSlash(target));
  const prefix = `.${name}.`;
  const found: FolderLeftover[] = [];
  try {
    for await (const entry of Deno.readDir(parent)) {
      if (!entry.isDirectory || !entry.name.startsWith(prefix)) continue;
      const match = LEFTOVER_TAIL.exec(entry.name.slice(prefix.length));
      if (!match) continue;
      const path = inFolder(parent, entry.name);
      found.push({ path, kind: match[1] as LeftoverKind, live: await isHeld(path) });
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new Error(`${parent}: cannot read the folder (${reason(error)})`);
  }
  return found.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * Removes a folder that is no longer wanted; an old folder (`previous`) is first renamed to a
 * `trash` name, so that a removal that fails half way never leaves a half-deleted folder under
 * a name that says it is a whole one.
 *
 * @returns null when removed, else where the folder (or what is left of it) is, and why
 */
async function discard(
  path: string,
  trash: string | null,
): Promise<{ path: string; reason: string } | null> {
  let at = path;
  if (trash !== null) {
    try {
      await Deno.rename(path, trash);
      at = trash;
    } catch (error) {
      return { path, reason: reason(error) };
    }
  }
  try {
    await Deno.remove(at, { recursive: true });
    return null;
  } catch (error) {
    return { path: at, reason: reason(error) };
  }
}

/** The `trash` name for a leftover `previous` folder (same tag). */
function trashName(previous: string): string {
  return previous.replace(/\.previous-(?=\d+-[0-9a-f]{8}$)/, ".trash-");
}

/**
 * Cleans up after earlier replaces of `target` that were killed or failed half way (see
 * {@linkcode LeftoverKind}). When `target` is missing next to one `previous` folder (a kill
 * between the two renames of a swap), that folder is renamed back to `target` first: it is the
 * old folder, whole. Then every other leftover is removed (`staging`: an unfinished new folder;
 * `previous` next to a present target: an old folder already replaced; `trash`).
 *
 * @param target the folder replaced
 * @returns what was restored and removed, and what could not be removed
 * @throws {Error} naming `target` and the leftovers when a running replace holds one (nothing
 *   is touched then), or when `target` is missing next to several `previous` folders (which is
 *   the old one cannot be told; nothing is touched)
 */
export async function cleanFolderLeftovers(target: string): Promise<LeftoverCleanup> {
  target = withoutTrailingSlash(target);
  const leftovers = await findFolderLeftovers(target);
  const result: LeftoverCleanup = { restored: null, removed: [], failed: [] };
  if (leftovers.length === 0) return result;
  const live = leftovers.filter((leftover) => leftover.live);
  if (live.length > 0) {
    throw new Error(
      `${target}: another process is replacing it right now (it holds ` +
        `${live.map((leftover) => leftover.path).join(", ")}); wait for it to end, then try again`,
    );
  }
  const exists = await Deno.lstat(target).then(() => true, (error) => {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new Error(`${target}: cannot inspect it (${reason(error)})`);
  });
  if (!exists) {
    const previous = leftovers.filter((leftover) => leftover.kind === "previous");
    if (previous.length > 1) {
      throw new Error(
        `${target}: not found, and interrupted replaces left ${previous.length} earlier ` +
          `versions of it beside it (${previous.map((p) => p.path).join(", ")}): rename the one ` +
          `to keep back to ${target} and remove the others, then try again`,
      );
    }
    if (previous.length === 1) {
      await Deno.rename(previous[0].path, target).catch((error) => {
        throw new Error(
          `${target}: not found, and cannot rename the previous version ${previous[0].path} ` +
            `back to it (${reason(error)}); rename it yourself, then try again`,
        );
      });
      result.restored = previous[0].path;
    }
  }
  for (const leftover of leftovers) {
    if (leftover.path === result.restored) continue;
    const trash = leftover.kind === "previous" ? trashName(leftover.path) : null;
    const failure = await discard(leftover.path, trash);
    if (failure) result.failed.push(failure);
    else result.removed.push(leftover.path);
  }
  return result;
}

/** Throws naming `target` when it exists and is not a folder; returns whether it exists. */
async function inspectTarget(target: string): Promise<boolean> {
  const existing = await Deno.lstat(target).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`${target}: cannot inspect it (${reason(error)})`);
  });
  if (existing && !existing.isDirectory) {
    const kind = existing.isSymlink ? "a symbolic link" : "a file";
    throw new Error(
      `${target}: exists and is ${kind}, not a folder; refusing to replace it (choose another ` +
        "path or remove it yourself)",
    );
  }
  return existing !== null;
}

/**
 * Writes a folder whole, never losing the one it replaces: `build` writes the new folder beside
 * `target` (`.NAME.staging-PID-XXXXXXXX`, in the same parent, so renames are atomic), `verify`
 * checks it, and only then is the old folder renamed to `.NAME.previous-…`, the new one renamed
 * into place, and the old one renamed to `.NAME.trash-…` and removed. Any failure before the
 * swap removes the staging folder and leaves `target` as it was, byte for byte; a failure of
 * the swap itself puts the old folder back.
 *
 * At every instant the old folder exists whole, as `target` or as `.NAME.previous-…`: a process
 * killed between the two renames leaves `target` missing next to it. The next replace of the
 * same target renames it back first, and removes every leftover of earlier replaces
 * ({@linkcode cleanFolderLeftovers}; what it did is in the result); loading a missing model
 * folder names it (lib/io/model_folder.ts). While it runs, a replace holds an OS advisory lock
 * on its staging folder and on the old folder, so that another replace of the same target
 * refuses to start instead of removing them.
 *
 * @param target the folder to write (created, or replaced whole: no old file stays in it)
 * @param build writes the new folder's contents into the folder it is given
 * @param options a check of the built folder before the swap
 * @returns whether an old folder was replaced, where it was left if it could not be removed,
 *   and what was done with leftovers of earlier replaces
 * @throws {Error} naming `target` when it exists and is not a folder (a file or a symbolic link
 *   is never replaced), when another replace of it is running, or what `build` or `verify`
 *   threw
 */
export async function replaceFolder(
  target: string,
  build: (staging: string) => Promise<void>,
  options: ReplaceFolderOptions = {},
): Promise<ReplaceFolderResult> {
  target = withoutTrailingSlash(target);
  await inspectTarget(target);
  const cleanup = await cleanFolderLeftovers(target);
  const existing = await inspectTarget(target);
  const { parent, name } = splitTarget(target);
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const staging = inFolder(parent, `.${name}.staging-${tag}`);
  const previous = inFolder(parent, `.${name}.previous-${tag}`);
  let stagingLock: Deno.FsFile | "taken" | null = null;
  let oldLock: Deno.FsFile | "taken" | null = null;
  try {
    await Deno.mkdir(staging, { recursive: true });
    stagingLock = await lockFolder(staging);
    await build(staging);
    await options.verify?.(staging);
    if (existing) {
      oldLock = await lockFolder(target);
      if (oldLock === "taken") {
        throw new Error(`${target}: another process is replacing it right now; try again`);
      }
      await Deno.rename(target, previous);
    }
    try {
      await Deno.rename(staging, target);
    } catch (error) {
      if (existing) {
        await Deno.rename(previous, target).catch((restoring) => {
          throw new Error(
            `${target}: the new folder could not be put in place (${reason(error)}), nor the ` +
              `old one back (${reason(restoring)}): the old folder is whole at ${previous}; ` +
              `rename it back to ${target}`,
          );
        });
      }
      throw error;
    }
  } catch (error) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    unlock(stagingLock);
    unlock(oldLock);
    throw error;
  }
  unlock(stagingLock);
  if (!existing) return { replaced: false, leftover: null, leftoverReason: null, cleanup };
  const failure = await discard(previous, inFolder(parent, `.${name}.trash-${tag}`));
  unlock(oldLock);
  return {
    replaced: true,
    leftover: failure?.path ?? null,
    leftoverReason: failure?.reason ?? null,
    cleanup,
  };
}
