/**
 * Checks of a run folder before training: not a file, a new, empty or run folder (never a model
 * folder or a folder of other files), writable, room for the checkpoints, and whether it holds a
 * run to resume; each failure is a {@linkcode RunFolderError} naming the folder.
 *
 * @module
 */
import { readPointer } from "./checkpoint.ts";
import { exists, readJSONIfAny } from "../fs/files.ts";
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { ENSEMBLE_FILE } from "../io/ensemble_folder.ts";
import { CHECKPOINT_POINTER } from "../io/model_folder.ts";
import { EVALUATION_FILE } from "../io/run_evaluations.ts";
import type { Tagger } from "../model/tagger.ts";
import { TEACHER_TARGETS_FILE, TEACHER_TARGETS_META } from "./distill.ts";
import { LOCK_FILE, RunFolderError, RunLockedError, runLockHolder } from "../io/run_lock.ts";

/**
 * What a run folder holds at its top, at any stage: the lock (and a stale one moved aside), the
 * checkpoint pointer and folder, the history, a distilled run's cached teacher distributions
 * (written before its first checkpoint), evaluate's record.
 */
const RUN_FOLDER_FILES = new Set([
  LOCK_FILE,
  CHECKPOINT_POINTER,
  "checkpoints",
  "history.json",
  EVALUATION_FILE,
  TEACHER_TARGETS_FILE,
  TEACHER_TARGETS_META,
]);

/** Whether a name at the top of a folder is one a run folder holds (or a run's temp file). */
function isRunFolderEntry(name: string): boolean {
  if (RUN_FOLDER_FILES.has(name)) return true;
  if (/^\.write-probe-[0-9a-f]{8}$/.test(name)) return true; // a probe of these checks
  if (name.startsWith(`${LOCK_FILE}.stale-`)) return true; // a stale lock being taken over
  const temporary = /^(.*)\.[0-9a-f]{8}\.tmp$/.exec(name); // an atomic write cut short
  return temporary !== null && RUN_FOLDER_FILES.has(temporary[1]);
}

/** The model-folder file that a folder's top holds (a model or an ensemble config), or null. */
async function modelFolderFile(out: string): Promise<string | null> {
  const formats: [string, string][] = [
    ["config.json", "bilstm-ner-model"],
    [ENSEMBLE_FILE, "bilstm-ner-ensemble"],
  ];
  for (const [file, format] of formats) {
    try {
      const value = await readJSONIfAny(`${out}/${file}`) as { format?: unknown } | undefined;
      if (typeof value === "object" && value !== null && value.format === format) return file;
    } catch {
      // missing or not ours
    }
  }
  return null;
}

/** How many names an error lists before "and N more". */
const LISTED_NAMES = 5;

/**
 * Refuses an existing folder that is not empty and not a training run folder, before anything
 * is written in it: a model or ensemble folder (training there would put checkpoints into it,
 * and the folder would load as the new checkpoint while what describes it, such as its
 * `evaluation.json`, still speaks of the old model), or a folder of other files. A run folder
 * (`checkpoint.json`), or one holding only what a run writes before its first checkpoint (a
 * lock, cached teacher distributions), passes.
 *
 * @param out the run folder (an existing folder)
 * @throws {RunFolderError} naming the folder and what is in it
 */
export async function checkNotForeignFolder(out: string): Promise<void> {
  const model = await modelFolderFile(out);
  if (model !== null) {
    throw new RunFolderError(
      `${out}: is a model folder (${model}), not a training run folder: training would put its ` +
        "checkpoints into it and the folder would then answer with them while its other files " +
        "still describe the old model; choose another --out (a new or empty folder)",
    );
  }
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(out)) names.push(entry.name);
  } catch (error) {
    throw new RunFolderError(
      `${out}: cannot read the run folder (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (names.includes(CHECKPOINT_POINTER)) return;
  const foreign = names.filter((name) => !isRunFolderEntry(name)).sort();
  if (foreign.length === 0) return;
  const shown = foreign.slice(0, LISTED_NAMES).join(", ") +
    (foreign.length > LISTED_NAMES ? `, and ${foreign.length - LISTED_NAMES} more` : "");
  throw new RunFolderError(
    `${out}: holds files that are not a training run (${shown}); training writes only to a ` +
      "new, empty or run folder: choose another --out",
  );
}

/**
 * Makes sure a run folder can take checkpoints, before any training: `out` is a folder (created
 * if missing), new, empty or a run folder ({@linkcode checkNotForeignFolder}), and files can be
 * written in it and in its `checkpoints/` when that exists (a probe file is written and removed
 * in each).
 *
 * @param out the run folder
 * @returns whether the folder was created now
 * @throws {RunFolderError} naming the folder when it is a file, a model folder or a folder of
 *   other files, or cannot be created or written
 */
export async function prepareRunFolder(out: string): Promise<boolean> {
  let created = false;
  try {
    const stat = await Deno.stat(out);
    if (!stat.isDirectory) {
      throw new RunFolderError(`${out}: not a folder (a file is in the way); choose another --out`);
    }
    await checkNotForeignFolder(out);
  } catch (error) {
    if (error instanceof RunFolderError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new RunFolderError(
        `${out}: cannot use it as the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
    try {
      await Deno.mkdir(out, { recursive: true });
      created = true;
    } catch (inner) {
      throw new RunFolderError(
        `${out}: cannot create the run folder (${(inner as Error).message})`,
        { cause: inner },
      );
    }
  }
  await probeWritable(out);
  return created;
}

