/**
 * The command-line plumbing every CLI in `lib/cli/` shares: one flag table per command that
 * drives both `parseArgs` and the usage text, value parsers that name the flag when a value is
 * wrong, and one way to report a user's mistake (message and usage on stderr, exit code 2, no
 * stack trace).
 *
 * The parsers check a flag's type (an integer, a number, one of some words). Range checks of
 * settings that end up in a config (a positive epoch count, a dropout in [0, 1)) belong to the
 * config resolvers, which throw {@linkcode ConfigError}; {@linkcode usageErrorFromConfig}
 * names the flag that set the bad field. Flags that are not config (`--threads`, `--backend`,
 * `--limit` of evaluate) are checked completely here.
 *
 * @example
 * ```ts
 * import { formatUsage, HELP_FLAG, parseFlags, parsePositiveInteger, reportUsageErrors } from "./_args.ts";
 * const FLAGS = {
 *   steps: { type: "string", default: "10", value: "N", help: "timed steps (default 10)" },
 *   ...HELP_FLAG,
 * } as const;
 * const USAGE = formatUsage({ command: "deno task bench", flags: FLAGS });
 * const code = await reportUsageErrors(USAGE, () => {
 *   const { values } = parseFlags(["--steps", "3"], FLAGS);
 *   return parsePositiveInteger("--steps", values.steps) === 3 ? 0 : 1;
 * });
 * console.log(code); // 0
 * ```
 *
 * @module
 */
import { CHECKPOINT_CHOICES, type CheckpointChoice } from "../io/model_folder.ts";
import { parseArgs } from "node:util";
import type { BackendName } from "../backend/backend.ts";
import { ConfigError } from "../errors.ts";
import { type FlagSpecs, UsageError } from "./_usage.ts";

export {
  type FlagSpec,
  type FlagSpecs,
  formatUsage,
  HELP_FLAG,
  reportUsageErrors,
  runCommand,
  UsageError,
  type UsageSpec,
} from "./_usage.ts";

/** The message part `got "VALUE"` of every value error. */
function got(value: string): string {
  return `got ${JSON.stringify(value)}`;
}

/**
 * Parses an integer: digits with an optional leading `-`, nothing else (no `1e3`, `1.0`,
 * `0x10`, spaces or empty text).
 *
 * @example
 * ```ts
 * import { parseInteger } from "./_args.ts";
 * parseInteger("--seed", "-7"); // -7
 * parseInteger("--warmup", "0", 0); // 0
 * ```
 *
 * @param flag the flag, for the message (e.g. `"--seed"`)
 * @param value the flag's text
 * @param min the smallest value allowed, if any (1: "must be a positive integer")
 * @returns the integer
 * @throws {UsageError} naming the flag
 */
