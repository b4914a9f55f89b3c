/**
 * Formatting notebooks the way `deno fmt` does, and finding the deno.json whose options apply.
 * Used by {@link ./runner.ts} after writing an executed notebook, and by the notebook format
 * test.
 *
 * @module
 */
import { writeFileAtomic } from "../fs/files.ts";

/** Returns the folder part of a path ("." when there is none). */
export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * Formats a notebook file in place the way `deno fmt` formats `.ipynb` (code cells as
 * TypeScript, markdown cells as markdown), through `deno fmt --ext=ipynb -` on stdin: Deno
 * 2.9.6's `deno fmt --check` misreports notebooks as unformatted, so the project excludes them
 * from `deno fmt` and checks them with {@linkcode formatNotebookText} instead.
 *
 * @param path the notebook file
 * @param configPath the deno.json whose fmt options apply
 */
export async function formatWithDeno(path: string, configPath?: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  const formatted = await formatNotebookText(text, configPath);
  if (formatted !== text) await writeFileAtomic(path, formatted);
}

/**
 * Formats notebook JSON text as `deno fmt` would.
 *
 * @param text the notebook's JSON text
 * @param configPath the deno.json whose fmt options apply
 * @returns the formatted text
 * @throws {Error} when `deno fmt` fails (e.g. a code cell does not parse)
 */
export async function formatNotebookText(text: string, configPath?: string): Promise<string> {
  const args = ["fmt", "--quiet", "--ext=ipynb"];
  if (configPath !== undefined) args.push("--config", configPath);
  args.push("-");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`deno fmt failed: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** Finds the nearest deno.json / deno.jsonc at or above `dir`. */
export async function findDenoConfig(dir: string): Promise<string | undefined> {
  let current = await Deno.realPath(dir);
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const candidate = `${current}/${name}`;
      try {
        if ((await Deno.stat(candidate)).isFile) return candidate;
      } catch {
        // not here
      }
    }
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
