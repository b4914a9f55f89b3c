/**
 * The page `GET /` serves to try the tagger in a browser: one HTML document with its CSS inline
 * and its script at `GET /page.js` (nothing from a CDN). A text box and a Tag button post to
 * `POST /v1/ner`; the text comes back with its entities highlighted like displaCy (and like the
 * notebooks' `highlightEntities`): a coloured mark per entity in the shared Okabe–Ito palette,
 * the type as a label, the score on hover; a checkbox per entity type hides or shows its
 * highlights; a table lists each entity with its score and offsets; a `<details>` shows the raw
 * JSON response. Server errors (`{"error": …}`) are shown in the page.
 *
 * This module writes the HTML and CSS, with the model's types, their colours and names in a
 * `<script type="application/json" id="page-model">`. The script is TypeScript under `page/`
 * (`view.ts` renders results, `server_page.ts` wires it to the API), bundled for the browser by
 * `page/build.ts` into the committed `page/_bundle.ts`. The Content-Security-Policy lets the page
 * run only scripts from its own origin (no inline script) and connect only to it.
 *
 * Keyboard and small screens: every control is labelled, Ctrl+Enter (⌘+Enter) in the text box
 * submits, focus is always visible, results land in an `aria-live` region, and the layout fits
 * a 375 px wide phone without horizontal scrolling.
 *
 * User text is only ever put into the page with `textContent` / text nodes, never as HTML.
 *
 * @module
 */

import { ENTITY_COLORS, OTHER_COLOR, OUTLINE_COLOR, readableTextColor } from "../plot/_palette.ts";
import { PAGE_SCRIPT } from "./page/_bundle.ts";
import { TYPE_NAMES, typeColors } from "./page/types.ts";

export { PAGE_SCRIPT, typeColors };

/**
 * The page's Content-Security-Policy (in its `<meta>` and as a header of the page and its script):
 * scripts from the page's own origin only, inline styles, requests to its own origin only.
 */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; " +
  "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

/** The security headers of the page and its script. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
});

/** What the page says about the model it tags with. */
export interface PageModel {
  /** The entity types the model predicts, in the order their filters are listed. */
  types: readonly string[];
  /** What it was trained on, e.g. `the GMB corpus` or a file name. */
  trainedOn: string;
}

/**
 * What the page says of a model described by `GET /v1/model`'s fields: its types, and what its
 * first member was trained on (its training file's name; the GMB corpus when it has no `data`).
 *
 * @param info the model's types and configs (lib/serve/model_info.ts)
 */
export function pageModelOf(
  info: { types: readonly string[]; configs: readonly { training?: unknown }[] },
): PageModel {
  const training = info.configs[0]?.training as { data?: { train?: unknown } | null } | undefined;
  const file = training?.data?.train;
  return {
    types: info.types,
    trainedOn: typeof file === "string" ? (file.split(/[/\\]/).at(-1) ?? file) : "the GMB corpus",
  };
}

/** The shipped models' page: GMB's eight types. */
const GMB_PAGE: PageModel = { types: Object.keys(ENTITY_COLORS), trainedOn: "the GMB corpus" };

/** Escapes text for HTML element content and double-quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no line separators). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A CSS rule setting a type's fill and label colour, for its marks and its filter swatch. */
function typeRule(type: string, color: string): string {
  return `[data-type="${type}"] { --bg: ${color}; --ink: ${readableTextColor(color)}; }`;
}

/** The filter checkbox for one type (`page/view.ts` adds the same markup for other types). */
function filterItem(type: string): string {
  const name = TYPE_NAMES[type] ?? "";
  return `<li><label class="chip" data-type="${escapeHtml(type)}">` +
    `<input type="checkbox" name="type" value="${escapeHtml(type)}" checked> ` +
    `<span class="swatch" aria-hidden="true">${escapeHtml(type)}</span>` +
    `<span class="name">${escapeHtml(name || type)}</span>` +
    `<span class="count"></span></label></li>`;
}

/**
 * The page's CSS (without the types' colour rules). The exported static page
 * (data/web/index.html) holds it too, so both pages look alike; tests/web_loader_test.ts checks
 * that it still does.
 */
