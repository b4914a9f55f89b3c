/**
 * `deno task export --from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR [--float16]
 * [--description TEXT]`: copies the latest checkpoint of a training run into a plain model
 * folder (model, maps, config, history), optionally with float16 weights (half the size). With
 * several `--from`, writes an ensemble folder instead: one member folder per run and an
 * `ensemble.json` (lib/io/ensemble_folder.ts, with `--description` stored in it), which `evaluate` and
 * `predict` load like one model. This is
 * how the reference model in `data/model/` was made.
 *
 * Exit codes: 0 ok, 1 runtime error (a run that does not load, members that cannot be averaged),
 * 2 usage error.
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import { type LoadedModel, loadModelFolder, saveEnsembleFolder } from "../io/ensemble_folder.ts";
import { saveModelFolder, type TrainingRecord } from "../io/model_folder.ts";
import { writeFileAtomic } from "../io/files.ts";
import { formatUsage, HELP_FLAG, parseFlags, reportUsageErrors, UsageError } from "./_args.ts";

const FLAGS = {
  from: {
    type: "string",
    multiple: true,
    value: "RUN_DIR",
    help: "a training run (its latest checkpoint); several make an ensemble",
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
  to: string;
  float16: boolean;
  description: string | undefined;
}

/** Parses the command line; undefined for `--help`. */
function parseExportCommand(args: string[]): ExportCommand | undefined {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) return undefined;
  if (!values.from?.length || !values.to) throw new UsageError("--from and --to are required");
  return {
    from: values.from,
    to: values.to,
    float16: values.float16,
    description: values.description,
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

/** Writes the model folder (or ensemble folder) and prints its size; returns the exit code. */
async function runExport(command: ExportCommand): Promise<number> {
  await initBackend({ backend: "wasm", threads: 1 });
  const to = command.to;
  const loaded: LoadedModel[] = [];
  try {
    for (const from of command.from) loaded.push(await loadModelFolder(from));
    if (loaded.length > 1) {
      const ensembles = loaded.filter((model) => model.ensemble !== null);
      if (ensembles.length > 0) {
        throw new Error(`${ensembles[0].directory}: a member cannot be an ensemble`);
      }
      await saveEnsembleFolder(to, loaded.map((model) => model.members[0]), {
        float16: command.float16,
        description: command.description,
      });
      // Loading it back checks that the members can be averaged (same tags, maxLen and head).
      await loadModelFolder(to);
    } else {
      const [single] = loaded;
      if (single.ensemble) throw new Error(`${single.directory}: is an ensemble; export its runs`);
      const [tagger] = single.members;
      await saveModelFolder(to, tagger, tagger.config.training as TrainingRecord | undefined, {
        float16: command.float16,
      });
      const history = await Deno.readTextFile(`${single.directory}/history.json`)
        .catch(() => null);
      if (history !== null) await writeFileAtomic(`${to}/history.json`, history);
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
  const size = await weightBytes(to);
  console.log(
    `exported ${loaded.map((l) => l.directory).join(", ")} → ${to}` +
      `${loaded.length > 1 ? ` (an ensemble of ${loaded.length})` : ""} (weights ` +
      `${(size / 1e6).toFixed(1)} MB${command.float16 ? ", float16" : ""})`,
  );
  return 0;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const command = parseExportCommand(args);
    if (command === undefined) {
      console.log(USAGE);
      return 0;
    }
    return await runExport(command);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
