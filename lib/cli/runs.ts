/**
 * `deno task runs [--root DIR] [--json]`: the training run folders under `runs/` (or `DIR`) side
 * by side: the settings each changed from the defaults of its preset (your own data as
 * `train=FILE dev=FILE …`, by base name; the preset when it is not the default for that data),
 * epochs done, the best validation entity F1 and its epoch, and the test entity F1 recorded by
 * `deno task evaluate --model RUN`: on the tutorial's whole test split when there is one, else
 * the latest on a file of your own (`--test FILE`, named by its base name). A test F1 of another
 * epoch than the checkpoint the run loads by default (its best, else its latest) names its epoch.
 *
 * Every F1 is a plain fraction with 4 decimals (`0.4907`), in the table and in the JSON.
 * `--json` prints one JSON array on stdout with per run `{dir, settings, epochs, validationF1,
 * testF1, bestEpoch, testEpoch, testFile, tests}` (numbers or null; `settings` with the files'
 * paths as recorded; `testFile` the path of the file `testF1` is of, null for the tutorial's test
 * split; `tests`: `[{file, name, sha256, f1, epoch, evaluatedAt}]`, oldest first) and `error`
 * for a run whose files cannot be read.
 *
 * Exit codes: 0 ok (unreadable runs are listed with their error), 1 runtime error, 2 usage error.
 *
 * @module
 */
import { basename } from "node:path";
import { listRuns, type RunSummary, type SettingValue } from "../train/runs.ts";
import { runsRoot } from "../fs/paths.ts";
import { formatTable } from "../plot/table.ts";
import { formatUsage, HELP_FLAG, parseFlags, reportUsageErrors } from "./_args.ts";

const FLAGS = {
  root: { type: "string", value: "DIR", help: "the folder holding run folders (default runs/)" },
  json: { type: "boolean", default: false, help: "print one JSON array on stdout" },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task runs", flags: FLAGS });

/** An F1 rounded to the 4 decimals shown, null for none. */
function rounded(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10_000) / 10_000;
}

/** What `--json` prints for a run. */
function runToJSON(run: RunSummary): Record<string, unknown> {
  const { dir, settings, epochs, bestEpoch, testEpoch, testFile, error } = run;
  return {
    dir,
    settings,
    epochs,
    validationF1: rounded(run.validationF1),
    testF1: rounded(run.testF1),
    bestEpoch,
    testEpoch,
    testFile,
    tests: run.tests.map(({ file, name, sha256, f1, epoch, evaluatedAt }) => ({
      file,
      name,
      sha256,
      f1: rounded(f1),
      epoch,
      evaluatedAt,
    })),
    ...(error ? { error } : {}),
  };
}

/** A score as a plain fraction with 4 decimals, "—" for none. */
function fraction(value: number | null): string {
  return value === null ? "—" : value.toFixed(4);
}

/** A setting as the table shows it: your own data's files by base name, without `data.`. */
function formatSetting(key: string, value: SettingValue): string {
  const text = typeof value === "object" && value !== null ? JSON.stringify(value) : `${value}`;
  if (!key.startsWith("data.")) return `${key}=${text}`;
  const field = key.slice("data.".length);
  const isFile = (field === "train" || field === "dev") && typeof value === "string";
  return `${field}=${isFile ? basename(value) : text}`;
}

/** The test F1 cell: the score, the file's base name when not the tutorial's split, the epoch. */
function formatTestF1(run: RunSummary): string {
  if (run.testF1 === null) return "—";
  const notes = [
    ...(run.testFile !== null ? [basename(run.testFile)] : []),
    ...(run.testEpoch !== null && run.testEpoch !== run.checkpointEpoch
      ? [`epoch ${run.testEpoch}`]
      : []),
  ];
  return `${fraction(run.testF1)}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
}

/**
 * The runs as a table (F1 as plain fractions with 4 decimals), with unreadable runs' errors
 * below it.
 *
 * @param runs the runs, as {@linkcode listRuns} gives them
 * @param root the folder they are under, for the heading
 * @returns the text to print
 */
export function formatRuns(runs: readonly RunSummary[], root: string): string {
  if (runs.length === 0) return `no runs under ${root}`;
  const rows = runs.map((run) => {
    const settings = Object.entries(run.settings).map(([key, value]) => formatSetting(key, value));
    return [
      run.dir,
      settings.length > 0 ? settings.join(" ") : run.error ? "(unreadable)" : "(defaults)",
      run.epochs ?? "—",
      fraction(run.validationF1),
      run.bestEpoch ?? "—",
      formatTestF1(run),
    ];
  });
  const errors = runs.filter((run) => run.error).map((run) => `error: ${run.dir}: ${run.error}`);
  return [
    `Runs under ${root}:`,
    "",
    formatTable(["run", "settings", "epochs", "best val F1", "best epoch", "test F1"], rows),
    ...(errors.length > 0 ? ["", ...errors] : []),
  ].join("\n");
}

/**
 * Runs the command.
 *
 * @example
 * ```ts
 * import { main } from "./runs.ts";
 * const code = await main(["--root", "runs", "--json"]); // prints [...]
 * ```
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 ok, 1 runtime error, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const { values } = parseFlags(args, FLAGS);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const root = values.root ?? runsRoot();
    let runs: RunSummary[];
    try {
      runs = await listRuns(root);
    } catch (error) {
      console.error(`error: ${root}: ${(error as Error).message}`);
      return 1;
    }
    console.log(values.json ? JSON.stringify(runs.map(runToJSON)) : formatRuns(runs, root));
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
