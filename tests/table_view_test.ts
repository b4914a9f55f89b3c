/**
 * Tests of `tableView`, the notebooks' HTML table: every column in the HTML (escaped, numbers
 * right-aligned, text free to wrap), a plain-text fallback of the chosen columns only, and the
 * MIME bundle the Deno kernel displays.
 *
 * @module
 */

import assert from "node:assert/strict";
import { JUPYTER_DISPLAY, tableView } from "../lib/plot/table_view.ts";
import { all } from "./fixtures/svg.ts";

const HEADER = ["model", "val F1", "entity F1", "precision", "ms/step"];
const ROWS = [
  ["tutorial as published", "0.8211", "0.8264", "0.8387", "314"],
  ["<b>ensemble</b> & co", "—", "0.8583", "0.8645", "—"],
];

/** The table's cells, row by row (header first), as the browser reads them. */
function cellsOf(html: string): { text: string; align: string; wrap: string }[][] {
  return all(html, "tr").map((row) =>
    Array.from(row.querySelectorAll("th, td")).map((cell) => {
      const style = cell.getAttribute("style") ?? "";
      return {
        text: cell.textContent ?? "",
        align: /text-align: (\w+)/.exec(style)?.[1] ?? "",
        wrap: /white-space: (\w+)/.exec(style)?.[1] ?? "",
      };
    })
  );
}

Deno.test("tableView shows every column in HTML, text escaped, numbers right-aligned", () => {
  const view = tableView(HEADER, ROWS);
  const cells = cellsOf(view.html);
  assert.deepEqual(cells.map((row) => row.map((cell) => cell.text)), [HEADER, ...ROWS]);
  assert.ok(view.html.includes("&lt;b&gt;ensemble&lt;/b&gt; &amp; co"), "cells are escaped");
  assert.deepEqual(cells[1].map((cell) => cell.align), ["left", ...Array(4).fill("right")]);
  assert.equal(cells[1][0].wrap, "normal", "names wrap to fit the output area");
  assert.ok(cells[1].slice(1).every((cell) => cell.wrap === "nowrap"), "numbers stay whole");
});

Deno.test("tableView's plain text holds only the chosen columns and says what it left out", () => {
  const view = tableView(HEADER, ROWS, { textColumns: [0, 2] });
  const lines = view.text.split("\n");
  assert.deepEqual(lines, [
    "model                  entity F1",
    "---------------------  ---------",
    "tutorial as published  0.8264",
    "<b>ensemble</b> & co   0.8583",
    "(3 more columns in the HTML table)",
  ]);
  assert.equal(tableView(HEADER, ROWS).text.split("\n").length, 4, "no note when all are shown");
});

Deno.test("tableView displays as text/html and text/plain in the Deno kernel", () => {
  const view = tableView(HEADER, ROWS, { textColumns: [0], caption: "Ablation" });
  const bundle = view[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/plain"]);
  assert.equal(bundle["text/plain"], view.text);
  assert.match(bundle["text/html"], /<caption[^>]*>Ablation<\/caption>/);
});
