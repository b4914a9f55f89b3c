/**
 * Progress reporting for long work: a one-line bar redrawn in place on a
 * terminal, or a line every few percent elsewhere (logs, notebook cells).
 * Writes to stderr so that stdout can hold a command's JSON; inside Deno's
 * Jupyter kernel it writes lines to stdout instead, since a notebook shows
 * stderr as an error (see {@linkcode defaultProgressSink}).
 *
 * @module
 */

/** Where progress goes: a function that writes one chunk of text. */
export type ProgressSink = (text: string) => void;

/** Options for {@linkcode createProgress}. */
export interface ProgressOptions {
  /** Label printed before the bar, e.g. `epoch 1/5`. */
  label: string;
  /** Total number of steps. */
  total: number;
  /** Where to write; default {@linkcode defaultProgressSink}: stderr, stdout in a notebook. */
  sink?: ProgressSink;
  /** Redraw in place with `\r` (default: whether stderr is a terminal, never in a notebook). */
  inPlace?: boolean;
  /** When not in place, print a line every this many percent. Default 10. */
  everyPercent?: number;
  /** Clock in ms, for tests. Default `performance.now`. */
  now?: () => number;
  /** Steps already done before this display started (a resumed epoch); default 0. */
  startStep?: number;
}

/** A live progress display. */
export interface Progress {
  /**
   * Records that `step` steps are done and redraws.
   * @param step steps done so far (1-based count)
   * @param metrics values to show, e.g. `{loss: 0.12, acc: 0.97}`
   */
  update(step: number, metrics?: Record<string, number>): void;
  /**
   * Finishes the bar with a final line.
   * @param metrics values to show
   */
  done(metrics?: Record<string, number>): void;
  /** Mean milliseconds per step so far. */
  msPerStep(): number;
}

const encoder = new TextEncoder();

/**
 * Writes to stderr. Whole lines go through `console.error`, so that inside Deno's
 * Jupyter kernel (which forwards console output to the running cell, but not
 * writes to the process's own stderr) progress shows in the notebook; a bar
 * redrawn in place (`\r`) is written directly to the terminal.
 */
export const stderrSink: ProgressSink = (text) => {
  if (text.includes("\r")) Deno.stderr.writeSync(encoder.encode(text));
  else console.error(text.replace(/\n$/, ""));
};

/**
 * Writes whole lines to stdout (`console.log`), for progress inside a notebook, where stderr
 * output reads as an error. A chunk redrawn in place (`\r…\x1b[K`) becomes a line of its own.
 */
export const stdoutLineSink: ProgressSink = (text) => {
  const line = text.replace(/^\r/, "").replaceAll("\x1b[K", "").replace(/\n$/, "");
  if (line !== "") console.log(line);
};

/**
 * Whether this code runs in Deno's Jupyter kernel (`deno jupyter`), where `Deno.jupyter`
 * exists; elsewhere reading it throws.
 *
 * @returns true inside a notebook kernel
 */
export function inJupyterKernel(): boolean {
  try {
    return typeof Deno.jupyter?.display === "function";
  } catch {
    return false;
  }
}

/**
 * The sink progress goes to unless told otherwise: {@linkcode stdoutLineSink} inside a Jupyter
 * kernel (a notebook cell shows stdout as plain output), else {@linkcode stderrSink} (a command
 * keeps its stdout for results).
 *
 * @returns the sink for the current process
 */
export function defaultProgressSink(): ProgressSink {
  return inJupyterKernel() ? stdoutLineSink : stderrSink;
}

/**
 * Formats seconds as `1h02m`, `3m07s` or `12s`.
 *
 * @param seconds a duration
 * @returns a short human form
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, "0")}m`;
  if (minutes > 0) return `${minutes}m${String(rest).padStart(2, "0")}s`;
  return `${rest}s`;
}

/**
 * Creates a progress display.
 *
 * @param options label, total and output
 * @returns the display
 */
export function createProgress(options: ProgressOptions): Progress {
  const sink = options.sink ?? defaultProgressSink();
  // A kernel's stderr may be the terminal Jupyter was started from: redraws would go there.
  const inPlace = options.inPlace ?? (!inJupyterKernel() && Deno.stderr.isTerminal());
  const everyPercent = options.everyPercent ?? 10;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const startStep = options.startStep ?? 0;
  let lastStep = startStep;
  let lastPrintedPercent = Math.floor((100 * startStep) / Math.max(1, options.total));

  const render = (step: number, metrics: Record<string, number>, final: boolean) => {
    const elapsed = (now() - started) / 1000;
    const fraction = options.total > 0 ? step / options.total : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? (final ? "=" : ">") : "") +
      ".".repeat(width - filled);
    const perStep = step > startStep ? (elapsed * 1000) / (step - startStep) : 0;
    const eta = final
      ? `${formatDuration(elapsed)} total`
      : `ETA ${formatDuration(perStep * (options.total - step) / 1000)}`;
    const values = Object.entries(metrics).map(([name, value]) => `${name} ${value.toFixed(4)}`);
    return `${options.label} ${
      String(step).padStart(String(options.total).length)
    }/${options.total} ` +
      `[${bar}] ${[...values, `${perStep.toFixed(0)} ms/step`, eta].join(" · ")}`;
  };

  return {
    update(step, metrics = {}) {
      lastStep = step;
      if (inPlace) {
        sink(`\r${render(step, metrics, false)}\x1b[K`);
        return;
      }
      const percent = Math.floor((100 * step) / Math.max(1, options.total));
      if (percent >= lastPrintedPercent + everyPercent && step < options.total) {
        lastPrintedPercent = percent - (percent % everyPercent);
        sink(`${render(step, metrics, false)}\n`);
      }
    },
    done(metrics = {}) {
      sink(`${inPlace ? "\r" : ""}${render(lastStep, metrics, true)}${inPlace ? "\x1b[K" : ""}\n`);
    },
    msPerStep() {
      return lastStep > startStep ? (now() - started) / (lastStep - startStep) : 0;
    },
  };
}
