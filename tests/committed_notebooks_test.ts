/**
 * The committed notebooks, as a reader meets them: no cell imports the library by a path that
 * depends on the kernel's folder, and the outputs of the full run show what they claim (the tag
 * distribution of notebook 2 draws one bar per tag, notebook 6's ablation table holds
 * `data/ablation.json`'s rows), fit the output area, carry no machine paths, and show nothing on
 * stderr (a rendered notebook shows stderr as an error).
 *
 * @module
 */
import assert from "node:assert/strict";
import { all, visibleBars } from "./fixtures/svg.ts";

const NOTEBOOKS = new URL("../notebooks/", import.meta.url);

/** One output of a code cell (the fields the tests read). */
interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  traceback?: string[];
}

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

/** The cells of a committed notebook. */
async function cellsOf(name: string): Promise<Cell[]> {
  return JSON.parse(await Deno.readTextFile(new URL(name, NOTEBOOKS))).cells;
}

/** Every committed notebook's file name. */
async function notebookNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(NOTEBOOKS)) {
    if (entry.name.endsWith(".ipynb")) names.push(entry.name);
  }
  return names.sort();
}

const joined = (text: string | string[]) => Array.isArray(text) ? text.join("") : text;

Deno.test("no notebook imports the library by a relative path", async () => {
  const names = await notebookNames();
  assert.equal(names.length, 6);
  const relative = /from\s+["']\.\.?\/(?:\.\.\/)*lib\//;
  assert.ok(relative.test('import { x } from "../lib/data/corpus.ts";'), "the pattern bites");
  for (const name of names) {
    for (const cell of (await cellsOf(name)).filter((c) => c.cell_type === "code")) {
      const source = joined(cell.source);
      assert.ok(!relative.test(source), `${name}: ${source.split("\n")[0]}`);
    }
  }
});

Deno.test("the committed notebook 2 shows one bar per tag (17) in the tag distribution", async () => {
  const svgs = (await cellsOf("02_load_and_group.ipynb"))
    .flatMap((cell) => cell.outputs ?? [])
    .map((output) => output.data?.["image/svg+xml"])
    .filter((svg) => svg !== undefined)
    .map((svg) => joined(svg!));
  const tagPlot = svgs.find((svg) => /tag/i.test(svg) && svg.includes('aria-label="bar"'));
  assert.ok(tagPlot, "notebook 2 has the tag distribution plot");
  assert.equal(visibleBars(tagPlot!).length, 17);
});

Deno.test("no committed output carries an absolute path of the machine it ran on", async () => {
  // A path under a typical root of home, project or scratch folders, or this checkout's own.
  const root = new URL("..", import.meta.url).pathname;
  const machinePath = new RegExp(
    `(^|[\\s"'(=:>\`])(/(home|root|Users|tmp|work|var|opt|mnt|srv)/|${
      root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    })`,
  );
  assert.ok(machinePath.test("run folder: /work/main/runs/x"), "the pattern bites");
  assert.ok(machinePath.test("<td>/home/me/runs/x</td>"), "the pattern bites in HTML");
  assert.ok(!machinePath.test("run folder: runs/x"));
  for (const name of await notebookNames()) {
    for (const [index, cell] of (await cellsOf(name)).entries()) {
      for (const output of cell.outputs ?? []) {
        // stdout and stderr streams, every MIME type of a display or result, tracebacks
        const texts = [output.text ?? "", ...Object.values(output.data ?? {})].map(joined)
          .concat(output.traceback ?? []);
        for (const text of texts) {
          const found = machinePath.exec(text);
          assert.equal(
            found,
            null,
            `${name}, cell ${index}: ${
              text.slice(Math.max(0, (found?.index ?? 0) - 20), (found?.index ?? 0) + 60)
            }`,
          );
        }
      }
    }
  }
});

Deno.test("no committed notebook shows output on stderr", async () => {
  for (const name of await notebookNames()) {
    for (const [index, cell] of (await cellsOf(name)).entries()) {
      for (const output of cell.outputs ?? []) {
        assert.ok(
          output.output_type !== "stream" || output.name !== "stderr",
          `${name}, cell ${index} shows on stderr: ${joined(output.text ?? "").slice(0, 80)}`,
        );
      }
    }
  }
});

/** The widest text line a notebook output shows without wrapping in a rendered notebook. */
const MAX_TEXT_WIDTH = 100;

/** The text an output shows as text: a stream, or a result with no HTML or SVG to show. */
function shownText(output: Output): string | undefined {
  if (output.output_type === "stream") return joined(output.text ?? "");
  const data = output.data ?? {};
  if ("text/html" in data || "image/svg+xml" in data) return undefined;
  return data["text/plain"] === undefined ? undefined : joined(data["text/plain"]);
}

Deno.test("notebook 6's text outputs fit 100 columns", async () => {
  for (const [index, cell] of (await cellsOf("06_evaluate_and_predict.ipynb")).entries()) {
    for (const output of cell.outputs ?? []) {
      for (const line of (shownText(output) ?? "").split("\n")) {
        assert.ok(line.length <= MAX_TEXT_WIDTH, `cell ${index}, ${line.length} wide: ${line}`);
      }
    }
  }
});

Deno.test("notebook 6 shows data/ablation.json's rows as an HTML table, 100 columns as text", async () => {
  const ablation = JSON.parse(
    await Deno.readTextFile(new URL("../data/ablation.json", import.meta.url)),
  ) as { rows: { name: string; f1: number }[] };
  const tables = (await cellsOf("06_evaluate_and_predict.ipynb"))
    .flatMap((cell) => cell.outputs ?? [])
    .filter((output) => joined(output.data?.["text/html"] ?? "").includes("<table"));
  assert.equal(tables.length, 1, "one HTML table: the ablation");
  const [table] = tables;
  const rows = all(joined(table.data!["text/html"]), "tbody tr")
    .map((row) => Array.from(row.querySelectorAll("td")).map((td) => td.textContent ?? ""));
  assert.deepEqual(
    rows.map((cells) => cells[0]),
    ablation.rows.map((row) => row.name),
    "the rows of data/ablation.json, in its order",
  );
  const headers = all(joined(table.data!["text/html"]), "thead th").map((th) => th.textContent);
  const f1 = headers.indexOf("entity F1");
  assert.deepEqual(rows.map((cells) => cells[f1]), ablation.rows.map((row) => row.f1.toFixed(4)));
  const text = joined(table.data!["text/plain"] ?? "").split("\n");
  assert.equal(text.length, ablation.rows.length + 3, "header, rule, rows and a note");
  for (const line of text) assert.ok(line.length <= MAX_TEXT_WIDTH, `${line.length}: ${line}`);
});
