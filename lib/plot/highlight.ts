/**
 * displaCy-style entity highlighting as HTML: one block per text (or per line of a text),
 * a coloured `<mark>` per entity with its type label, in the shared entity palette with
 * black or white label text chosen for contrast.
 *
 * @module
 */

import { ENTITY_COLORS, OTHER_COLOR, OUTLINE_COLOR, readableTextColor } from "./_palette.ts";
import { escapeHtml, HtmlView } from "./_render.ts";

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

/** Options for {@link highlightEntities}. */
export interface HighlightOptions {
  /** Colour per entity type (lower-cased lookup); defaults to the shared `ENTITY_COLORS`. */
  colors?: Record<string, string>;
  /** Colour of types without one (default the light grey `OTHER_COLOR`). */
  fallbackColor?: string;
}

/** One rendered block: its HTML and plain text. */
interface Block {
  html: string;
  text: string;
}

/** Renders one line of text with its (line-relative) entities. */
function renderBlock(
  text: string,
  entities: EntitySpan[],
  colors: Readonly<Record<string, string>>,
  fallbackColor: string,
  first: boolean,
): Block {
  const separator = first ? "" : " border-top: 1px solid #e0e0e0;";
  const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  const htmlParts: string[] = [];
  const textParts: string[] = [];
  let cursor = 0;
  for (const entity of sorted) {
    if (entity.start < cursor || entity.end > text.length || entity.end <= entity.start) continue;
    const before = text.slice(cursor, entity.start);
    const span = text.slice(entity.start, entity.end);
    const color = colors[entity.type.toLowerCase()] ?? fallbackColor;
    const ink = /^#[0-9a-f]{3}(?:[0-9a-f]{3})?$/i.test(color) ? readableTextColor(color) : "black";
    const label = entity.score === undefined
      ? entity.type
      : `${entity.type} ${entity.score.toFixed(2)}`;
    htmlParts.push(escapeHtml(before));
    htmlParts.push(
      `<mark class="entity" data-type="${escapeHtml(entity.type)}" style="background: ${
        escapeHtml(color)
      }; color: ${ink}; box-shadow: 0 0 0 1px ${OUTLINE_COLOR}; padding: 0.3em 0.5em; ` +
        `margin: 0 0.2em; line-height: 1; border-radius: 0.35em;">` +
        `${escapeHtml(span)}<span style="font-size: 0.75em; font-weight: bold; line-height: 1; ` +
        `vertical-align: middle; margin-left: 0.5em; text-transform: uppercase;">` +
        `${escapeHtml(label)}</span></mark>`,
    );
    textParts.push(before, `[${span}](${label})`);
    cursor = entity.end;
  }
  htmlParts.push(escapeHtml(text.slice(cursor)));
  textParts.push(text.slice(cursor));
  return {
    html: `<div class="entities-block" style="padding: 0.15em 0;${separator}">` +
      `${htmlParts.join("")}</div>`,
    text: textParts.join(""),
  };
}

/** Splits a text at newlines into lines with their start offsets. */
function splitLines(text: string): Array<{ line: string; offset: number }> {
  const lines: Array<{ line: string; offset: number }> = [];
  let offset = 0;
  for (const line of text.split("\n")) {
    lines.push({ line, offset });
    offset += line.length + 1;
  }
  return lines;
}

/**
 * Renders texts with their entities highlighted like displaCy: a coloured `<mark>` per entity
 * with its type label, label text black or white for contrast, inside a white box so it reads
 * on dark notebook themes too. Each text — and each line of a text containing `\n` — becomes
 * its own block (`<div class="entities-block">`). Text is HTML-escaped; overlapping,
 * out-of-range or line-crossing spans are skipped.
 *
 * @param text one text, or several (then `entities` holds one span list per text)
 * @param entities character-offset spans into `text` (per text when `text` is an array)
 */
export function highlightEntities(
  text: string | string[],
  entities: EntitySpan[] | EntitySpan[][],
  options: HighlightOptions = {},
): HtmlView {
  const { colors = ENTITY_COLORS, fallbackColor = OTHER_COLOR } = options;
  const texts = typeof text === "string" ? [text] : text;
  const spanLists = typeof text === "string"
    ? [entities as EntitySpan[]]
    : texts.map((_, i) => (entities as EntitySpan[][])[i] ?? []);
  const lines = texts.flatMap((one, i) =>
    splitLines(one).map(({ line, offset }) => ({
      line,
      spans: spanLists[i]
        .filter((e) => e.start >= offset && e.end <= offset + line.length)
        .map((e) => ({ ...e, start: e.start - offset, end: e.end - offset })),
    }))
  );
  const blocks = lines.map(({ line, spans }, i) =>
    renderBlock(line, spans, colors, fallbackColor, i === 0)
  );
  const html = `<div class="entities" style="line-height: 2.5; direction: ltr; ` +
    `font-family: system-ui, sans-serif; color: black; background: white; padding: 0.5em; ` +
    `border-radius: 0.35em;">${blocks.map((b) => b.html).join("")}</div>`;
  return new HtmlView(html, blocks.map((b) => b.text).join("\n"));
}
