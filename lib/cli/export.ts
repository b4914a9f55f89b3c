/**
 * `deno task export --from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR [--float16]
 * [--description TEXT]`: copies the latest checkpoint of a training run into a plain model
 * folder (model, maps, config, history), optionally with float16 weights (half the size). With
 * several `--from`, writes an ensemble folder instead: one member folder per run and an
 * `ensemble.json` (lib/io/ensemble_folder.ts, with `--description` stored in it), which `evaluate` and
 * `predict` load like one model. This is
 * how the reference model in `data/model/` was made.
 *
 * Nothing is lost. `--to` must be a missing path, an empty folder, or a model folder (its
 * `config.json` a model config, or its `ensemble.json` an ensemble config) that no training
 * holds; anything else is refused, naming what is there, and never touched: a file or symbolic
 * link, a folder of other files, a training run folder (`checkpoint.json`: exporting there
 * would delete the run's checkpoints, so it is refused whether or not a training holds it; one
 * that does is named with its holder), and a `--to` that is, lies inside or contains a `--from`
 * folder. There is no flag to overwrite another folder.
 *
 * The new folder is written beside `--to` (`.NAME.staging-…`), loaded back and made to tag a
 * sentence (finite scores) before anything is swapped; then the old folder is renamed aside
 * (`.NAME.previous-…`), the new one renamed into place, and only then the old one removed
 * (lib/fs/replace_folder.ts `replaceFolder`). Any failure before the swap leaves the old folder
 * byte-identical and removes the new one. A replaced model folder is replaced whole (no file of
 * the old one stays). A kill between the two renames leaves `--to` missing next to the whole
 * old folder: loading `--to` names it, and the next export to `--to` renames it back before
 * anything else; it also removes what earlier, interrupted exports to `--to` left beside it
 * (only names of that scheme) and says so on stderr. An old folder that cannot be removed
 * after the swap is named in a warning.
 *
 * Exit codes: 0 ok, 1 runtime error (a run that does not load, members that cannot be averaged,
 * a `--to` that is refused, a new folder that fails its check), 2 usage error.
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import {
  checkEnsembleMembers,
  disposeLoadedModel,
  ENSEMBLE_FILE,
  type LoadedModel,
  loadModelFolder,
  saveEnsembleFolder,
} from "../io/ensemble_folder.ts";
import {
  CHECKPOINT_POINTER,
  type CheckpointChoice,
  saveModelFolder,
  type TrainingRecord,
} from "../io/model_folder.ts";
import {
  cleanFolderLeftovers,
  findFolderLeftovers,
  type LeftoverCleanup,
  replaceFolder,
} from "../fs/replace_folder.ts";
import { isInsideFolder } from "../fs/inside.ts";
import { writeFileAtomic } from "../fs/files.ts";
import { LOCK_FILE, type LockHolder, RunLockedError, runLockHolder } from "../io/run_lock.ts";
import { basename, dirname, resolve } from "node:path";
import { PAD_TAG } from "../data/vocab.ts";
import { predictTexts } from "../predict/predict_text.ts";
import {
  CHECKPOINT_FLAG,
  formatUsage,
  HELP_FLAG,
  parseCheckpoint,
  parseFlags,
  runCommand,
  UsageError,
} from "./_args.ts";

const FLAGS = {
  from: {
    type: "string",
    multiple: true,
    value: "RUN_DIR",
    help: "a training run (its latest checkpoint); several make an ensemble",
  },
  "caseless-from": {
    type: "string",
    multiple: true,
    value: "RUN_DIR",
    help: "a run that tags caseless sentences (all caps, all lowercase) in place of\n" +
      "the --from members, e.g. one trained with --case-augmentation; makes an ensemble",
  },
  to: { type: "string", value: "MODEL_DIR", help: "the model folder to write" },
  float16: {
    type: "boolean",
    default: false,
    help: "store the weights as float16 (half the size)",
  },
  description: {
    type: "string",
    value: "TEXT",
    help: "a description stored in an ensemble's ensemble.json",
  },
  ...CHECKPOINT_FLAG,
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task export",
  synopsis: "--from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR [options]",
  flags: FLAGS,
});

/** What the command runs with. */
interface ExportCommand {
  from: string[];
  caselessFrom: string[];
  to: string;
  float16: boolean;
  description: string | undefined;
  /** Which checkpoint of each run folder. */
  checkpoint: CheckpointChoice;
}

