/**
 * The try-it page's view, for the browser: given the model's entity types (their colours and
 * names) and a function that tags a text, it wires the page's form and shows each result: the
 * text with its entities highlighted like displaCy (a coloured mark per entity, the type as a
 * label, the score on hover), a checkbox per type that hides or shows its highlights (with a
 * count), a table of each entity's score and offsets, the JSON of the answer, and errors in an
 * alert. Any page with the markup below can use it: the server's page (`server_page.ts`, tagging
 * with `POST /v1/ner`) and the static page `deno task export-web` writes (lib/web/page.ts, tagging
 * in the browser, its answers in the same shape).
 *
 * The markup (as lib/serve/page.ts writes it and data/web/index.html holds it), by id: the form
 * `tag-form` with the text box `text` and the button `tag`; the alert `error`; the type filter
 * `filter-list` (a list of checkboxes named `type`, one per type, whose labels have the class
 * `chip` and `data-type`; the view adds those it is given or meets); in an `aria-live` region,
 * the status line `status` and the output `output`; the table `entity-table` (with a `tbody`);
 * the JSON view `json`. The page's CSS colours `[data-type]` and `.entity`; the view
 * also sets `--bg` and `--ink` on the marks and chips of the types whose colour it is given.
 *
 * Each entity is a `<mark class="entity">` whose text is exactly the entity's, with `data-type`,
 * `data-start` and `data-end` (offsets in UTF-16 code units: JavaScript string indices into the
 * text). User text only ever goes into the page as text nodes, never as HTML.
 *
 * @module
 */
import { readableTextColor } from "../../plot/_palette.ts";
import { type DomDocument, type DomElement, type DomInput, isCheckbox } from "./_dom.ts";

/** What the view knows of the model. */
export interface ViewModel {
  /** The entity types, in the order their filters are listed. */
  types: readonly string[];
  /** A colour (`#RRGGBB`) per type; a type without one is drawn grey (or as the page's CSS says). */
  colors?: Readonly<Record<string, string>>;
  /** What each type stands for (e.g. `per` → `person`), shown by its filter and on hover. */
  names?: Readonly<Record<string, string>>;
}

/** One entity of a tagging result. */
export interface ViewEntity {
  /** Its type, e.g. `per`. */
  type: string;
  /** Where it starts in the text, in UTF-16 code units. */
  start: number;
  /** Where it ends (exclusive), in UTF-16 code units. */
  end: number;
  /** Its score (a probability), if known. */
  score?: number | null;
}

/** What tagging a text gives the view. */
export interface TagResult {
  /** The entities found (others than well-formed, non-overlapping spans are not shown). */
  entities: readonly ViewEntity[];
  /** How many tokens the text had, for the status line. */
  tokens: number;
  /** What the JSON view shows (a string as it is, anything else as indented JSON). */
  json?: unknown;
  /**
   * A sentence the status line adds after its summary, e.g. how long tagging took (the exported
   * page's timings); none by default.
   */
  note?: string;
}

/** Tags a text: resolves with the result, or rejects (a {@linkcode TagError} says more). */
export type TagFunction = (text: string) => Promise<TagResult>;

/** A failure to show: its message in the alert, `status` in the status line, `json` in the JSON view. */
export class TagError extends Error {
  /**
   * Makes the error.
   *
   * @param message what went wrong, for the alert
   * @param status the status line's text (default empty)
   * @param json what the JSON view shows (default: it keeps what it showed)
   */
  constructor(message: string, readonly status = "", readonly json?: unknown) {
    super(message);
    this.name = "TagError";
  }
}

/** An entity as shown: with its text. */
export interface ShownEntity extends ViewEntity {
  /** The entity's text (`text.slice(start, end)`). */
  text: string;
}

/** The running view. */
export interface EntityView {
  /** Lists a type in the filter, if it is not there yet. */
  addType(type: string): void;
  /** Shows a text's tagging result. */
  show(text: string, result: TagResult): void;
  /** Tags the text box's text and shows the result (what the form's submission does). */
  tag(): Promise<void>;
}

/** The page's elements the view works in. */
interface ViewElements {
  form: DomElement;
  text: DomInput;
  button: DomElement;
  status: DomElement;
  error: DomElement;
  output: DomElement;
  filters: DomElement;
  table: DomElement;
  tableBody: DomElement;
  json: DomElement;
}

