/**
 * The error of the corpus reader (re-exported by `corpus.ts`, its public home).
 *
 * @module
 */

/** An error in a corpus file; the message names the file and, when known, the line. */
export class CorpusError extends Error {
  /** The file that caused the error. */
  readonly file: string;
  /** The 1-based line of the problem, when there is one. */
  readonly line?: number;

  /**
   * An error naming the file and, when known, the line.
   *
   * @param file the file being read
   * @param message what is wrong
   * @param line the 1-based line, when the problem has one
   */
  constructor(file: string, message: string, line?: number) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${message}`);
    this.name = "CorpusError";
    this.file = file;
    this.line = line;
  }
}
