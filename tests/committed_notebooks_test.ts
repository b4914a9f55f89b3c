/**
 * The committed notebooks, as a reader meets them: no cell imports the library by a path that
 * depends on the kernel's folder, and the outputs of the full run show what they claim (the tag
 * distribution of notebook 2 draws one bar per tag).
 *
 * @module
 */
import assert from "node:assert/strict";
import { visibleBars } from "./fixtures/svg.ts";

const NOTEBOOKS = new URL("../notebooks/", import.meta.url);

interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: { data?: Record<string, string | string[]> }[];
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
    `(^|[\\s"'(=:])(/(home|root|Users|tmp|work|var|opt|mnt|srv)/|${
      root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    })`,
  );
  assert.ok(machinePath.test("run folder: /work/main/runs/x"), "the pattern bites");
  assert.ok(!machinePath.test("run folder: runs/x"));
  for (const name of await notebookNames()) {
    for (const [index, cell] of (await cellsOf(name)).entries()) {
      const outputs = (cell.outputs ?? []) as {
        text?: string | string[];
        data?: Record<string, string | string[]>;
      }[];
      for (const output of outputs) {
        const texts = [output.text ?? "", ...Object.values(output.data ?? {})].map(joined);
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
