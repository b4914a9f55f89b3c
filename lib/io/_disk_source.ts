/**
 * A {@linkcode ModelFileSource} over a folder on disk, with the checks of lib/fs/inside.ts:
 * every file read must be a regular file inside the folder once symbolic links are followed,
 * checked before a byte is read, a JSON file at most 64 MiB and a weights file exactly the size
 * checked.
 *
 * @module
 */
import { exists } from "../fs/files.ts";
import {
  checkFileInside,
  readFileInside,
  readJSONFileInside,
  resolveInsideFolder,
} from "../fs/inside.ts";
import type { ModelFileSource } from "./model_source.ts";

/**
 * The files of a folder on disk, as the loaders read them.
 *
 * @param directory the folder
 * @returns a source whose paths are `${directory}/NAME`
 */
export function diskSource(directory: string): ModelFileSource {
  const path = (name: string) => `${directory}/${name}`;
  return {
    directory,
    readJSON: (name, what) => readJSONFileInside<unknown>(directory, path(name), what),
    sizeOf: (name, what) => checkFileInside(directory, path(name), what, Number.MAX_SAFE_INTEGER),
    readBytes: (name, what, size) => readFileInside(directory, path(name), what, size),
    has: (name) => exists(path(name)),
    folder: async (name, from, what) =>
      diskSource(await resolveInsideFolder(directory, name, from, what)),
  };
}
