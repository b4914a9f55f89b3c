/**
 * `deno task export --from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR [--float16]
 * [--description TEXT]`: copies the latest checkpoint of a training run into a plain model
 * folder (model, maps, config, history), optionally with float16 weights (half the size). With
 * several `--from`, writes an ensemble folder instead: one member folder per run and an
 * `ensemble.json` (lib/io/ensemble_folder.ts, with `--description` stored in it), which `evaluate` and
 * `predict` load like one model. This is
 * how the reference model in `data/model/` was made.
 *
 * Nothing is lost: the new folder is written beside `--to`, loaded back and made to tag a
 * sentence (finite scores) before anything is swapped; then the old folder is moved aside, the
 * new one renamed into place, and only then the old one removed. Any failure leaves the old
 * folder byte-identical and removes the new one. A replaced folder is replaced whole (no
 * `ensemble.json`, `checkpoint.json` or file of the user's stays from it); an existing file at
 * `--to` is an error and is never touched.
 *
 * Exit codes: 0 ok, 1 runtime error (a run that does not load, members that cannot be averaged,
 * a file at `--to`, a new folder that fails its check), 2 usage error.
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import {
  checkEnsembleMembers,
  disposeLoadedModel,
  type LoadedModel,
  loadModelFolder,
  saveEnsembleFolder,
} from "../io/ensemble_folder.ts";
import { type CheckpointChoice, saveModelFolder, type TrainingRecord } from "../io/model_folder.ts";
import { replaceFolder, writeFileAtomic } from "../io/files.ts";
import { PAD_TAG } from "../data/vocab.ts";
import { predictTexts } from "../predict/predict.ts";
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

/** Throws, naming the path, when `--to` exists and is not a folder (it is never replaced). */
async function checkTarget(to: string): Promise<void> {
  const info = await Deno.lstat(to).catch(() => null);
  if (info && !info.isDirectory) {
    throw new Error(
      `${to}: exists and is ${info.isSymlink ? "a symbolic link" : "a file"}, not a folder; ` +
        "refusing to replace it (choose another --to or remove it yourself)",
    );
  }
}

/**
 * Writes the model folder (or ensemble folder) and prints its size; returns the exit code.
 *
 * The new folder is written beside `--to`, loaded back and made to tag a sentence; only then is
 * the old folder moved aside, the new one renamed into place and the old one removed. Any
 * failure leaves the old folder as it was.
 */
async function runExport(command: ExportCommand): Promise<number> {
  const to = command.to.replace(/(?<=.)\/+$/, "");
  const loaded: LoadedModel[] = [];
  const caselessLoaded: LoadedModel[] = [];
  try {
    await checkTarget(to);
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
