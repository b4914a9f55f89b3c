/**
 * The usage side of the CLIs' shared command-line plumbing (re-exported by `_args.ts`): the
 * {@linkcode UsageError} a CLI throws for a user's mistake, the flag table that drives both
 * `parseArgs` and the usage text, the one usage format, and the one way to report a usage
 * error (the message and a pointer to `--help` on stderr, exit code 2, no stack trace).
 *
 * @module
 */
import type { ParseArgsOptionDescriptor } from "node:util";

/**
 * A mistake on the command line: printed with a pointer to `--help`, exit code 2. Its message names
 * the flag, e.g. `--epochs must be an integer, got "abc"`.
 */
export class UsageError extends Error {
  /** @param message what is wrong, naming the flag */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag: its `parseArgs` descriptor and what the usage text says about it. */
export interface FlagSpec extends ParseArgsOptionDescriptor {
  /** The value's placeholder in the usage text, e.g. `"N"` or `"wasm|cpu"` (string flags). */
  readonly value?: string;
  /** What the flag does, for the usage text; `\n` starts a continuation line. */
  readonly help: string;
}

/** A command's flags, by long name without the dashes (e.g. `"batch-size"`). */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** `-h, --help`: every CLI has it. Spread it into a flag table. */
export const HELP_FLAG = {
  help: { type: "boolean", short: "h", default: false, help: "show this help" },
} as const satisfies FlagSpecs;

/** A command's usage text, as {@linkcode formatUsage} renders it. */
export interface UsageSpec {
  /** How the command is run, e.g. `"deno task train"`. */
  command: string;
  /** What follows the command; default `"[options]"`. */
  synopsis?: string;
  /** The flags, listed in their table's order. */
  flags: FlagSpecs;
  /** Lines printed after the flags, e.g. what positional arguments mean. */
  notes?: readonly string[];
}

/**
 * Renders a usage text, the same way for every CLI: a `usage:` line, then one line per flag
 * with the descriptions aligned, then the notes.
 *
 * @example
 * ```ts
 * import { formatUsage } from "./_args.ts";
 * formatUsage({
 *   command: "deno task stats",
 *   synopsis: "[options] [FILE]",
 *   flags: { json: { type: "boolean", help: "print one JSON object" } },
 * });
 * // "usage: deno task stats [options] [FILE]\n  --json  print one JSON object"
 * ```
 *
 * @param spec the command, its flags and notes
 * @returns the text, without a final newline
 */
export function formatUsage(spec: UsageSpec): string {
  const names = Object.entries(spec.flags).map(([name, flag]) =>
    `${flag.short ? `-${flag.short}, ` : ""}--${name}${flag.value ? ` ${flag.value}` : ""}`
  );
  const width = Math.max(0, ...names.map((name) => name.length));
  const lines = Object.values(spec.flags).flatMap((flag, index) =>
    flag.help.split("\n").map((line, part) =>
      `  ${(part === 0 ? names[index] : "").padEnd(width)}  ${line}`.trimEnd()
    )
  );
  return [`usage: ${spec.command} ${spec.synopsis ?? "[options]"}`, ...lines, ...spec.notes ?? []]
    .join("\n");
}

/**
 * Runs a command's body and reports a {@linkcode UsageError} the one way: `error: MESSAGE` and
 * one line saying where the flags are (`deno task x --help`) on stderr (one `console.error`
 * call), exit code 2, no stack trace. Other errors pass through.
 *
 * @example
 * ```ts
 * import { reportUsageErrors, UsageError } from "./_args.ts";
 * const code = await reportUsageErrors("usage: deno task x", () => {
 *   throw new UsageError("--x must be a number");
 * });
 * console.log(code); // 2
 * ```
 *
 * @param usage the command's usage text
 * @param body the command; returns its exit code
 * @returns the body's exit code, or 2 after a usage error
 */
export async function reportUsageErrors(
  usage: string,
  body: () => number | Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // The error and where the flags are: the whole usage would scroll the error away.
    const command = /^usage: (deno task \S+)/m.exec(usage)?.[1] ??
      /^usage: (.+?)(?: \[|$)/m.exec(usage)?.[1] ?? "the command";
    console.error(`error: ${error.message}\n(${command} --help lists the flags)`);
    return 2;
  }
}

/**
 * A command's `main`: parses the arguments (undefined means `--help`: the usage is printed, exit
 * 0), runs the command, and reports usage errors as {@linkcode reportUsageErrors} does.
 *
 * @example
 * ```ts
 * import { runCommand } from "./_args.ts";
 * const code = await runCommand("usage: deno task x", () => ({ n: 1 }), (command) => command.n - 1);
 * console.log(code); // 0
 * ```
 *
 * @param usage the command's usage text
 * @param parse parses the command line; undefined for `--help`
 * @param run runs the parsed command; returns its exit code
 * @returns the exit code (2 after a usage error)
 */
export async function runCommand<C>(
  usage: string,
  parse: () => C | undefined | Promise<C | undefined>,
  run: (command: C) => number | Promise<number>,
): Promise<number> {
  return await reportUsageErrors(usage, async () => {
    const command = await parse();
    if (command === undefined) {
      console.log(usage);
      return 0;
    }
    return await run(command);
  });
}
