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
 * A path as a reader of this project's output should see it: relative to the project root when
 * it lies inside the project (so notebook outputs and logs carry no machine's absolute paths),
 * else as given.
 *
 * @example
 * ```ts
 * import { displayPath, projectPath } from "./paths.ts";
 * displayPath(projectPath("data/model")); // "data/model"
 * displayPath("/elsewhere/model"); // "/elsewhere/model"
 * ```
 *
 * @param path a path
 */
export function displayPath(path: string): string {
  return path.startsWith(PROJECT_ROOT) ? path.slice(PROJECT_ROOT.length) || "." : path;
}

/**
 * The folder holding training runs: `$BILSTM_NER_RUNS` when set (the tests' quick notebook run
 * points it at a scratch folder), else the project's `runs/`.
 */
export function runsRoot(): string {
  return Deno.env.get("BILSTM_NER_RUNS") ?? projectPath("runs");
}
