/**
 * The exported site's page script (bundled for the browser into data/web/bundle.js by
 * lib/cli/_web_bundle.ts): starts tfjs's WebAssembly backend from the `.wasm` files beside the
 * page, loads the site's model (lib/web/load.ts) and tags the text box's text with the
 * library's own tokenizer, forward pass and decoding (lib/predict/predict_text.ts), so a text
 * gets the entities and scores `deno task predict --json` gives it.
 *
 * The display is the serving page's (lib/serve/page/view.ts, on the same markup): each text is
 * tagged into the answer `POST /v1/ner` gives (`{"documents": [{"tokens", "entities"}]}`), which
 * the view shows as the server's page shows the server's, the status line adding the time it
 * took. The types' filters, colours and names are the model's, as the server's page lists them.
 *
 * `index.html?text=…` fills the box and tags it once the model is loaded. `document.body`'s
 * `data-state` is `loading`, then `ready` (or `error`); `globalThis.bilstmNer.tag(text)` returns
 * the prediction without the form (for tests and the console). Nothing is fetched from another
 * origin.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "../model/bilstm/mod.ts";
import type { LoadedModel } from "../io/ensemble_config.ts";
import type { WebSiteManifest } from "../io/web_site.ts";
import { predictTexts, type TextPrediction } from "../predict/predict_text.ts";
import type { NerResponse } from "../serve/ner_request.ts";
import type { DomDocument, DomElement, DomInput } from "../serve/page/_dom.ts";
import { nerResult } from "../serve/page/server_api.ts";
import { TYPE_NAMES, typeColors } from "../serve/page/types.ts";
import { mountView, type TagResult } from "../serve/page/view.ts";
import { loadWebModel } from "./load.ts";

/** Rows per forward pass, as `deno task predict` uses. */
const FORWARD_ROWS = 64;

/** The page's document, with its body (whose `data-state` says how loading went). */
const { document } = globalThis as unknown as { document: DomDocument & { body: DomElement } };

/** An element of the page, or throws naming it. */
function byId(id: string): DomElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no element #${id}`);
  return element;
}

/** Sets the body's `data-state` and the status line. */
function setState(state: "loading" | "ready" | "error", message: string): void {
  document.body.dataset.state = state;
  byId("status").textContent = message;
}

/** Tags one text as `deno task predict --json TEXT` does (UTF-16 offsets). */
function tagWith(loaded: LoadedModel, text: string): TextPrediction {
  return predictTexts(loaded, [text], { offsets: "utf16", batchSize: FORWARD_ROWS })[0];
}

/** The model's entity types, sorted, as `GET /v1/model` lists them. */
function entityTypes(loaded: LoadedModel): string[] {
  const tags = loaded.members[0]?.vocab.tags ?? [];
  const types = tags.filter((tag) => /^[BI]-./.test(tag)).map((tag) => tag.slice(2));
  return [...new Set(types)].sort();
}

/** The model line: where it came from, its members, size and backend, and its load time. */
function describe(
  manifest: WebSiteManifest,
  loaded: LoadedModel,
  backend: string,
  loadMs: number,
): string {
  const members = loaded.members.length;
  const caseless = loaded.caseless.length === 0 ? "" : ` + ${loaded.caseless.length} caseless`;
  return `${manifest.source} · ${members} member${members === 1 ? "" : "s"}${caseless} · ` +
    `${(manifest.bytes / 2 ** 20).toFixed(1)} MB · ${backend} · loaded in ${loadMs.toFixed(0)} ms`;
}

/** Starts the wasm backend (single-threaded SIMD without cross-origin isolation). */
async function startBackend(): Promise<string> {
  setWasmPaths("./");
  if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend did not start");
  await tf.ready();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return `wasm${simd ? " SIMD" : ""}`;
}

/** Loads the model, mounts the view, and tags `?text=` when given. */
async function main(): Promise<void> {
  setState("loading", "Loading model…");
  const backend = await startBackend();
  const { manifest, loaded } = await loadWebModel(".");
  const loadMs = performance.now();
  byId("model").textContent = describe(manifest, loaded, backend, loadMs);
  const tag = (text: string): TextPrediction => tagWith(loaded, text);
  (globalThis as unknown as { bilstmNer: unknown }).bilstmNer = { tag, manifest };
  let first = true;
  const tagInPage = (text: string): Promise<TagResult> => {
    const started = performance.now();
    const answer: NerResponse = { documents: [tag(text)] };
    const ms = performance.now() - started;
    const tokens = answer.documents[0].tokens.length;
    const rate = tokens / Math.max(ms / 1000, 1e-6);
    const note = `Tagged in ${ms.toFixed(0)} ms (${rate.toFixed(0)} tokens/s)` +
      (first ? `; first result ${performance.now().toFixed(0)} ms after the page opened.` : ".");
    first = false;
    return Promise.resolve({ ...nerResult(answer), note });
  };
  const types = entityTypes(loaded);
  const view = mountView(
    document,
    { types, colors: typeColors(types), names: TYPE_NAMES },
    tagInPage,
  );
  byId("tag").removeAttribute("disabled");
  setState("ready", `Model loaded in ${loadMs.toFixed(0)} ms. Type a text and press Tag.`);
  const given = new URLSearchParams(location.search).get("text");
  if (given) {
    (byId("text") as DomInput).value = given;
    await view.tag();
  }
}

main().catch((error) => {
  const message = `Error: ${error instanceof Error ? error.message : String(error)}`;
  setState("error", message);
  const alert = document.getElementById("error");
  if (alert !== null) {
    alert.textContent = message;
    alert.hidden = false;
  }
});
