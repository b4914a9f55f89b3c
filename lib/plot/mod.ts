/**
 * Presentation: plots rendered to SVG without a browser (Observable Plot + linkedom) and plain
 * text tables for CLIs, and HTML tables for notebooks.
 *
 * @module
 */
export * from "./plot.ts";
export * from "./table.ts";
export * from "./table_view.ts";
export * from "./runs_plot.ts";
