/**
 * Stopping a training run cleanly: Ctrl-C in a terminal and Jupyter's Interrupt both send
 * SIGINT, which kills a Deno process (and a Deno kernel, with its state) unless something
 * listens for it. While training runs, {@linkcode listenForInterrupt} listens, so the signal
 * only asks the loop to stop at its next step boundary; the loop then writes a checkpoint and
 * returns, and the run resumes from there.
 *
 * A listener only runs when the event loop gets a turn, so the training loop yields to it
 * between steps ({@linkcode yieldToEvents}).
 *
 * @module
 */

/** Whether a stop was asked for, and by what. */
export interface StopRequest {
  /** True once a stop was asked for. */
  readonly requested: boolean;
  /** What asked: `"SIGINT"` or `"abort"`; null before. */
  readonly reason: string | null;
  /** Stops listening (call when training ends, or a later Interrupt of another cell is lost). */
  release(): void;
}

/**
 * Listens for SIGINT (when `sigint`) and for `signal`'s abort until released.
 *
 * @param options `sigint`: listen for SIGINT; `signal`: an AbortSignal that also asks to stop
 * @returns the request's state
 */
export function listenForInterrupt(
  options: { sigint: boolean; signal?: AbortSignal },
): StopRequest {
  let reason: string | null = options.signal?.aborted ? "abort" : null;
  const onSigint = () => {
    reason ??= "SIGINT";
  };
  const onAbort = () => {
    reason ??= "abort";
  };
  let listening = false;
  if (options.sigint) {
    try {
      Deno.addSignalListener("SIGINT", onSigint);
      listening = true;
    } catch {
      // Signals are not available here (e.g. Windows' other signals, or no permission): the
      // run can still be stopped through `signal`.
    }
  }
  options.signal?.addEventListener("abort", onAbort);
  return {
    get requested() {
      return reason !== null;
    },
    get reason() {
      return reason;
    },
    release() {
      if (listening) Deno.removeSignalListener("SIGINT", onSigint);
      listening = false;
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Milliseconds between turns given to the event loop during a training epoch. */
export const YIELD_EVERY_MS = 100;

/**
 * Gives the event loop a turn (so signal listeners and timers run) when `YIELD_EVERY_MS` have
 * passed since `last`; returns the time of the last turn.
 *
 * @param last when the loop last had a turn (`performance.now()`)
 */
export async function yieldToEvents(last: number): Promise<number> {
  const now = performance.now();
  if (now - last < YIELD_EVERY_MS) return last;
  await new Promise((resolve) => setTimeout(resolve, 0));
  return performance.now();
}
