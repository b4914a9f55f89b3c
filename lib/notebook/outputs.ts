/**
 * Collects the IOPub messages of one executed cell into nbformat outputs: merges consecutive
 * stream chunks, keeps display data and execute results, applies `update_display_data` and
 * `clear_output`, and records errors.
 *
 * @module
 */

import type { CellOutput, ErrorOutput, MimeBundle } from "./ipynb.ts";
import type { JupyterMessage } from "./wire.ts";

/** IOPub message types that produce or change outputs. */
const OUTPUT_MESSAGE_TYPES = new Set([
  "stream",
  "display_data",
  "execute_result",
  "error",
  "update_display_data",
  "clear_output",
]);

/** Whether an IOPub message type produces or changes cell outputs. */
export function isOutputMessage(msgType: string): boolean {
  return OUTPUT_MESSAGE_TYPES.has(msgType);
}

/** Accumulates the outputs of one cell from its IOPub messages. */
export class CellOutputCollector {
  /** The outputs collected so far, in arrival order. */
  readonly outputs: CellOutput[] = [];
  /** The first error output seen, if any. */
  error: ErrorOutput | undefined;
  /** Number of output messages handled. */
  messageCount = 0;
  #clearOnNextOutput = false;
  readonly #displayIds = new Map<string, Array<{ data: MimeBundle }>>();

  /** Applies one IOPub message (ignores non-output message types). */
  add(message: JupyterMessage): void {
    const type = message.header.msg_type;
    if (!isOutputMessage(type)) return;
    this.messageCount++;
    const content = message.content as Record<string, unknown>;
    if (type === "clear_output") {
      if (content.wait === true) this.#clearOnNextOutput = true;
      else this.outputs.length = 0;
      return;
    }
    if (type === "update_display_data") {
      this.#updateDisplay(content);
      return;
    }
    if (this.#clearOnNextOutput) {
      this.outputs.length = 0;
      this.#clearOnNextOutput = false;
    }
    switch (type) {
      case "stream":
        this.#addStream(content.name === "stderr" ? "stderr" : "stdout", String(content.text));
        break;
      case "display_data": {
        const output = {
          output_type: "display_data" as const,
          data: (content.data ?? {}) as MimeBundle,
          metadata: (content.metadata ?? {}) as Record<string, unknown>,
        };
        this.outputs.push(output);
        this.#rememberDisplay(content, output);
        break;
      }
      case "execute_result":
        this.outputs.push({
          output_type: "execute_result",
          data: (content.data ?? {}) as MimeBundle,
          metadata: (content.metadata ?? {}) as Record<string, unknown>,
          execution_count: (content.execution_count ?? null) as number | null,
        });
        break;
      case "error": {
        const error: ErrorOutput = {
          output_type: "error",
          ename: String(content.ename ?? "Error"),
          evalue: String(content.evalue ?? ""),
          traceback: (content.traceback ?? []) as string[],
        };
        this.outputs.push(error);
        this.error ??= error;
        break;
      }
    }
  }

  /** Sets the execution count of every execute_result to `count`. */
  setExecutionCount(count: number | null): void {
    for (const output of this.outputs) {
      if (output.output_type === "execute_result") output.execution_count = count;
    }
  }

  #addStream(name: "stdout" | "stderr", text: string): void {
    const last = this.outputs.at(-1);
    if (last?.output_type === "stream" && last.name === name) {
      last.text = (Array.isArray(last.text) ? last.text.join("") : last.text) + text;
    } else {
      this.outputs.push({ output_type: "stream", name, text });
    }
  }

  #rememberDisplay(content: Record<string, unknown>, output: { data: MimeBundle }): void {
    const displayId = (content.transient as { display_id?: string } | undefined)?.display_id;
    if (displayId === undefined) return;
    const outputs = this.#displayIds.get(displayId) ?? [];
    outputs.push(output);
    this.#displayIds.set(displayId, outputs);
  }

  #updateDisplay(content: Record<string, unknown>): void {
    const displayId = (content.transient as { display_id?: string } | undefined)?.display_id;
    if (displayId === undefined) return;
    for (const output of this.#displayIds.get(displayId) ?? []) {
      output.data = (content.data ?? {}) as MimeBundle;
    }
  }
}
