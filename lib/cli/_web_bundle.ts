/**
 * `deno run --allow-read --allow-write --allow-run=deno lib/cli/_web_bundle.ts [--check]`:
 * bundles the exported site's page script (lib/web/page.ts and what it imports: the library's
 * tokenizer, taggers and decoding, tfjs and its wasm backend) for the browser into the committed
 * data/web/bundle.js, which `deno task export-web` copies (so exporting needs no bundler and
 * nothing downloaded). `--check` bundles into a temporary file and compares it byte for byte
 * instead, exiting 1 when the committed bundle is stale (tests/web_loader_test.ts runs it).
 *
 * @module
 */
import { writeFileAtomic } from "../fs/files.ts";
import { projectPath } from "../fs/paths.ts";

/** The committed bundle. */
export const WEB_BUNDLE = projectPath("data/web/bundle.js");

/** The page's entry module. */
const ENTRY = projectPath("lib/web/page.ts");

/**
 * Bundles the page's entry for the browser with `deno bundle` (minified, deterministic).
 *
 * @returns the bundle's bytes
 * @throws {Error} with `deno bundle`'s message when it fails
 */
export async function bundlePage(): Promise<Uint8Array> {
  // The running deno when allowed to run it, else the one on PATH (`--allow-run=deno`).
  const self = Deno.execPath();
  const granted = Deno.permissions.querySync({ name: "run", command: self }).state === "granted";
  const { code, stdout, stderr } = await new Deno.Command(granted ? self : "deno", {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", ENTRY],
    cwd: projectPath("."),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bundle ${ENTRY} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
  return stdout;
}

/** Writes (or with `--check` compares) the bundle; returns the exit code. */
async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  try {
    const fresh = await bundlePage();
    if (!check) {
      await writeFileAtomic(WEB_BUNDLE, fresh);
      console.log(`wrote ${WEB_BUNDLE} (${fresh.length} bytes)`);
      return 0;
    }
    const committed = await Deno.readFile(WEB_BUNDLE);
    const same = fresh.length === committed.length && fresh.every((b, i) => b === committed[i]);
    if (!same) {
      console.error(
        `${WEB_BUNDLE} is stale: run deno task build:web (lib/web/ or what it imports changed)`,
      );
      return 1;
    }
    console.log(`${WEB_BUNDLE} is current`);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
