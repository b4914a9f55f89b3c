/**
 * What a folder given as `--model` is when it holds no model, for an error that says what to
 * pass instead: an empty folder, a folder of training runs, a run with no finished epoch yet, a
 * run's `checkpoints/` folder, or something else.
 *
 * @module
 */
import { ENSEMBLE_FILE } from "./folder_config.ts";
import { LOCK_FILE } from "./run_lock.ts";
import { isRunFolder } from "./runs.ts";

/** How many names a message lists. */
const LISTED = 3;

/** The entries of a folder (at most `limit`, sorted), with whether each is a folder. */
async function entriesOf(directory: string, limit = 10_000): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(directory)) {
    entries.push(entry);
    if (entries.length >= limit) break;
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `a, b, c and 4 more`. */
function listed(names: string[]): string {
  const shown = names.slice(0, LISTED).join(", ");
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/**
 * The error for a folder that holds no model (no `config.json`, `ensemble.json` or
 * `checkpoint.json`), saying what the folder is and what to pass instead.
 *
 * @param directory the folder, as given
 * @returns the error to throw
 */
export async function notAModelError(directory: string): Promise<Error> {
  const entries = await entriesOf(directory).catch(() => null);
  const names = entries?.map((entry) => entry.name) ?? [];
  const folders = entries?.filter((entry) => entry.isDirectory).map((entry) => entry.name) ?? [];
  const usual = "a model folder such as data/model, or a training run folder under runs/";
  if (entries !== null && entries.length === 0) {
    return new Error(
      `${directory}: an empty folder, not a model. Pass ${usual}, or train one into it ` +
        `(deno task train --out ${directory})`,
    );
  }
  const runs: string[] = [];
  for (const name of folders.slice(0, 1000)) {
    if (await isRunFolder(`${directory}/${name}`)) runs.push(name);
  }
  if (runs.length > 0) {
    return new Error(
      `${directory}: a folder of training runs (${listed(runs)}), not a model. Pass one run, ` +
        `e.g. --model ${directory}/${runs[0]}`,
    );
  }
  const epochs = folders.filter((name) => /^epoch-\d+$/.test(name));
  if (epochs.length > 0) {
    const parent = directory.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || ".";
    return new Error(
      `${directory}: a run's checkpoints folder (${listed(epochs)}), not a model. Pass the run ` +
        `(--model ${parent}, its best epoch) or one checkpoint (--model ${directory}/${
          epochs.at(-1)
        })`,
    );
  }
  if (
    names.includes(LOCK_FILE) || names.includes("checkpoints") || names.includes("history.json")
  ) {
    return new Error(
      `${directory}: a training run with no finished epoch yet (no checkpoint.json). Pass it ` +
        "again once its first epoch is written, or pass another model",
    );
  }
  return new Error(
    `${directory}: not a model folder (no config.json, ${ENSEMBLE_FILE} or checkpoint.json in ` +
      `it). Pass ${usual}`,
  );
}
