/**
 * `deno task runs [--root DIR] [--json]`: the training run folders under `runs/` (or `DIR`) side
 * by side: the settings each changed from the defaults, epochs done, best validation entity F1
 * and test entity F1 (recorded by `deno task evaluate --model RUN` on the full test split), as a
 * table, or with `--json` one JSON array on stdout of `{dir, settings, epochs, validationF1,
 * testF1}` per run (numbers or null; `error` too for a run whose files cannot be read).
 *
 * Exit codes: 0 ok (unreadable runs are listed with their error), 1 runtime error, 2 usage error.
 *
 * @module
 */
import { listRuns, type RunSummary } from "../io/runs.ts";
import { runsRoot } from "../io/paths.ts";
import { formatTable } from "../plot/table.ts";
import { formatUsage, HELP_FLAG, parseFlags, reportUsageErrors } from "./_args.ts";

const FLAGS = {
  root: { type: "string", value: "DIR", help: "the folder holding run folders (default runs/)" },
  json: { type: "boolean", default: false, help: "print one JSON array on stdout" },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({ command: "deno task runs", flags: FLAGS });

/** What `--json` prints for a run. */
function runToJSON(run: RunSummary): Record<string, unknown> {
  const { dir, settings, epochs, validationF1, testF1, error } = run;
  return { dir, settings, epochs, validationF1, testF1, ...(error ? { error } : {}) };
}

/** A score as a percentage, "—" for none. */
function percent(value: number | null): string {
  return value === null ? "—" : `${(100 * value).toFixed(2)}%`;
}

/** The runs as a table, with unreadable runs' errors below it. */
export function formatRuns(runs: readonly RunSummary[], root: string): string {
  if (runs.length === 0) return `no runs under ${root}`;
  const rows = runs.map((run) => {
    const settings = Object.entries(run.settings).map(([key, value]) => `${key}=${value}`);
    const stale = run.testF1 !== null && run.testEpoch !== null && run.testEpoch !== run.epochs;
    return [
      run.dir,
      settings.length > 0 ? settings.join(" ") : run.error ? "(unreadable)" : "(defaults)",
      run.epochs ?? "—",
      percent(run.validationF1),
      `${percent(run.testF1)}${stale ? ` (epoch ${run.testEpoch})` : ""}`,
    ];
  });
  const errors = runs.filter((run) => run.error).map((run) => `error: ${run.dir}: ${run.error}`);
  return [
    `Runs under ${root}:`,
    "",
    formatTable(["run", "settings", "epochs", "best val F1", "test F1"], rows),
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
