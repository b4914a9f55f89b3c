/**
 * The exported site's page script (bundled for the browser into data/web/bundle.js by
 * lib/cli/_web_bundle.ts): starts tfjs's WebAssembly backend from the `.wasm` files beside the
 * page, loads the site's model (lib/web/load.ts) and tags the text box's text with the
 * library's own tokenizer, forward pass and decoding (lib/predict/predict_text.ts), so a text
 * gets the entities and scores `deno task predict --json` gives it.
 *
 * `index.html?text=…` fills the box and tags it once the model is loaded. `document.body`'s
 * `data-state` is `loading`, then `ready` (or `error`); `globalThis.bilstmNer.tag(text)` tags
 * without the form (for tests and the console). Nothing is fetched from another origin.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "../model/bilstm/mod.ts";
import type { LoadedModel } from "../io/ensemble_config.ts";
import { predictTexts, type TextPrediction } from "../predict/predict_text.ts";
import { byId, page } from "./_dom.ts";
import { loadWebModel } from "./load.ts";
import { renderResult } from "./view.ts";

/** Rows per forward pass, as `deno task predict` uses. */
const FORWARD_ROWS = 64;

/** Tags one text as `deno task predict --json TEXT` does (UTF-16 offsets). */
function tagWith(loaded: LoadedModel, text: string): TextPrediction {
  return predictTexts(loaded, [text], { offsets: "utf16", batchSize: FORWARD_ROWS })[0];
}

/** Sets the status line and the body's `data-state`. */
function setState(state: "loading" | "ready" | "error", message: string): void {
  (page() as unknown as { body: { dataset: Record<string, string> } }).body.dataset.state = state;
  byId("status").textContent = message;
}

/** Starts the wasm backend (single-threaded SIMD without cross-origin isolation). */
async function startBackend(): Promise<string> {
  setWasmPaths("./");
  if (!(await tf.setBackend("wasm"))) throw new Error("the WebAssembly backend did not start");
  await tf.ready();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return `wasm${simd ? " SIMD" : ""}`;
}

/** Loads the model, wires the form, and tags `?text=` when given. */
async function main(): Promise<void> {
  setState("loading", "Loading model…");
  const textBox = byId("text");
  const button = byId("tag");
  const backend = await startBackend();
  const { manifest, loaded } = await loadWebModel(".");
  const loadedAt = performance.now();
  const members = loaded.members.length;
  const caseless = loaded.caseless.length === 0 ? "" : ` + ${loaded.caseless.length} caseless`;
  byId("model").textContent = `${manifest.source} · ${members} member${members === 1 ? "" : "s"}` +
    `${caseless} · ${(manifest.bytes / 2 ** 20).toFixed(1)} MB · ${backend}`;
  let first = true;
  const tag = (text: string): TextPrediction => tagWith(loaded, text);
  const tagBox = () => {
    const text = textBox.value;
    const started = performance.now();
    const prediction = tag(text);
    const ms = performance.now() - started;
    renderResult(text, prediction);
    const rate = prediction.tokens.length / Math.max(ms / 1000, 1e-6);
    setState(
      "ready",
      `Tagged ${prediction.tokens.length} tokens in ${ms.toFixed(0)} ms ` +
        `(${rate.toFixed(0)} tokens/s)` +
        (first ? `; first result ${performance.now().toFixed(0)} ms after the page opened` : ""),
    );
    first = false;
  };
  (globalThis as unknown as { bilstmNer: unknown }).bilstmNer = { tag, manifest };
  byId("tag-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tagBox();
  });
  button.disabled = false;
  setState("ready", `Model loaded in ${loadedAt.toFixed(0)} ms. Type a text and press Tag.`);
  const given = new URLSearchParams(location.search).get("text");
  if (given !== null) {
    textBox.value = given;
    tagBox();
  }
}

main().catch((error) => setState("error", `Error: ${(error as Error).message}`));
