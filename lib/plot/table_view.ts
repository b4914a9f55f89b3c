/**
 * Tables for notebooks: an HTML table that wraps its text to the output area, with a narrower
 * plain-text fallback (some of the columns, as {@linkcode formatTable} lays them out) for
 * frontends that show `text/plain`.
 *
 * @module
 */

import { escapeHtml, HtmlView } from "./_render.ts";
import { formatTable } from "./table.ts";

export { HtmlView, JUPYTER_DISPLAY, type MimeBundle } from "./_render.ts";

/** Options for {@linkcode tableView}. */
export interface TableViewOptions {
  /** The columns (indices into the header) of the plain-text fallback; default all. */
  textColumns?: number[];
  /** A caption above the HTML table. */
  caption?: string;
}

/** A cell that reads as a number (or as the "—" of a missing one): right-aligned. */
const NUMERIC_CELL = /^(?:[-+−]?\d[\d,]*(?:\.\d+)?%?|—)$/;

/** Whether every cell of a column reads as a number (and at least one is not "—"). */
function isNumericColumn(cells: string[][], column: number): boolean {
  const values = cells.map((row) => row[column] ?? "");
  return values.some((value) => value !== "—") && values.every((value) => NUMERIC_CELL.test(value));
}

/** The `<table>` markup: text columns wrap, numeric ones stay on one line, right-aligned. */
function tableHtml(header: string[], cells: string[][], caption: string | undefined): string {
  const numeric = header.map((_, column) => isNumericColumn(cells, column));
  const align = (column: number) =>
    `text-align: ${numeric[column] ? "right" : "left"}; padding: 0.2em 0.6em;`;
  const style = (column: number) =>
    `${align(column)} white-space: ${numeric[column] ? "nowrap" : "normal"};`;
  const head = header.map((name, column) =>
    `<th style="${align(column)} vertical-align: bottom;">${escapeHtml(name)}</th>`
  ).join("");
  const body = cells.map((row) =>
    `<tr>${
      header.map((_, column) =>
        `<td style="${style(column)}">${escapeHtml(row[column] ?? "")}</td>`
      ).join("")
    }</tr>`
  ).join("\n");
  const captionHtml = caption === undefined
    ? ""
    : `<caption style="text-align: left; padding-bottom: 0.4em;">${escapeHtml(caption)}</caption>`;
  return `<div class="bilstm-ner-table" style="max-width: 100%; overflow-x: auto;">` +
    `<table style="border-collapse: collapse; font-variant-numeric: tabular-nums; ` +
    `table-layout: auto; width: auto;">${captionHtml}\n` +
    `<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

/**
 * A table shown as HTML in a notebook (every column; long text wraps, so it fits the output
 * area), with a plain-text fallback of `textColumns` only and, when columns are left out, a
 * last line saying how many.
 *
 * @param header the column names
 * @param rows the cells, one array per row (already formatted)
 * @param options the fallback's columns and an optional caption
 * @returns a value the Deno Jupyter kernel displays (`text/html` and `text/plain`)
 */
export function tableView(
  header: string[],
  rows: (string | number)[][],
  options: TableViewOptions = {},
): HtmlView {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const textColumns = options.textColumns ?? header.map((_, column) => column);
  const pick = <T>(row: T[]) => textColumns.map((column) => row[column]);
  const left = header.length - textColumns.length;
  const text = formatTable(pick(header), rows.map(pick)) +
    (left > 0 ? `\n(${left} more column${left === 1 ? "" : "s"} in the HTML table)` : "");
  return new HtmlView(tableHtml(header, cells, options.caption), text);
}
