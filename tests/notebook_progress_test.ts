/**
 * Progress inside a notebook (a real `deno jupyter --kernel`): lines on stdout, none on
 * stderr, which a rendered notebook shows as an error. Commands keep progress on stderr
 * (tests/progress_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { joinLines, readNotebook } from "../lib/notebook/ipynb.ts";
import type { CodeCell } from "../lib/notebook/ipynb.ts";
import { runNotebook } from "../lib/notebook/runner.ts";

const FIXTURE = new URL("./fixtures/notebooks/progress.ipynb", import.meta.url).pathname;

Deno.test("in a notebook kernel progress prints lines on stdout and nothing on stderr", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "nb-progress-" });
  try {
    const outputPath = `${outDir}/progress.ipynb`;
    await runNotebook(FIXTURE, { outputPath, echoStreams: false, log: () => {} });
    const cell = (await readNotebook(outputPath)).cells.find((c): c is CodeCell =>
      c.cell_type === "code"
    )!;
    assert.deepEqual(
      cell.outputs.map((output) => output.output_type === "stream" ? output.name : "other"),
      ["stdout"],
    );
    const output = cell.outputs[0];
    const lines = joinLines(output.output_type === "stream" ? output.text : "").split("\n");
    assert.equal(lines[0], "in a kernel: true; default sink: stdout");
    assert.match(lines[1], /^work 2\/4 \[=+>\.+\] loss 0\.5000 · \d+ ms\/step · ETA \d+s$/);
    assert.match(lines[2], /^work 4\/4 \[=+\] \d+ ms\/step · \d+s total$/);
    assert.deepEqual(lines.slice(3), [""]);
    assert.ok(!lines.some((line) => line.includes("\r")), "no bar redrawn in place");
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
