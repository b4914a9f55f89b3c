/**
 * The headless notebook runner: runs a notebook's cells in Deno's Jupyter kernel over ZeroMQ
 * (waiting for every output, which a kernel can send after it reports idle), writes the outputs
 * back, and formats notebooks as `deno fmt` would.
 *
 * @example
 * ```ts
 * import { runNotebook } from "./mod.ts";
 * const result = await runNotebook("notebooks/01_import_libraries.ipynb");
 * console.log(result.cells.length);
 * ```
 *
 * @module
 */
export * from "./runner.ts";
export * from "./ipynb.ts";
