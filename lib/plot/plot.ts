/**
 * Plots for the notebooks, drawn with Observable Plot on a linkedom `document` and rendered
 * to standalone SVG strings, plus displaCy-style entity highlighting as HTML. Every result
 * displays inline in the Deno Jupyter kernel (via `Symbol.for("Jupyter.display")`, giving
 * `text/html` with the inline SVG, `image/svg+xml`, and `text/plain`) and exposes its
 * markup as `.svg` / `.html`. Entity types use one colour-blind-safe palette everywhere
 * (`ENTITY_COLORS`, Okabe–Ito).
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { entityColor, entityTypeOfTag, OTHER_COLOR, OUTLINE_COLOR } from "./_palette.ts";
import {
  baseOptions,
  composeSvg,
  legendPanel,
  type PlotOptions,
  renderPlotSvg,
  SvgPlot,
} from "./_render.ts";

export {
  escapeHtml,
  HtmlView,
  JUPYTER_DISPLAY,
  type MimeBundle,
  type PlotOptions,
  SvgPlot,
} from "./_render.ts";
export {
  contrastRatio,
  type CvdKind,
  deltaE,
  ENTITY_COLORS,
  entityColor,
  entityTypeOfTag,
  type Lab,
  OTHER_COLOR,
  OUTLINE_COLOR,
  readableTextColor,
  type Rgb,
  toLab,
} from "./_palette.ts";
export { type EntitySpan, highlightEntities, type HighlightOptions } from "./highlight.ts";

/** The powers of ten from `min` up to the first at or above `max`. */
function powersOfTen(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    ticks.push(10 ** e);
  }
  return ticks;
}

/** Options of {@link tagDistributionPlot}. */
export interface TagDistributionOptions extends PlotOptions {
  /** Count axis scale (default `"log"`, so rare tags stay visible next to `O`). */
  scale?: "log" | "linear";
  /** Older spelling of `scale`: `true` = `"log"`, `false` = `"linear"`; `scale` wins. */
  logScale?: boolean;
}

/**
 * Bar chart of how often each tag occurs, most frequent first, bars coloured by entity type
 * (the shared palette; `O` grey) with a legend. On the (default) log scale bars rise from 1
 * (from 0.5 if some tag occurs once), since a log axis has no 0; zero counts draw no bar.
 */
export function tagDistributionPlot(
  tagCounts: Record<string, number>,
  options: TagDistributionOptions = {},
): SvgPlot {
  const { title = "Tag distribution" } = options;
  const log = (options.scale ?? (options.logScale === false ? "linear" : "log")) === "log";
  const data = Object.entries(tagCounts).map(([tag, count]) => ({
    tag,
    count,
    color: entityColor(entityTypeOfTag(tag)),
  })).sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
  const drawn = log ? data.filter((d) => d.count > 0) : data;
  const base = log ? (drawn.some((d) => d.count < 2) ? 0.5 : 1) : 0;
  const max = Math.max(base * 10, ...drawn.map((d) => d.count));
  const width = options.width ?? 640;
  const rotate = data.length > 12;
  const panel = renderPlotSvg({
    ...baseOptions(options, 360),
    marginLeft: 60,
    marginBottom: rotate ? 60 : 30,
    x: { label: "tag", domain: data.map((d) => d.tag), tickRotate: rotate ? -45 : 0 },
    y: log
      ? {
        label: "count (log scale)",
        grid: true,
        type: "log",
        domain: [base, 10 ** Math.ceil(Math.log10(max))],
        ticks: powersOfTen(base, max),
        tickFormat: "~s",
      }
      : { label: "count", grid: true, type: "linear" },
    marks: [
      Plot.barY(drawn, {
        x: "tag",
        y1: base,
        y2: "count",
        fill: "color",
        stroke: OUTLINE_COLOR,
        strokeWidth: 0.75,
        title: (d: { tag: string; count: number }) =>
          `${d.tag}: ${d.count.toLocaleString("en-US")}`,
      }),
      Plot.ruleY([base]),
    ],
  });
  const types = [...new Set(data.map((d) => entityTypeOfTag(d.tag)))];
  const legend = legendPanel(
    types.map((type) => ({
      label: type ?? "O / other",
      color: type ? entityColor(type) : OTHER_COLOR,
    })),
    width,
    60,
  );
  return new SvgPlot(composeSvg(title, [legend, panel]), title);
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

/**
 * Integer epoch ticks, each once: every epoch when there are at most 12, otherwise a whole
 * step (1, 2, 5 × 10^k) giving at most ~10 ticks.
 */
export function epochTicks(epochs: number[]): number[] {
  const whole = [...new Set(epochs.filter(Number.isFinite).map(Math.round))].sort((a, b) => a - b);
  if (whole.length <= 12) return whole;
  const [first, last] = [whole[0], whole[whole.length - 1]];
  const raw = (last - first) / 10;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(first / step) * step; t <= last; t += step) ticks.push(t);
  return ticks;
}

