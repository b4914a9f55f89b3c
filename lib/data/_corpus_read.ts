/**
 * From a path to text, for the corpus reader (`corpus.ts` is the public surface): a bounded
 * read (a size cap checked before reading a regular file, and a read that stops at the cap for
 * devices and pipes such as `/dev/zero`), gzip decompressed in-process under the same cap, and
 * the bytes decoded as UTF-8 or Windows-1252, detected or given.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { CorpusError } from "./_corpus_error.ts";
import { concatBytes } from "../fs/files.ts";

/** The text encodings a corpus file may be in. */
export type CorpusEncoding = "utf-8" | "windows-1252";

/** An encoding to read a corpus file with: one of {@linkcode CorpusEncoding}, or `"auto"`. */
export type CorpusEncodingOption = CorpusEncoding | "auto";

/** The values {@linkcode CorpusEncodingOption} allows, `"auto"` first. */
export const CORPUS_ENCODING_OPTIONS: readonly CorpusEncodingOption[] = [
  "auto",
  "utf-8",
  "windows-1252",
];

/**
 * The corpus size cap: the most bytes read from a corpus file, and the most its gzip data may
 * decompress to: 128 MiB, 8 times the bundled corpus (15.2 MB of CSV). Loading a corpus takes
 * about 20 times its size in memory (1.2 GB for a 61 MB file, half of it JavaScript heap,
 * whose limit is about 4 GiB), so the cap keeps a wrong file (`/dev/zero`, a disk image, a gzip
 * bomb) from exhausting it; raise it with `maxBytes` (`--max-bytes` of `deno task stats`).
 */
export const DEFAULT_MAX_CORPUS_BYTES: number = 128 * 1024 * 1024;

/** Bytes per read from a device or pipe. */
const CHUNK_BYTES = 1 << 20;
const GZIP_MAGIC = [0x1f, 0x8b];
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** What {@linkcode readCorpusText} returns. */
export interface CorpusText {
  /** The decoded text (a UTF-8 byte-order mark removed). */
  text: string;
  /** The encoding it was decoded with, given or detected. */
  encoding: CorpusEncoding;
}

/** Options for {@linkcode readCorpusText}. */
export interface ReadCorpusOptions {
  /**
   * The file's text encoding; default `"auto"`: UTF-8 when the bytes are valid UTF-8 (with or
   * without a byte-order mark), else Windows-1252 (the bundled GMB file).
   */
  encoding?: CorpusEncodingOption;
  /** The size cap in bytes, of the file and of its decompressed data; default {@linkcode DEFAULT_MAX_CORPUS_BYTES}. */
  maxBytes?: number;
}

/** A byte count as people read it: `64 MiB`, `1.5 GiB`, `812 bytes`. */
export function formatBytes(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** How to raise the cap, for the messages. */
export const RAISE_CAP =
  "raise the cap with the maxBytes option, or --max-bytes for deno task stats";

/**
 * Checks the options of {@linkcode readCorpusText}.
 *
 * @throws {ConfigError} naming `encoding` or `maxBytes`
 */
function resolveOptions(options: ReadCorpusOptions): Required<ReadCorpusOptions> {
  const { encoding = "auto", maxBytes = DEFAULT_MAX_CORPUS_BYTES } = options;
  if (!CORPUS_ENCODING_OPTIONS.includes(encoding)) {
    throw new ConfigError("encoding", `must be ${CORPUS_ENCODING_OPTIONS.join(", ")}`, encoding);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new ConfigError("maxBytes", "must be a positive integer", maxBytes);
  }
  return { encoding, maxBytes };
}

/**
 * Reads a corpus file into text: at most `maxBytes` bytes, gzip decompressed in-process
 * (detected by its magic bytes, whatever the extension) to at most `maxBytes`, then decoded.
 *
 * @param path the `.csv` or `.csv.gz` file (a device or pipe is read up to the cap)
 * @param options encoding and size cap
 * @returns the text and the encoding it was read with
 * @throws {CorpusError} when the file is missing, unreadable, a folder, over the cap, a corrupt
 *   or truncated gzip, UTF-16, or not valid in the encoding given
 * @throws {ConfigError} on a bad option
 */
export async function readCorpusText(
  path: string,
  options: ReadCorpusOptions = {},
): Promise<CorpusText> {
  const { encoding, maxBytes } = resolveOptions(options);
  let bytes = await readBounded(path, maxBytes);
  const gzip = isGzip(bytes);
  if (gzip) bytes = await gunzipBounded(bytes, path, maxBytes);
  return decodeCorpus(bytes, path, encoding, gzip);
}

/** Whether bytes start with gzip's magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Whether bytes start with a UTF-16 byte-order mark (little- or big-endian). */
export function startsUtf16(bytes: Uint8Array): boolean {
  return (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
}

/**
 * The index of the first of the five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
 * 0x9D) in text decoded as Windows-1252, or -1: such a byte means another encoding.
 */
export function undefinedWindows1252(text: string): number {
  return text.search(/[\u0081\u008d\u008f\u0090\u009d]/);
}

/** Stats a corpus path: a missing or unreadable path, or a folder, is a {@linkcode CorpusError}. */
export async function statCorpusFile(path: string): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new CorpusError(path, openProblem(error));
  }
  if (info.isDirectory) throw new CorpusError(path, "is a folder, not a corpus file");
  return info;
}

/** Opens a corpus file for reading; a failure is a {@linkcode CorpusError} saying why. */
export async function openCorpusFile(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (error) {
    throw new CorpusError(path, openProblem(error));
  }
}

/** Why a file cannot be opened, in words. */
export function openProblem(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "file not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) {
    return `no permission to read it (${(error as Error).message})`;
  }
  return `cannot read the file (${(error as Error).message})`;
}

