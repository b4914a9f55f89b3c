/**
 * Headless notebook runner: executes the code cells of an .ipynb in order on a fresh Deno
 * Jupyter kernel, stores every output in the notebook, and writes it back (atomically,
 * then `deno fmt`). Stops on the first failing cell with a {@link NotebookCellError}.
 *
 * No output is lost: after a cell's `execute_reply` and `idle`, the runner sends a silent,
 * empty sentinel `execute_request` and waits for the sentinel's own reply and `idle` (the
 * kernel handles requests in order), then waits until IOPub has been quiet for
 * `quietMs`. Output published under the sentinel's id still belongs to the cell
 * (./_execute_cell.ts). Formatting lives in ./format.ts (re-exported here).
 *
 * @module
 */

import { executeCell, type ExecutionOutcome } from "./_execute_cell.ts";
import { dirname, findDenoConfig, formatWithDeno } from "./format.ts";
import { DenoKernel } from "./kernel.ts";
import { type CodeCell, joinLines, type Notebook, readNotebook, writeNotebook } from "./ipynb.ts";

export { dirname, findDenoConfig, formatNotebookText, formatWithDeno } from "./format.ts";

/** Options for {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Where to write the executed notebook (default: in place). */
  outputPath?: string;
  /**
   * Kernel working directory (default: the notebook's folder, so relative imports work).
   * Relative imports (`./x.ts`, `../lib/x.ts`) resolve from this folder; import-map entries such
   * as `#lib/` come from the deno.json found from this folder upwards, so they work from any
   * folder inside the repository (and fail outside it).
   */
  cwd?: string;
  /** Extra environment variables for the kernel, e.g. `{ BILSTM_NER_QUICK: "1" }`. */
  env?: Record<string, string>;
  /** Per-cell timeout in milliseconds (default 30 minutes). */
  cellTimeoutMs?: number;
  /** After the sentinel, wait until IOPub is quiet this long (default 50 ms; 0 disables). */
  quietMs?: number;
  /** Send the sentinel request after each cell (default true). */
  useSentinel?: boolean;
  /** Echo stream output on stderr as it arrives (default true). */
  echoStreams?: boolean;
  /** Progress sink (default: a line on stderr). */
  log?: (line: string) => void;
  /** Run `deno fmt` on the written notebook (default true). */
  format?: boolean;
  /** Write the partially executed notebook when a cell fails (default false). */
  saveOnError?: boolean;
  /** Timeout for the kernel to start answering (default 60 s). */
  startupTimeoutMs?: number;
  /** Aborting kills the kernel and makes the run fail (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

/** Timing of one executed code cell. */
export interface CellTiming {
  /** 1-based index among the notebook's code cells. */
  cellNumber: number;
  /** The cell's first source line. */
  firstLine: string;
  /** Wall-clock seconds, including output draining. */
  seconds: number;
  /** Number of outputs stored for the cell. */
  outputCount: number;
  /** Output messages that arrived after the cell's reply and idle (caught by draining). */
  lateOutputMessages: number;
}

/** Result of a successful {@link runNotebook}. */
export interface RunNotebookResult {
  /** The notebook that was executed. */
  notebookPath: string;
  /** Where the executed notebook was written. */
  outputPath: string;
  /** Number of code cells executed. */
  codeCells: number;
  /** Total outputs stored. */
  outputs: number;
  /** Wall-clock seconds for the whole notebook, kernel start and shutdown included. */
  seconds: number;
  /** Per-cell timings. */
  cells: CellTiming[];
}

/** A code cell raised an error or timed out. */
export class NotebookCellError extends Error {
  /** The notebook being executed. */
  readonly notebookPath: string;
  /** 1-based index of the failing cell among the code cells. */
  readonly cellNumber: number;
  /** First source line of the failing cell. */
  readonly firstLine: string;
  /** Error name reported by the kernel (`Timeout` for a timeout). */
  readonly ename: string;
  /** Error value reported by the kernel. */
  readonly evalue: string;
  /** Traceback lines reported by the kernel. */
  readonly traceback: string[];

  /** Builds the error; the message names the notebook, the cell number and first line. */
  constructor(
    details: {
      notebookPath: string;
      cellNumber: number;
      firstLine: string;
      ename: string;
      evalue: string;
      traceback: string[];
    },
  ) {
    super(
      `${details.notebookPath}: code cell ${details.cellNumber} (${details.firstLine}) failed: ` +
        `${details.ename}: ${details.evalue}` +
        (details.traceback.length > 0 ? `\n${details.traceback.join("\n")}` : ""),
    );
    this.name = "NotebookCellError";
    this.notebookPath = details.notebookPath;
    this.cellNumber = details.cellNumber;
    this.firstLine = details.firstLine;
    this.ename = details.ename;
    this.evalue = details.evalue;
    this.traceback = details.traceback;
  }
}

/** First non-empty source line of a cell, shortened for messages. */
export function firstSourceLine(cell: CodeCell): string {
  const line = joinLines(cell.source).split("\n").find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed;
}

/** Writes a progress line to stderr. */
function logToStderr(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}

/** Removes old outputs and execution counts from every code cell. */
export function clearOutputs(notebook: Notebook): void {
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
}

/** {@link RunNotebookOptions} with the defaults filled in. */
type ResolvedRunOptions = Required<Omit<RunNotebookOptions, "signal">> & {
  signal?: AbortSignal;
};