/**
 * A rough size of one checkpoint of a tagger: its float32 weights and the optimiser's two
 * moments of each (3× the weights), plus 1 MiB for maps and JSON.
 *
 * @param tagger the tagger trained
 */
export function checkpointBytes(tagger: Tagger): number {
  return 3 * 4 * tagger.model.countParams() + 2 ** 20;
}

/** Bytes as MiB with one decimal. */
function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Checks that a run folder has room for what training will write there. Free space is read
 * with `statfs` (node:fs; it needs read permission on the folder); where it cannot be read
 * (no permission, a platform without it) the check is skipped and the reason returned.
 *
 * @param out the run folder
 * @param needed bytes needed
 * @returns null when checked, else why it was not
 * @throws {RunFolderError} naming the folder when less than `needed` is free
 */
export async function checkFreeSpace(out: string, needed: number): Promise<string | null> {
  let available: number;
  try {
    const stats = await statfs(out);
    available = Number(stats.bavail) * Number(stats.bsize);
  } catch (error) {
    return `free space in ${out} not checked: ${(error as Error).message}`;
  }
  if (!Number.isFinite(available)) return `free space in ${out} not checked: not reported`;
  if (available < needed) {
    throw new RunFolderError(
      `${out}: too little free space for checkpoints: ${mebibytes(available)} free, about ` +
        `${mebibytes(needed)} needed (a checkpoint — weights and the optimiser's two moments — ` +
        "and the next one written beside it)",
    );
  }
  return null;
}

/** The error for a run folder that holds a run, when a new run was asked for. */
export function alreadyHoldsRun(out: string, epoch: number): RunFolderError {
  return new RunFolderError(
    `${out} already holds a training run (epoch ${epoch} done): ` +
      "pass --resume to continue it, or choose another --out",
  );
}

/** The error for resuming a folder without a checkpoint. */
export function nothingToResume(out: string): RunFolderError {
  return new RunFolderError(
    `${out}: nothing to resume: the folder holds no checkpoint (${CHECKPOINT_POINTER}); ` +
      "leave out --resume to start a new run in it",
  );
}

/**
 * The checks {@linkcode prepareRunFolder}, the lock and resuming make of a run folder, made
 * without training and without leaving anything behind, so that a command fails within a
 * second rather than after loading its data: `out` is a folder or can be created, can be
 * written, is not locked by a running training, is not a model folder or a folder of other
 * files ({@linkcode checkNotForeignFolder}), and holds a checkpoint exactly when resuming.
 * (The free space is checked once the model's size is known, by training itself.)
 *
 * @param out the run folder
 * @param options `resume`: whether the run is to be continued
 * @throws {RunFolderError} (a {@linkcode RunLockedError} for a lock) naming the folder
 */
export async function checkRunFolder(out: string, options: { resume: boolean }): Promise<void> {
  let stat: Deno.FileInfo | null = null;
  try {
    stat = await Deno.stat(out);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new RunFolderError(
        `${out}: cannot use it as the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
  if (stat === null) {
    if (options.resume) throw nothingToResume(out);
    // Create it (and any missing parents) to see that it can be, then remove what was created.
    let top = out;
    while (!(await exists(dirname(top))) && dirname(top) !== top) top = dirname(top);
    try {
      await Deno.mkdir(out, { recursive: true });
    } catch (error) {
      throw new RunFolderError(
        `${out}: cannot create the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
    await Deno.remove(top, { recursive: true }).catch(() => {});
    return;
  }
  if (!stat.isDirectory) {
    throw new RunFolderError(`${out}: not a folder (a file is in the way); choose another --out`);
  }
  const holder = await runLockHolder(out);
  if (holder) throw new RunLockedError(out, `${out}/${LOCK_FILE}`, holder);
  await checkNotForeignFolder(out);
  const pointer = await readPointer(out);
  if (options.resume && !pointer) throw nothingToResume(out);
  if (!options.resume && pointer) throw alreadyHoldsRun(out, pointer.epoch);
  await probeWritable(out);
}

/** Writes and removes a probe file in `out` and in its `checkpoints/` when that exists. */
async function probeWritable(out: string): Promise<void> {
  const folders = (await exists(`${out}/checkpoints`)) ? [out, `${out}/checkpoints`] : [out];
  for (const folder of folders) {
    const probe = `${folder}/.write-probe-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeTextFile(probe, "probe", { createNew: true });
      await Deno.remove(probe);
    } catch (error) {
      await Deno.remove(probe).catch(() => {});
      throw new RunFolderError(
        `${out}: cannot write checkpoints in the run folder (${(error as Error).message})`,
        { cause: error },
      );
    }
  }
}
