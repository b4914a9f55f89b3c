/**
 * The file-system helpers every stage uses, below all of them: atomic writes, JSON reads whose
 * errors name the file, folders replaced without losing the old one, files checked to stay
 * inside their folder, and the project's paths.
 *
 * @example
 * ```ts
 * import { displayPath, projectPath } from "./mod.ts";
 * displayPath(projectPath("data/model")); // "data/model"
 * ```
 *
 * @module
 */
export * from "./files.ts";
export * from "./inside.ts";
export * from "./paths.ts";
export * from "./replace_folder.ts";
