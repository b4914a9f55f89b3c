/**
 * How the page shows a tagging result: the text with a coloured mark per entity (each mark
 * carries `data-type`, `data-start`, `data-end`: UTF-16 offsets into the text), a checkbox per
 * entity type that hides or shows its marks, a table of the entities with scores and offsets,
 * and the raw JSON. The same display as the serving page (lib/serve/page.ts) in the same
 * palette (lib/plot/_palette.ts); one function, {@linkcode renderResult}, so the serving page's
 * view module can take its place once it is a module of its own.
 *
 * User text only ever reaches the page as text nodes, never as HTML.
 *
 * @module
 */
import { ENTITY_COLORS, OTHER_COLOR, readableTextColor } from "../plot/_palette.ts";
import type { TextPrediction } from "../predict/predict_text.ts";
import { byId, page } from "./_dom.ts";

/** The entity types hidden by their checkbox. */
const hidden = new Set<string>();

/** A mark's colours for a type (grey for a type outside the palette). */
function colorsOf(type: string): { bg: string; ink: string } {
  const bg = ENTITY_COLORS[type.toLowerCase()] ?? OTHER_COLOR;
  return { bg, ink: readableTextColor(bg) };
}

/** Hides or shows every mark by its type's checkbox. */
function applyFilter(): void {
  for (const mark of byId("output").querySelectorAll("mark.entity")) {
    mark.classList.toggle("off", hidden.has(mark.dataset.type));
  }
}

/** The text with its entities marked. */
function markedText(text: string, prediction: TextPrediction) {
  const doc = page();
  const block = doc.createElement("div");
  block.className = "doc";
  let cursor = 0;
  for (const entity of prediction.entities) {
    block.append(text.slice(cursor, entity.start));
    const mark = doc.createElement("mark");
    const { bg, ink } = colorsOf(entity.type);
    mark.className = "entity";
    mark.dataset.type = entity.type;
    mark.dataset.start = String(entity.start);
    mark.dataset.end = String(entity.end);
    mark.setAttribute("style", `--bg: ${bg}; --ink: ${ink}`);
    mark.title = `${entity.type.toUpperCase()} · score ${entity.score.toFixed(3)}`;
    mark.textContent = text.slice(entity.start, entity.end);
    block.append(mark);
    cursor = entity.end;
  }
  block.append(text.slice(cursor));
  return block;
}

/** The type filter: one checkbox per type found, with its count. */
function filterChips(prediction: TextPrediction) {
  const doc = page();
  const counts = new Map<string, number>();
  for (const entity of prediction.entities) {
    counts.set(entity.type, (counts.get(entity.type) ?? 0) + 1);
  }
  return [...counts].map(([type, count]) => {
    const item = doc.createElement("li");
    const label = doc.createElement("label");
    label.className = "chip";
    label.dataset.type = type;
    const input = doc.createElement("input");
    input.type = "checkbox";
    input.value = type;
    input.checked = !hidden.has(type);
    input.addEventListener("change", () => {
      if (input.checked) hidden.delete(type);
      else hidden.add(type);
      applyFilter();
    });
    const swatch = doc.createElement("span");
    swatch.className = "swatch";
    const { bg, ink } = colorsOf(type);
    swatch.setAttribute("style", `--bg: ${bg}; --ink: ${ink}`);
    swatch.textContent = type;
    label.append(input, swatch, ` ${count}`);
    item.append(label);
    return item;
  });
}

/** The entity table's rows. */
function tableRows(prediction: TextPrediction) {
  const doc = page();
  return prediction.entities.map((entity) => {
    const row = doc.createElement("tr");
    const cells = [
      entity.text,
      entity.type.toUpperCase(),
      entity.score.toFixed(3),
      `${entity.start}–${entity.end}`,
    ];
    cells.forEach((value, column) => {
      const cell = doc.createElement("td");
      cell.textContent = value;
      if (column >= 2) cell.className = "num";
      row.append(cell);
    });
    return row;
  });
}

/**
 * Shows one text's prediction in the page's `#output`, `#filter-list`, `#entity-table` and
 * `#json`, and a one-line summary in `#summary`.
 *
 * @param text the text tagged
 * @param prediction its tokens and entities (UTF-16 offsets)
 */
export function renderResult(text: string, prediction: TextPrediction): void {
  const output = byId("output");
  output.replaceChildren(markedText(text, prediction));
  if (prediction.entities.length === 0) {
    const empty = page().createElement("p");
    empty.className = "empty";
    empty.textContent = "No entities found.";
    output.append(empty);
  }
  byId("filter-list").replaceChildren(...filterChips(prediction));
  byId("entity-rows").replaceChildren(...tableRows(prediction));
  byId("entity-table").hidden = prediction.entities.length === 0;
  byId("json").textContent = JSON.stringify(prediction, null, 2);
  const n = prediction.entities.length;
  byId("summary").textContent = `${n} ${n === 1 ? "entity" : "entities"} in ` +
    `${prediction.tokens.length} tokens.`;
  applyFilter();
}
