/**
 * The launcher of `deno task predict` and `deno task serve`: runs the CLI in a child Deno whose
 * reads are limited to the project folder and the paths given on the command line.
 *
 * Deno's read permission cannot be narrowed once a program runs, so the task starts this small
 * module (no tfjs, no CLI module graph: it starts in a few tens of milliseconds) as
 *
 * ```
 * deno run --deny-net --allow-read --allow-run=deno lib/cli/_scoped_read.ts CHILD_FLAGS SCRIPT ARGS…
 * ```
 *
 * It computes the read allow-list: the project root (the folder holding `deno.json`) and
 * `node_modules` (where the tfjs wasm files are), the value of each path flag of SCRIPT
 * ({@linkcode PATH_FLAGS}: `--model` for both) as given, resolved against the working folder,
 * and each one's real path (symbolic links followed; a path that does not exist is listed as
 * given, so the CLI's own "not found" message still appears). It then runs
 * `deno run --no-prompt CHILD_FLAGS --allow-read=LIST SCRIPT ARGS…` (CHILD_FLAGS: the task's other
 * permissions, e.g. `--deny-net`, written in `deno.json`; ARGS unchanged), the running Deno
 * executable when `--allow-run=deno` grants it, else `deno` on `PATH`. Standard input and output
 * are the child's; SIGINT and SIGTERM are passed on to it; its exit code is returned.
 *
 * This module reads no file: it only resolves paths (`Deno.realPath`), hence its `--allow-read`.
 * A read the child is refused surfaces as {@linkcode scopedReadError}'s one line (the CLIs'
 * model loading, `loadModelForCli` of `predict.ts`, which `serve.ts` shares, reports it so).
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: the folder holding `deno.json`, where `deno task` runs. */
export const PROJECT_ROOT: string = fileURLToPath(new URL("../..", import.meta.url)).replace(
  /(?<=.)[\\/]$/,
  "",
);

/**
 * The scripts this launcher runs, by their path from the project root, and the flags of each
 * whose values are paths it reads (every flag whose usage value is `DIR`, `FILE` or `PATH`).
 */
export const PATH_FLAGS: Readonly<Record<string, readonly string[]>> = {
  "lib/cli/predict.ts": ["model"],
  "lib/cli/serve.ts": ["model"],
};

/**
 * The values of some flags in a command line, as the CLIs' `parseArgs` reads them: `--NAME VALUE`
 * or `--NAME=VALUE`, every time one appears, up to a `--` (after it every argument is text). A
 * value that looks like a flag is taken too (the CLI then reports the mistake).
 *
 * @example
 * ```ts
 * import { flagValues } from "./_scoped_read.ts";
 * flagValues(["--json", "--model", "a", "--model=b", "--", "--model", "c"], ["model"]); // ["a", "b"]
 * ```
 *
 * @param args the command line, without the script
 * @param names the flags' names, without dashes
 * @returns the values, in order
 */
export function flagValues(args: readonly string[], names: readonly string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    for (const name of names) {
      if (arg === `--${name}` && i + 1 < args.length) values.push(args[++i]);
      else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
    }
  }
  return values;
}

/** Whether `path` is `folder` or lies under it (both absolute). */
function isWithin(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith("/") ? folder : `${folder}/`);
}

/**
 * The paths a child may read: the project root and its `node_modules`, and `paths`, each absolute
 * (resolved against `cwd`) and, where it exists, also its real path; a path inside another one
 * listed is left out, empty values are skipped.
 *
 * @param paths the path flags' values, as given
 * @param options the project root and the working folder (defaults: this project, `Deno.cwd()`)
 * @returns the allow-list, the project root first
 * @throws {Error} for a path holding a comma: Deno's `--allow-read` list cannot hold one
 */
export async function readAllowList(
  paths: readonly string[],
  options: { root?: string; cwd?: string } = {},
): Promise<string[]> {
  const { root = PROJECT_ROOT, cwd = Deno.cwd() } = options;
  const found: string[] = [];
  const add = async (path: string) => {
    const absolute = isAbsolute(path) ? resolve(path) : resolve(cwd, path);
    found.push(absolute);
    try {
      found.push(await Deno.realPath(absolute));
    } catch {
      // Missing or unreadable: the CLI reports it with its own message.
    }
  };
  for (const path of [root, `${root}/node_modules`, ...paths]) if (path !== "") await add(path);
  const list = found.filter((path, index) =>
    found.indexOf(path) === index &&
    !found.some((other) => other !== path && isWithin(path, other))
  );
  const comma = list.find((path) => path.includes(","));
  if (comma !== undefined) {
    throw new Error(
      `${comma}: a path with a comma cannot be allowed (Deno's --allow-read list is ` +
        "comma-separated); rename it, or run the script with deno run --allow-read",
    );
  }
  return list;
}