/** Fills in the defaults of {@link RunNotebookOptions}. */
function resolveRunOptions(notebookPath: string, options: RunNotebookOptions): ResolvedRunOptions {
  const {
    outputPath = notebookPath,
    cwd = dirname(notebookPath),
    env = {},
    cellTimeoutMs = 30 * 60_000,
    quietMs = 50,
    useSentinel = true,
    echoStreams = true,
    log = logToStderr,
    format = true,
    saveOnError = false,
    startupTimeoutMs = 60_000,
    signal,
  } = options;
  return {
    outputPath,
    cwd,
    env,
    cellTimeoutMs,
    quietMs,
    useSentinel,
    echoStreams,
    log,
    format,
    saveOnError,
    startupTimeoutMs,
    signal,
  };
}

/**
 * Executes every code cell of a notebook on a fresh Deno kernel and writes the executed
 * notebook. The kernel is always shut down (shutdown_request, then kill).
 * @throws NotebookCellError on the first cell that raises or times out.
 */
export async function runNotebook(
  notebookPath: string,
  options: RunNotebookOptions = {},
): Promise<RunNotebookResult> {
  const o = resolveRunOptions(notebookPath, options);
  const { outputPath, cwd, env, log, signal } = o;
  signal?.throwIfAborted();
  const started = performance.now();
  const notebook = await readNotebook(notebookPath);
  clearOutputs(notebook);
  const codeCells = notebook.cells.filter((c): c is CodeCell => c.cell_type === "code");
  const name = notebookPath.split("/").at(-1) ?? notebookPath;
  log(`[${name}] starting Deno kernel (cwd ${cwd})`);
  const kernel = await DenoKernel.start({ cwd, env, startupTimeoutMs: o.startupTimeoutMs });
  const killOnAbort = () => void kernel.shutdown(0);
  signal?.addEventListener("abort", killOnAbort, { once: true });
  let run: CellsRun;
  try {
    run = await executeCells(kernel, codeCells, notebookPath, name, o);
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", killOnAbort);
    await kernel.shutdown();
  }
  const { timings, failure } = run;
  signal?.throwIfAborted();
  if (failure === undefined || o.saveOnError) {
    await writeNotebook(outputPath, notebook);
    if (o.format) await formatWithDeno(outputPath, await findDenoConfig(cwd));
  }
  if (failure !== undefined) throw failure;
  const seconds = (performance.now() - started) / 1000;
  log(`[${name}] ${codeCells.length} code cells in ${seconds.toFixed(1)} s -> ${outputPath}`);
  return {
    notebookPath,
    outputPath,
    codeCells: codeCells.length,
    outputs: timings.reduce((sum, t) => sum + t.outputCount, 0),
    seconds,
    cells: timings,
  };
}

/** What {@link executeCells} did: the timings, and the failure that stopped it, if any. */
interface CellsRun {
  timings: CellTiming[];
  failure: NotebookCellError | undefined;
}

/**
 * Executes the code cells in order, storing each one's outputs and execution count in the cell;
 * stops at the first cell that raises or times out.
 */
async function executeCells(
  kernel: DenoKernel,
  codeCells: CodeCell[],
  notebookPath: string,
  name: string,
  o: ResolvedRunOptions,
): Promise<CellsRun> {
  const { cellTimeoutMs, quietMs, useSentinel, echoStreams, log } = o;
  const timings: CellTiming[] = [];
  const echo = (text: string) => {
    if (echoStreams) Deno.stderr.writeSync(new TextEncoder().encode(text));
  };
  for (const [index, cell] of codeCells.entries()) {
    const cellNumber = index + 1;
    const firstLine = firstSourceLine(cell);
    const cellStarted = performance.now();
    log(`[${name}] cell ${cellNumber}/${codeCells.length}: ${firstLine}`);
    const outcome = await executeCell(kernel, joinLines(cell.source), {
      cellTimeoutMs,
      quietMs,
      useSentinel,
      onStream: echo,
    });
    const seconds = (performance.now() - cellStarted) / 1000;
    cell.execution_count = outcome.executionCount;
    outcome.collector.setExecutionCount(outcome.executionCount);
    cell.outputs = outcome.collector.outputs;
    timings.push({
      cellNumber,
      firstLine,
      seconds,
      outputCount: cell.outputs.length,
      lateOutputMessages: outcome.lateOutputMessages,
    });
    log(`[${name}] cell ${cellNumber}/${codeCells.length} done in ${seconds.toFixed(1)} s`);
    const failure = cellFailure(outcome, notebookPath, cellNumber, firstLine, cellTimeoutMs);
    if (failure !== undefined) return { timings, failure };
  }
  return { timings, failure: undefined };
}

/** The {@link NotebookCellError} of a cell that timed out or raised; undefined when it passed. */
function cellFailure(
  outcome: ExecutionOutcome,
  notebookPath: string,
  cellNumber: number,
  firstLine: string,
  cellTimeoutMs: number,
): NotebookCellError | undefined {
  const error = outcome.collector.error;
  if (!outcome.timedOut && error === undefined) return undefined;
  return new NotebookCellError({
    notebookPath,
    cellNumber,
    firstLine,
    ename: outcome.timedOut ? "Timeout" : error!.ename,
    evalue: outcome.timedOut ? `cell ran longer than ${cellTimeoutMs / 1000} s` : error!.evalue,
    traceback: outcome.timedOut ? [] : error!.traceback,
  });
}