/** Finds the view's elements, or throws naming the one missing. */
function findElements(document: DomDocument): ViewElements {
  const byId = (id: string): DomElement => {
    const element = document.getElementById(id);
    if (element === null) throw new Error(`the page has no element #${id}`);
    return element;
  };
  const table = byId("entity-table");
  const tableBody = table.querySelector("tbody");
  if (tableBody === null) throw new Error("the page's #entity-table has no tbody");
  return {
    form: byId("tag-form"),
    text: byId("text") as DomInput,
    button: byId("tag"),
    status: byId("status"),
    error: byId("error"),
    output: byId("output"),
    filters: byId("filter-list"),
    table,
    tableBody,
    json: byId("json"),
  };
}

/**
 * A score with three decimals, or `n/a`.
 *
 * @param score the score, if any
 */
export function formatScore(score: unknown): string {
  return typeof score === "number" && Number.isFinite(score) ? score.toFixed(3) : "n/a";
}

/** Sets a type's colour (`--bg`) and the text colour readable on it (`--ink`) on an element. */
function paint(element: DomElement, type: string, model: ViewModel): void {
  const color = model.colors?.[type];
  if (color === undefined || !/^#[0-9a-fA-F]{6}$/.test(color)) return;
  element.style.setProperty("--bg", color);
  element.style.setProperty("--ink", readableTextColor(color));
}

/** The well-formed entities, by start (the longest first at a start). */
function sortedSpans(entities: readonly ViewEntity[]): ViewEntity[] {
  return entities
    .filter((e) =>
      e !== null && typeof e === "object" && Number.isInteger(e.start) &&
      Number.isInteger(e.end) && typeof e.type === "string"
    )
    .sort((a, b) => a.start - b.start || b.end - a.end);
}

/**
 * The text as one block (`<div class="doc">`): text nodes, and a mark for each entity (see the
 * module documentation). An entity that overlaps one before it, or lies outside the text, is
 * left out.
 *
 * @param document the page's document
 * @param text the tagged text
 * @param entities its entities (offsets in UTF-16 code units)
 * @param model the types' colours and names
 * @returns the block and the entities shown in it, in order
 */
export function renderMarks(
  document: DomDocument,
  text: string,
  entities: readonly ViewEntity[],
  model: ViewModel,
): { block: DomElement; shown: ShownEntity[] } {
  const block = document.createElement("div");
  block.className = "doc";
  const shown: ShownEntity[] = [];
  let cursor = 0;
  for (const entity of sortedSpans(entities)) {
    const { start, end, type } = entity;
    if (start < cursor || end > text.length || end <= start) continue;
    block.append(text.slice(cursor, start));
    const mark = document.createElement("mark");
    mark.className = "entity";
    mark.dataset.type = type;
    mark.dataset.start = String(start);
    mark.dataset.end = String(end);
    const name = model.names?.[type];
    mark.title = `${type.toUpperCase()}${name ? ` (${name})` : ""} · score ${
      formatScore(entity.score)
    }`;
    mark.textContent = text.slice(start, end);
    paint(mark, type, model);
    block.append(mark);
    shown.push({ type, start, end, score: entity.score, text: text.slice(start, end) });
    cursor = end;
  }
  block.append(text.slice(cursor));
  return { block, shown };
}

/** A filter chip: a labelled checkbox for a type, with its swatch, name and count. */
function createChip(document: DomDocument, type: string, model: ViewModel, checked: boolean) {
  const label = document.createElement("label");
  label.className = "chip";
  label.dataset.type = type;
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = "type";
  input.value = type;
  input.checked = checked;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.setAttribute("aria-hidden", "true");
  swatch.textContent = type;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = model.names?.[type] || type;
  const count = document.createElement("span");
  count.className = "count";
  label.append(input, " ", swatch, name, count);
  paint(label, type, model);
  return label;
}

/** A row of the entity table: text, type, score, offsets. */
function tableRow(document: DomDocument, entity: ShownEntity): DomElement {
  const row = document.createElement("tr");
  const cells = [
    entity.text,
    entity.type.toUpperCase(),
    formatScore(entity.score),
    `${entity.start}–${entity.end}`,
  ];
  cells.forEach((value, column) => {
    const cell = document.createElement("td");
    cell.textContent = value;
    if (column >= 2) cell.className = "num";
    if (column === 1) cell.dataset.type = entity.type;
    row.append(cell);
  });
  return row;
}

/** The status line for a result: how many entities of which types in how many tokens. */
function summary(counts: ReadonlyMap<string, number>, tokens: number): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return `No entities in ${tokens} tokens.`;
  const parts = [...counts].map(([type, n]) => `${n} ${type.toUpperCase()}`);
  return `${total} ${total === 1 ? "entity" : "entities"} in ${tokens} tokens: ${
    parts.join(", ")
  }.`;
}

/** The JSON view's text for a value: a string as it is, anything else indented. */
function jsonText(json: unknown): string {
  return typeof json === "string" ? json : JSON.stringify(json, null, 2);
}

