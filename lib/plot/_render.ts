/**
 * Rendering plumbing shared by the plots: Jupyter display wrappers, Observable Plot on a
 * linkedom `document` to SVG strings, an SVG swatch legend, and stacking panels under a title.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { OUTLINE_COLOR } from "./_palette.ts";

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

/** A rendered piece of SVG with its size, stacked by {@link composeSvg}. */
export interface Panel {
  /** Markup of one `<svg>` element. */
  svg: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** One entry of a swatch legend. */
export interface LegendItem {
  /** Text next to the swatch. */
  label: string;
  /** Fill of the swatch (any CSS colour). */
  color: string;
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

/**
 * Renders Plot options to a bare `<svg>` panel (no title). Plot's own legends are HTML, so
 * they are not used; draw legends with {@link legendPanel} instead.
 */
export function renderPlotSvg(options: Plot.PlotOptions): Panel {
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
 * A one-row swatch legend as an SVG panel (`<g aria-label="legend">`, one outlined `<rect>`
 * and `<text>` per item), starting at `marginLeft` and wrapping to more rows if needed.
 */
export function legendPanel(items: LegendItem[], width: number, marginLeft = 40): Panel {
  const rowHeight = 20;
  const parts: string[] = [];
  let x = marginLeft;
  let y = 4;
  for (const { label, color } of items) {
    const itemWidth = 14 + 6 + 7 * label.length + 16; // swatch, gap, ~7 px per character, gap
    if (x + itemWidth > width && x > marginLeft) [x, y] = [marginLeft, y + rowHeight];
    parts.push(
      `<g aria-label="legend item"><rect x="${x}" y="${y}" width="14" height="14" ` +
        `fill="${escapeHtml(color)}" stroke="${OUTLINE_COLOR}" stroke-width="0.75"/>` +
        `<text x="${x + 20}" y="${y + 11.5}" font-size="12" fill="black">` +
        `${escapeHtml(label)}</text></g>`,
    );
    x += itemWidth;
  }
  const height = y + rowHeight + 2;
  return {
    svg: `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<g aria-label="legend">${parts.join("")}</g></svg>`,
    width,
    height,
  };
}

/**
 * Stacks rendered panels vertically under a title into one standalone SVG (nested `<svg>`
 * elements), with a white background so it reads on dark themes too.
 */
export function composeSvg(title: string, panels: Panel[]): string {
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
export function baseOptions(options: PlotOptions, defaultHeight: number): Plot.PlotOptions {
  return {
    width: options.width ?? 640,
    height: options.height ?? defaultHeight,
    style: { background: "white", color: "black" },
  };
}
