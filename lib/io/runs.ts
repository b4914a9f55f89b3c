/**
 * What a training run folder is, and where the runs are.
 *
 * A run folder (written by `deno task train --out RUN`) holds `checkpoint.json` (the pointer to
 * its latest complete epoch and, in newer runs, to its best epoch's checkpoint: `best`),
 * `history.json` (per-epoch metrics as parallel arrays; NaN stored as null; `valF1` only in newer
 * runs) and `checkpoints/epoch-NNN/config.json` (format version 2: the resolved tagger config and
 * the training record; version 1: `maxLen`, `modelType`, a partial `model` record and a training
 * record with `model` inside).
 *
 * Runs live under `runs/` in the project, or under `$BILSTM_NER_RUNS` when set (the quick
 * notebook run of the tests points it at a scratch folder). The shipped model is
 * {@linkcode SHIPPED_MODEL}; {@linkcode chooseModel} says which folder a notebook means.
 *
 * @module
 */
import { projectPath, runsRoot } from "../fs/paths.ts";

/**
 * The pointer file of a run folder (the same name as `CHECKPOINT_POINTER` of
 * lib/io/model_folder.ts, repeated here so this module does not load tfjs).
 */
export const POINTER_FILE = "checkpoint.json";

/**
 * Whether a folder is a training run folder (holds `checkpoint.json`).
 *
 * @param directory the folder
 */
export async function isRunFolder(directory: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${directory}/${POINTER_FILE}`)).isFile;
  } catch {
    return false;
  }
}

/**
 * The run folder under `root` whose checkpoint was written last, or null when there is none.
 *
 * @param root the folder of runs (default {@linkcode runsRoot})
 */
export async function latestRunFolder(root = runsRoot()): Promise<string | null> {
  let latest: { path: string; time: number } | null = null;
  try {
    for await (const entry of Deno.readDir(root)) {
      if (!entry.isDirectory) continue;
      const path = `${root}/${entry.name}`;
      const stat = await Deno.stat(`${path}/${POINTER_FILE}`).catch(() => null);
      const time = stat?.mtime?.getTime() ?? null;
      if (time !== null && (latest === null || time > latest.time)) latest = { path, time };
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  return latest?.path ?? null;
}

/** Which model to use: the latest training run, the shipped model, or a folder's path. */
export type ModelChoice = "latest run" | "shipped" | (string & Record<never, never>);

/**
 * The model shipped with the project, `data/model` (an ensemble folder), as an absolute path:
 * `loadModelFolder(SHIPPED_MODEL)` works whichever folder a program runs in. The one definition
 * of its place; the CLIs' default `--model`.
 */
export const SHIPPED_MODEL: string = projectPath("data/model");

/** The shipped fast model, `data/model-fast` (one distilled student, float16 weights). */
export const SHIPPED_FAST_MODEL: string = projectPath("data/model-fast");

/**
 * The folder a model choice names.
 *
 * @param choice `"latest run"` (the newest run under {@linkcode runsRoot}), `"shipped"`
 *   (`data/model`), or a path (relative to the project root unless absolute)
 * @returns the folder
 * @throws {Error} for `"latest run"` when there is no run, or a path that does not exist
 */
export async function chooseModel(choice: ModelChoice): Promise<string> {
  if (choice === "shipped") return SHIPPED_MODEL;
  if (choice === "latest run") {
    const latest = await latestRunFolder();
    if (latest === null) {
      throw new Error(
        `no training run under ${runsRoot()}: train one (notebook 5) or choose "shipped"`,
      );
    }
    return latest;
  }
  const path = choice.startsWith("/") ? choice : projectPath(choice);
  try {
    await Deno.stat(path);
  } catch {
    throw new Error(`${path}: model folder not found`);
  }
  return path;
}
