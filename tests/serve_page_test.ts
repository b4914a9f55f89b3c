/**
 * The serving page takes its description and its type filters from the model (issue 26): a
 * model trained on your own file with CoNLL-2003's types lists those four types, each in a
 * colour of its own, and names its training file; the shipped models keep GMB's.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ENTITY_COLORS } from "../lib/plot/_palette.ts";
import { parseHTML } from "linkedom";
import {
  PAGE_CSP,
  PAGE_SCRIPT,
  pageHtml,
  type PageModel,
  pageModelOf,
  typeColors,
} from "../lib/serve/page.ts";
import { startServer } from "../lib/serve/server.ts";
import type { DomDocument, DomElement, DomInput } from "../lib/serve/page/_dom.ts";
import {
  type EntityView,
  mountView,
  readViewModel,
  TagError,
  type TagFunction,
} from "../lib/serve/page/view.ts";
import {
  bundlePageScript,
  PAGE_BUNDLE,
  PAGE_ENTRY,
  pageBundleModule,
} from "../lib/serve/page/build.ts";

/** The values of the page's type-filter checkboxes, in order. */
function filterTypes(html: string): string[] {
  return [...html.matchAll(/<input type="checkbox" name="type" value="([^"]+)"/g)].map((m) => m[1]);
}

Deno.test("an own-data model's page lists its own types and names its training file", () => {
  const html = pageHtml(pageModelOf({
    types: ["LOC", "MISC", "ORG", "PER"],
    configs: [{ training: { data: { train: "/home/me/corpora/news-train.conll" } } }],
  }));
  assert.deepEqual(filterTypes(html), ["LOC", "MISC", "ORG", "PER"]);
  assert.match(html, /trained on news-train\.conll\./);
  assert.match(html, /It finds 4 entity types: LOC, MISC, ORG, PER\./);
  assert.doesNotMatch(html, /GMB/);
  assert.doesNotMatch(html, /value="geo"/);
  const colors = typeColors(["LOC", "MISC", "ORG", "PER"]);
  assert.equal(colors.LOC, ENTITY_COLORS.geo, "a location is drawn as GMB's geo");
  assert.equal(colors.PER, ENTITY_COLORS.per);
  assert.equal(new Set(Object.values(colors)).size, 4, "four distinct colours");
  for (const [type, color] of Object.entries(colors)) {
    assert.ok(html.includes(`[data-type="${type}"] { --bg: ${color};`), `${type}'s colour rule`);
  }
});

Deno.test("a model without a training file (the shipped ones) says GMB; unknown types get free colours", () => {
  const html = pageHtml(pageModelOf({
    types: ["geo", "per"],
    configs: [{ training: { data: null } }],
  }));
  assert.match(html, /trained on the GMB corpus\./);
  assert.deepEqual(filterTypes(html), ["geo", "per"]);
  const many = typeColors(["A", "B", "C", "D", "E", "F", "G", "H", "I"]);
  assert.equal(new Set(Object.values(many).slice(0, 8)).size, 8, "the palette's eight colours");
  assert.equal(many.I, "#BBBBBB", "grey once the palette runs out");
});

/** The page's HTML in a linkedom document, with the view mounted on it tagging with `tag`. */
function mountedPage(
  tag: TagFunction,
  model: PageModel = { types: ["per", "geo"], trainedOn: "the GMB corpus" },
): { document: DomDocument; view: EntityView } {
  const { document } = parseHTML(pageHtml(model)) as unknown as { document: DomDocument };
  return { document, view: mountView(document, readViewModel(document), tag) };
}

/** Every element matching a selector under an element. */
function all(root: DomElement, selector: string): DomElement[] {
  return [...root.querySelectorAll(selector)];
}

