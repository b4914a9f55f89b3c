/**
 * Streaming input for prediction: a byte stream (stdin) read as strict UTF-8 lines, handed out
 * in batches as they arrive, so a caller can tag and write each batch before the next is read
 * and memory stays bounded by one batch whatever the input's length.
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

/** Options for {@linkcode readLineBatches}. */
export interface LineBatchOptions {
  /** The most lines in one batch. Default 256. */
  batchLines?: number;
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

/** Concatenates byte arrays. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Reads a byte stream as lines of strict UTF-8 and yields them in batches, in order, as they
 * arrive: a batch is handed out when it holds `batchLines` lines, when the input pauses for
 * `idleMs` with lines waiting, and at the end. Lines end at `\n` or `\r\n`; a final line
 * without a newline counts, a final newline adds no empty line; a UTF-8 byte-order mark at the
 * very start is dropped. Only the current batch and the line being read are held in memory.
 *
 * @param stream the bytes, e.g. `Deno.stdin.readable`
 * @param options batch size, idle wait, source name for errors
 * @returns batches of lines (never empty)
 * @throws {InvalidUtf8Error} naming the first line that is not valid UTF-8, once every line
 *   before it has been yielded
 */
export async function* readLineBatches(
  stream: ReadableStream<Uint8Array>,
  options: LineBatchOptions = {},
): AsyncGenerator<string[], void, undefined> {
  const batchLines = options.batchLines ?? 256;
  const idleMs = options.idleMs ?? 50;
  const source = options.source ?? "stdin";
  if (!Number.isInteger(batchLines) || batchLines < 1) {
    throw new RangeError(`batchLines must be a positive integer, got ${batchLines}`);
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
  let partial: Uint8Array[] = [];
  let pending: string[] = [];
  let finished = false;
  try {
    let read = reader.read();
    while (true) {
      const result = pending.length > 0 ? await readOrIdle(read, idleMs) : await read;
      if (result === IDLE) {
        const batch = pending;
        pending = [];
        yield batch;
        continue;
      }
      if (result.done) break;
      read = reader.read();
      const chunk = result.value;
      let from = 0;
      for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, from)) {
        partial.push(chunk.subarray(from, at));
        const line = decodeLine(concat(partial));
        if (line instanceof InvalidUtf8Error) {
          if (pending.length > 0) yield pending;
          throw line;
        }
        pending.push(line);
        partial = [];
        from = at + 1;
        if (pending.length === batchLines) {
          const batch = pending;
          pending = [];
          yield batch;
        }
      }
      if (from < chunk.length) partial.push(chunk.slice(from));
    }
    finished = true;
    const last = partial.length > 0 ? decodeLine(concat(partial)) : undefined;
    if (typeof last === "string") pending.push(last);
    if (pending.length > 0) yield pending;
    if (last instanceof InvalidUtf8Error) throw last;
  } finally {
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
}
