/**
 * Tests of the plot module: the rendered SVG holds the expected marks, axis labels and
 * titles; entity highlighting escapes HTML; results expose a Jupyter MIME bundle.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseHTML } from "linkedom";
import {
  confusionHeatmap,
  highlightEntities,
  JUPYTER_DISPLAY,
  perTypeF1Bars,
  sentenceLengthHistogram,
  tagDistributionPlot,
  trainingCurves,
} from "../lib/plot/plot.ts";

/** Minimal DOM surface used to inspect rendered SVG. */
interface QueryableNode {
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
}

function parseSvg(svg: string): QueryableNode {
  const window = parseHTML(`<!DOCTYPE html><html><body>${svg}</body></html>`);
  return (window as unknown as { document: QueryableNode }).document;
}

function count(svg: string, selector: string): number {
  return parseSvg(svg).querySelectorAll(selector).length;
}

function texts(svg: string): string[] {
  return Array.from(parseSvg(svg).querySelectorAll("text"), (t) => t.textContent ?? "");
}

Deno.test("tag distribution draws one bar per tag with title and axis labels", () => {
  const plot = tagDistributionPlot({ O: 900, "B-geo": 40, "B-per": 20, "I-per": 15, "B-tim": 5 });
  assert.equal(count(plot.svg, 'g[aria-label="bar"] rect'), 5);
  const labels = texts(plot.svg);
  assert.ok(labels.includes("Tag distribution"));
  for (const tag of ["O", "B-geo", "B-per", "I-per", "B-tim"]) assert.ok(labels.includes(tag), tag);
  assert.ok(labels.some((t) => t.includes("count")), "y axis label");
  assert.ok(labels.some((t) => t.includes("tag")), "x axis label");
  assert.match(plot.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});

Deno.test("sentence length histogram draws binned rects with its axis labels", () => {
  const lengths = [3, 4, 4, 5, 9, 10, 10, 10, 21, 40];
  const plot = sentenceLengthHistogram(lengths, { bins: 5 });
  const rects = count(plot.svg, 'g[aria-label="rect"] rect');
  assert.ok(rects >= 3 && rects <= 10, `expected a few bins, got ${rects}`);
  const labels = texts(plot.svg);
  assert.ok(labels.some((t) => t.includes("sentence length (tokens)")));
  assert.ok(labels.some((t) => t.includes("sentences")));
});

Deno.test("training curves draw train and validation lines for loss and accuracy", () => {
  const plot = trainingCurves({
    epoch: [1, 2, 3, 4],
    loss: [0.9, 0.5, 0.3, 0.2],
    valLoss: [1.0, 0.6, 0.45, 0.4],
    accuracy: [0.7, 0.85, 0.9, 0.93],
    valAccuracy: [0.68, 0.8, 0.86, 0.88],
  });
  assert.equal(count(plot.svg, 'g[aria-label="line"] path'), 4, "2 panels x (train, validation)");
  const labels = texts(plot.svg);
  assert.ok(labels.includes("Training curves"));
  assert.ok(labels.some((t) => t.includes("loss")));
  assert.ok(labels.some((t) => t.includes("accuracy")));
  assert.ok(labels.some((t) => t.includes("epoch")));
  assert.equal(labels.filter((t) => t === "validation").length, 2, "line end labels per panel");
});

Deno.test("per-type F1 bars draw precision, recall and F1 for every type", () => {
  const plot = perTypeF1Bars({
    geo: { precision: 0.9, recall: 0.85, f1: 0.87, support: 300 },
    per: { precision: 0.8, recall: 0.7, f1: 0.75, support: 100 },
    org: { precision: 0.6, recall: 0.5, f1: 0.55, support: 80 },
  });
  assert.equal(count(plot.svg, 'g[aria-label="bar"] rect'), 9);
  const labels = texts(plot.svg);
  assert.ok(labels.includes("geo (n=300)"));
  assert.ok(labels.some((t) => t.includes("score")));
});

Deno.test("confusion heatmap draws one cell per label pair and prints non-zero counts", () => {
  const plot = confusionHeatmap({
    labels: ["O", "B-per", "I-per"],
    counts: [[100, 2, 0], [3, 40, 5], [0, 4, 30]],
  });
  assert.equal(count(plot.svg, 'g[aria-label="cell"] rect'), 9);
  const labels = texts(plot.svg);
  for (const n of ["100", "2", "3", "40", "5", "4", "30"]) assert.ok(labels.includes(n), n);
  assert.ok(labels.includes("predicted") || labels.some((t) => t.includes("predicted")));
  assert.throws(() => confusionHeatmap({ labels: ["a", "b"], counts: [[1, 2]] }), /square/);
});

Deno.test("plots expose html and a Jupyter MIME bundle with the same SVG", () => {
  const plot = tagDistributionPlot({ O: 3 });
  const bundle = plot[JUPYTER_DISPLAY]();
  assert.equal(bundle["image/svg+xml"], plot.svg);
  assert.ok(bundle["text/html"].includes(plot.svg));
  assert.equal(plot.html, bundle["text/html"]);
  assert.equal(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
});

Deno.test("highlightEntities marks each entity with its type and escapes HTML", () => {
  const text = "Obama met <script>Merkel</script> & co in Paris";
  const paris = text.indexOf("Paris");
  const view = highlightEntities(text, [
    { start: 0, end: 5, type: "per", score: 0.981 },
    { start: paris, end: paris + 5, type: "geo" },
    { start: 2, end: 4, type: "org" }, // overlaps Obama: skipped
  ]);
  assert.equal((view.html.match(/<mark /g) ?? []).length, 2);
  assert.match(view.html, /Obama<span[^>]*>per 0\.98<\/span><\/mark>/);
  assert.match(view.html, /Paris<span[^>]*>geo<\/span><\/mark>/);
  assert.ok(!view.html.includes("<script>"));
  assert.ok(view.html.includes("&lt;script&gt;Merkel&lt;/script&gt; &amp; co"));
  assert.equal(view.text, `[Obama](per 0.98) met <script>Merkel</script> & co in [Paris](geo)`);
  assert.equal(view[JUPYTER_DISPLAY]()["text/html"], view.html);
});
