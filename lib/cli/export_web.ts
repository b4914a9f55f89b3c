/**
 * `deno task export-web [--model DIR] --to SITE [--checkpoint best|last] [--max-mb N]`: writes
 * a self-contained static site that tags text in the browser with no server: `index.html`, the
 * page script (`bundle.js`, the library's own tokenizer, taggers and decoding bundled for the
 * browser: see lib/web/), tfjs's three `tfjs-backend-wasm*.wasm` binaries, and the model's files
 * under `model/` (every member of an ensemble, its caseless members too) listed with their
 * sizes in `bilstm-ner-web.json` (lib/io/web_site.ts). Nothing is fetched from another origin;
 * any static file server works (`deno task serve-static SITE`).
 *
 * The model is loaded (and so checked) before anything is written; a run folder exports its
 * best checkpoint (`--checkpoint last`: its latest). `--to` must be missing, empty, or a
 * previous export (it holds `bilstm-ner-web.json`); anything else is refused, naming it. The
 * site is written beside `--to` and swapped in whole (lib/fs/replace_folder.ts).
 *
 * Size: a page downloads the whole model before its first result, so a model over `--max-mb`
 * (default 100 MB) is refused with its size; raise the limit to export it anyway.
 *
 * The page script is the committed data/web/bundle.js (rebuilt with lib/cli/_web_bundle.ts;
 * tests/web_loader_test.ts checks it is current), so exporting needs no bundler.
 *
 * Exit codes: 0 ok, 1 runtime error (missing model, refused `--to`, too large), 2 usage error.
 *
 * @module
 */
import "../model/bilstm/mod.ts";
import { initBackend } from "../backend/backend.ts";
import { projectPath } from "../fs/paths.ts";
import { replaceFolder } from "../fs/replace_folder.ts";
import { checkModelJSON, weightFileNames } from "../io/_artifacts.ts";
import {
  disposeLoadedModel,
  ENSEMBLE_FILE,
  type LoadedModel,
  loadModelFolder,
} from "../io/ensemble_folder.ts";
import type { CheckpointChoice } from "../io/model_folder.ts";
import { SHIPPED_MODEL } from "../io/runs.ts";
import { WEB_MODEL_FOLDER, WEB_SITE_FILE, type WebSiteManifest } from "../io/web_site.ts";
import {
  CHECKPOINT_FLAG,
  formatUsage,
  HELP_FLAG,
  parseCheckpoint,
  parseFlags,
  parsePositiveNumber,
  runCommand,
  UsageError,
} from "./_args.ts";

/** The largest model exported unless `--max-mb` says more, in MB (2^20 bytes). */
export const DEFAULT_MAX_MB = 100;

/** Where tfjs's wasm backend keeps its binaries. */
const WASM_DIST = projectPath(
  "node_modules/.deno/@tensorflow+tfjs-backend-wasm@4.22.0/node_modules/@tensorflow/" +
    "tfjs-backend-wasm/dist",
);

/** tfjs's wasm binaries: plain, SIMD, and threaded SIMD (used with cross-origin isolation). */
const WASM_FILES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];

/** The page and its script, as committed. */
const PAGE_FILES = [projectPath("data/web/index.html"), projectPath("data/web/bundle.js")];

const FLAGS = {
  model: {
    type: "string",
    value: "DIR",
    help: "model folder, ensemble folder or run folder (default the shipped data/model)",
  },
  to: {
    type: "string",
    value: "SITE",
    help: "the site folder to write (missing, empty, or a previous export)",
  },
  ...CHECKPOINT_FLAG,
  "max-mb": {
    type: "string",
    value: "N",
    default: String(DEFAULT_MAX_MB),
    help: `refuse a model larger than N MB (default ${DEFAULT_MAX_MB}): a page downloads it whole`,
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task export-web",
  synopsis: "[--model DIR] --to SITE [options]",
  flags: FLAGS,
  notes: ["Then: deno task serve-static SITE, and open the URL it prints"],
});

/** What the command runs with. */
interface ExportWebCommand {
  model: string;
  to: string;
  checkpoint: CheckpointChoice;
  maxBytes: number;
}

/** Parses the command line; undefined for `--help`. */
function parseCommand(args: string[]): ExportWebCommand | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  if (!values.to) throw new UsageError("--to SITE is required");
  return {
    model: values.model ?? SHIPPED_MODEL,
    to: values.to.replace(/(?<=.)\/+$/, ""),
    checkpoint: parseCheckpoint(values.checkpoint),
    maxBytes: parsePositiveNumber("--max-mb", values["max-mb"]) * 2 ** 20,
  };
}

/**
 * Refuses a `--to` that is not missing, an empty folder or a previous export, naming it.
 *
 * @param to the site folder
 * @throws {Error} naming `to` and what is in it
 */
