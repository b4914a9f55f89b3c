/**
 * The serving page takes its description and its type filters from the model (issue 26): a
 * model trained on your own file with CoNLL-2003's types lists those four types, each in a
 * colour of its own, and names its training file; the shipped models keep GMB's.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ENTITY_COLORS } from "../lib/plot/_palette.ts";
import { pageHtml, pageModelOf, typeColors } from "../lib/serve/page.ts";

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
