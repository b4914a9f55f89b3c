/**
 * Executes the project's Deno Jupyter notebooks headlessly and stores their outputs.
 *
 * ```sh
 * deno run -A lib/cli/notebooks.ts [--quick] [--timeout S] [--out DIR] [--json]
 *   [--keep-going] [notebooks...]
 * ```
 *
 * Without notebook arguments it runs every `notebooks/*.ipynb` in name order, in place.
 * `--quick` sets `BILSTM_NER_QUICK=1` and writes executed copies into `--out` (default: a
 * fresh temp dir) instead; kernels still run in each notebook's own folder, so relative
 * imports like `../lib/x.ts` resolve. `--json` prints one JSON summary object on stdout.
 *
 * @module
 */

import { NotebookCellError, runNotebook } from "../notebook/runner.ts";
import {
  formatUsage,
  HELP_FLAG,
  parseFlags,
  parsePositiveNumber,
  reportUsageErrors,
} from "./_args.ts";

/** Parsed command-line options. */
export interface NotebooksCliOptions {
  /** Set `BILSTM_NER_QUICK=1` and write copies instead of running in place. */
  quick: boolean;
  /** Per-cell timeout in seconds. */
  timeoutSeconds: number;
  /** Folder for executed copies (undefined: in place, or a temp dir with --quick). */
  outDir: string | undefined;
  /** Print one JSON object on stdout. */
  json: boolean;
  /** Run the remaining notebooks after a failure. */
  keepGoing: boolean;
  /** Notebook paths (empty: all of `notebooks/*.ipynb`). */
  notebooks: string[];
}

/** Outcome of one notebook, as reported in the summary. */
export interface NotebookSummary {
  /** Notebook that was executed. */
  notebook: string;
  /** Where its executed copy was written (undefined when it failed). */
  output: string | undefined;
  /** Whether every cell ran without error. */
  ok: boolean;
  /** Code cells executed (up to and including a failing one). */
  codeCells: number;
  /** Outputs stored. */
  outputs: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** The failure, when not ok. */
  error?: { cellNumber?: number; firstLine?: string; message: string };
}

const FLAGS = {
  quick: {
    type: "boolean",
    default: false,
    help: "set BILSTM_NER_QUICK=1 and write executed copies to --out (default temp dir)",
  },
  timeout: {
    type: "string",
    default: "7200",
    value: "S",
    help: "per-cell timeout in seconds (default 7200: full training is one cell)",
  },
  out: {
    type: "string",
    value: "DIR",
    help: "write executed notebooks into DIR instead of in place",
  },
  json: { type: "boolean", default: false, help: "print one JSON summary object on stdout" },
  "keep-going": {
    type: "boolean",
    default: false,
    help: "run the remaining notebooks after a failure",
  },
  ...HELP_FLAG,
} as const;

const USAGE = formatUsage({
  command: "deno task notebooks",
  synopsis: "[options] [notebooks...]",
  flags: FLAGS,
  notes: ["notebooks: .ipynb files (default every notebooks/*.ipynb, in name order)"],
});

/**
 * Parses command-line arguments.
 *
 * @param args command-line arguments
 * @returns the options, or `"help"` for `--help`
 * @throws {UsageError} naming a bad flag
 */
export function parseNotebooksArgs(args: string[]): NotebooksCliOptions | "help" {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) return "help";
  return {
    quick: values.quick,
    timeoutSeconds: parsePositiveNumber("--timeout", values.timeout),
    outDir: values.out,
    json: values.json,
    keepGoing: values["keep-going"],
    notebooks: positionals,
  };
}

/** The project's `notebooks/` folder (two levels above this file). */
export function defaultNotebooksDir(): string {
  return new URL("../../notebooks", import.meta.url).pathname;
}

/** Lists `*.ipynb` files of a folder in name order. */
export async function listNotebooks(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort().map((name) => `${dir}/${name}`);
}

/** Formats the summary as a fixed-width table. */
export function formatSummaryTable(rows: NotebookSummary[]): string {
  const header = ["notebook", "status", "cells", "outputs", "seconds"];
  const body = rows.map((r) => [
    r.notebook.split("/").at(-1) ?? r.notebook,
    r.ok ? "ok" : `FAILED${r.error?.cellNumber ? ` (cell ${r.error.cellNumber})` : ""}`,
    String(r.codeCells),
    String(r.outputs),
    r.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Runs the notebooks and prints the summary; returns the exit code. */
async function runNotebooks(options: NotebooksCliOptions): Promise<number> {
  const notebooks = options.notebooks.length > 0
    ? options.notebooks
    : await listNotebooks(defaultNotebooksDir());
  if (notebooks.length === 0) {
    console.error("no notebooks to run");
    return 2;
  }
  const outDir = options.outDir ??
    (options.quick ? await Deno.makeTempDir({ prefix: "notebooks-quick-" }) : undefined);
  if (outDir !== undefined) await Deno.mkdir(outDir, { recursive: true });
  // Quick runs train into the scratch folder, so they never resume or litter the project's runs.
  const env: Record<string, string> = options.quick && outDir !== undefined
    ? { BILSTM_NER_QUICK: "1", BILSTM_NER_RUNS: `${await Deno.realPath(outDir)}/runs` }
    : options.quick
    ? { BILSTM_NER_QUICK: "1" }
    : {};

  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error("interrupted"));
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, onSignal);

  const summaries: NotebookSummary[] = [];
  try {
    for (const notebook of notebooks) {
      const name = notebook.split("/").at(-1) ?? notebook;
      const outputPath = outDir === undefined ? notebook : `${outDir}/${name}`;
      const started = performance.now();
      try {
        const result = await runNotebook(notebook, {
          outputPath,
          env,
          cellTimeoutMs: options.timeoutSeconds * 1000,
          signal: abort.signal,
        });
        summaries.push({
          notebook,
          output: result.outputPath,
          ok: true,
          codeCells: result.codeCells,
          outputs: result.outputs,
          seconds: result.seconds,
        });
      } catch (error) {
        const cellError = error instanceof NotebookCellError ? error : undefined;
        console.error((error as Error).message);
        summaries.push({
          notebook,
          output: undefined,
          ok: false,
          codeCells: cellError?.cellNumber ?? 0,
          outputs: 0,
          seconds: (performance.now() - started) / 1000,
          error: {
            cellNumber: cellError?.cellNumber,
            firstLine: cellError?.firstLine,
            message: cellError ? `${cellError.ename}: ${cellError.evalue}` : String(error),
          },
        });
        if (!options.keepGoing || abort.signal.aborted) break;
      }
    }
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.removeSignalListener(signal, onSignal);
    }
  }

  const ok = summaries.length === notebooks.length && summaries.every((s) => s.ok);
  const table = formatSummaryTable(summaries);
  if (options.json) {
    console.error(table);
    console.log(JSON.stringify({ ok, quick: options.quick, outDir, notebooks: summaries }));
  } else {
    console.log(table);
    if (outDir !== undefined) console.log(`executed notebooks in ${outDir}`);
  }
  return ok ? 0 : 1;
}

/**
 * Runs the command.
 *
 * @param args command-line arguments
 * @returns the process exit code: 0 all ran, 1 a notebook failed, 2 usage error
 */
export async function main(args: string[]): Promise<number> {
  return await reportUsageErrors(USAGE, async () => {
    const options = parseNotebooksArgs(args);
    if (options === "help") {
      console.log(USAGE);
      return 0;
    }
    return await runNotebooks(options);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
