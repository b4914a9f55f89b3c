/**
 * A streaming line reader for the column and JSONL readers (`formats.ts` is the public surface):
 * a file read in chunks, gzip unpacked on the fly (detected by its magic bytes, whatever the
 * extension), the bytes decoded as UTF-8 (a byte-order mark dropped) or Windows-1252, and split
 * into lines numbered from 1. Memory stays at one chunk and one line; a size cap on the bytes
 * read (after unpacking) stops `/dev/zero` and gzip bombs.
 *
 * @module
 */
import { CorpusError } from "./_corpus_error.ts";
import {
  type CorpusEncoding,
  type CorpusEncodingOption,
  firstInvalidUtf8,
  formatBytes,
  isGzip,
  lineOfIndex,
  openCorpusFile,
  startsUtf16,
  statCorpusFile,
  undefinedWindows1252,
} from "./_corpus_read.ts";

/** One line of a text file. */
export interface TextLine {
  /** The line without its line break (`\n` or `\r\n`). */
  text: string;
  /** Its 1-based number. */
  line: number;
}

/** Options for {@linkcode readLines}. */
export interface ReadLinesOptions {
  /**
   * The text encoding; `"auto"` reads UTF-8 and, on the first byte that is not valid UTF-8,
   * throws an {@linkcode InvalidUtf8Error} (which a collecting reader answers by starting over
   * in Windows-1252). Default `"auto"`.
   */
  encoding?: CorpusEncodingOption;
  /** The most bytes read (after unpacking gzip). */
  maxBytes: number;
  /** Called once with the encoding in force, before the first line. */
  onEncoding?: (encoding: CorpusEncoding) => void;
  /** Decode UTF-8 replacing bad bytes instead of failing (for a first look at a file). */
  lenient?: boolean;
}

/** A file read as UTF-8 (given or detected) held a byte that is not valid UTF-8. */
export class InvalidUtf8Error extends CorpusError {
  /** Whether the encoding was detected (`"auto"`), so Windows-1252 may be tried. */
  readonly detected: boolean;

  /**
   * @param file the file
   * @param message what is wrong
   * @param line the line of the byte
   * @param detected whether the encoding was detected rather than given
   */
  constructor(file: string, message: string, line: number, detected: boolean) {
    super(file, message, line);
    this.name = "InvalidUtf8Error";
    this.detected = detected;
  }
}

/** The bytes of a file as a stream, gzip unpacked, counting against the cap. */
async function byteStream(path: string, maxBytes: number): Promise<ReadableStream<Uint8Array>> {
  await statCorpusFile(path);
  const file = await openCorpusFile(path);
  const reader = file.readable.getReader();
  const first = await reader.read();
  const head = first.done ? new Uint8Array(0) : first.value;
  let raw = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
      if (first.done) controller.close();
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await reader.cancel();
    },
  });
  if (isGzip(head)) {
    raw = raw.pipeThrough(
      new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
    );
  }
  let total = 0;
  return raw.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.length;
        if (total > maxBytes) {
          throw new CorpusError(
            path,
            `stopped reading at the corpus size cap of ${formatBytes(maxBytes)} without ` +
              "reaching the end (raise it with maxBytes, or --max-bytes)",
          );
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** Counts line feeds in `text` before `end` (one fewer than the line `end` is on). */
function countLines(text: string, end = text.length): number {
  return lineOfIndex(text, end) - 1;
}

/** Refuses UTF-16 and Windows-1252's five undefined bytes; checks one decoded chunk. */
function checkDecoded(text: string, path: string, linesBefore: number, encoding: CorpusEncoding) {
  if (encoding !== "windows-1252") return;
  const undefinedByte = undefinedWindows1252(text);
  if (undefinedByte !== -1) {
    throw new CorpusError(
      path,
      `byte 0x${text.charCodeAt(undefinedByte).toString(16).toUpperCase()} is not a ` +
        "character in Windows-1252: the file is in another encoding",
      linesBefore + countLines(text, undefinedByte) + 1,
    );
  }
}

/**
 * Reads a text file line by line, streaming.
 *
 * @param path the file (plain or gzip)
 * @param options encoding and size cap
 * @returns the lines, numbered from 1 (a last line without a line break included)
 * @throws {CorpusError} when the file is missing, a folder, over the cap, corrupt gzip, UTF-16,
 *   holds a NUL byte, or is not valid in its encoding ({@linkcode InvalidUtf8Error} for UTF-8)
 */
export async function* readLines(
  path: string,
  options: ReadLinesOptions,
): AsyncGenerator<TextLine> {
  const given = options.encoding ?? "auto";
  const encoding: CorpusEncoding = given === "windows-1252" ? "windows-1252" : "utf-8";
  const fatal = encoding === "utf-8" && !options.lenient;
  const decoder = new TextDecoder(encoding, { fatal, ignoreBOM: false });
  const reader = (await byteStream(path, options.maxBytes)).getReader();
  options.onEncoding?.(encoding);
  let pending = "";
  let line = 0;
  let first = true;
  try {
    while (true) {
      let result;
      try {
        result = await reader.read();
      } catch (error) {
        if (error instanceof CorpusError) throw error;
        throw new CorpusError(path, `corrupt or truncated gzip data (${(error as Error).message})`);
      }
      const bytes = result.done ? undefined : result.value;
      if (first && bytes && bytes.length >= 2) {
        if (startsUtf16(bytes)) {
          throw new CorpusError(
            path,
            "the file is UTF-16 (a UTF-16 byte-order mark); save it as UTF-8",
            1,
          );
        }
      }
      first = false;
      let text: string;
      try {
        text = decoder.decode(bytes, { stream: !result.done });
      } catch {
        const offset = Math.max(0, firstInvalidUtf8(bytes ?? new Uint8Array(0)));
        const before = new TextDecoder("utf-8").decode(
          (bytes ?? new Uint8Array(0)).subarray(0, offset),
        );
        throw new InvalidUtf8Error(
          path,
          "not valid UTF-8" +
            (given === "auto" ? "" : " (read it as windows-1252 with --encoding windows-1252)"),
          line + countLines(before) + 1,
          given === "auto",
        );
      }
      // `pending` never holds a line break here, so lines are counted and searched in the new
      // text only: a file with no line breaks (`/dev/zero`) costs linear time, not quadratic.
      if (!options.lenient) checkDecoded(text, path, line, encoding);
      const nul = text.indexOf("\0");
      if (nul !== -1) {
        throw new CorpusError(
          path,
          "a NUL byte: this is not a text file",
          line + countLines(text, nul) + 1,
        );
      }
      const firstBreak = text.indexOf("\n");
      if (firstBreak === -1) {
        pending += text;
      } else {
        const buffer = pending + text;
        let start = 0;
        let end = pending.length + firstBreak;
        for (; end !== -1; end = buffer.indexOf("\n", start)) {
          line++;
          yield { text: lineText(buffer, start, end, path, line), line };
          start = end + 1;
        }
        pending = buffer.slice(start);
      }
      if (result.done) break;
    }
    if (pending !== "") {
      line++;
      yield { text: lineText(pending, 0, pending.length, path, line), line };
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** One line's text: `\r` before the break dropped, a NUL byte refused. */
function lineText(buffer: string, start: number, end: number, path: string, line: number): string {
  const text = buffer.slice(start, buffer.charCodeAt(end - 1) === 13 ? end - 1 : end);
  if (text.includes("\0")) {
    throw new CorpusError(path, "a NUL byte: this is not a text file", line);
  }
  return text;
}
