/**
 * Plain-text tables for command-line output.
 *
 * @module
 */

/**
 * Formats rows as an aligned text table with a header rule. Numbers are
 * right-aligned, text left-aligned.
 *
 * @param header the column names
 * @param rows the cells, one array per row
 * @returns the table, lines joined by `\n`
 */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = header.map((name, column) =>
    Math.max(name.length, ...cells.map((row) => (row[column] ?? "").length))
  );
  const numeric = header.map((_, column) =>
    rows.length > 0 && rows.every((row) => typeof row[column] === "number")
  );
  const line = (row: string[]) =>
    row.map((cell, column) =>
      numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
    ).join("  ").trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...cells.map(line)]
    .join("\n");
}

/**
 * Formats an integer with thousands separators (`1048575` → `1,048,575`).
 *
 * @param value the number
 * @returns the formatted text
 */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}
