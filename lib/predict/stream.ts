/**
 * Streaming input for prediction: a byte stream (stdin) read as strict UTF-8 lines, handed out
 * in batches as they arrive, so a caller can tag and write each batch before the next is read
 * and memory stays bounded by one batch whatever the input's length. A batch holds at most
 * `batchLines` lines and `batchBytes` of text (or a single longer line); with `maxLineBytes`,
 * a longer line is not kept at all: its bytes are counted and dropped as they arrive, and it is
 * handed out as a {@linkcode LongLine} in its place.
 *
 * @example
 * ```ts
 * import { readLineBatches } from "./stream.ts";
 * const input = new Blob(["Paris\nLondon\n"]).stream();
 * for await (const lines of readLineBatches(input)) console.log(lines); // ["Paris", "London"]
 * ```
 *
 * @module
 */
import { concatBytes } from "../fs/files.ts";

/**
 * The per-line cap `deno task predict` reads stdin with: 64 KiB of UTF-8 (about 10,000 words).
 * A line's document is built whole: measured with the shipped model on one thread, one line of
 * 128 KiB of text peaks at about 365 MB, 256 KiB at 435 MB, 1 MiB at 600 MB; a stream of
 * ordinary lines at about 420 MB, so a cap of 64 KiB keeps the two together under 500 MB.
 */
export const MAX_LINE_BYTES = 64 * 2 ** 10;

/**
 * The text a batch holds at most by default (unless one line alone is longer): 64 KiB, so a
 * batch of short lines never holds more text than one line of {@linkcode MAX_LINE_BYTES}.
 */
export const BATCH_BYTES = 64 * 2 ** 10;

/** Options for {@linkcode readLineBatches}. */
export interface LineBatchOptions {
  /** The most lines in one batch. Default 256. */
  batchLines?: number;
  /**
   * The most UTF-8 bytes of text in one batch: a line that would take a batch past it starts
   * the next batch. A single longer line makes a batch of its own. Default
   * {@linkcode BATCH_BYTES}.
   */
  batchBytes?: number;
  /**
   * The most UTF-8 bytes of one line (its line ending not counted). A longer line is never held:
   * its bytes are dropped as they arrive and the batch gets a {@linkcode LongLine} in its place
   * (and it is not checked for UTF-8). Default: no cap.
   */
  maxLineBytes?: number;
  /**
   * How long (ms) to wait for more input before handing out the lines already read as a smaller
   * batch, so a slow or interactive producer gets its results at once. Default 50.
   */
  idleMs?: number;
  /** What the stream is, for error messages. Default `"stdin"`. */
  source?: string;
}

/** A line of the input that is not valid UTF-8. */
export class InvalidUtf8Error extends Error {
  /** The 1-based line number. */
  readonly line: number;

  /**
   * @param source what the stream is (e.g. `"stdin"`)
   * @param line the 1-based line number
   */
  constructor(source: string, line: number) {
    super(
      `${source} is not valid UTF-8 (line ${line}): convert the text to UTF-8 first ` +
        "(e.g. with iconv)",
    );
    this.name = "InvalidUtf8Error";
    this.line = line;
  }
}

/** Describes a number of bytes for messages: `1 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 2 ** 10 && bytes % 2 ** 10 === 0) return `${bytes / 2 ** 10} KiB`;
  return `${bytes} bytes`;
}

/**
 * A line longer than {@linkcode LineBatchOptions.maxLineBytes}, in its batch in place of its
 * text: its number and length. Its bytes were dropped as they arrived.
 */
export class LongLine {
  /** The 1-based line number. */
  readonly line: number;
  /** Its length in bytes (its line ending not counted). */
  readonly bytes: number;
  /** The cap it is over. */
  readonly limit: number;

  /**
   * Makes the record of a long line.
   *
   * @param line the 1-based line number
   * @param bytes its length in bytes
   * @param limit the cap it is over
   */
  constructor(line: number, bytes: number, limit: number) {
    this.line = line;
    this.bytes = bytes;
    this.limit = limit;
  }