export function parseInteger(flag: string, value: string, min?: number): number {
  const kind = min === 1
    ? "a positive integer"
    : `an integer${min === undefined ? "" : ` >= ${min}`}`;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${flag} must be ${kind}, ${got(value)}`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new UsageError(`${flag} is too large, ${got(value)}`);
  if (min !== undefined && parsed < min) {
    throw new UsageError(`${flag} must be ${kind}, ${got(value)}`);
  }
  return parsed;
}

/**
 * Parses a positive integer (digits only, at least 1).
 *
 * @example
 * ```ts
 * import { parsePositiveInteger } from "./_args.ts";
 * parsePositiveInteger("--limit", "40"); // 40
 * ```
 *
 * @param flag the flag, for the message
 * @param value the flag's text
 * @returns the integer
 * @throws {UsageError} `FLAG must be a positive integer, got "VALUE"`
 */
export function parsePositiveInteger(flag: string, value: string): number {
  return parseInteger(flag, value, 1);
}

/**
 * Parses a finite number in decimal notation, optionally with an exponent (`0.5`, `-2`, `.5`,
 * `3e-4`); not `Infinity`, `NaN`, hex, spaces or empty text.
 *
 * @example
 * ```ts
 * import { parseNumber } from "./_args.ts";
 * parseNumber("--learning-rate", "0.002"); // 0.002
 * ```
 *
 * @param flag the flag, for the message
 * @param value the flag's text
 * @returns the number
 * @throws {UsageError} `FLAG must be a number, got "VALUE"`
 */
export function parseNumber(flag: string, value: string): number {
  const parsed = Number(value);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value) || !Number.isFinite(parsed)) {
    throw new UsageError(`${flag} must be a number, ${got(value)}`);
  }
  return parsed;
}

/**
 * Parses a number greater than 0 (see {@linkcode parseNumber} for the notation).
 *
 * @param flag the flag, for the message
 * @param value the flag's text
 * @returns the number
 * @throws {UsageError} `FLAG must be a positive number, got "VALUE"`
 */
export function parsePositiveNumber(flag: string, value: string): number {
  const parsed = parseNumber(flag, value);
  if (!(parsed > 0)) throw new UsageError(`${flag} must be a positive number, ${got(value)}`);
  return parsed;
}

/**
 * Parses a rate: a number in [0, 1).
 *
 * @example
 * ```ts
 * import { parseRate } from "./_args.ts";
 * parseRate("--dropout", "0.5"); // 0.5
 * ```
 *
 * @param flag the flag, for the message
 * @param value the flag's text
 * @returns the rate
 * @throws {UsageError} `FLAG must be in [0, 1), got "VALUE"`
 */
export function parseRate(flag: string, value: string): number {
  const parsed = parseNumber(flag, value);
  if (!(parsed >= 0 && parsed < 1)) {
    throw new UsageError(`${flag} must be in [0, 1), ${got(value)}`);
  }
  return parsed;
}

/**
 * Checks that a flag's text is one of some words.
 *
 * @example
 * ```ts
 * import { parseChoice } from "./_args.ts";
 * const split = parseChoice("--split", "test", ["test", "validation"] as const); // "test"
 * ```
 *
 * @param flag the flag, for the message
 * @param value the flag's text
 * @param choices the words allowed
 * @returns the value, typed as one of the choices
 * @throws {UsageError} `FLAG must be A or B, got "VALUE"` (or `must be one of A, B, C`)
 */
export function parseChoice<T extends string>(
  flag: string,
  value: string,
  choices: readonly T[],
): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  const list = choices.length === 2
    ? `${choices[0]} or ${choices[1]}`
    : `one of ${choices.join(", ")}`;
  throw new UsageError(`${flag} must be ${list}, ${got(value)}`);
}

/** The tfjs backends a CLI can run on. */
export const BACKEND_CHOICES: readonly BackendName[] = ["wasm", "cpu"];

/** `--backend wasm|cpu` (default wasm), read by {@linkcode parseBackend}: spread it into a flag table. */
export const BACKEND_FLAG = {
  backend: {
    type: "string",
    default: "wasm",
    value: "wasm|cpu",
    help: "tfjs backend (default wasm)",
  },
} as const satisfies FlagSpecs;

/**
 * `--checkpoint best|last` (default best), read by {@linkcode parseCheckpoint}: which checkpoint
 * of a training run folder a command loads. Spread it into a flag table.
 */
export const CHECKPOINT_FLAG = {
  checkpoint: {
    type: "string",
    default: "best",
    value: "best|last",
    help: "with a run folder: the best epoch's checkpoint (by validation F1; default)\n" +
      "or the last one",
  },
} as const satisfies FlagSpecs;

/**
 * Parses `--checkpoint best|last`.
 *
 * @param value the flag's text
 * @returns the choice
 * @throws {UsageError} naming the flag and the choices
 */
export function parseCheckpoint(value: string): CheckpointChoice {
  return parseChoice("--checkpoint", value, CHECKPOINT_CHOICES);
}

/** `--threads N|auto` (default auto), read by {@linkcode parseThreads}: spread it into a flag table. */
export const THREADS_FLAG = {
  threads: {
    type: "string",
    default: "auto",
    value: "N|auto",
    help: "WASM threads (default auto: one per core)",
  },
} as const satisfies FlagSpecs;

/** The `--workers` flag of the commands that tag many sentences (lib/predict/pool.ts). */
export const WORKERS_FLAG = {
  workers: {
    type: "string",
    default: "auto",
    value: "N|auto",
    help: "prediction workers, one thread each (default auto: one per core;\n" +
      "1 tags on the main thread)",
  },
} as const satisfies FlagSpecs;

/**
 * Parses `--workers N|auto`.
 *
 * @param value the flag's value
 * @returns a positive count, or `"auto"`
 * @throws {UsageError} naming the flag
 */
export function parseWorkers(value: string): number | "auto" {
  if (value === "auto") return value;
  if (!/^\d+$/.test(value) || !(Number(value) >= 1) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--workers must be a positive integer or auto, ${got(value)}`);
  }
  return Number(value);
}

