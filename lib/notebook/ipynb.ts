/**
 * The nbformat 4.5 notebook document: types, reading, and writing it the way Jupyter does
 * (sorted keys, indent 1, multi-line strings split into lists of lines, cell ids), atomically.
 *
 * @module
 */
import { writeFileAtomic } from "../fs/files.ts";

/** A multi-line string as stored in a notebook: one string or a list of lines. */
export type MultilineString = string | string[];

/** A MIME bundle: MIME type to content. */
export type MimeBundle = Record<string, unknown>;

/** A `stream` output (stdout/stderr text). */
export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: MultilineString;
}

/** A `display_data` output. */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** An `execute_result` output (the value of the cell's last expression). */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  data: MimeBundle;
  metadata: Record<string, unknown>;
  execution_count: number | null;
}

/** An `error` output. */
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Any code-cell output. */
export type CellOutput = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/** A code cell. */
export interface CodeCell {
  cell_type: "code";
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  execution_count: number | null;
  outputs: CellOutput[];
}

/** A markdown or raw cell. */
export interface TextCell {
  cell_type: "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}

/** Any notebook cell. */
export type NotebookCell = CodeCell | TextCell;

/** An nbformat 4 notebook. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Kernel/language metadata Jupyter writes for a Deno notebook. */
export const DENO_NOTEBOOK_METADATA = {
  kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
  language_info: {
    codemirror_mode: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    name: "typescript",
    nbconvert_exporter: "script",
    pygments_lexer: "typescript",
  },
};

/** Joins a multi-line string into one string. */
export function joinLines(text: MultilineString): string {
  return Array.isArray(text) ? text.join("") : text;
}

/** Splits text into lines that keep their `\n`, as nbformat stores multi-line strings. */
export function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Returns a random 8-hex-digit cell id, like Jupyter's. */
export function newCellId(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 8);
}

/** Parses notebook JSON, checking it is nbformat 4 and giving every cell an id. */
export function parseNotebook(json: string, path = "<notebook>"): Notebook {
  const notebook = JSON.parse(json) as Notebook;
  if (notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error(`${path}: not an nbformat 4 notebook`);
  }
  for (const cell of notebook.cells) cell.id ??= newCellId();
  notebook.nbformat_minor = Math.max(notebook.nbformat_minor ?? 0, 5);
  return notebook;
}

/** Reads and parses a notebook file. */
export async function readNotebook(path: string): Promise<Notebook> {
  return parseNotebook(await Deno.readTextFile(path), path);
}

/** MIME types whose string values nbformat splits into lines besides `text/*`. */
const SPLIT_NON_TEXT_MIMES = new Set(["application/javascript", "image/svg+xml"]);

function splitMimeBundle(bundle: MimeBundle): MimeBundle {
  const split: MimeBundle = {};
  for (const [mime, value] of Object.entries(bundle)) {
    const splittable = mime.startsWith("text/") || SPLIT_NON_TEXT_MIMES.has(mime);
    split[mime] = splittable && typeof value === "string" ? splitLines(value) : value;
  }
  return split;
}

/** Returns a copy of the notebook with multi-line strings split into lines (Jupyter's style). */
export function withSplitLines(notebook: Notebook): Notebook {
  const cells = notebook.cells.map((cell): NotebookCell => {
    const source = splitLines(joinLines(cell.source));
    if (cell.cell_type !== "code") return { ...cell, source };
    const outputs = cell.outputs.map((output): CellOutput => {
      switch (output.output_type) {
        case "stream":
          return { ...output, text: splitLines(joinLines(output.text)) };
        case "display_data":
        case "execute_result":
          return { ...output, data: splitMimeBundle(output.data) };
        default:
          return output;
      }
    });
    return { ...cell, source, outputs };
  });
  return { ...notebook, cells };
}

/** Deep-copies a JSON value with object keys sorted (Jupyter writes `sort_keys=True`). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** Serialises a notebook as Jupyter does: split lines, sorted keys, indent 1, final newline. */
export function serializeNotebook(notebook: Notebook): string {
  return JSON.stringify(sortKeys(withSplitLines(notebook)), null, 1) + "\n";
}

/** Serialises and atomically writes a notebook. */
export async function writeNotebook(path: string, notebook: Notebook): Promise<void> {
  await writeFileAtomic(path, serializeNotebook(notebook));
}
