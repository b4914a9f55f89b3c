/**
 * `deno task export --from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR [--float16]
 * [--description TEXT]`: copies the latest checkpoint of a training run into a plain model
 * folder (model, maps, config, history), optionally with float16 weights (half the size). With
 * several `--from`, writes an ensemble folder instead: one member folder per run and an
 * `ensemble.json` (lib/ensemble.ts, with `--description` stored in it), which `evaluate` and
 * `predict` load like one model. This is
 * how the reference model in `data/model/` was made.
 *
 * Exit codes: 0 ok, 1 runtime error (a run that does not load, members that cannot be averaged),
 * 2 usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend/backend.ts";
import { saveEnsembleFolder } from "../io/ensemble_folder.ts";
import { type LoadedModel, loadModelFolder, saveModelFolder } from "../io/model_folder.ts";
import { writeFileAtomic } from "../io/files.ts";

const USAGE = "usage: deno task export --from RUN_DIR [--from RUN_DIR ...] --to MODEL_DIR " +
  "[--float16] [--description TEXT]";

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

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code
 */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        from: { type: "string", multiple: true },
        to: { type: "string" },
        float16: { type: "boolean", default: false },
        description: { type: "string" },
      },
    }));
    if (!values.from?.length || !values.to) throw new Error("--from and --to are required");
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  await initBackend({ backend: "wasm", threads: 1 });
  const to = values.to;
  const loaded: LoadedModel[] = [];
  try {
    for (const from of values.from) loaded.push(await loadModelFolder(from));
    if (loaded.length > 1) {
      await saveEnsembleFolder(to, loaded, {
        float16: values.float16,
        description: values.description,
      });
      // Loading it back checks that the members can be averaged (same tags, maxLen and head).
      await loadModelFolder(to);
    } else {
      const [single] = loaded;
      if (single.members) throw new Error(`${single.directory}: is an ensemble; export its runs`);
      await saveModelFolder(to, single.model, single.vocab, single.config, {
        float16: values.float16,
        chars: single.chars,
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
      `${(size / 1e6).toFixed(1)} MB${values.float16 ? ", float16" : ""})`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