/**
 * Parses `--backend wasm|cpu`, the one definition every CLI with that flag uses.
 *
 * @param value the flag's text
 * @returns the backend name
 * @throws {UsageError} `--backend must be wasm or cpu, got "VALUE"`
 */
export function parseBackend(value: string): BackendName {
  return parseChoice("--backend", value, BACKEND_CHOICES);
}

/**
 * Parses `--threads N|auto`: a positive integer, or `auto` (one thread per core).
 *
 * @param value the flag's text
 * @returns the thread count or `"auto"`
 * @throws {UsageError} `--threads must be a positive integer or auto, got "VALUE"`
 */
export function parseThreads(value: string): number | "auto" {
  if (value === "auto") return value;
  if (!/^\d+$/.test(value) || !(Number(value) >= 1) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--threads must be a positive integer or auto, ${got(value)}`);
  }
  return Number(value);
}

/**
 * Applies a parser to an optional flag: `undefined` when the flag was not given.
 *
 * @example
 * ```ts
 * import { parseOptional, parsePositiveInteger } from "./_args.ts";
 * parseOptional("--limit", undefined, parsePositiveInteger); // undefined
 * ```
 *
 * @param flag the flag, passed on to `parse`
 * @param value the flag's text, if given
 * @param parse the value parser
 * @returns the parsed value, or undefined
 */
export function parseOptional<T>(
  flag: string,
  value: string | undefined,
  parse: (flag: string, value: string) => T,
): T | undefined {
  return value === undefined ? undefined : parse(flag, value);
}

/** The `parseArgs` config {@linkcode parseFlags} runs. */
type StrictConfig<O extends FlagSpecs, P extends boolean> = {
  args: string[];
  options: O;
  strict: true;
  allowPositionals: P;
};

/** What {@linkcode parseFlags} returns: `parseArgs`'s typed `values` and `positionals`. */
export type ParsedFlags<O extends FlagSpecs, P extends boolean = false> = ReturnType<
  typeof parseArgs<StrictConfig<O, P>>
>;

/** The flag a `parseArgs` error message quotes, e.g. `--epochs` in `Option '--epochs <value>'`. */
function quotedFlag(message: string): string {
  return /'(-{1,2}[^'\s=]+)/.exec(message)?.[1] ?? "a flag";
}

/** Edit distance between two short strings (insertions, deletions, substitutions, swaps). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

/**
 * The known flag closest to a mistyped one, when it is close: within an edit distance of 2
 * (1 for names of up to 4 letters), or the only flag the mistyped one begins.
 *
 * @example
 * ```ts
 * import { closestFlag } from "./_args.ts";
 * closestFlag("--epoch", ["epochs", "limit"]); // "--epochs"
 * closestFlag("--trian", ["train", "dev"]); // "--train"
 * ```
 *
 * @param flag the flag as typed, with its dashes
 * @param names the command's flag names, without dashes
 * @returns the suggestion with its dashes, or undefined
 */
export function closestFlag(flag: string, names: readonly string[]): string | undefined {
  const typed = flag.replace(/^-+/, "").split("=")[0];
  if (typed === "") return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const limit = typed.length <= 4 ? 1 : 2;
  if (best && best.distance <= limit) return `--${best.name}`;
  const starts = names.filter((name) => name.startsWith(typed));
  return starts.length === 1 ? `--${starts[0]}` : undefined;
}

/** Rewords a `parseArgs` error (it has a `code`) as a {@linkcode UsageError}. */
function usageErrorFromParseArgs(
  error: Error & { code?: string },
  names: readonly string[],
): UsageError | undefined {
  const flag = quotedFlag(error.message);
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const suggestion = closestFlag(flag, names);
      return new UsageError(
        `unknown flag ${flag}` + (suggestion ? ` (did you mean ${suggestion}?)` : ""),
      );
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(
        `unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ""}: ` +
          "this command takes flags only",
      );
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(error.message)) {
        return new UsageError(`${flag} takes no value`);
      }
      if (/ambiguous/.test(error.message)) {
        return new UsageError(
          `${flag} needs a value (for a value starting with "-", write ${flag}=VALUE)`,
        );
      }
      return new UsageError(`${flag} needs a value`);
  }
  return undefined;
}

/**
 * Runs `parseArgs` strictly (unknown flags, missing values and, unless allowed, positional
 * arguments are errors) and turns its errors into {@linkcode UsageError}s that name the flag.
 * The `value` and `help` fields of the flag table are for the usage text only.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./_args.ts";
 * const FLAGS = { json: { type: "boolean", default: false, help: "print JSON" } } as const;
 * parseFlags(["--json"], FLAGS).values.json; // true
 * try {
 *   parseFlags(["--colour"], FLAGS);
 * } catch (error) {
 *   console.log((error as Error).message); // "unknown flag --colour"
 * }
 * ```
 *
 * @param args the command-line arguments
 * @param flags the command's flag table
 * @param allowPositionals whether arguments that are not flags are accepted; default false
 * @returns the flag values and positional arguments
 * @throws {UsageError} naming the flag
 */
export function parseFlags<O extends FlagSpecs, P extends boolean = false>(
  args: readonly string[],
  flags: O,
  allowPositionals?: P,
): ParsedFlags<O, P> {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, { value: _value, help: _help, ...descriptor }]) => [
      name,
      descriptor,
    ]),
  );
  try {
    return parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: allowPositionals ?? false,
    }) as ParsedFlags<O, P>;
  } catch (error) {
    throw usageErrorFromParseArgs(error as Error & { code?: string }, Object.keys(flags)) ??
      error;
  }
}

