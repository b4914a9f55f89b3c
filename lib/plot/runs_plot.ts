/**
 * Runs side by side: validation entity F1 and validation loss by epoch, one line per training
 * run, so settings can be compared as they train (notebook 5, `deno task runs`).
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import {
  baseOptions,
  composeSvg,
  legendPanel,
  type Panel,
  type PlotOptions,
  renderPlotSvg,
  SvgPlot,
} from "./_render.ts";
import type { RunCurves } from "../train/runs.ts";
import { epochTicks } from "./plot.ts";

/** A run to draw: its name (e.g. its folder) and its curves (null: none recorded). */
export interface NamedRunCurves {
  /** The run's name. */
  name: string;
  /** Per epoch, validation F1 and loss (null where not measured), as `listRuns` gives them. */
  history: RunCurves | null;
}

/** Eight distinguishable line colours (Okabe–Ito order), reused cyclically past eight runs. */
const RUN_COLORS = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
];

/** One panel: `metric` by epoch, one line per run. */
function runPanel(
  runs: readonly NamedRunCurves[],
  metric: "valF1" | "valLoss",
  label: string,
  options: PlotOptions,
): Panel {
  const data = runs.flatMap(({ name, history }) =>
    (history?.epoch ?? []).map((epoch, i) => ({ run: name, epoch, value: history![metric][i] }))
  ).filter((d) => typeof d.value === "number" && Number.isFinite(d.value));
  const epochs = data.map((d) => d.epoch);
  const [min, max] = epochs.length ? [Math.min(...epochs), Math.max(...epochs)] : [0, 1];
  return renderPlotSvg({
    ...baseOptions(options, 240),
    marginLeft: 60,
    x: {
      label: "epoch",
      domain: min === max ? [min - 1, max + 1] : [min, max],
      ticks: epochTicks(epochs),
      tickFormat: "d",
    },
    y: { label, grid: true },
    color: { domain: runs.map((run) => run.name), range: RUN_COLORS },
    marks: [
      Plot.lineY(data, { x: "epoch", y: "value", stroke: "run", z: "run", marker: "circle" }),
    ],
  });
}

/**
 * Validation F1 and validation loss by epoch, one line per run, with a legend of the runs.
 *
 * @example
 * ```ts
 * import { listRuns } from "../train/runs.ts";
 * import { runsPlot } from "./runs_plot.ts";
 * const runs = await listRuns();
 * runsPlot(runs.map((run) => ({ name: run.dir, history: run.history })));
 * ```
 *
 * @param runs each run's name and curves (runs without validation draw nothing but keep their
 *   legend entry)
 * @param options title and size
 */
export function runsPlot(runs: readonly NamedRunCurves[], options: PlotOptions = {}): SvgPlot {
  const { title = "Runs by epoch: validation F1 and loss" } = options;
  const width = options.width ?? 640;
  const legend = legendPanel(
    runs.map((run, i) => ({ label: run.name, color: RUN_COLORS[i % RUN_COLORS.length] })),
    width,
    60,
  );
  const panels = [
    legend,
    runPanel(runs, "valF1", "validation entity F1", options),
    runPanel(runs, "valLoss", "validation loss", options),
  ];
  return new SvgPlot(composeSvg(title, panels), title);
}
