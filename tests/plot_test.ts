/**
 * Tests of the plot module: the rendered SVG holds the expected marks, axis labels and
 * titles — with real geometry (visible bars on a log axis, integer epoch ticks, legends,
 * labels that fit their cells); entity highlighting escapes HTML and gives one block per
 * text; the entity palette is distinguishable, also for colour-blind readers; results expose
 * a Jupyter MIME bundle.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  compactCount,
  confusionHeatmap,
  contrastRatio,
  deltaE,
  ENTITY_COLORS,
  entityTypeOfTag,
  epochTicks,
  highlightEntities,
  JUPYTER_DISPLAY,
  METRIC_COLORS,
  OUTLINE_COLOR,
  perTypeF1Bars,
  readableTextColor,
  sentenceLengthHistogram,
  tagDistributionPlot,
  toLab,
  trainingCurves,
} from "../lib/plot/plot.ts";
import { runsPlot } from "../lib/plot/runs_plot.ts";
import { all, count, num, texts, visibleBars } from "./fixtures/svg.ts";

/** GMB tag counts (ner_dataset.csv): 17 tags from 51 to 887,908. */
const GMB_TAG_COUNTS: Record<string, number> = {
  O: 887908,
  "B-geo": 37644,
  "B-tim": 20333,
  "B-org": 20143,
  "I-per": 17251,
  "B-per": 16990,
  "I-org": 16784,
  "B-gpe": 15870,
  "I-geo": 7414,
  "I-tim": 6528,
  "B-art": 402,
  "B-eve": 308,
  "I-art": 297,
  "I-eve": 253,
  "B-nat": 201,
  "I-gpe": 198,
  "I-nat": 51,
};