export const PAGE_CSS = `
:root { color-scheme: light; --accent: #0072B2; --text: #1b1b1b; --muted: #555; }
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #f4f5f7; color: var(--text); line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 56rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0.25rem 0 0.25rem; }
h2 { font-size: 1.1rem; margin: 0 0 0.5rem; }
p { margin: 0.25rem 0 0.75rem; }
.lede, .hint, footer { color: var(--muted); }
.hint { font-size: 0.9rem; margin: 0.35rem 0 0; }
kbd { font: 0.85em ui-monospace, SFMono-Regular, Menlo, monospace; padding: 0.05em 0.35em;
  border: 1px solid #aaa; border-bottom-width: 2px; border-radius: 0.25em; background: #fff; }
.card { background: #fff; border: 1px solid #d9dce1; border-radius: 0.5rem; padding: 1rem;
  margin: 0 0 1rem; min-width: 0; }
label[for="text"] { display: block; font-weight: 600; margin-bottom: 0.35rem; }
textarea { display: block; width: 100%; min-height: 7.5rem; padding: 0.6rem; font: inherit;
  color: inherit; background: #fff; border: 1px solid #767676; border-radius: 0.35rem;
  resize: vertical; }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem;
  margin-top: 0.75rem; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1.5rem; color: #fff;
  background: var(--accent); border: 1px solid var(--accent); border-radius: 0.35rem;
  cursor: pointer; }
button:hover { background: #005a8c; }
button[aria-disabled="true"] { opacity: 0.65; cursor: progress; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
textarea:focus-visible { outline-offset: 0; }
#status { margin: 0; color: var(--muted); min-height: 1.5em; }
#error { color: #8a1c00; background: #fdecea; border: 1px solid #d55e00; border-radius: 0.35rem;
  padding: 0.5rem 0.75rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
#error[hidden] { display: none; }
fieldset { border: 0; padding: 0; margin: 0 0 0.75rem; min-width: 0; }
legend { font-weight: 600; padding: 0; margin-bottom: 0.35rem; }
.chips { display: flex; flex-wrap: wrap; gap: 0.4rem; list-style: none; margin: 0; padding: 0; }
.chip { display: inline-flex; align-items: center; gap: 0.35rem; padding: 0.2rem 0.55rem;
  border: 1px solid #c4c8ce; border-radius: 999px; background: #fafafa; cursor: pointer;
  font-size: 0.9rem; }
.chip input { margin: 0; width: 1rem; height: 1rem; accent-color: var(--accent); }
.chip:has(input:focus-visible) { outline: 3px solid var(--accent); outline-offset: 2px; }
.chip input:focus-visible { outline: none; }
.chip:has(input:not(:checked)) { opacity: 0.6; text-decoration: line-through; }
.swatch { background: var(--bg, ${OTHER_COLOR}); color: var(--ink, #000);
  box-shadow: 0 0 0 1px ${OUTLINE_COLOR}; border-radius: 0.3em; padding: 0 0.4em;
  font-size: 0.75rem; font-weight: 700; text-transform: uppercase; }
.count { color: var(--muted); font-variant-numeric: tabular-nums; }
.count:not(:empty)::before { content: "· "; }
.doc { line-height: 2.5; direction: ltr; white-space: pre-wrap; overflow-wrap: anywhere;
  color: #000; background: #fff; padding: 0.25rem 0; }
.doc + .doc { border-top: 1px solid #e0e0e0; }
.entity { --bg: ${OTHER_COLOR}; --ink: ${readableTextColor(OTHER_COLOR)}; background: var(--bg);
  color: var(--ink); box-shadow: 0 0 0 1px ${OUTLINE_COLOR}; padding: 0.3em 0.5em;
  margin: 0 0.2em; line-height: 1; border-radius: 0.35em; -webkit-box-decoration-break: clone;
  box-decoration-break: clone; }
.entity::after { content: attr(data-type); font-size: 0.75em; font-weight: bold; line-height: 1;
  vertical-align: middle; margin-left: 0.5em; text-transform: uppercase; }
.entity.off { background: transparent; color: inherit; box-shadow: none; padding: 0; margin: 0; }
.entity.off::after { display: none; }
.empty { color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; margin-top: 0.75rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.35rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #e3e5e8;
  overflow-wrap: anywhere; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
details > summary { cursor: pointer; font-weight: 600; }
pre { margin: 0.5rem 0 0; padding: 0.75rem; max-height: 28rem; overflow: auto;
  background: #f6f8fa; border: 1px solid #e0e0e0; border-radius: 0.35rem; white-space: pre-wrap;
  overflow-wrap: anywhere; font: 0.8rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
footer { font-size: 0.85rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
@media (max-width: 30rem) {
  main { padding: 0.6rem; }
  .card { padding: 0.75rem; }
  button { width: 100%; }
  .doc { line-height: 2.4; }
}
@media (prefers-reduced-motion: no-preference) { .chip { transition: opacity 0.15s; } }
`;