/**
 * Mounts the view on a page: lists the model's types in the filter, and tags the text box's text
 * with `tag` when the form is submitted (or Ctrl+Enter / ⌘+Enter is pressed in the text box).
 *
 * @param document the page's document (with the markup of the module documentation)
 * @param model the entity types, their colours and names
 * @param tag tags a text
 * @returns the view
 * @throws {Error} naming an element the page lacks
 */
export function mountView(document: DomDocument, model: ViewModel, tag: TagFunction): EntityView {
  const elements = findElements(document);
  const { output, filters, status, error } = elements;
  const hidden = new Set<string>();
  const addType = (type: string) => {
    const inputs = filters.querySelectorAll('input[name="type"]') as Iterable<DomInput>;
    if ([...inputs].some((input) => input.value === type)) return;
    const item = document.createElement("li");
    item.append(createChip(document, type, model, !hidden.has(type)));
    filters.append(item);
  };
  const applyFilter = () => {
    for (const mark of output.querySelectorAll("mark.entity")) {
      mark.classList.toggle("off", hidden.has(mark.dataset.type ?? ""));
    }
  };
  filters.addEventListener("change", (event) => {
    if (!isCheckbox(event.target)) return;
    if (event.target.checked) hidden.delete(event.target.value);
    else hidden.add(event.target.value);
    applyFilter();
  });
  for (const chip of filters.querySelectorAll("label.chip")) {
    paint(chip, chip.dataset.type ?? "", model);
  }
  model.types.forEach(addType);
  const show = (text: string, result: TagResult) => {
    showResult(document, elements, model, text, result, addType);
    applyFilter();
  };
  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
  };
  let busy = false;
  const run = async () => {
    if (busy) return;
    const text = elements.text.value;
    if (text.trim() === "") {
      showError("Type some text to tag.");
      elements.text.focus();
      return;
    }
    busy = true;
    elements.button.setAttribute("aria-disabled", "true");
    elements.form.setAttribute("aria-busy", "true");
    error.textContent = "";
    error.hidden = true;
    status.textContent = "Tagging…";
    try {
      show(text, await tag(text));
    } catch (failure) {
      const known = failure instanceof TagError ? failure : undefined;
      if (known?.json !== undefined) elements.json.textContent = jsonText(known.json);
      status.textContent = known?.status ?? "";
      showError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      busy = false;
      elements.button.removeAttribute("aria-disabled");
      elements.form.removeAttribute("aria-busy");
    }
  };
  elements.form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  elements.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      run();
    }
  });
  return { addType, show, tag: run };
}

/** Shows a result: the marks, the table, each type's count, the status line, the JSON. */
function showResult(
  document: DomDocument,
  elements: ViewElements,
  model: ViewModel,
  text: string,
  result: TagResult,
  addType: (type: string) => void,
): void {
  const { output, tableBody, table, filters } = elements;
  output.replaceChildren();
  tableBody.replaceChildren();
  const { block, shown } = renderMarks(document, text, result.entities, model);
  output.append(block);
  const counts = new Map<string, number>();
  for (const entity of shown) {
    counts.set(entity.type, (counts.get(entity.type) ?? 0) + 1);
    addType(entity.type);
    tableBody.append(tableRow(document, entity));
  }
  for (const input of filters.querySelectorAll("input")) {
    const count = input.closest("label")?.querySelector(".count");
    const n = counts.get((input as DomInput).value) ?? 0;
    if (count) count.textContent = n > 0 ? String(n) : "";
  }
  table.hidden = shown.length === 0;
  if (shown.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No entities found.";
    output.append(empty);
  }
  const note = result.note?.trim();
  elements.status.textContent = summary(counts, result.tokens) + (note ? ` ${note}` : "");
  if (result.json !== undefined) elements.json.textContent = jsonText(result.json);
}

/**
 * The model as the page describes it in its `<script type="application/json" id="page-model">`
 * (`{"types": [...], "colors": {...}, "names": {...}}`); no types when it has none.
 *
 * @param document the page's document
 */
export function readViewModel(document: DomDocument): ViewModel {
  let data: unknown = null;
  try {
    data = JSON.parse(document.getElementById("page-model")?.textContent ?? "null");
  } catch {
    // no model described: no types
  }
  const record = (value: unknown): Record<string, string> => {
    if (value === null || typeof value !== "object") return {};
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, string] =>
        typeof entry[1] === "string"
      ),
    );
  };
  const { types, colors, names } = (data ?? {}) as Record<string, unknown>;
  return {
    types: Array.isArray(types) ? types.filter((t): t is string => typeof t === "string") : [],
    colors: record(colors),
    names: record(names),
  };
}