Deno.test("the view marks each entity with data-type, data-start and data-end (UTF-16 offsets)", async () => {
  const text = "👋🏽 Angela Merkel visited Paris <b>today</b>.";
  const entities = [
    { type: "per", start: 5, end: 18, score: 0.9876 },
    { type: "geo", start: 27, end: 32, score: 0.5 },
    { type: "per", start: 10, end: 14, score: 0.1 }, // overlaps the first: not shown
    { type: "misc", start: 40, end: 99, score: 1 }, // past the text's end: not shown
  ];
  const json = { documents: [{ tokens: [], entities }] };
  const tagged: string[] = [];
  const { document, view } = mountedPage((input) => {
    tagged.push(input);
    return Promise.resolve({ entities, tokens: 9, json });
  });
  (document.getElementById("text") as DomInput).value = text;
  await view.tag();
  assert.deepEqual(tagged, [text]);
  const output = document.getElementById("output")!;
  const marks = all(output, "mark.entity").map((mark) => ({
    type: mark.getAttribute("data-type"),
    start: mark.getAttribute("data-start"),
    end: mark.getAttribute("data-end"),
    text: mark.textContent,
    title: mark.getAttribute("title"),
  }));
  assert.deepEqual(marks, [
    {
      type: "per",
      start: "5",
      end: "18",
      text: "Angela Merkel",
      title: "PER (person) · score 0.988",
    },
    {
      type: "geo",
      start: "27",
      end: "32",
      text: "Paris",
      title: "GEO (geographical entity) · score 0.500",
    },
  ]);
  for (const mark of marks) {
    assert.equal(text.slice(Number(mark.start), Number(mark.end)), mark.text, "UTF-16 offsets");
  }
  assert.equal(output.textContent, text, "the marks hold exactly the text; markup stays text");
  assert.equal(all(output, "b").length, 0);
  const rows = all(document.getElementById("entity-table")!, "tbody tr")
    .map((row) => all(row, "td").map((cell) => cell.textContent));
  assert.deepEqual(rows, [
    ["Angela Merkel", "PER", "0.988", "5–18"],
    ["Paris", "GEO", "0.500", "27–32"],
  ]);
  assert.equal(
    document.getElementById("status")!.textContent,
    "2 entities in 9 tokens: 1 PER, 1 GEO.",
  );
  assert.deepEqual(JSON.parse(document.getElementById("json")!.textContent!), json);
});

Deno.test("the view's filter hides a type's marks; errors show in the alert", async () => {
  const { document, view } = mountedPage(() =>
    Promise.reject(
      new TagError("Error 413 Payload Too Large: too big", "The server answered with an error.", {
        error: "too big",
      }),
    )
  );
  view.show("Angela in Paris", {
    entities: [{ type: "per", start: 0, end: 6 }, { type: "org", start: 10, end: 15 }],
    tokens: 3,
  });
  const filter = document.getElementById("filter-list")!;
  assert.deepEqual(
    all(filter, "input").map((input) => (input as DomInput).value),
    ["per", "geo", "org"],
    "a type the model did not list gets its filter",
  );
  assert.deepEqual(all(filter, ".count").map((count) => count.textContent), ["1", "", "1"]);
  const per = all(filter, "input")[0] as DomInput;
  per.checked = false;
  // linkedom dispatches events like a browser: a change bubbling from the checkbox.
  const { Event } = parseHTML("") as unknown as {
    Event: new (type: string, init: { bubbles: boolean }) => object;
  };
  (per as unknown as { dispatchEvent(event: object): void }).dispatchEvent(
    new Event("change", { bubbles: true }),
  );
  const off = all(document.getElementById("output")!, "mark.entity")
    .map((mark) => [mark.dataset.type, mark.classList.contains("off")]);
  assert.deepEqual(off, [["per", true], ["org", false]]);

  (document.getElementById("text") as DomInput).value = "x".repeat(10);
  await view.tag();
  const error = document.getElementById("error")!;
  assert.equal(error.hidden, false);
  assert.equal(error.textContent, "Error 413 Payload Too Large: too big");
  assert.equal(
    document.getElementById("status")!.textContent,
    "The server answered with an error.",
  );
  assert.deepEqual(JSON.parse(document.getElementById("json")!.textContent!), { error: "too big" });
});

Deno.test("the server sends the page's script at /page.js with the page's CSP; the page runs no inline script", async () => {
  const tag = (texts: string[]) => texts.map(() => ({ tokens: [], entities: [] }));
  const server = startServer({ predictor: tag, info: { types: ["per"], configs: [] } as never }, {
    port: 0,
    log: () => {},
  });
  try {
    const page = await fetch(server.url);
    const html = await page.text();
    assert.equal(page.headers.get("content-security-policy"), PAGE_CSP);
    assert.match(PAGE_CSP, /script-src 'self';/);
    assert.equal(/script-src ([^;]*)/.exec(PAGE_CSP)?.[1], "'self'", "no inline script runs");
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1].trim());
    assert.deepEqual(scripts, [
      'type="application/json" id="page-model"',
      'type="module" src="/page.js"',
    ]);
    const script = await fetch(`${server.url}page.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(script.headers.get("content-security-policy"), PAGE_CSP);
    assert.equal(script.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await script.text(), PAGE_SCRIPT);
    assert.doesNotMatch(PAGE_SCRIPT, /^\s*import\b/m, "one self-contained module");
  } finally {
    await server.shutdown();
  }
});

Deno.test("the committed page bundle is what build.ts makes from its sources", async () => {
  const committed = await Deno.readTextFile(new URL(`../${PAGE_BUNDLE}`, import.meta.url));
  const fresh = await pageBundleModule(await bundlePageScript());
  assert.ok(
    committed === fresh,
    `${PAGE_BUNDLE} is out of date with ${PAGE_ENTRY} and the modules it imports: rebuild it ` +
      "(deno run --allow-read --allow-write=lib/serve/page --allow-run=deno lib/serve/page/build.ts)",
  );
});