export async function checkSiteTarget(to: string): Promise<void> {
  const info = await Deno.lstat(to).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`${to}: cannot inspect it (${(error as Error).message})`);
  });
  if (info === null) return;
  if (!info.isDirectory) {
    throw new Error(`${to}: is ${info.isSymlink ? "a symbolic link" : "a file"}, not a folder`);
  }
  const names: string[] = [];
  for await (const entry of Deno.readDir(to)) names.push(entry.name);
  if (names.length === 0 || names.includes(WEB_SITE_FILE)) return;
  const shown = names.sort().slice(0, 5).join(", ") + (names.length > 5 ? ", …" : "");
  throw new Error(
    `${to}: holds files that are not a web export (${shown}); export-web writes only to a ` +
      "new, empty or previously exported folder: choose another --to",
  );
}

/** One file to copy: from where, to where inside the site's model folder. */
interface ModelFile {
  from: string;
  path: string;
}

/** The files of one loaded member folder the page needs. */
async function memberFiles(directory: string, prefix: string): Promise<ModelFile[]> {
  const model = checkModelJSON(
    JSON.parse(await Deno.readTextFile(`${directory}/model.json`)),
    `${directory}/model.json`,
  );
  const names = ["config.json", "vocab.json", "model.json", ...weightFileNames(model)];
  try {
    await Deno.stat(`${directory}/chars.json`);
    names.splice(2, 0, "chars.json");
  } catch {
    // a tagger without char features
  }
  return names.map((name) => ({ from: `${directory}/${name}`, path: `${prefix}${name}` }));
}

/** Every file of the loaded model the page fetches, by its path inside the site's model folder. */
async function modelFiles(loaded: LoadedModel): Promise<ModelFile[]> {
  if (loaded.ensemble === null) return await memberFiles(loaded.directory, "");
  const names = [...loaded.ensemble.members, ...(loaded.ensemble.caseless ?? [])];
  const taggers = [...loaded.members, ...loaded.caseless];
  const files = [{ from: `${loaded.directory}/${ENSEMBLE_FILE}`, path: ENSEMBLE_FILE }];
  for (const [index, name] of names.entries()) {
    files.push(...await memberFiles(taggers[index].directory, `${name}/`));
  }
  return files;
}

/** Megabytes, one decimal. */
function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/**
 * Writes the static site for a model.
 *
 * @param model the model, ensemble or run folder
 * @param to the site folder (missing, empty or a previous export)
 * @param options which checkpoint of a run folder, and the largest model to export
 * @returns the manifest written and the site's total bytes
 * @throws {Error} naming the folder or file at fault, or the model's size when over the limit
 */
export async function exportWebSite(
  model: string,
  to: string,
  options: { checkpoint?: CheckpointChoice; maxBytes?: number } = {},
): Promise<{ manifest: WebSiteManifest; siteBytes: number }> {
  await checkSiteTarget(to);
  await initBackend({ threads: 1 });
  const loaded = await loadModelFolder(model, { checkpoint: options.checkpoint ?? "best" });
  let files: ModelFile[];
  try {
    files = await modelFiles(loaded);
  } finally {
    disposeLoadedModel(loaded);
  }
  const sized = await Promise.all(
    files.map(async (file) => ({ ...file, bytes: (await Deno.stat(file.from)).size })),
  );
  const bytes = sized.reduce((sum, file) => sum + file.bytes, 0);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MB * 2 ** 20;
  if (bytes > maxBytes) {
    throw new Error(
      `${model}: the model is ${megabytes(bytes)}, more than --max-mb ${maxBytes / 2 ** 20} ` +
        "allows: a page downloads it whole before its first result (export a smaller model, " +
        "e.g. with float16 weights, or raise --max-mb)",
    );
  }
  const manifest: WebSiteManifest = {
    format: "bilstm-ner-web",
    version: 1,
    source: model.replace(/\/+$/, "").split("/").at(-1) ?? model,
    files: sized.map(({ path, bytes }) => ({ path, bytes })),
    bytes,
  };
  let siteBytes = bytes;
  await replaceFolder(to, async (staging) => {
    for (const file of PAGE_FILES) {
      const name = file.split("/").at(-1)!;
      await Deno.copyFile(file, `${staging}/${name}`);
      siteBytes += (await Deno.stat(file)).size;
    }
    for (const name of WASM_FILES) {
      await Deno.copyFile(`${WASM_DIST}/${name}`, `${staging}/${name}`);
      siteBytes += (await Deno.stat(`${WASM_DIST}/${name}`)).size;
    }
    for (const file of sized) {
      const target = `${staging}/${WEB_MODEL_FOLDER}/${file.path}`;
      await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      await Deno.copyFile(file.from, target);
    }
    await Deno.writeTextFile(`${staging}/${WEB_SITE_FILE}`, JSON.stringify(manifest, null, 2));
  });
  return { manifest, siteBytes };
}

/** Exports and reports; returns the exit code. */
async function run(command: ExportWebCommand): Promise<number> {
  try {
    const { manifest, siteBytes } = await exportWebSite(command.model, command.to, command);
    console.log(
      `wrote ${command.to}: ${megabytes(siteBytes)} (model ${megabytes(manifest.bytes)} in ` +
        `${manifest.files.length} files)\ntry it: deno task serve-static ${command.to}`,
    );
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseCommand(args), run);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
