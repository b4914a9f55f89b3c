/**
 * Plots for the notebooks, drawn with Observable Plot on a linkedom `document` and rendered
 * to standalone SVG strings, plus displaCy-style entity highlighting as HTML. Every result
 * displays inline in the Deno Jupyter kernel (via `Symbol.for("Jupyter.display")`, giving
 * `text/html` with the inline SVG, `image/svg+xml`, and `text/plain`) and exposes its
 * markup as `.svg` / `.html`.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

/** The symbol the Deno kernel calls to get an object's MIME bundle. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle as returned to the Deno kernel. */
export type MimeBundle = Record<string, string>;

/** Size and title options shared by all plots. */
export interface PlotOptions {
  /** Title drawn above the plot (each function has a default). */
  title?: string;
  /** Width in pixels (default 640). */
  width?: number;
  /** Height in pixels of the plot area (default depends on the plot). */
  height?: number;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const TITLE_HEIGHT = 28;

/** Escapes text for HTML/XML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** A rendered SVG chart that Jupyter displays inline. */
export class SvgPlot {
  /** Standalone SVG document (with xmlns), usable as `image/svg+xml` or written to a file. */
  readonly svg: string;
  /** Title of the chart. */
  readonly title: string;

  /** Wraps a standalone SVG string. */
  constructor(svg: string, title: string) {
    this.svg = svg;
    this.title = title;
  }

  /** HTML embedding the SVG inline. */
  get html(): string {
    return `<div class="bilstm-ner-plot">${this.svg}</div>`;
  }

  /** MIME bundle for the Deno Jupyter kernel. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      "text/html": this.html,
      "image/svg+xml": this.svg,
      "text/plain": `[plot] ${this.title}`,
    };
  }
}

/** An HTML fragment that Jupyter displays inline. */
export class HtmlView {
  /** The HTML markup. */
  readonly html: string;
  /** Plain-text rendering. */
  readonly text: string;

  /** Wraps HTML and its plain-text fallback. */
  constructor(html: string, text: string) {
    this.html = html;
    this.text = text;
  }