/** The x domain of the epoch axis, padded when there is a single epoch. */
function epochDomain(epochs: number[]): [number, number] {
  const finite = epochs.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  const [min, max] = [Math.min(...finite), Math.max(...finite)];
  return min === max ? [min - 1, max + 1] : [min, max];
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
    x: { label: "epoch", domain: epochDomain(epochs), ticks: epochTicks(epochs), tickFormat: "d" },
    y: { label: metric, grid: true },
    color: { domain: ["train", "validation"], range: ["#0072B2", "#D55E00"] },
    marks: [
      Plot.lineY(data, { x: "epoch", y: "value", stroke: "split", z: "split", marker: "circle" }),
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

/** Fills of the precision, recall and F1 bars: light to dark, so order survives greyscale. */
export const METRIC_COLORS: Readonly<Record<"precision" | "recall" | "f1", string>> = Object
  .freeze({ precision: "#A6CEE3", recall: "#4A90C2", f1: "#08306B" });

/**
 * Grouped bars of precision, recall and F1 per entity type, with an SVG legend for the three
 * bar colours and a swatch of each type's palette colour above its group.
 */
export function perTypeF1Bars(
  perType: Record<string, TypeScores>,
  options: PlotOptions = {},
): SvgPlot {
  const { title = "Precision, recall and F1 per entity type" } = options;
  const metrics = ["precision", "recall", "f1"] as const;
  const types = Object.keys(perType).sort((a, b) => perType[b].f1 - perType[a].f1);
  const facet = (type: string) => `${type} (n=${perType[type].support})`;
  const data = types.flatMap((type) =>
    metrics.map((metric) => ({ type: facet(type), metric, value: perType[type][metric] }))
  );
  const swatches = types.map((type) => ({ type: facet(type), color: entityColor(type) }));
  const panel = renderPlotSvg({
    ...baseOptions(options, 340),
    marginLeft: 50,
    marginBottom: 40,
    marginTop: 30,
    fx: { label: "entity type", domain: types.map(facet), axis: "bottom" },
    x: { axis: null, domain: [...metrics] },
    y: { label: "score", domain: [0, 1], grid: true },
    color: { domain: [...metrics], range: metrics.map((m) => METRIC_COLORS[m]) },
    marks: [
      Plot.barY(data, {
        fx: "type",
        x: "metric",
        y: "value",
        fill: "metric",
        title: (d: { type: string; metric: string; value: number }) =>
          `${d.type} ${d.metric}: ${d.value.toFixed(3)}`,
      }),
      Plot.dot(swatches, {
        fx: "type",
        frameAnchor: "top",
        dy: -14,
        symbol: "square",
        r: 6,
        fill: "color",
        stroke: OUTLINE_COLOR,
      }),
      Plot.ruleY([0]),
    ],
  });
  const legend = legendPanel(
    [
      { label: "precision", color: METRIC_COLORS.precision },
      { label: "recall", color: METRIC_COLORS.recall },
      { label: "F1", color: METRIC_COLORS.f1 },
    ],
    options.width ?? 640,
    50,
  );
  return new SvgPlot(composeSvg(title, [legend, panel]), title);
}

/** A confusion matrix: `counts[i][j]` = tokens with true label i predicted as label j. */
export interface ConfusionMatrix {
  /** Labels, in row/column order. */
  labels: string[];
  /** Square matrix of counts. */
  counts: number[][];
}

/**
 * A count in at most 4 characters for a heatmap cell: exact below 1000, else 1 significant
 * decimal or none with a k/M/G suffix (`1234` → `1.2k`, `176254` → `176k`, `2.5e6` → `2.5M`).
 */
export function compactCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? "-" : "";
  let n = Math.abs(Math.round(value));
  if (n < 1000) return `${sign}${n}`;
  for (const suffix of ["k", "M", "G", "T"]) {
    n /= 1000;
    const text = n < 9.95 ? n.toFixed(1).replace(/\.0$/, "") : String(Math.round(n));
    if (Number(text) < 1000) return `${sign}${text}${suffix}`;
  }
  return `${sign}${value.toExponential(0)}`;
}

/**
 * Heatmap of a confusion matrix; colour is the row-normalised fraction, text the count,
 * abbreviated to fit the cell ({@link compactCount}); each cell's `<title>` tooltip holds the
 * exact count and row percentage.
 */
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
  type Datum = (typeof data)[number];
  const size = Math.max(240, 34 * labels.length);
  const panel = renderPlotSvg({
    ...baseOptions(options, size + 70),
    width: options.width ?? size + 110,
    marginLeft: 80,
    marginBottom: 60,
    x: { label: "predicted", domain: labels, tickRotate: -45 },
    y: { label: "true", domain: labels },
    color: { scheme: "blues", domain: [0, 1] },
    marks: [
      Plot.cell(data, {
        x: "predicted",
        y: "trueLabel",
        fill: "fraction",
        inset: 0.5,
        title: (d: Datum) =>
          `true ${d.trueLabel} → predicted ${d.predicted}: ${d.count.toLocaleString("en-US")} ` +
          `(${(100 * d.fraction).toFixed(1)}% of row)`,
      }),
      Plot.text(data, {
        x: "predicted",
        y: "trueLabel",
        text: (d: Datum) => (d.count === 0 ? "" : compactCount(d.count)),
        fill: (d: Datum) => (d.fraction > 0.5 ? "white" : "black"),
        fontSize: 9,
        pointerEvents: "none",
      }),
    ],
  });
  return new SvgPlot(composeSvg(title, [panel]), title);
}