/** A task's child as this launcher starts it. */
export interface ScopedChild {
  /** The script, absolute. */
  script: string;
  /** The arguments of `deno`: `run`, the permissions, the script, the user's arguments. */
  args: string[];
}

/**
 * The child command for this launcher's arguments: `CHILD_FLAGS SCRIPT ARGS…` (see the module
 * doc). Flags that grant reads (`-A`, `-R`, `--allow-all`, `--allow-read`, `--deny-read`) are
 * refused among CHILD_FLAGS: the allow-list is this module's to set.
 *
 * @param launcherArgs this module's command-line arguments
 * @param options the project root and the working folder (defaults: this project, `Deno.cwd()`)
 * @returns the script and the arguments to run `deno` with
 * @throws {Error} for a script not in {@linkcode PATH_FLAGS}, a read flag, or a path with a comma
 */
export async function scopedChild(
  launcherArgs: readonly string[],
  options: { root?: string; cwd?: string } = {},
): Promise<ScopedChild> {
  const root = options.root ?? PROJECT_ROOT;
  const at = launcherArgs.findIndex((arg) => !arg.startsWith("-"));
  const name = at < 0 ? undefined : launcherArgs[at].replace(/^\.\//, "");
  if (name === undefined || !Object.hasOwn(PATH_FLAGS, name)) {
    throw new Error(
      `_scoped_read.ts runs one of ${Object.keys(PATH_FLAGS).join(", ")}, got ${name ?? "none"}`,
    );
  }
  const flags = launcherArgs.slice(0, at);
  const read = flags.find((flag) =>
    /^(-A|-R|--allow-all|--allow-read|--deny-read)(=|$)/.test(flag)
  );
  if (read !== undefined) throw new Error(`_scoped_read.ts sets the reads itself, got ${read}`);
  const args = launcherArgs.slice(at + 1);
  const list = await readAllowList(flagValues(args, PATH_FLAGS[name]), options);
  const script = `${root}/${name}`;
  return {
    script,
    args: ["run", "--no-prompt", ...flags, `--allow-read=${list.join(",")}`, script, ...args],
  };
}

/**
 * The user's error for a read that Deno refused because the reads are scoped (the CLI runs as
 * this launcher's child): `error` is, or its message quotes, Deno's `Requires read access to
 * "PATH"`, and this process may read the project folder but not everything. Its message is one
 * line naming PATH and what may be read; undefined for any other error.
 *
 * @example
 * ```ts
 * import { scopedReadError } from "./_scoped_read.ts";
 * try {
 *   await Deno.readTextFile("/etc/hostname");
 * } catch (error) {
 *   console.error(`error: ${(scopedReadError(error) ?? error as Error).message}`);
 * }
 * ```
 *
 * @param error what was thrown
 * @returns the error to report instead, or undefined
 */
export function scopedReadError(error: unknown): Error | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const path = /Requires read access to "(.*?)", run again/.exec(message)?.[1] ??
    /Requires read access to "([^"]*)"/.exec(message)?.[1];
  if (path === undefined) return undefined;
  const read = (path?: string) =>
    Deno.permissions.querySync(path === undefined ? { name: "read" } : { name: "read", path })
      .state;
  if (read() === "granted" || read(PROJECT_ROOT) !== "granted") return undefined;
  return new Error(
    `${path}: not readable: reads are limited to the project folder (${PROJECT_ROOT}) and the ` +
      "paths given on the command line",
  );
}

/** The running Deno when `--allow-run` grants it, else `deno` on `PATH` (`--allow-run=deno`). */
function denoExecutable(): string {
  const self = Deno.execPath();
  return Deno.permissions.querySync({ name: "run", command: self }).state === "granted"
    ? self
    : "deno";
}

/**
 * Runs the child (standard streams shared, SIGINT and SIGTERM passed on) and waits for it.
 *
 * @param launcherArgs this module's command-line arguments
 * @returns the child's exit code (128 + the signal's number when a signal ended it)
 */
export async function main(launcherArgs: readonly string[]): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    const { args } = await scopedChild(launcherArgs);
    child = new Deno.Command(denoExecutable(), {
      args,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
  const forwarders: [Deno.Signal, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const forward = () => {
      try {
        child.kill(signal);
      } catch {
        // It has exited already.
      }
    };
    try {
      Deno.addSignalListener(signal, forward);
      forwarders.push([signal, forward]);
    } catch {
      // SIGTERM cannot be listened to on Windows.
    }
  }
  const { code } = await child.status;
  for (const [signal, forward] of forwarders) Deno.removeSignalListener(signal, forward);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