  /** MIME bundle for the Deno Jupyter kernel. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.html, "text/plain": this.text };
  }
}

/** The parts of a linkedom element this module reads. */
interface RenderedElement {
  tagName: string;
  outerHTML: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): RenderedElement | null;
}

/** Creates a fresh linkedom document for Plot to draw into. */
function createDocument(): unknown {
  const window = parseHTML("<!DOCTYPE html><html><body></body></html>");
  return (window as unknown as { document: unknown }).document;
}

/** Renders Plot options to a bare `<svg>` string (no title; Plot's own legends are not used). */
function renderPlotSvg(options: Plot.PlotOptions): { svg: string; width: number; height: number } {
  const document = createDocument();
  const node = Plot.plot({ ...options, document: document as never }) as unknown as RenderedElement;
  const svg = node.tagName.toLowerCase() === "svg" ? node : node.querySelector("svg");
  if (svg === null) throw new Error("Observable Plot produced no <svg>");
  return {
    svg: svg.outerHTML,
    width: Number(svg.getAttribute("width")),
    height: Number(svg.getAttribute("height")),
  };
}

/**
 * Stacks rendered panels vertically under a title into one standalone SVG (nested `<svg>`
 * elements), with a white background so it reads on dark themes too.
 */
function composeSvg(title: string, panels: Array<{ svg: string; width: number; height: number }>) {
  const width = Math.max(...panels.map((p) => p.width));
  let y = TITLE_HEIGHT;
  const placed = panels.map((panel) => {
    const positioned = panel.svg.replace(/^<svg /, `<svg x="0" y="${y}" `);
    y += panel.height;
    return positioned;
  });
  return `<svg xmlns="${SVG_NS}" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
    `style="background: white; color: black; max-width: 100%; height: auto" ` +
    `font-family="system-ui, sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${width / 2}" y="19" text-anchor="middle" font-size="15" font-weight="bold" ` +
    `fill="black">${escapeHtml(title)}</text>${placed.join("")}</svg>`;
}

/** Common Plot options: size, white background, black text. */
function baseOptions(options: PlotOptions, defaultHeight: number): Plot.PlotOptions {
  return {
    width: options.width ?? 640,
    height: options.height ?? defaultHeight,
    style: { background: "white", color: "black" },
  };
}

/** Bar chart of how often each tag occurs, most frequent first. */
export function tagDistributionPlot(
  tagCounts: Record<string, number>,
  options: PlotOptions & { logScale?: boolean } = {},
): SvgPlot {
  const { title = "Tag distribution", logScale = false } = options;
  const data = Object.entries(tagCounts).map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
  const panel = renderPlotSvg({
    ...baseOptions(options, 360),
    marginLeft: 60,
    x: { label: "tag", domain: data.map((d) => d.tag), tickRotate: data.length > 12 ? -45 : 0 },
    y: { label: "count", grid: true, type: logScale ? "log" : "linear" },
    marginBottom: data.length > 12 ? 60 : 30,
    marks: [
      Plot.barY(data, { x: "tag", y: "count", fill: "steelblue" }),
      ...(logScale ? [] : [Plot.ruleY([0])]),
    ],
  });
  return new SvgPlot(composeSvg(title, [panel]), title);
}

/** Histogram of sentence lengths (tokens per sentence). */
export function sentenceLengthHistogram(
  lengths: number[],
  options: PlotOptions & { bins?: number } = {},
): SvgPlot {
  const { title = "Sentence length distribution", bins = 40 } = options;
  const panel = renderPlotSvg({
    ...baseOptions(options, 320),
    marginLeft: 60,
    x: { label: "sentence length (tokens)" },
    y: { label: "sentences", grid: true },
    marks: [
      Plot.rectY(lengths, Plot.binX({ y: "count" }, { x: (d: number) => d, thresholds: bins })),
      Plot.ruleY([0]),
    ],
  });
  return new SvgPlot(composeSvg(title, [panel]), title);
}

/** Per-epoch training history, as produced by a Keras-style fit loop. */
export interface TrainingHistory {
  /** Epoch numbers. */
  epoch: number[];
  /** Training loss per epoch. */
  loss: number[];
  /** Validation loss per epoch. */
  valLoss: number[];
  /** Training accuracy per epoch. */
  accuracy: number[];
  /** Validation accuracy per epoch. */
  valAccuracy: number[];
}

/** One line panel of train vs validation values per epoch. */
function curvePanel(
  epochs: number[],
  train: number[],
  validation: number[],
  metric: string,
  options: PlotOptions,
) {
  const data = [
    ...epochs.map((epoch, i) => ({ epoch, value: train[i], split: "train" })),
    ...epochs.map((epoch, i) => ({ epoch, value: validation[i], split: "validation" })),
  ].filter((d) => Number.isFinite(d.value));
  return renderPlotSvg({
    ...baseOptions(options, 260),
    marginLeft: 60,
    marginRight: 80,
    x: { label: "epoch", tickFormat: "d" },
    y: { label: metric, grid: true },
    color: { domain: ["train", "validation"], range: ["#1f77b4", "#ff7f0e"] },
    marks: [
      Plot.lineY(data, { x: "epoch", y: "value", stroke: "split", marker: "circle" }),
      Plot.text(
        data,
        Plot.selectLast({
          x: "epoch",
          y: "value",
          z: "split",
          text: "split",
          fill: "split",
          dx: 6,
          textAnchor: "start",
        }),
      ),
    ],
  });
}

/** Loss and accuracy curves, train vs validation, one panel each. */
export function trainingCurves(history: TrainingHistory, options: PlotOptions = {}): SvgPlot {
  const { title = "Training curves" } = options;
  const panels = [
    curvePanel(history.epoch, history.loss, history.valLoss, "loss", options),
    curvePanel(history.epoch, history.accuracy, history.valAccuracy, "accuracy", options),
  ];
  return new SvgPlot(composeSvg(title, panels), title);
}

/** Precision, recall, F1 and support of one entity type. */
export interface TypeScores {
  /** Precision in [0, 1]. */
  precision: number;
  /** Recall in [0, 1]. */
  recall: number;
  /** F1 in [0, 1]. */
  f1: number;
  /** Number of gold entities of this type. */
  support: number;
}

/** Grouped bars of precision, recall and F1 per entity type. */
export function perTypeF1Bars(
  perType: Record<string, TypeScores>,
  options: PlotOptions = {},
): SvgPlot {
  const { title = "Precision, recall and F1 per entity type" } = options;
  const types = Object.keys(perType).sort((a, b) => perType[b].f1 - perType[a].f1);
  const data = types.flatMap((type) =>
    (["precision", "recall", "f1"] as const).map((metric) => ({
      type: `${type} (n=${perType[type].support})`,
      metric,
      value: perType[type][metric],
    }))
  );
  const panel = renderPlotSvg({
    ...baseOptions(options, 340),
    marginLeft: 50,
    marginBottom: 40,
    fx: { label: "entity type", domain: types.map((t) => `${t} (n=${perType[t].support})`) },
    x: { axis: null, domain: ["precision", "recall", "f1"] },
    y: { label: "score", domain: [0, 1], grid: true },
    color: {
      domain: ["precision", "recall", "f1"],
      range: ["#9ecae1", "#4292c6", "#08519c"],
    },
    marks: [
      Plot.barY(data, { fx: "type", x: "metric", y: "value", fill: "metric" }),
      Plot.ruleY([0]),
    ],
  });
  return new SvgPlot(composeSvg(`${title} (bars: precision, recall, F1)`, [panel]), title);
}

/** A confusion matrix: `counts[i][j]` = tokens with true label i predicted as label j. */
export interface ConfusionMatrix {
  /** Labels, in row/column order. */
  labels: string[];
  /** Square matrix of counts. */
  counts: number[][];
}

/** Heatmap of a confusion matrix; colour is the row-normalised fraction, text the count. */
export function confusionHeatmap(matrix: ConfusionMatrix, options: PlotOptions = {}): SvgPlot {
  const { title = "Confusion matrix (rows: true, columns: predicted)" } = options;
  const { labels, counts } = matrix;
  if (counts.length !== labels.length || counts.some((row) => row.length !== labels.length)) {
    throw new Error("confusion matrix must be square with one row and column per label");
  }
  const data = labels.flatMap((trueLabel, i) => {
    const rowTotal = counts[i].reduce((a, b) => a + b, 0);
    return labels.map((predicted, j) => ({
      trueLabel,
      predicted,
      count: counts[i][j],
      fraction: rowTotal === 0 ? 0 : counts[i][j] / rowTotal,
    }));
  });
  const size = Math.max(240, 32 * labels.length);
  const panel = renderPlotSvg({
    ...baseOptions(options, size + 70),
    width: options.width ?? size + 110,
    marginLeft: 80,
    marginBottom: 60,
    x: { label: "predicted", domain: labels, tickRotate: -45 },
    y: { label: "true", domain: labels },
    color: { scheme: "blues", domain: [0, 1] },
    marks: [
      Plot.cell(data, { x: "predicted", y: "trueLabel", fill: "fraction", inset: 0.5 }),
      Plot.text(data, {
        x: "predicted",
        y: "trueLabel",
        text: (d: { count: number }) => (d.count === 0 ? "" : String(d.count)),
        fill: (d: { fraction: number }) => (d.fraction > 0.5 ? "white" : "black"),
        fontSize: 9,
      }),
    ],
  });
  return new SvgPlot(composeSvg(title, [panel]), title);
}

/** An entity span in a text, by character offsets. */
export interface EntitySpan {
  /** Start offset (inclusive). */
  start: number;
  /** End offset (exclusive). */
  end: number;
  /** Entity type, e.g. `per`, `geo`, `org`. */
  type: string;
  /** Optional confidence in [0, 1], shown next to the type. */
  score?: number;
}

/** displaCy-like colours for the GMB entity types; other types get a grey. */
export const ENTITY_COLORS: Readonly<Record<string, string>> = {
  per: "#aa9cfc",
  geo: "#feca74",
  org: "#7aecec",
  gpe: "#bfeeb7",
  tim: "#bfe1d9",
  art: "#ff9561",
  eve: "#ffeb80",
  nat: "#c887fb",
};

/** Options for {@link highlightEntities}. */
export interface HighlightOptions {
  /** Colour per entity type (lower-cased lookup); defaults to {@link ENTITY_COLORS}. */
  colors?: Record<string, string>;
  /** Colour of types without one (default light grey). */
  fallbackColor?: string;
}

/**
 * Renders text with its entities highlighted like displaCy: a coloured `<mark>` per entity
 * with its type label. Text is HTML-escaped; overlapping or out-of-range spans are skipped.
 */
export function highlightEntities(
  text: string,
  entities: EntitySpan[],
  options: HighlightOptions = {},
): HtmlView {
  const { colors = ENTITY_COLORS, fallbackColor = "#ddd" } = options;
  const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  const htmlParts: string[] = [];
  const textParts: string[] = [];
  let cursor = 0;
  for (const entity of sorted) {
    if (entity.start < cursor || entity.end > text.length || entity.end <= entity.start) continue;
    const before = text.slice(cursor, entity.start);
    const span = text.slice(entity.start, entity.end);
    const color = colors[entity.type.toLowerCase()] ?? fallbackColor;
    const label = entity.score === undefined
      ? entity.type
      : `${entity.type} ${entity.score.toFixed(2)}`;
    htmlParts.push(escapeHtml(before));
    htmlParts.push(
      `<mark class="entity" data-type="${escapeHtml(entity.type)}" style="background: ${
        escapeHtml(color)
      }; padding: 0.45em 0.6em; margin: 0 0.25em; line-height: 1; border-radius: 0.35em;">` +
        `${escapeHtml(span)}<span style="font-size: 0.8em; font-weight: bold; line-height: 1; ` +
        `border-radius: 0.35em; vertical-align: middle; margin-left: 0.5rem;">` +
        `${escapeHtml(label)}</span></mark>`,
    );
    textParts.push(before, `[${span}](${label})`);
    cursor = entity.end;
  }
  htmlParts.push(escapeHtml(text.slice(cursor)));
  textParts.push(text.slice(cursor));
  const html = `<div class="entities" style="line-height: 2.5; direction: ltr; ` +
    `font-family: system-ui, sans-serif; color: black; background: white; padding: 0.5em;">` +
    `${htmlParts.join("")}</div>`;
  return new HtmlView(html, textParts.join(""));
}