/** Builds the page for a model; the palette is read from `lib/plot/_palette.ts`. */
function buildPage(model: PageModel): string {
  const types = [...model.types];
  const colors = typeColors(types);
  const typeCss = types.map((type) => typeRule(type, colors[type])).join("\n");
  const described = { types, colors, names: TYPE_NAMES };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${PAGE_CSP}">
<title>bilstm-ner · tag text</title>
<style>${PAGE_CSS}
${typeCss}
</style>
</head>
<body>
<main>
<header>
<h1>bilstm-ner</h1>
<p class="lede">Named-entity recognition with a BiLSTM trained on ${escapeHtml(model.trainedOn)}.
It finds ${types.length} entity type${types.length === 1 ? "" : "s"}: ${
    escapeHtml(types.join(", "))
  }. Type or paste text and tag it.</p>
</header>
<form id="tag-form" class="card" novalidate>
<label for="text">Text to tag</label>
<textarea id="text" name="text" rows="5" spellcheck="false" aria-describedby="text-hint"
 placeholder="Angela Merkel visited Paris on Monday."></textarea>
<p id="text-hint" class="hint">Press <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
(<kbd>⌘</kbd>+<kbd>Enter</kbd> on a Mac) to tag without leaving the text box.</p>
<div class="actions">
<button id="tag" type="submit">Tag</button>
</div>
</form>
<div id="error" role="alert" hidden></div>
<section class="card" aria-labelledby="results-title">
<h2 id="results-title">Entities</h2>
<fieldset>
<legend>Show entity types</legend>
<ul id="filter-list" class="chips">
${types.map(filterItem).join("\n")}
</ul>
</fieldset>
<div id="results" aria-live="polite">
<p id="status">Results appear here.</p>
<div id="output"></div>
</div>
<div class="table-wrap">
<table id="entity-table" hidden>
<caption>Each entity with its score and its offsets (UTF-16 code units)</caption>
<thead><tr><th scope="col">Text</th><th scope="col">Type</th>
<th scope="col" class="num">Score</th><th scope="col" class="num">Offsets</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<details id="json-view" class="card">
<summary>JSON response</summary>
<pre id="json" tabindex="0" aria-label="Raw JSON response">No response yet.</pre>
</details>
<footer>
<p>API: <code>POST /v1/ner</code> with <code>{"text": "…"}</code> or
<code>{"texts": ["…"]}</code> · <code>GET /v1/model</code> · <code>GET /health</code></p>
</footer>
</main>
<script type="application/json" id="page-model">${scriptJson(described)}</script>
<script type="module" src="/page.js"></script>
</body>
</html>
`;
}

const cache = new Map<string, string>();

/**
 * The HTML of the try-it page served at `GET /` (its script at `GET /page.js`), saying what
 * the model was trained on and listing its own entity types, each in its colour (GMB's types in
 * the colours of {@link ENTITY_COLORS}, other corpora's mapped to them or given the palette's
 * free colours). Built once per model, then cached.
 *
 * @param model the model's types and training data; default the shipped models' (GMB)
 */
export function pageHtml(model: PageModel = GMB_PAGE): string {
  const key = JSON.stringify(model);
  let page = cache.get(key);
  if (page === undefined) {
    page = buildPage(model);
    cache.set(key, page);
  }
  return page;
}