/** Config field (its path, e.g. `"model.units"`) → the flag that sets it (e.g. `"--units"`). */
export type FlagsByField = Readonly<Record<string, string>>;

/** The flag of a config field: by its full path, else by its last segment. */
function flagOfField(field: string, flagsByField: FlagsByField): string | undefined {
  if (field in flagsByField) return flagsByField[field];
  const name = field.split(".").at(-1);
  const entry = Object.entries(flagsByField).find(([key]) => key.split(".").at(-1) === name);
  return entry?.[1];
}

/** A plain `RangeError` of the form `key problem[, got value]` read as a {@linkcode ConfigError}. */
function configErrorFromMessage(
  error: RangeError,
  flagsByField: FlagsByField,
): ConfigError | undefined {
  const match = /^([\w.]+) (.+?)(?:, got (.*))?$/s.exec(error.message);
  if (!match || flagOfField(match[1], flagsByField) === undefined) return undefined;
  return new ConfigError(match[1], match[2], match[3]);
}

/**
 * Translates a config resolver's error into a {@linkcode UsageError} that names the flag: a
 * {@linkcode ConfigError} by its `field`, or a plain `RangeError` whose message starts with a
 * field of the table (`epochs must be a positive integer, got 0`). Field names inside the
 * problem are replaced by their flags too. The value is shown as the user typed it when
 * `given` holds the flag's text.
 *
 * @example
 * ```ts
 * import { ConfigError } from "../errors.ts";
 * import { usageErrorFromConfig } from "./_args.ts";
 * const error = new ConfigError("model.units", "must be a positive integer", 0);
 * usageErrorFromConfig(error, { "model.units": "--units" }, { units: "0" })?.message;
 * // '--units must be a positive integer, got "0"'
 * ```
 *
 * @param error what a resolver threw
 * @param flagsByField config field → flag
 * @param given the parsed flag values, by long name without dashes (for the typed text)
 * @returns the usage error, or undefined when `error` is not a config error (rethrow it)
 */
export function usageErrorFromConfig(
  error: unknown,
  flagsByField: FlagsByField,
  given: Readonly<Record<string, unknown>> = {},
): UsageError | undefined {
  const config = error instanceof ConfigError
    ? error
    : error instanceof RangeError
    ? configErrorFromMessage(error, flagsByField)
    : undefined;
  if (config === undefined) return undefined;
  const flag = flagOfField(config.field, flagsByField) ?? config.field;
  // Field names in the text become flags: a whole path (`data.dev`, `epochs`), or the last part
  // of one when it is a camelCase name (`charFeatures`); a plain word such as "file" stays.
  const problem = config.problem.replace(
    /\b[a-z][\w.]*\b/gi,
    (word) =>
      flagsByField[word] ?? (/[A-Z]/.test(word) ? flagOfField(word, flagsByField) : undefined) ??
        word,
  );
  const typed = given[flag.replace(/^-+/, "")];
  const value = typeof typed === "string"
    ? `, ${got(typed)}`
    : typeof typed === "boolean" || config.value === undefined
    ? ""
    : error instanceof ConfigError
    ? `, got ${JSON.stringify(config.value)}`
    : `, got ${config.value}`;
  return new UsageError(`${flag} ${problem}${value}`);
}
