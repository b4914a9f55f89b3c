/**
 * The manifest of a static site `deno task export-web` writes (lib/cli/export_web.ts), which the
 * page (lib/web/load.ts) reads first: the model's files under `model/` with their sizes, so the
 * page fetches exactly those and checks what it got. Its presence also marks a folder as a
 * previous export that a new one may replace. Pure: used by the exporter and by the page.
 *
 * @module
 */

/** The manifest's file name, at the site's root. */
export const WEB_SITE_FILE = "bilstm-ner-web.json";

/** The folder of the site that holds the model's files. */
export const WEB_MODEL_FOLDER = "model";

/** What {@linkcode WEB_SITE_FILE} holds. */
export interface WebSiteManifest {
  /** Always `"bilstm-ner-web"`. */
  format: "bilstm-ner-web";
  /** Format version. */
  version: 1;
  /** The name of the model folder exported (its last path segment), e.g. `model-fast`. */
  source: string;
  /** Every file of the model under {@linkcode WEB_MODEL_FOLDER}, relative to it, with its size. */
  files: { path: string; bytes: number }[];
  /** The total bytes of `files`. */
  bytes: number;
}

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed manifest: the format, and files with relative paths (no `..`, not absolute)
 * and sizes.
 *
 * @param value the parsed file
 * @param file where it came from, for messages
 * @returns the manifest
 * @throws {Error} naming the file and the field that is wrong
 */
export function checkWebSiteManifest(value: unknown, file: string): WebSiteManifest {
  if (!isRecord(value) || value.format !== "bilstm-ner-web") {
    throw new Error(`${file}: not a bilstm-ner web export (need format "bilstm-ner-web")`);
  }
  if (value.version !== 1) {
    throw new Error(`${file}: field "version" is ${JSON.stringify(value.version)}, not 1`);
  }
  if (!Array.isArray(value.files)) throw new Error(`${file}: field "files" is not a list`);
  value.files.forEach((entry: unknown, index: number) => {
    const ok = isRecord(entry) && typeof entry.path === "string" && entry.path !== "" &&
      !entry.path.startsWith("/") && !entry.path.split("/").includes("..") &&
      typeof entry.bytes === "number" && Number.isInteger(entry.bytes) && entry.bytes >= 0;
    if (!ok) {
      throw new Error(
        `${file}: field "files[${index}]" must be {"path": a relative path, "bytes": a size}`,
      );
    }
  });
  if (typeof value.source !== "string") throw new Error(`${file}: field "source" is not text`);
  return value as unknown as WebSiteManifest;
}
