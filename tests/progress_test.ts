import assert from "node:assert/strict";
import {
  createProgress,
  defaultProgressSink,
  formatDuration,
  inJupyterKernel,
  stderrSink,
  stdoutLineSink,
} from "../lib/train/progress.ts";

Deno.test("line mode prints a line every 10% with metrics, ms/step and ETA, then a total", () => {
  const lines: string[] = [];
  let clock = 0;
  const progress = createProgress({
    label: "epoch 1/5",
    total: 100,
    sink: (text) => lines.push(text),
    inPlace: false,
    now: () => clock,
  });
  for (let step = 1; step <= 100; step++) {
    clock += 50;
    progress.update(step, { loss: 1 / step });
  }
  progress.done({ loss: 0.01, val_acc: 0.9 });
  assert.equal(lines.length, 10, "9 progress lines (10%..90%) and a final one");
  assert.match(lines[0], /^epoch 1\/5 {2}10\/100 \[.*\] loss 0\.1000 · 50 ms\/step · ETA 5s\n$/);
  assert.match(lines[9], /100\/100 \[=+\] loss 0\.0100 · val_acc 0\.9000 · 50 ms\/step · 5s total/);
  assert.equal(progress.msPerStep(), 50);
});

Deno.test("in-place mode redraws one line with carriage returns", () => {
  const chunks: string[] = [];
  const progress = createProgress({
    label: "x",
    total: 3,
    sink: (text) => chunks.push(text),
    inPlace: true,
    now: () => 0,
  });
  progress.update(1);
  progress.update(2);
  progress.done();
  assert.equal(chunks.length, 3);
  assert.ok(chunks.every((chunk) => chunk.startsWith("\r")));
  assert.ok(chunks[2].endsWith("\n"));
});

Deno.test("durations read as seconds, minutes or hours", () => {
  assert.equal(formatDuration(12.4), "12s");
  assert.equal(formatDuration(187), "3m07s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(Infinity), "?");
});

Deno.test("outside a notebook kernel progress goes to stderr, as the commands print it", () => {
  assert.equal(inJupyterKernel(), false);
  assert.equal(defaultProgressSink(), stderrSink);
});

Deno.test("the notebook sink prints whole lines on stdout, a redrawn bar as a line of its own", () => {
  const printed: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(args);
  try {
    stdoutLineSink("epoch 1/5 1/2 [>..] ETA 1s\n");
    stdoutLineSink("\repoch 1/5 2/2 [==] 1s total\x1b[K");
    stdoutLineSink("\n");
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, [["epoch 1/5 1/2 [>..] ETA 1s"], ["epoch 1/5 2/2 [==] 1s total"]]);
});