Deno.test("tag distribution draws one visible bar per tag with title and axis labels", () => {
  const plot = tagDistributionPlot({ O: 900, "B-geo": 40, "B-per": 20, "I-per": 15, "B-tim": 5 });
  assert.equal(count(plot.svg, 'g[aria-label="bar"] rect'), 5);
  assert.equal(visibleBars(plot.svg).length, 5);
  const labels = texts(plot.svg);
  assert.ok(labels.includes("Tag distribution"));
  for (const tag of ["O", "B-geo", "B-per", "I-per", "B-tim"]) assert.ok(labels.includes(tag), tag);
  assert.ok(labels.some((t) => t.includes("count")), "y axis label");
  assert.ok(labels.some((t) => t.includes("tag")), "x axis label");
  assert.match(plot.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});

Deno.test("tag distribution on the log scale shows all 17 GMB tags as bars, tallest first", () => {
  for (const options of [{}, { logScale: true }, { scale: "log" as const }]) {
    const plot = tagDistributionPlot(GMB_TAG_COUNTS, options);
    assert.ok(texts(plot.svg).some((t) => t.includes("log scale")), "log axis is labelled");
    assert.doesNotMatch(plot.svg, /NaN|Infinity/);
    const bars = visibleBars(plot.svg);
    assert.equal(bars.length, 17, `one visible bar per tag with ${JSON.stringify(options)}`);
    const heights = bars.map((bar) => num(bar, "height"));
    for (let i = 1; i < heights.length; i++) assert.ok(heights[i] <= heights[i - 1] + 1e-9);
    assert.ok(heights[16] >= 20, `rarest tag (51) is clearly visible, got ${heights[16]} px`);
    assert.ok(heights[0] > heights[16] * 3, "log heights still rank O far above I-nat");
  }
});

Deno.test("tag distribution: linear option, count 1 and 0 on log, colours by entity type", () => {
  for (const options of [{ scale: "linear" as const }, { logScale: false }]) {
    const plot = tagDistributionPlot(GMB_TAG_COUNTS, options);
    assert.ok(!texts(plot.svg).some((t) => t.includes("log scale")));
    assert.equal(count(plot.svg, 'g[aria-label="bar"] rect'), 17);
    assert.ok(visibleBars(plot.svg).length >= 10, "big tags are visible on the linear scale");
  }
  const small = tagDistributionPlot({ O: 1000, "B-per": 1, "B-geo": 0 });
  assert.doesNotMatch(small.svg, /NaN|Infinity/);
  assert.equal(visibleBars(small.svg).length, 2, "a count of 1 still rises above the baseline");
  assert.ok(texts(small.svg).includes("B-geo"), "a zero count keeps its axis slot");
  const fills = all(tagDistributionPlot(GMB_TAG_COUNTS).svg, 'g[aria-label="bar"] rect')
    .map((rect) => rect.getAttribute("fill"));
  const tags = Object.keys(GMB_TAG_COUNTS); // already in descending count order
  tags.forEach((tag, i) => {
    const type = entityTypeOfTag(tag);
    if (type !== null) assert.equal(fills[i], ENTITY_COLORS[type], tag);
  });
  assert.equal(
    all(tagDistributionPlot(GMB_TAG_COUNTS).svg, 'g[aria-label="bar"]')[0].getAttribute("stroke"),
    OUTLINE_COLOR,
    "bars are outlined so the yellow reads on white",
  );
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

/** A history with `n` epochs, numbered from 1. */
function history(n: number) {
  const epoch = Array.from({ length: n }, (_, i) => i + 1);
  return {
    epoch,
    loss: epoch.map((e) => 1 / e),
    valLoss: epoch.map((e) => 1.1 / e + 0.05),
    accuracy: epoch.map((e) => 1 - 0.3 / e),
    valAccuracy: epoch.map((e) => 0.98 - 0.3 / e),
  };
}

/** The epoch tick labels of each panel, in order. */
function epochTickLabels(svg: string): string[][] {
  return all(svg, 'g[aria-label="x-axis tick label"]').map((group) =>
    Array.from(group.querySelectorAll("text"), (t) => t.textContent ?? "")
  );
}

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
  assert.deepEqual(epochTickLabels(plot.svg), [["1", "2", "3", "4"], ["1", "2", "3", "4"]]);
});

Deno.test("training-curve epoch ticks are unique integers for 1, 5 and 37 epochs", () => {
  assert.deepEqual(epochTickLabels(trainingCurves(history(5)).svg), [
    ["1", "2", "3", "4", "5"],
    ["1", "2", "3", "4", "5"],
  ]);
  for (const n of [1, 2, 13, 37]) {
    const svg = trainingCurves(history(n)).svg;
    assert.doesNotMatch(svg, /NaN/);
    for (const ticks of epochTickLabels(svg)) {
      assert.ok(ticks.length >= 1 && ticks.length <= 12, `${n} epochs: ${ticks}`);
      assert.equal(new Set(ticks).size, ticks.length, `${n} epochs: ticks repeat: ${ticks}`);
      for (const tick of ticks) assert.match(tick, /^\d+$/, `${n} epochs: ${ticks}`);
      for (const tick of ticks) assert.ok(Number(tick) >= 1 && Number(tick) <= n);
    }
  }
  assert.deepEqual(epochTicks([1, 2, 3]), [1, 2, 3]);
  assert.deepEqual(epochTicks([0, 25, 50, 75, 100]), [0, 25, 50, 75, 100]);
  assert.deepEqual(epochTicks(Array.from({ length: 40 }, (_, i) => i + 1)), [
    5,
    10,
    15,
    20,
    25,
    30,
    35,
    40,
  ]);
});

Deno.test("per-type F1 bars draw precision, recall and F1 for every type, with a legend", () => {
  const plot = perTypeF1Bars({
    geo: { precision: 0.9, recall: 0.85, f1: 0.87, support: 300 },
    per: { precision: 0.8, recall: 0.7, f1: 0.75, support: 100 },
    org: { precision: 0.6, recall: 0.5, f1: 0.55, support: 80 },
  });
  assert.equal(count(plot.svg, 'g[aria-label="bar"] rect'), 9);
  assert.equal(visibleBars(plot.svg).length, 9);
  const labels = texts(plot.svg);
  assert.ok(labels.includes("geo (n=300)"));
  assert.ok(labels.some((t) => t.includes("score")));
  const legend = all(plot.svg, 'g[aria-label="legend"] g[aria-label="legend item"]').map((
    item,
  ) => ({
    label: item.querySelector("text")?.textContent,
    color: item.querySelector("rect")?.getAttribute("fill"),
  }));
  assert.deepEqual(legend, [
    { label: "precision", color: METRIC_COLORS.precision },
    { label: "recall", color: METRIC_COLORS.recall },
    { label: "F1", color: METRIC_COLORS.f1 },
  ]);
  const barFills = all(plot.svg, 'g[aria-label="bar"] rect').map((r) => r.getAttribute("fill"));
  assert.deepEqual(new Set(barFills), new Set(Object.values(METRIC_COLORS)), "legend matches bars");
  const swatches = all(plot.svg, 'g[aria-label="dot"] path').map((p) => p.getAttribute("fill"));
  assert.deepEqual(swatches, [ENTITY_COLORS.geo, ENTITY_COLORS.per, ENTITY_COLORS.org]);
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

Deno.test("confusion heatmap labels fit their cells; tooltips keep the exact counts", () => {
  const labels = Object.keys(GMB_TAG_COUNTS);
  const counts = labels.map((_, i) => labels.map((_, j) => (i === j ? 176254 - i * 9871 : i * j)));
  counts[0][1] = 1_234_567;
  const plot = confusionHeatmap({ labels, counts });
  const cells = all(plot.svg, 'g[aria-label="cell"] rect');
  assert.equal(cells.length, 17 * 17);
  const cellWidth = Math.min(...cells.map((rect) => num(rect, "width")));
  const fontSize = Number(all(plot.svg, 'g[aria-label="text"]')[0].getAttribute("font-size"));
  const cellLabels = all(plot.svg, 'g[aria-label="text"] text').map((t) => t.textContent ?? "");
  assert.ok(cellLabels.length > 17);
  for (const label of cellLabels) {
    assert.ok(label.length <= 5, `cell label too long: ${label}`);
    // ~0.62 em per digit in system sans-serif fonts: the label must fit the cell's width.
    assert.ok(label.length * 0.62 * fontSize <= cellWidth, `${label} overflows ${cellWidth}px`);
  }
  assert.ok(cellLabels.includes("176k") && cellLabels.includes("1.2M"));
  const tooltips = cells.map((rect) => rect.querySelector("title")?.textContent ?? "");
  assert.match(tooltips[0], /^true O → predicted O: 176,254 \(\d+\.\d% of row\)$/);
  assert.match(tooltips[1], /: 1,234,567 /);
  assert.ok(tooltips.every((t) => t.length > 0), "every cell has a tooltip");
});

Deno.test("compactCount abbreviates to at most 4 characters", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [7, "7"],
    [999, "999"],
    [1000, "1k"],
    [1049, "1k"],
    [1250, "1.3k"],
    [9949, "9.9k"],
    [9960, "10k"],
    [176254, "176k"],
    [999_499, "999k"],
    [999_600, "1M"],
    [1_234_567, "1.2M"],
    [2.5e9, "2.5G"],
  ];
  for (const [value, text] of cases) assert.equal(compactCount(value), text, String(value));
  for (let v = 1; v < 1e13; v = Math.ceil(v * 1.37)) assert.ok(compactCount(v).length <= 4, `${v}`);
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
  assert.equal(count(view.html, "div.entities-block"), 1);
});

const SENTENCES = [
  "Narendra Modi is the Prime Minister of India",
  "Apple is looking at buying U.K. startup for $1 billion",
  "The United Nations said on Tuesday that fighting in Darfur has displaced 2 million people.",
];

/** The span of `word` in `text`. */
function span(text: string, word: string, type: string) {
  const start = text.indexOf(word);
  return { start, end: start + word.length, type };
}

Deno.test("highlightEntities gives one block per text, as an array or joined by newlines", () => {
  const perText = [
    [span(SENTENCES[0], "Narendra Modi", "per"), span(SENTENCES[0], "India", "geo")],
    [span(SENTENCES[1], "Apple", "org")],
    [span(SENTENCES[2], "United Nations", "org"), span(SENTENCES[2], "Tuesday", "tim")],
  ];
  let offset = 0;
  const joined = perText.flatMap((spans, i) => {
    const shift = offset;
    offset += SENTENCES[i].length + 1;
    return spans.map((s) => ({ ...s, start: s.start + shift, end: s.end + shift }));
  });
  for (
    const view of [
      highlightEntities(SENTENCES, perText),
      highlightEntities(SENTENCES.join("\n"), joined),
    ]
  ) {
    const blocks = all(view.html, "div.entities > div.entities-block");
    assert.equal(blocks.length, 3);
    assert.deepEqual(
      blocks.map((b) => Array.from(b.querySelectorAll("mark"), (m) => m.getAttribute("data-type"))),
      [["per", "geo"], ["org"], ["org", "tim"]],
    );
    assert.ok((blocks[2].textContent ?? "").startsWith("The United Nations"));
    assert.equal(view.text.split("\n").length, 3);
    assert.ok(!/\n/.test(view.html), "no raw newline left to collapse into one line");
  }
  const crossing = highlightEntities("ab\ncd", [{ start: 1, end: 4, type: "per" }]);
  assert.equal(count(crossing.html, "mark"), 0, "a span across a line break is skipped");
});

/**
 * Colour-distance thresholds, in CIE76 ΔE*ab (Euclidean CIELAB). ~2.3 is a just-noticeable
 * difference for large side-by-side patches; small marks scattered in text or across a chart
 * need far more, and ~20 is where categorical palettes (Tableau 10, Okabe–Ito) start telling
 * every pair apart at a glance. Under simulated full protan-, deutan- and tritanopia (Machado
 * 2009) we still ask for 15: the old displaCy palette fails both (per/nat: 19.8 normal, 1.0
 * deutan), the Okabe–Ito palette passes (min 26 normal, 16 under CVD).
 */
const MIN_DELTA_E = 20;
const MIN_DELTA_E_CVD = 15;

Deno.test("the 8 entity colours are distinct for normal and colour-blind vision", () => {
  const types = ["geo", "gpe", "per", "org", "tim", "art", "nat", "eve"];
  assert.deepEqual(Object.keys(ENTITY_COLORS).sort(), [...types].sort());
  const colors = types.map((t) => ENTITY_COLORS[t].toLowerCase());
  assert.equal(new Set(colors).size, 8, "pairwise distinct");
  for (const vision of [undefined, "protanopia", "deuteranopia", "tritanopia"] as const) {
    const threshold = vision === undefined ? MIN_DELTA_E : MIN_DELTA_E_CVD;
    for (let i = 0; i < types.length; i++) {
      for (let j = i + 1; j < types.length; j++) {
        const d = deltaE(toLab(colors[i], vision), toLab(colors[j], vision));
        assert.ok(
          d >= threshold,
          `${types[i]}/${types[j]} ΔE ${d.toFixed(1)} (${vision ?? "normal"})`,
        );
      }
    }
  }
  // The check has teeth: the old per/nat pair is nearly identical to a deuteranope.
  assert.ok(deltaE(toLab("#aa9cfc", "deuteranopia"), toLab("#c887fb", "deuteranopia")) < 5);
});

Deno.test("entity labels are readable on every colour; the highlighter uses the shared palette", () => {
  for (const [type, color] of Object.entries(ENTITY_COLORS)) {
    const ink = readableTextColor(color);
    assert.ok(contrastRatio(color, ink) >= 4.5, `${type}: WCAG AA text contrast`);
  }
  const text = "Modi visited Tuesday";
  const view = highlightEntities(text, [span(text, "Modi", "per"), span(text, "Tuesday", "nat")]);
  const marks = all(view.html, "mark").map((m) => m.getAttribute("style") ?? "");
  assert.match(marks[0], new RegExp(`background: ${ENTITY_COLORS.per}; color: #000000`));
  assert.match(marks[1], new RegExp(`background: ${ENTITY_COLORS.nat}; color: #FFFFFF`));
  for (const style of marks) assert.ok(style.includes(`box-shadow: 0 0 0 1px ${OUTLINE_COLOR}`));
  assert.match(view.html, /^<div class="entities" style="[^"]*background: white/);
});

Deno.test("runs plot draws one validation-F1 line and one loss line per run, with a legend", () => {
  const curves = (f1: number[]) => ({
    epoch: f1.map((_, i) => i + 1),
    loss: f1.map(() => 0.1),
    valLoss: f1.map((value) => 1 - value),
    valF1: f1,
  });
  const plot = runsPlot([
    { name: "run-a", history: curves([0.5, 0.7, 0.8]) },
    { name: "run-b", history: curves([0.6, 0.65]) },
    { name: "run-without-validation", history: null },
  ]);
  const lines = all(plot.svg, 'g[aria-label="line"] path');
  assert.equal(lines.length, 4, "two runs with curves × (F1 panel, loss panel)");
  const legend = all(plot.svg, 'g[aria-label="legend item"] text').map((t) => t.textContent);
  assert.deepEqual(legend, ["run-a", "run-b", "run-without-validation"]);
  const ticks = all(plot.svg, 'g[aria-label="x-axis tick label"] text').map((t) => t.textContent);
  assert.deepEqual(ticks, ["1", "2", "3", "1", "2", "3"], "integer epochs, each once per panel");
});