/** Parses the command line; undefined for `--help`. */
function parseExportCommand(args: string[]): ExportCommand | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  if (!values.from?.length || !values.to) throw new UsageError("--from and --to are required");
  return {
    from: values.from,
    caselessFrom: values["caseless-from"] ?? [],
    to: values.to,
    float16: values.float16,
    description: values.description,
    checkpoint: parseCheckpoint(values.checkpoint),
  };
}

/** Total size in bytes of the `weights.bin` files under a folder. */
async function weightBytes(directory: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(directory)) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory) total += await weightBytes(path);
    else if (entry.name === "weights.bin") total += (await Deno.stat(path)).size;
  }
  return total;
}

/** The sentence an exported folder must tag, with finite scores, before it replaces anything. */
export const CHECK_SENTENCE = "Mr Smith flew from Paris to Rome on Monday .";

/**
 * Checks a freshly written model or ensemble folder before it replaces anything: it loads (with
 * every check loading makes: configs, maps, graph, finite weights, averageable members), has
 * the expected number of members, and tags {@linkcode CHECK_SENTENCE} with a real tag and a
 * finite probability for every token.
 *
 * @param directory the new folder (written beside the target)
 * @param members how many taggers it must hold (1: a plain model folder)
 * @throws {Error} saying what failed
 */
export async function checkExportedFolder(
  directory: string,
  members: number,
  caseless = 0,
): Promise<void> {
  const loaded = await loadModelFolder(directory);
  try {
    const isEnsemble = loaded.ensemble !== null;
    if (
      loaded.members.length !== members || loaded.caseless.length !== caseless ||
      isEnsemble !== members + caseless > 1
    ) {
      throw new Error(
        `${directory}: holds ${loaded.members.length} tagger(s)` +
          `${isEnsemble ? " as an ensemble" : ""} and ${loaded.caseless.length} for caseless ` +
          `sentences, expected ${members} and ${caseless}`,
      );
    }
    // The uppercased sentence is caseless: it checks the caseless members, when there are any.
    const predictions = predictTexts(loaded, [CHECK_SENTENCE, CHECK_SENTENCE.toUpperCase()]);
    const tokens = predictions.flatMap((prediction) => prediction.tokens);
    if (predictions.some((prediction) => prediction.tokens.length === 0)) {
      throw new Error(`${directory}: tagged no tokens`);
    }
    for (const token of tokens) {
      if (
        !Number.isFinite(token.probability) || token.probability < 0 || token.probability > 1 ||
        token.tag === undefined || token.tag === PAD_TAG
      ) {
        throw new Error(
          `${directory}: tags "${token.text}" as ${JSON.stringify(token.tag)} with probability ` +
            `${token.probability}: the model's scores are not finite`,
        );
      }
    }
  } finally {
    disposeLoadedModel(loaded);
  }
}

/** How many names of a folder an error lists before "and N more". */
const LISTED_NAMES = 5;

/** The names in a folder, sorted, as a short list for a message. */
function listNames(names: string[]): string {
  const shown = names.slice(0, LISTED_NAMES).join(", ");
  return names.length > LISTED_NAMES ? `${shown}, and ${names.length - LISTED_NAMES} more` : shown;
}

/** Whether a JSON file parses to an object whose `format` is `format`. */
async function hasFormat(path: string, format: string): Promise<boolean> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    return typeof value === "object" && value !== null && value.format === format;
  } catch {
    return false;
  }
}

/**
 * Whether a folder is one `export` recognises as a model folder, which it may replace: its
 * `config.json` is a model config (format `"bilstm-ner-model"`) or its `ensemble.json` an
 * ensemble config (format `"bilstm-ner-ensemble"`).
 *
 * @param directory the folder
 */
export async function isModelFolder(directory: string): Promise<boolean> {
  return await hasFormat(`${directory}/config.json`, "bilstm-ner-model") ||
    await hasFormat(`${directory}/${ENSEMBLE_FILE}`, "bilstm-ner-ensemble");
}

/** What export writes to: new, empty and model folders; refused elsewhere with this. */
const WRITES_ONLY = "export writes only to a new, empty or model folder: choose another --to";