/**
 * Reads at most `maxBytes` bytes of a file. A regular file over the cap is refused before
 * reading; anything else (a device, a pipe, a file that grows) is read until its end or until
 * one byte more than the cap has come, which is an error.
 */
async function readBounded(path: string, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const info = await statCorpusFile(path);
  if (info.isFile && info.size > maxBytes) {
    throw new CorpusError(
      path,
      `the file is ${formatBytes(info.size)}, over the corpus size cap of ` +
        `${formatBytes(maxBytes)}; nothing was read (${RAISE_CAP})`,
    );
  }
  const file = await openCorpusFile(path);
  try {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let total = 0;
    // A regular file comes in one read of its size (plus one byte to see that it ended).
    let size = info.isFile ? info.size + 1 : CHUNK_BYTES;
    while (true) {
      const chunk = new Uint8Array(Math.min(size, maxBytes + 1 - total));
      const count = await file.read(chunk);
      if (count === null) break;
      chunks.push(chunk.subarray(0, count));
      total += count;
      if (total > maxBytes) {
        const what = info.isFile ? "the file grew while being read" : "not a regular file";
        throw new CorpusError(
          path,
          `stopped reading at the corpus size cap of ${formatBytes(maxBytes)} without reaching ` +
            `the end (${what}; ${RAISE_CAP})`,
        );
      }
      size = CHUNK_BYTES;
    }
    return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
  } catch (error) {
    if (error instanceof CorpusError) throw error;
    throw new CorpusError(path, `cannot read the file (${(error as Error).message})`);
  } finally {
    file.close();
  }
}

/** Decompresses gzip data to at most `maxBytes` bytes. */
async function gunzipBounded(
  compressed: Uint8Array<ArrayBuffer>,
  path: string,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = new Blob([compressed]).stream()
    .pipeThrough(new DecompressionStream("gzip"))
    .getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw new CorpusError(
          path,
          `the gzip data decompresses to more than the corpus size cap of ` +
            `${formatBytes(maxBytes)}; stopped there (${RAISE_CAP})`,
        );
      }
    }
  } catch (error) {
    if (error instanceof CorpusError) throw error;
    throw new CorpusError(path, `corrupt or truncated gzip data (${(error as Error).message})`);
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

/** The 1-based line of a byte offset (lines end with `\n`). */
function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let index = 0; index < offset; index++) if (bytes[index] === 0x0a) line++;
  return line;
}

/** The 1-based line of a character index in text. */
export function lineOfIndex(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < index; at = text.indexOf("\n", at + 1)) {
    line++;
  }
  return line;
}

/** The offset of the first byte that does not start a valid UTF-8 sequence; -1 when none. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index];
    if (lead < 0x80) {
      index++;
      continue;
    }
    if (lead < 0xc2 || lead > 0xf4) return index;
    const extra = lead <= 0xdf ? 1 : lead <= 0xef ? 2 : 3;
    let codePoint = lead & (0x3f >> extra);
    for (let k = 1; k <= extra; k++) {
      const next = bytes[index + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return index;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    const smallest = [0, 0x80, 0x800, 0x10000][extra];
    if (
      codePoint < smallest || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)
    ) {
      return index;
    }
    index += extra + 1;
  }
  return -1;
}

/** The byte at an offset as `0xHH`. */
function hexByte(bytes: Uint8Array, offset: number): string {
  return `0x${bytes[offset].toString(16).toUpperCase().padStart(2, "0")}`;
}

/**
 * Decodes the bytes: UTF-8 (a byte-order mark dropped) when given, when they start with a UTF-8
 * byte-order mark, or when they are valid UTF-8 and `auto`; else Windows-1252. UTF-16 is
 * refused; so are the five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D):
 * they mean the file is in some other encoding. Errors name the line of the first bad byte.
 */
function decodeCorpus(
  bytes: Uint8Array<ArrayBuffer>,
  path: string,
  encoding: CorpusEncodingOption,
  gzip: boolean,
): CorpusText {
  if (startsUtf16(bytes)) {
    throw new CorpusError(
      path,
      "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8",
      1,
    );
  }
  const bom = UTF8_BOM.every((byte, index) => bytes[index] === byte);
  if (bom && encoding === "windows-1252") {
    throw new CorpusError(
      path,
      "the file starts with a UTF-8 byte-order mark but was to be read as windows-1252 " +
        "(read it as utf-8, or let the encoding be detected)",
      1,
    );
  }
  if (encoding !== "windows-1252") {
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), encoding: "utf-8" };
    } catch {
      if (encoding === "utf-8" || bom) {
        const offset = firstInvalidUtf8(bytes);
        throw new CorpusError(
          path,
          `not valid UTF-8${bom ? " (though it starts with a UTF-8 byte-order mark)" : ""}: ` +
            `byte ${hexByte(bytes, offset)} at offset ${offset}${
              gzip ? " of the unpacked data" : ""
            }` +
            (bom ? "" : " (read it as windows-1252, or let the encoding be detected)"),
          lineOfByte(bytes, offset),
        );
      }
    }
  }
  const text = new TextDecoder("windows-1252").decode(bytes);
  const undefinedByte = undefinedWindows1252(text);
  if (undefinedByte !== -1) {
    throw new CorpusError(
      path,
      `byte 0x${text.charCodeAt(undefinedByte).toString(16).toUpperCase()} is not a ` +
        `character in Windows-1252${encoding === "auto" ? " and the file is not UTF-8" : ""}: ` +
        "the file is in another encoding",
      lineOfIndex(text, undefinedByte),
    );
  }
  return { text, encoding: "windows-1252" };
}
