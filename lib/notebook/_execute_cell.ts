/**
 * Executing one notebook cell on the kernel and collecting all of its outputs, for
 * {@link ./runner.ts}. No output is lost: after the cell's `execute_reply` and `idle`, a silent
 * sentinel `execute_request` prints a marker on stdout, stderr and as a display, and the cell is
 * done once all three markers arrived (the kernel handles requests in order) and IOPub has then
 * been quiet for `quietMs`. Output published under the sentinel's id still belongs to the cell.
 *
 * @module
 */
import type { DenoKernel } from "./kernel.ts";
import { sleep } from "./kernel.ts";
import { CellOutputCollector, isOutputMessage } from "./outputs.ts";
import type { JupyterMessage } from "./wire.ts";

/** Options of {@link executeCell}. */
export interface ExecuteCellOptions {
  /** Timeout in milliseconds for the cell, and again for the sentinel. */
  cellTimeoutMs: number;
  /** After the sentinel, wait until IOPub is quiet this long (0 disables). */
  quietMs: number;
  /** Send the sentinel request after the cell. */
  useSentinel: boolean;
  /** Called with each stream output's text as it arrives. */
  onStream: (text: string) => void;
}

/** Outcome of executing one piece of code on the kernel. */
export interface ExecutionOutcome {
  /** The cell's outputs. */
  collector: CellOutputCollector;
  /** The kernel's execution count of the cell; null when it timed out. */
  executionCount: number | null;
  /** Whether the cell's reply did not arrive within the timeout. */
  timedOut: boolean;
  /** Output messages that arrived after the cell's reply (caught by draining). */
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

/** What the IOPub listener of one cell records. */
interface CellState {
  collector: CellOutputCollector;
  tracker: RequestTracker;
  /** Ids of the cell's own requests (the cell's and the sentinel's). */
  ownIds: Set<string>;
  /** The sentinel's marker text. */
  marker: string;
  markers: SentinelMarkers;
  /** Set once the cell's reply arrived: outputs after that are counted as late. */
  settled: boolean;
  lateOutputMessages: number;
}

/**
 * Executes one cell's code and collects all of its outputs.
 *
 * @param kernel the running kernel
 * @param code the cell's source
 * @param options timeouts, sentinel and stream echo
 * @returns the outputs, the execution count, and whether the cell timed out
 */
export async function executeCell(
  kernel: DenoKernel,
  code: string,
  options: ExecuteCellOptions,
): Promise<ExecutionOutcome> {
  const state: CellState = {
    collector: new CellOutputCollector(),
    tracker: new RequestTracker(),
    ownIds: new Set<string>(),
    marker: `@@nb-sentinel-${crypto.randomUUID()}@@`,
    markers: { stdout: false, stderr: false, display: false },
    settled: false,
    lateOutputMessages: 0,
  };
  const { collector, tracker, ownIds } = state;
  const stopListening = listenForOutputs(kernel, state, options.onStream);
  try {
    const { reply } = await executeAndWait(
      kernel,
      tracker,
      { code },
      options.cellTimeoutMs,
      (id) => ownIds.add(id),
    );
    if (reply === undefined) {
      return {
        collector,
        executionCount: null,
        timedOut: true,
        lateOutputMessages: state.lateOutputMessages,
      };
    }
    state.settled = true;
    const executionCount = (reply.content.execution_count ?? null) as number | null;
    if (options.useSentinel) await awaitSentinel(kernel, state, options.cellTimeoutMs);
    if (options.quietMs > 0) {
      while (performance.now() - tracker.lastIopubAt < options.quietMs) await sleep(5);
    }
    addReplyError(collector, reply);
    return {
      collector,
      executionCount,
      timedOut: false,
      lateOutputMessages: state.lateOutputMessages,
    };
  } finally {
    stopListening();
  }
}

/**
 * Listens on IOPub for the outputs of the cell's own requests: records idle statuses, strips the
 * sentinel's markers, echoes streams and collects the rest.
 *
 * @returns the function that stops listening
 */
function listenForOutputs(
  kernel: DenoKernel,
  state: CellState,
  onStream: (text: string) => void,
): () => void {
  const { collector, tracker, ownIds, marker, markers } = state;
  return kernel.onIopub((message) => {
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
      onStream(text);
    } else if (type === "display_data" && SENTINEL_MIME in (content.data as object ?? {})) {
      markers.display = true;
      return;
    }
    if (state.settled) state.lateOutputMessages++;
    collector.add(message);
  });
}

/** Sends the sentinel request, then waits until its three markers have arrived. */
async function awaitSentinel(
  kernel: DenoKernel,
  state: CellState,
  timeoutMs: number,
): Promise<void> {
  await executeAndWait(
    kernel,
    state.tracker,
    { code: sentinelCode(state.marker), silent: true, store_history: false },
    timeoutMs,
    (id) => state.ownIds.add(id),
  );
  const { markers } = state;
  const deadline = performance.now() + timeoutMs;
  while (!(markers.stdout && markers.stderr && markers.display)) {
    if (performance.now() > deadline) throw new Error("sentinel markers never arrived");
    await sleep(2);
  }
}

/** An error reply whose error output never arrived: stores the reply's error as an output. */
function addReplyError(collector: CellOutputCollector, reply: JupyterMessage): void {
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
}