/**
 * Checks that `--to` is something export may replace, before anything is loaded or written: a
 * missing path, an empty folder, or a model folder ({@linkcode isModelFolder}) that no training
 * holds. Refused, naming the path and what is there: a file or symbolic link; a folder a
 * training holds (its `train.lock` held, naming the holder); a training run folder (its
 * `checkpoint.json`: export would delete the run's checkpoints, so it never writes there, lock
 * or no lock); any other folder that is not empty (naming its files).
 *
 * @param to the target, without a trailing slash
 * @throws {Error} naming `to` and why it is not replaced
 */
export async function checkExportTarget(to: string): Promise<void> {
  const info = await Deno.lstat(to).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`${to}: cannot inspect it (${(error as Error).message})`);
  });
  if (info === null) return;
  if (!info.isDirectory) {
    throw new Error(
      `${to}: exists and is ${info.isSymlink ? "a symbolic link" : "a file"}, not a folder; ` +
        "refusing to replace it (choose another --to or remove it yourself)",
    );
  }
  const names: string[] = [];
  for await (const entry of Deno.readDir(to)) names.push(entry.name);
  names.sort();
  if (names.length === 0) return;
  if (names.includes(LOCK_FILE)) {
    let holder: LockHolder | null;
    try {
      holder = await runLockHolder(to);
    } catch (error) {
      if (!(error instanceof RunLockedError)) throw error;
      // Held but unreadable, or taken on another host: whether it runs cannot be told here.
      holder = error.holder ?? { pid: 0, host: "unknown", since: "unknown", token: "" };
    }
    if (holder !== null) {
      const who = holder.pid > 0
        ? `pid ${holder.pid} on host ${holder.host}, since ${holder.since}`
        : "its lock file cannot be read";
      throw new Error(
        `${to}: a training is running in this folder (${who}; lock ${to}/${LOCK_FILE}); ` +
          "export never writes into a training's folder: choose another --to",
      );
    }
  }
  if (names.includes(CHECKPOINT_POINTER)) {
    throw new Error(
      `${to}: is a training run folder (${CHECKPOINT_POINTER}` +
        `${names.includes("checkpoints") ? ", checkpoints/" : ""}); exporting there would ` +
        `delete the run's checkpoints; ${WRITES_ONLY}`,
    );
  }
  if (await isModelFolder(to)) return;
  throw new Error(
    `${to}: holds files that are not a model folder (${listNames(names)}); ${WRITES_ONLY}`,
  );
}

/** A path's real location: its own, or its deepest existing folder's and the rest as given. */
async function realLocation(path: string): Promise<string> {
  const absolute = resolve(path);
  let existing = absolute;
  const rest: string[] = [];
  while (true) {
    try {
      const real = await Deno.realPath(existing);
      return rest.length === 0 ? real : `${real}/${rest.reverse().join("/")}`;
    } catch {
      const up = dirname(existing);
      if (up === existing) return absolute;
      rest.push(basename(existing));
      existing = up;
    }
  }
}

/**
 * Refuses a `--to` that is a `--from` folder, lies inside one, or contains one (symbolic links
 * followed): replacing it would delete what export reads, or a run beside it.
 *
 * @param to the target
 * @param sources the `--from` and `--caseless-from` folders
 * @throws {Error} naming `--to` and the `--from` folder
 */
export async function checkNotASource(to: string, sources: readonly string[]): Promise<void> {
  const target = await realLocation(to);
  for (const source of sources) {
    const real = await Deno.realPath(source).catch(() => null);
    if (real === null) continue; // loading it names it
    const relation = target === real
      ? "is the --from folder"
      : isInsideFolder(target, real)
      ? "lies inside the --from folder"
      : isInsideFolder(real, target)
      ? "contains the --from folder"
      : null;
    if (relation !== null) {
      throw new Error(
        `${to}: ${relation} ${source}; replacing it would delete what export reads: choose ` +
          "another --to",
      );
    }
  }
}

/** Prints what cleaning up after earlier, interrupted exports to `to` did. */
function reportCleanup(to: string, cleanup: LeftoverCleanup): void {
  if (cleanup.restored !== null) {
    console.error(
      `note: ${to} was missing: an interrupted export had left the previous model in ` +
        `${cleanup.restored}; renamed it back to ${to}`,
    );
  }
  if (cleanup.removed.length > 0) {
    console.error(
      `note: removed what interrupted exports to ${to} left beside it: ` +
        cleanup.removed.join(", "),
    );
  }
  for (const failed of cleanup.failed) {
    console.error(
      `warning: ${failed.path}: left by an earlier export to ${to}, cannot be removed ` +
        `(${failed.reason}); remove it yourself`,
    );
  }
}

