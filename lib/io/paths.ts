/**
 * Paths inside the project, resolved from this file rather than from the working folder, so the
 * library, its CLIs and the notebooks find the bundled data whichever folder they start in.
 *
 * @module
 */

/** The project's root folder (the one holding `deno.json`), with a trailing slash. */
export const PROJECT_ROOT: string = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/**
 * A path inside the project.
 *
 * @example
 * ```ts
 * import { projectPath } from "./paths.ts";
 * const corpus = projectPath("data/ner_dataset.csv.gz");
 * ```
 *
 * @param relative a path relative to the project root, e.g. `"data/model"`
 * @returns the absolute path
 */
export function projectPath(relative: string): string {
  return PROJECT_ROOT + relative.replace(/^\.?\/+/, "");
}

/**
 * The folder holding training runs: `$BILSTM_NER_RUNS` when set (the tests' quick notebook run
 * points it at a scratch folder), else the project's `runs/`.
 */
export function runsRoot(): string {
  return Deno.env.get("BILSTM_NER_RUNS") ?? projectPath("runs");
}
