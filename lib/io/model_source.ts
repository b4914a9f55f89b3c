/**
 * Where a model folder's files come from, as the loaders read them: a
 * {@linkcode ModelFileSource} reads one file of one folder by its name inside that folder. The
 * Deno loader (lib/io/model_folder.ts) reads the disk with the checks of lib/fs/inside.ts; the
 * page an exported site runs (lib/web/) fetches the files over HTTP. Everything past reading
 * (parsing and checking `model.json`, decoding the weights, building the tagger) is shared.
 *
 * This module and the pure ones it serves (lib/io/_artifacts.ts, lib/io/_build_tagger.ts,
 * lib/io/ensemble_config.ts) use no `Deno.*`, so they run in a browser too.
 *
 * @module
 */

/** Reads the files of one model folder (or ensemble folder). */
export interface ModelFileSource {
  /** The folder, as messages name it (a path or a URL). */
  readonly directory: string;
  /**
   * Reads and parses a JSON file of the folder.
   *
   * @param name its name inside the folder, e.g. `"vocab.json"`
   * @param what what it holds, for messages (e.g. `"vocabulary"`)
   * @throws {Error} naming the file when it is missing, refused or not JSON
   */
  readJSON(name: string, what: string): Promise<unknown>;
  /**
   * Checks a binary file before it is read and gives its size in bytes.
   *
   * @param name its name inside the folder, e.g. `"weights.bin"`
   * @param what what it holds, for messages
   * @throws {Error} naming the file when it is missing or refused
   */
  sizeOf(name: string, what: string): Promise<number>;
  /**
   * Reads a binary file whose size {@linkcode sizeOf} gave.
   *
   * @param name its name inside the folder
   * @param what what it holds, for messages
   * @param size the bytes it holds
   * @throws {Error} naming the file when it cannot be read or does not hold `size` bytes
   */
  readBytes(name: string, what: string, size: number): Promise<Uint8Array<ArrayBuffer>>;
  /**
   * Whether the folder holds a file of this name (e.g. `ensemble.json`).
   *
   * @param name its name inside the folder
   */
  has(name: string): Promise<boolean>;
  /**
   * The source for a sub-folder (an ensemble's member), which must stay inside this folder.
   *
   * @param name the member folder's name inside this folder, e.g. `"member-1"`
   * @param from the file that names it, for messages
   * @param what what it is, for messages (e.g. `member "member-1"`)
   */
  folder(name: string, from: string, what: string): Promise<ModelFileSource>;
}