/**
 * Writes the model folder (or ensemble folder) and prints its size; returns the exit code.
 *
 * `--to` is checked first ({@linkcode checkNotASource}, {@linkcode checkExportTarget}), and
 * what interrupted exports to it left is cleaned up (an old model left missing renamed back).
 * The new folder is written beside `--to`, loaded back and made to tag a sentence; only then is
 * the old folder moved aside, the new one renamed into place and the old one removed. Any
 * failure leaves the old folder as it was.
 */
async function runExport(command: ExportCommand): Promise<number> {
  const to = command.to.replace(/(?<=.)\/+$/, "");
  const loaded: LoadedModel[] = [];
  const caselessLoaded: LoadedModel[] = [];
  try {
    await checkNotASource(to, [...command.from, ...command.caselessFrom]);
    await checkExportTarget(to); // before touching anything beside it
    const cleanup = await cleanFolderLeftovers(to);
    reportCleanup(to, cleanup);
    const reported = new Set(cleanup.failed.map((failed) => failed.path));
    await checkExportTarget(to); // what was put back, if anything
    await initBackend({ backend: "wasm", threads: 1 });
    const load = { checkpoint: command.checkpoint };
    for (const from of command.from) loaded.push(await loadModelFolder(from, load));
    for (const from of command.caselessFrom) {
      caselessLoaded.push(await loadModelFolder(from, load));
    }
    const fail = (stage: string) => (error: unknown): never => {
      throw new Error(
        `${to} was left as it was: the new folder ${stage}: ${(error as Error).message}`,
      );
    };
    if (loaded.length > 1 || caselessLoaded.length > 0) {
      const ensembles = [...loaded, ...caselessLoaded].filter((model) => model.ensemble !== null);
      if (ensembles.length > 0) {
        throw new Error(`${ensembles[0].directory}: a member cannot be an ensemble`);
      }
      const members = loaded.map((model) => model.members[0]);
      const caseless = caselessLoaded.map((model) => model.members[0]);
      // before writing anything; names the run that differs
      checkEnsembleMembers([...members, ...caseless]);
      await saveEnsembleFolder(to, members, {
        float16: command.float16,
        description: command.description,
        caseless,
        verify: (staging) =>
          checkExportedFolder(staging, members.length, caseless.length).catch(
            fail("failed its check"),
          ),
      });
    } else {
      const [single] = loaded;
      if (single.ensemble) throw new Error(`${single.directory}: is an ensemble; export its runs`);
      const [tagger] = single.members;
      await replaceFolder(to, async (staging) => {
        await saveModelFolder(
          staging,
          tagger,
          tagger.config.training as TrainingRecord | undefined,
          { float16: command.float16 },
        );
        const history = await Deno.readTextFile(`${single.directory}/history.json`)
          .catch(() => null);
        if (history !== null) await writeFileAtomic(`${staging}/history.json`, history);
      }, { verify: (staging) => checkExportedFolder(staging, 1).catch(fail("failed its check")) });
    }
    // The old folder, when it could not be removed (a failed swap step is an error above).
    for (const leftover of await findFolderLeftovers(to)) {
      if (leftover.live || reported.has(leftover.path)) continue;
      console.error(
        `warning: ${to}: the new model is in place, but the old folder could not be removed: ` +
          `it is left at ${leftover.path}; remove it yourself (the next export to ${to} tries ` +
          "again)",
      );
    }
    const size = await weightBytes(to);
    console.log(
      `exported ${loaded.map((l) => l.directory).join(", ")} → ${to}` +
        `${loaded.length > 1 ? ` (an ensemble of ${loaded.length})` : ""}` +
        (caselessLoaded.length > 0
          ? `, caseless sentences by ${caselessLoaded.map((l) => l.directory).join(", ")}`
          : "") +
        ` (weights ` +
        `${(size / 1e6).toFixed(1)} MB${command.float16 ? ", float16" : ""})`,
    );
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const model of [...loaded, ...caselessLoaded]) disposeLoadedModel(model);
  }
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await runCommand(USAGE, () => parseExportCommand(args), runExport);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
