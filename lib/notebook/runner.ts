/**
 * Headless notebook runner: executes the code cells of an .ipynb in order on a fresh Deno
 * Jupyter kernel, stores every output in the notebook, and writes it back (atomically,
 * then `deno fmt`). Stops on the first failing cell with a {@link NotebookCellError}.
 *
 * No output is lost: after a cell's `execute_reply` and `idle`, the runner sends a silent,
 * empty sentinel `execute_request` and waits for the sentinel's own reply and `idle` (the
 * kernel handles requests in order), then waits until IOPub has been quiet for
 * `quietMs`. Output published under the sentinel's id still belongs to the cell.
 *
 * @module
 */

import { writeFileAtomic } from "../io/files.ts";
import { DenoKernel, sleep } from "./kernel.ts";
import { type CodeCell, joinLines, type Notebook, readNotebook, writeNotebook } from "./ipynb.ts";
import { CellOutputCollector, isOutputMessage } from "./outputs.ts";
import type { JupyterMessage } from "./wire.ts";

/** Options for {@link runNotebook}. */
export interface RunNotebookOptions {
  /** Where to write the executed notebook (default: in place). */
  outputPath?: string;
  /** Kernel working directory (default: the notebook's folder, so relative imports work). */
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

/** Returns the folder part of a path ("." when there is none). */
export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/** First non-empty source line of a cell, shortened for messages. */
export function firstSourceLine(cell: CodeCell): string {
  const line = joinLines(cell.source).split("\n").find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed;
}

/** Outcome of executing one piece of code on the kernel. */
interface ExecutionOutcome {
  collector: CellOutputCollector;
  executionCount: number | null;
  timedOut: boolean;
  lateOutputMessages: number;
}

/** Tracks the reply and idle status of each request id. */
class RequestTracker {
  readonly idle = new Set<string>();
  lastIopubAt = performance.now();
}

/** Sends an execute_request and resolves once its reply and its idle status arrived. */
async function executeAndWait(
  kernel: DenoKernel,
  tracker: RequestTracker,
  content: Record<string, unknown>,
  timeoutMs: number,
  onStart: (msgId: string) => void,
): Promise<{ reply: JupyterMessage | undefined; msgId: string }> {
  const { msgId, reply } = await kernel.send("shell", "execute_request", {
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
    ...content,
  });
  onStart(msgId);
  const deadline = performance.now() + timeoutMs;
  let replyMessage: JupyterMessage | undefined;
  reply.then((m) => replyMessage = m, () => {});
  while (performance.now() < deadline) {
    if (replyMessage !== undefined && tracker.idle.has(msgId)) break;
    if (kernel.hasExited) throw new Error("Deno kernel exited while executing a cell");
    await sleep(replyMessage === undefined ? 10 : 2);
  }
  return { reply: replyMessage, msgId };
}

/** MIME type of the display the sentinel emits to mark the end of a cell's outputs. */
const SENTINEL_MIME = "application/x-bilstm-ner-runner-sentinel";

/** Code of the sentinel cell: one marker on stdout, stderr and as a display, in that order. */
function sentinelCode(marker: string): string {
  return `console.log("${marker}"); console.error("${marker}"); ` +
    `await Deno.jupyter.display({ "${SENTINEL_MIME}": "${marker}" }, { raw: true });`;
}

/** Which of the sentinel's three markers have arrived. */
interface SentinelMarkers {
  stdout: boolean;
  stderr: boolean;
  display: boolean;
}

/**
 * Removes the sentinel marker line from a stream message; records that it was seen.
 * Returns the remaining text ("" when the message only held the marker).
 */
function stripMarker(text: string, marker: string, seen: () => void): string {
  const line = `${marker}\n`;
  if (!text.includes(line)) return text;
  seen();
  return text.replace(line, "");
}

/** Executes one cell's code and collects all of its outputs. */
async function executeCell(
  kernel: DenoKernel,
  code: string,
  options: Required<Pick<RunNotebookOptions, "cellTimeoutMs" | "quietMs" | "useSentinel">> & {
    onStream: (text: string) => void;
  },
): Promise<ExecutionOutcome> {
  const collector = new CellOutputCollector();
  const tracker = new RequestTracker();
  const ownIds = new Set<string>();
  const marker = `@@nb-sentinel-${crypto.randomUUID()}@@`;
  const markers: SentinelMarkers = { stdout: false, stderr: false, display: false };
  let settled = false;
  let lateOutputMessages = 0;
  const stopListening = kernel.onIopub((message) => {
    tracker.lastIopubAt = performance.now();
    const parentId = message.parent_header.msg_id;
    if (parentId === undefined || !ownIds.has(parentId)) return;
    const type = message.header.msg_type;
    if (type === "status") {
      if ((message.content as { execution_state?: string }).execution_state === "idle") {
        tracker.idle.add(parentId);
      }
      return;
    }
    if (!isOutputMessage(type)) return;
    const content = message.content as Record<string, unknown>;
    if (type === "stream") {
      const name = content.name === "stderr" ? "stderr" : "stdout";
      const text = stripMarker(String(content.text), marker, () => markers[name] = true);
      if (text === "") return;
      message = { ...message, content: { ...content, text } };
      options.onStream(text);
    } else if (type === "display_data" && SENTINEL_MIME in (content.data as object ?? {})) {
      markers.display = true;
      return;
    }
    if (settled) lateOutputMessages++;
    collector.add(message);
  });
  try {
    const { reply } = await executeAndWait(
      kernel,
      tracker,
      { code },
      options.cellTimeoutMs,
      (id) => ownIds.add(id),
    );
    if (reply === undefined) {
      return { collector, executionCount: null, timedOut: true, lateOutputMessages };
    }
    settled = true;
    const executionCount = (reply.content.execution_count ?? null) as number | null;
    if (options.useSentinel) {
      await executeAndWait(
        kernel,
        tracker,
        { code: sentinelCode(marker), silent: true, store_history: false },
        options.cellTimeoutMs,
        (id) => ownIds.add(id),
      );
      const deadline = performance.now() + options.cellTimeoutMs;
      while (!(markers.stdout && markers.stderr && markers.display)) {
        if (performance.now() > deadline) throw new Error("sentinel markers never arrived");
        await sleep(2);
      }
    }
    if (options.quietMs > 0) {
      while (performance.now() - tracker.lastIopubAt < options.quietMs) await sleep(5);
    }
    if (reply.content.status === "error" && collector.error === undefined) {
      const content = reply.content as { ename?: string; evalue?: string; traceback?: string[] };
      collector.add({
        ...reply,
        header: { ...reply.header, msg_type: "error" },
        content: {
          ename: content.ename ?? "Error",
          evalue: content.evalue ?? "",
          traceback: content.traceback ?? [],
        },
      });
    }
    return { collector, executionCount, timedOut: false, lateOutputMessages };
  } finally {
    stopListening();
  }
}

/** Writes a progress line to stderr. */
function logToStderr(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
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

/** Removes old outputs and execution counts from every code cell. */
export function clearOutputs(notebook: Notebook): void {
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
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
  signal?.throwIfAborted();
  const started = performance.now();
  const notebook = await readNotebook(notebookPath);
  clearOutputs(notebook);
  const codeCells = notebook.cells.filter((c): c is CodeCell => c.cell_type === "code");
  const name = notebookPath.split("/").at(-1) ?? notebookPath;
  log(`[${name}] starting Deno kernel (cwd ${cwd})`);
  const kernel = await DenoKernel.start({ cwd, env, startupTimeoutMs });
  const killOnAbort = () => void kernel.shutdown(0);
  signal?.addEventListener("abort", killOnAbort, { once: true });
  const timings: CellTiming[] = [];
  let failure: NotebookCellError | undefined;
  const echo = (text: string) => {
    if (echoStreams) Deno.stderr.writeSync(new TextEncoder().encode(text));
  };
  try {
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
      const error = outcome.collector.error;
      if (outcome.timedOut || error !== undefined) {
        failure = new NotebookCellError({
          notebookPath,
          cellNumber,
          firstLine,
          ename: outcome.timedOut ? "Timeout" : error!.ename,
          evalue: outcome.timedOut
            ? `cell ran longer than ${cellTimeoutMs / 1000} s`
            : error!.evalue,
          traceback: outcome.timedOut ? [] : error!.traceback,
        });
        break;
      }
    }
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener("abort", killOnAbort);
    await kernel.shutdown();
  }
  signal?.throwIfAborted();
  if (failure === undefined || saveOnError) {
    await writeNotebook(outputPath, notebook);
    if (format) await formatWithDeno(outputPath, await findDenoConfig(cwd));
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
