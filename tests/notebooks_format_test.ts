import assert from "node:assert/strict";
import { formatNotebookText } from "../lib/notebook/runner.ts";

const ROOT = new URL("..", import.meta.url).pathname;

// Deno 2.9.6's `deno fmt --check` misreports .ipynb files as unformatted, so deno.json
// excludes notebooks from `deno fmt` and this test checks them with the same formatter.
Deno.test("the notebooks are formatted as deno fmt formats them", async () => {
  const paths = [
    ...[...Deno.readDirSync(`${ROOT}notebooks`)].map((entry) => `${ROOT}notebooks/${entry.name}`),
    ...[...Deno.readDirSync(`${ROOT}tests/fixtures/notebooks`)].map((entry) =>
      `${ROOT}tests/fixtures/notebooks/${entry.name}`
    ),
  ].filter((path) => path.endsWith(".ipynb"));
  assert.ok(paths.length >= 9, `found ${paths.length} notebooks`);
  for (const path of paths) {
    const text = await Deno.readTextFile(path);
    assert.equal(await formatNotebookText(text, `${ROOT}deno.json`), text, `${path} is formatted`);
  }
});

Deno.test("formatNotebookText formats the code cells of a notebook", async () => {
  const notebook = {
    cells: [{
      cell_type: "code",
      execution_count: null,
      id: "a",
      metadata: {},
      outputs: [],
      source: ["const  x={a:1}"],
    }],
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const formatted = JSON.parse(
    await formatNotebookText(JSON.stringify(notebook, null, 1), `${ROOT}deno.json`),
  );
  assert.deepEqual(formatted.cells[0].source, ["const x = { a: 1 };"]);
});
