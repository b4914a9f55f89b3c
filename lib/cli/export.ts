/**
 * `deno task export --from RUN_DIR --to MODEL_DIR [--float16]`: copies the
 * latest checkpoint of a training run into a plain model folder (model, maps,
 * config, history), optionally with float16 weights (half the size). This is how
 * the reference model in `data/model/` was made.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../backend.ts";
import { loadModelFolder, saveModelFolder } from "../model_folder.ts";
import { writeFileAtomic } from "../files.ts";

const USAGE = "usage: deno task export --from RUN_DIR --to MODEL_DIR [--float16]";

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
        from: { type: "string" },
        to: { type: "string" },
        float16: { type: "boolean", default: false },
      },
    }));
    if (!values.from || !values.to) throw new Error("--from and --to are required");
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  await initBackend({ backend: "wasm", threads: 1 });
  let loaded;
  try {
    loaded = await loadModelFolder(values.from);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
  await saveModelFolder(values.to, loaded.model, loaded.vocab, loaded.config, {
    float16: values.float16,
    chars: loaded.chars,
  });
  const history = await Deno.readTextFile(`${loaded.directory}/history.json`).catch(() => null);
  if (history !== null) await writeFileAtomic(`${values.to}/history.json`, history);
  const size = (await Deno.stat(`${values.to}/weights.bin`)).size;
  console.log(
    `exported ${loaded.directory} → ${values.to} (weights ${(size / 1e6).toFixed(1)} MB` +
      `${values.float16 ? ", float16" : ""})`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
