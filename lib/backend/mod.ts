/**
 * The tfjs backend: WebAssembly with SIMD and threads under Deno, and the kernels the wasm
 * backend lacks.
 *
 * @example
 * ```ts
 * import { describeBackend, initBackend } from "./mod.ts";
 * console.log(describeBackend(await initBackend({ backend: "wasm", threads: "auto" })));
 * ```
 *
 * @module
 */
export * from "./backend.ts";
export * from "./extra_kernels.ts";
