/**
 * The tagging server (`deno task serve`): an HTTP JSON API on `Deno.serve` with micro-batching,
 * request limits, Prometheus metrics and a page to try the tagger.
 *
 * - `server.ts`: {@linkcode startServer}, options and their defaults, graceful shutdown; serving
 *   a loaded model (tagged on the server's thread) or a `PredictPool` over one (on its workers);
 * - `_header_guard.ts`: the public port, which times each request's head (408 after
 *   `headerTimeoutMs`, 431 over `maxHeaderBytes`) before passing it to `Deno.serve`;
 * - `routes.ts`: the routes, 404/405/OPTIONS/CORS, errors as JSON (never a stack trace);
 * - `ner_request.ts`: the `POST /v1/ner` body checks (400 naming the field, 413 for limits) and
 *   the offset units;
 * - `batcher.ts`: {@linkcode MicroBatcher}, concurrent requests sharing one forward pass;
 * - `metrics.ts`: counters, gauges, histograms in the Prometheus text format;
 * - `model_info.ts`: what `GET /v1/model` says; `http.ts`: JSON bodies and responses;
 * - `page.ts`: the page of `GET /`; its script (`GET /page.js`) is TypeScript for the browser in
 *   `page/` (`view.ts` shows results, `server_page.ts` talks to the API), bundled by
 *   `page/build.ts` into the committed `page/_bundle.ts`.
 *
 * @example
 * ```ts
 * import { loadModelFolder, projectPath } from "../io/mod.ts";
 * import { describeModel, startServer } from "./mod.ts";
 * const loaded = await loadModelFolder(projectPath("data/model"));
 * const server = startServer({ predictor: loaded, info: await describeModel(loaded) }, { port: 0 });
 * console.log(`listening on ${server.url}`);
 * await server.shutdown();
 * ```
 *
 * @module
 */
export * from "./batcher.ts";
export * from "./http.ts";
export * from "./metrics.ts";
export * from "./model_info.ts";
export * from "./ner_request.ts";
export * from "./routes.ts";
export * from "./server.ts";
export { pageHtml } from "./page.ts";
export * from "./load_bench.ts";
