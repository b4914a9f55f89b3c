/**
 * Entities from one IOB2 tag sequence, in a strict (seqeval) or a lenient (conlleval) reading:
 * what evaluation scores and what prediction returns.
 *
 * @example
 * ```ts
 * import { extractEntities } from "./entities.ts";
 * extractEntities(["B-per", "I-per", "O", "B-geo"]);
 * // [{ type: "per", start: 0, end: 2 }, { type: "geo", start: 3, end: 4 }]
 * ```
 *
 * @module
 */

/** How ill-formed IOB2 sequences are read when extracting entities. */
export type EntityScheme = "strict" | "conlleval";

/** Options for entity extraction and scoring. */
export interface EntityOptions {
  /** Extraction rule; default `"strict"` (see {@link extractEntities}). */
  scheme?: EntityScheme;
}

/** One entity span in a sentence: token indices `[start, end)`. */
export interface Entity {
  /** Entity type, e.g. `geo`. */
  type: string;
  /** Index of the first token. */
  start: number;
  /** Index one past the last token. */
  end: number;
}

interface ParsedTag {
  prefix: "O" | "B" | "I";
  type: string;
}

/** Parses one tag, throwing a descriptive error for anything that is not O, B-x or I-x. */
function parseEntityTag(tag: string, position: number): ParsedTag {
  if (tag === "O") return { prefix: "O", type: "" };
  if ((tag.startsWith("B-") || tag.startsWith("I-")) && tag.length > 2) {
    return { prefix: tag[0] as "B" | "I", type: tag.slice(2) };
  }
  throw new Error(
    `invalid tag ${JSON.stringify(tag)} at position ${position}: expected "O", "B-<type>" or ` +
      `"I-<type>" (padding labels must be removed before evaluation)`,
  );
}

/**
 * Extracts entities from one IOB2 tag sequence.
 *
 * - `"strict"` (seqeval `mode="strict", scheme=IOB2`): an entity starts with `B-x` and continues
 *   over following `I-x` of the same type. An `I-` that does not continue an entity is dropped.
 *   `["I-geo", "I-geo", "O"]` gives `[]`; `["B-per", "I-geo"]` gives `[{per, 0, 1}]`.
 * - `"conlleval"` (conlleval / seqeval default): additionally an `I-x` after `O` or after a
 *   different type starts a new entity. `["I-geo", "I-geo", "O"]` gives `[{geo, 0, 2}]`;
 *   `["B-per", "I-geo"]` gives `[{per, 0, 1}, {geo, 1, 2}]`.
 *
 * In both modes `B-x B-x` is two adjacent entities and an entity may end at the last token.
 *
 * @throws Error naming the tag and its position when a tag is not `O`, `B-x` or `I-x`.
 */
export function extractEntities(tags: string[], options: EntityOptions = {}): Entity[] {
  const scheme = options.scheme ?? "strict";
  const entities: Entity[] = [];
  let current: Entity | null = null;
  const close = (end: number) => {
    if (current !== null) entities.push({ ...current, end });
    current = null;
  };
  tags.forEach((tag, i) => {
    const { prefix, type } = parseEntityTag(tag, i);
    if (prefix === "O") {
      close(i);
    } else if (prefix === "B") {
      close(i);
      current = { type, start: i, end: i + 1 };
    } else if (current === null || current.type !== type) {
      close(i);
      if (scheme === "conlleval") current = { type, start: i, end: i + 1 };
    }
  });
  close(tags.length);
  return entities;
}