  /** Why the line is not tagged, e.g. `line longer than 64 KiB: 3145728 bytes; not tagged`. */
  get message(): string {
    return `line longer than ${formatBytes(this.limit)}: ${this.bytes} bytes; not tagged`;
  }
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const IDLE = Symbol("idle");

/** The read, or {@linkcode IDLE} when it has not finished after `ms` milliseconds. */
async function readOrIdle<T>(read: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimeout(() => resolve(IDLE), ms);
  });
  try {
    return await Promise.race([read, idle]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a byte stream as lines of strict UTF-8 and yields them in batches, in order, as they
 * arrive: a batch is handed out when it holds `batchLines` lines, before a line that would take
 * its text past `batchBytes`, when the input pauses for `idleMs` with lines waiting, and at the
 * end. Lines end at `\n` or `\r\n`; a final line without a newline counts, a final newline
 * adds no empty line; a UTF-8 byte-order mark at the very start is dropped. Only the current
 * batch and the line being read are held in memory; with `maxLineBytes`, the line being read is
 * held only up to that cap (a longer one is counted, dropped and given as a
 * {@linkcode LongLine}), so memory is bounded whatever the input.
 *
 * @param stream the bytes, e.g. `Deno.stdin.readable`
 * @param options batch size, idle wait, source name for errors, line cap
 * @returns batches of lines (never empty)
 * @throws {InvalidUtf8Error} naming the first line that is not valid UTF-8, once every line
 *   before it has been yielded
 */
export function readLineBatches(
  stream: ReadableStream<Uint8Array>,
  options?: LineBatchOptions & { maxLineBytes?: undefined },
): AsyncGenerator<string[], void, undefined>;
/**
 * Reads a byte stream as lines, as above, with a cap on a line's length: a longer line is
 * given as a {@linkcode LongLine} in its place.
 *
 * @param stream the bytes, e.g. `Deno.stdin.readable`
 * @param options batch size, idle wait, source name for errors, and the line cap
 * @returns batches of lines and long lines (never empty)
 */
export function readLineBatches(
  stream: ReadableStream<Uint8Array>,
  options: LineBatchOptions & { maxLineBytes: number },
): AsyncGenerator<(string | LongLine)[], void, undefined>;
export async function* readLineBatches(
  stream: ReadableStream<Uint8Array>,
  options: LineBatchOptions = {},
): AsyncGenerator<(string | LongLine)[], void, undefined> {
  const batchLines = options.batchLines ?? 256;
  const batchBytes = options.batchBytes ?? BATCH_BYTES;
  const maxLineBytes = options.maxLineBytes ?? Infinity;
  const idleMs = options.idleMs ?? 50;
  const source = options.source ?? "stdin";
  if (!Number.isInteger(batchLines) || batchLines < 1) {
    throw new RangeError(`batchLines must be a positive integer, got ${batchLines}`);
  }
  for (const [name, value] of [["batchBytes", batchBytes], ["maxLineBytes", maxLineBytes]]) {
    if (!(value as number >= 1)) {
      throw new RangeError(`${name} must be at least 1, got ${value}`);
    }
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let lineNumber = 0;
  /** A line's text, or the error that names it when it is not UTF-8. */
  const decodeLine = (bytes: Uint8Array): string | InvalidUtf8Error => {
    lineNumber++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CARRIAGE_RETURN) end--;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(0, end));
    } catch {
      return new InvalidUtf8Error(source, lineNumber);
    }
    return lineNumber === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text;
  };

  const reader = stream.getReader();
  /** The line being read: its chunks (empty once it is known to be too long) and its bytes. */
  let partial: Uint8Array[] = [];
  let partialBytes = 0;
  /** Whether the last byte of the line being read is a carriage return. */
  let endsWithReturn = false;
  let pending: (string | LongLine)[] = [];
  let pendingBytes = 0;
  let finished = false;
  /** The batch to hand out now, if any (emptying `pending`). */
  const take = (): (string | LongLine)[] => {
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    return batch;
  };
  /** Bytes of the line read so far, without a final carriage return. */
  const lineBytes = () => partialBytes - (endsWithReturn ? 1 : 0);
  /**
   * Adds bytes of the line being read, dropping them once the line is over the cap; `copy`
   * keeps a copy (of the end of a chunk, whose buffer the stream may reuse).
   */
  const addToLine = (bytes: Uint8Array, copy = false) => {
    if (bytes.length === 0) return;
    partialBytes += bytes.length;
    endsWithReturn = bytes[bytes.length - 1] === CARRIAGE_RETURN;
    if (partialBytes - 1 > maxLineBytes) partial = []; // over the cap even without a "\r"
    else partial.push(copy ? bytes.slice() : bytes);
  };
  /** The line read, ended: its text, a LongLine, or the error that names it. */
  const endLine = (): string | LongLine | InvalidUtf8Error => {
    const bytes = lineBytes();
    const line = bytes > maxLineBytes
      ? new LongLine(++lineNumber, bytes, maxLineBytes)
      : decodeLine(partial.length === 1 ? partial[0] : concatBytes(partial));
    partial = [];
    partialBytes = 0;
    endsWithReturn = false;
    return line;
  };
  try {
    let read = reader.read();
    while (true) {
      const result = pending.length > 0 ? await readOrIdle(read, idleMs) : await read;
      if (result === IDLE) {
        yield take();
        continue;
      }
      if (result.done) break;
      read = reader.read();
      const chunk = result.value;
      let from = 0;
      for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, from)) {
        addToLine(chunk.subarray(from, at));
        const size = lineBytes();
        const line = endLine();
        from = at + 1;
        if (line instanceof InvalidUtf8Error) {
          if (pending.length > 0) yield take();
          throw line;
        }
        const bytes = line instanceof LongLine ? 0 : size;
        if (pending.length > 0 && pendingBytes + bytes > batchBytes) yield take();
        pending.push(line);
        pendingBytes += bytes;
        if (pending.length === batchLines) yield take();
      }
      // The rest is kept (copied: the chunk's buffer may be reused), unless over the cap.
      if (from < chunk.length) addToLine(chunk.subarray(from), true);
    }
    finished = true;
    const size = lineBytes();
    const last = partialBytes > 0 ? endLine() : undefined;
    if (last !== undefined && !(last instanceof InvalidUtf8Error)) {
      const bytes = last instanceof LongLine ? 0 : size;
      if (pending.length > 0 && pendingBytes + bytes > batchBytes) yield take();
      pending.push(last);
    }
    if (pending.length > 0) yield take();
    if (last instanceof InvalidUtf8Error) throw last;
  } finally {
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
}
