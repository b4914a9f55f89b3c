/**
 * Tests of the headless notebook runner on tiny fixture notebooks (each starts a real
 * `deno jupyter --kernel`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { joinLines, readNotebook } from "../lib/notebook/ipynb.ts";
import { formatNotebookText, NotebookCellError, runNotebook } from "../lib/notebook/runner.ts";
import type { CellOutput, CodeCell, Notebook } from "../lib/notebook/ipynb.ts";

const FIXTURES = new URL("./fixtures/notebooks", import.meta.url).pathname;
const quiet = { echoStreams: false, log: () => {} };

function codeCells(notebook: Notebook): CodeCell[] {
  return notebook.cells.filter((c): c is CodeCell => c.cell_type === "code");
}

function streamText(outputs: CellOutput[], name: "stdout" | "stderr"): string {
  return outputs.map((o) => o.output_type === "stream" && o.name === name ? joinLines(o.text) : "")
    .join("");
}

Deno.test("runner captures prints, rich displays and expression results of every cell", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "nb-test-" });
  try {
    const outputPath = `${outDir}/multi_output.ipynb`;
    const result = await runNotebook(`${FIXTURES}/multi_output.ipynb`, { ...quiet, outputPath });
    assert.equal(result.codeCells, 4);
    const cells = codeCells(await readNotebook(outputPath));
    assert.deepEqual(cells.map((c) => c.execution_count), [1, 2, 3, 4]);

    assert.equal(streamText(cells[0].outputs, "stdout"), "first line\nsecond line\n");
    assert.equal(cells[0].outputs.length, 1, "consecutive prints merge into one stream output");

    const rich = cells[1].outputs;
    assert.equal(rich.length, 1);
    assert.equal(rich[0].output_type, "execute_result");
    const richData = rich[0].output_type === "execute_result" ? rich[0].data : {};
    assert.match(joinLines(richData["image/svg+xml"] as string[]), /<svg[^>]*>.*<rect/);
    assert.match(joinLines(richData["text/html"] as string[]), /^<div><svg/);

    const display = cells[2].outputs.find((o) => o.output_type === "display_data");
    assert.ok(display?.output_type === "display_data");
    assert.equal(joinLines(display.data["text/html"] as string[]), "<b>bold</b>");
    assert.equal(streamText(cells[2].outputs, "stderr"), "to stderr\n");

    const last = cells[3].outputs;
    assert.equal(last.length, 1);
    assert.ok(last[0].output_type === "execute_result");
    assert.equal(last[0].execution_count, 4);
    assert.equal(joinLines(last[0].data["text/plain"] as string[]), "42");
    assert.ok(!JSON.stringify(cells).includes("nb-sentinel"), "sentinel markers are not stored");

    const written = await Deno.readTextFile(outputPath);
    const config = new URL("../deno.json", import.meta.url).pathname;
    assert.equal(
      await formatNotebookText(written, config),
      written,
      "the written notebook is formatted as deno fmt formats it",
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("runner fails on a throwing cell, naming the notebook and the cell number", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "nb-test-" });
  try {
    const outputPath = `${outDir}/broken.ipynb`;
    const error = await runNotebook(`${FIXTURES}/broken.ipynb`, { ...quiet, outputPath })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof NotebookCellError, `expected NotebookCellError, got ${error}`);
    assert.equal(error.cellNumber, 2);
    assert.equal(error.firstLine, "const x = 1;");
    assert.match(error.message, /broken\.ipynb: code cell 2 \(const x = 1;\) failed/);
    assert.match(error.message, /deliberate failure 1/);
    await assert.rejects(Deno.stat(outputPath), Deno.errors.NotFound, "nothing written on error");
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("runner resolves relative imports from the notebook folder and passes env vars", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "nb-test-" });
  try {
    const outputPath = `${outDir}/relative_import.ipynb`;
    await runNotebook(`${FIXTURES}/relative_import.ipynb`, {
      ...quiet,
      outputPath,
      env: { BILSTM_NER_QUICK: "1" },
    });
    const [imported, env] = codeCells(await readNotebook(outputPath));
    const result = imported.outputs[0];
    assert.ok(result?.output_type === "execute_result");
    assert.equal(joinLines(result.data["text/plain"] as string[]), '"IMPORTED!"');
    assert.equal(streamText(env.outputs, "stdout"), "1\n");
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
