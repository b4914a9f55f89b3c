/**
 * The entity types as the try-it page shows them: what each common type stands for and a colour
 * for each, shared by the server (which writes them into the page's HTML and CSS) and the page's
 * script (bundled for the browser). No Deno API and no DOM here.
 *
 * @module
 */
import { ENTITY_COLORS, OTHER_COLOR } from "../../plot/_palette.ts";

/** What each common entity type stands for (GMB's, CoNLL-2003's), shown by its checkbox. */
export const TYPE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  geo: "geographical entity",
  gpe: "geopolitical entity",
  per: "person",
  org: "organisation",
  tim: "time",
  art: "artefact",
  eve: "event",
  nat: "natural phenomenon",
  PER: "person",
  LOC: "location",
  ORG: "organisation",
  MISC: "miscellaneous",
});

/** Types of other corpora drawn in the colour of the GMB type they mean. */
const COLOR_ALIASES: Readonly<Record<string, string>> = {
  loc: "geo",
  location: "geo",
  person: "per",
  organization: "org",
  organisation: "org",
  misc: "gpe",
  date: "tim",
  time: "tim",
  event: "eve",
};

/**
 * A colour for each type: its palette colour, or the colour of the GMB type it means (`LOC` as
 * `geo`), or the palette's colours not yet taken, in order (grey once they run out).
 *
 * @example
 * ```ts
 * import { typeColors } from "./types.ts";
 * typeColors(["LOC", "PER", "X"]); // { LOC: "#56B4E9" (as geo), PER: "#E69F00", X: "#009E73" }
 * ```
 *
 * @param types the entity types
 * @returns type → colour (`#RRGGBB`)
 */
export function typeColors(types: readonly string[]): Record<string, string> {
  const colors: Record<string, string> = {};
  const taken = new Set<string>();
  const pending: string[] = [];
  for (const type of types) {
    const key = type.toLowerCase();
    const color = ENTITY_COLORS[key] ?? ENTITY_COLORS[COLOR_ALIASES[key] ?? ""];
    if (color && !taken.has(color)) {
      colors[type] = color;
      taken.add(color);
    } else pending.push(type);
  }
  const free = Object.values(ENTITY_COLORS).filter((color) => !taken.has(color));
  pending.forEach((type, index) => (colors[type] = free[index] ?? OTHER_COLOR));
  return colors;
}
