/**
 * Tag schemes: how a file marks where entities begin and end, and the conversion of each to the
 * one scheme used inside the project, IOB2 (`B-` starts every entity, `I-` continues it).
 *
 * | scheme | begin | inside | last | single | read as IOB2 |
 * |---|---|---|---|---|---|
 * | IOB1 (CoNLL-2003's original) | `I-`, or `B-` right after an entity of the same type | `I-` | `I-` | `I-` | an `I-` that starts an entity becomes `B-` |
 * | IOB2 | `B-` | `I-` | `I-` | `B-` | as it is |
 * | BIOES | `B-` | `I-` | `E-` | `S-` | `E-` → `I-`, `S-` → `B-` |
 * | BILOU | `B-` | `I-` | `L-` | `U-` | `L-` → `I-`, `U-` → `B-` |
 *
 * A continuation tag (`I-`, `E-`, `L-`) that follows `O` or another type starts an entity in
 * IOB1, as the scheme says; in the other schemes it is an annotation error, repaired to `B-`
 * and counted (or refused with `strict`). Detection (`"auto"`) reads the tags: `E-`/`S-` mean
 * BIOES, `L-`/`U-` BILOU; else entities that begin with `B-` mean IOB2 and entities that begin
 * with `I-` IOB1. When both kinds of beginning occur, the more frequent decides (the other kind
 * is then repaired, and the summary says so); a file without entities reads as IOB2 (the same
 * tags either way).
 *
 * @example
 * ```ts
 * import { toIob2 } from "./tag_schemes.ts";
 * toIob2(["I-PER", "I-PER", "O", "I-LOC"], "iob1").tags; // ["B-PER", "I-PER", "O", "B-LOC"]
 * toIob2(["S-PER", "O", "B-LOC", "E-LOC"], "bioes").tags; // ["B-PER", "O", "B-LOC", "I-LOC"]
 * ```
 *
 * @module
 */

/** A tag scheme a file can be in. */
export type TagScheme = "iob1" | "iob2" | "bioes" | "bilou";

/** A tag scheme to read a file with: one of {@linkcode TagScheme}, or `"auto"`. */
export type TagSchemeOption = TagScheme | "auto";

/** The values of {@linkcode TagSchemeOption}, `"auto"` first. */
export const TAG_SCHEME_OPTIONS: readonly TagSchemeOption[] = [
  "auto",
  "iob1",
  "iob2",
  "bioes",
  "bilou",
];

/** The prefixes each scheme allows. */
const PREFIXES: Readonly<Record<TagScheme, string>> = {
  iob1: "BI",
  iob2: "BI",
  bioes: "BIES",
  bilou: "BILU",
};

/** What a prefix means: begins an entity, continues one, ends one, or both begins and ends. */
const ROLE: Readonly<Record<string, "begin" | "inside" | "last" | "single">> = {
  B: "begin",
  I: "inside",
  E: "last",
  L: "last",
  S: "single",
  U: "single",
};

/** An error in a tag, with the 0-based token index it was found at. */
export class TagError extends Error {
  /**
   * @param token the 0-based index of the token in its sentence
   * @param message what is wrong
   */
  constructor(readonly token: number, message: string) {
    super(message);
    this.name = "TagError";
  }
}

/** A tag split into its prefix and type; `O` has neither. */
export interface ParsedTag {
  /** `B`, `I`, `E`, `S`, `L` or `U`; `""` for `O`. */
  prefix: string;
  /** The entity type (`PER`, `geo`); `""` for `O`. */
  type: string;
}

/**
 * Splits a tag into prefix and type, checking its form: `O`, or one capital letter, `-` and a
 * type without spaces.
 *
 * @throws {Error} naming the tag when it is neither
 */
export function parseTag(tag: string): ParsedTag {
  if (tag === "O") return { prefix: "", type: "" };
  const match = /^([A-Za-z])-(\S+)$/.exec(tag);
  if (!match) {
    throw new Error(
      `the tag "${tag}" is not O and not PREFIX-TYPE (such as B-PER): every tag is O or a ` +
        "B-/I- (IOB), E-/S- (BIOES) or L-/U- (BILOU) prefix and an entity type",
    );
  }
  if (!(match[1] in ROLE)) {
    throw new Error(
      `the tag "${tag}" has an unknown prefix "${match[1]}-": the prefixes are B-, I- (IOB), ` +
        "E-, S- (BIOES) and L-, U- (BILOU)",
    );
  }
  return { prefix: match[1], type: match[2] };
}

/** The tag at `index` parsed; a malformed one is a {@linkcode TagError} naming the token. */
function parseTagAt(tags: readonly string[], index: number): ParsedTag {
  try {
    return parseTag(tags[index]);
  } catch (error) {
    throw new TagError(index, (error as Error).message);
  }
}

/** Evidence for {@linkcode detectTagScheme}, gathered over the sentences. */
export interface SchemeEvidence {
  /** Tags with an `E-` or `S-` prefix. */
  bioes: number;
  /** Tags with an `L-` or `U-` prefix. */
  bilou: number;
  /** Entities that begin with `B-` (after `O`, another type, or at the sentence start). */
  beginB: number;
  /** Entities that begin with `I-`. */
  beginI: number;
}

/** What {@linkcode detectTagScheme} decided and why. */
export interface DetectedScheme {
  /** The scheme. */
  scheme: TagScheme;
  /** What was counted. */
  evidence: SchemeEvidence;
  /** Set when the tags fit no scheme cleanly: what was decided, in words. */
  note?: string;
}

/** Counts the evidence of one sentence's tags into `evidence`; throws on a malformed tag. */
export function gatherEvidence(tags: readonly string[], evidence: SchemeEvidence): void {
  let previousType = "";
  for (let index = 0; index < tags.length; index++) {
    const { prefix, type } = parseTagAt(tags, index);
    if (prefix === "E" || prefix === "S") evidence.bioes++;
    if (prefix === "L" || prefix === "U") evidence.bilou++;
    if (prefix === "B" && type !== previousType) evidence.beginB++;
    if (prefix === "I" && type !== previousType) evidence.beginI++;
    previousType = type;
  }
}

/** An empty {@linkcode SchemeEvidence}. */
export function emptyEvidence(): SchemeEvidence {
  return { bioes: 0, bilou: 0, beginB: 0, beginI: 0 };
}

/**
 * Decides a file's tag scheme from its evidence (see the module doc for the rules).
 *
 * @param evidence counts from {@linkcode gatherEvidence}
 * @returns the scheme, and a note when the tags fit no scheme cleanly
 * @throws {Error} when BIOES and BILOU prefixes are mixed
 */
export function detectTagScheme(evidence: SchemeEvidence): DetectedScheme {
  const { bioes, bilou, beginB, beginI } = evidence;
  if (bioes > 0 && bilou > 0) {
    throw new Error(
      `the tags mix BIOES prefixes (E-, S-: ${bioes} tags) and BILOU prefixes (L-, U-: ` +
        `${bilou} tags); a file uses one scheme`,
    );
  }
  if (bioes > 0) return { scheme: "bioes", evidence };
  if (bilou > 0) return { scheme: "bilou", evidence };
  if (beginB > 0 && beginI > 0) {
    const scheme = beginB >= beginI ? "iob2" : "iob1";
    return {
      scheme,
      evidence,
      note: `${beginB} entities begin with B- and ${beginI} with I-: read as ` +
        `${scheme.toUpperCase()}` +
        (scheme === "iob2" ? `, the ${beginI} I- beginnings repaired to B-` : "") +
        " (give --tag-scheme to choose)",
    };
  }
  return { scheme: beginI > 0 ? "iob1" : "iob2", evidence };
}

/** What {@linkcode toIob2} returns. */
export interface Iob2Tags {
  /** The tags in IOB2. */
  tags: string[];
  /** Continuation tags that began an entity and were repaired to `B-` (never in IOB1). */
  repairs: number;
}

/**
 * Converts one sentence's tags from a scheme to IOB2.
 *
 * @param tags the tags as in the file
 * @param scheme the file's scheme
 * @param strict refuse a continuation tag that begins an entity (IOB2, BIOES, BILOU) instead
 *   of repairing it to `B-`
 * @returns the IOB2 tags and the number of repairs
 * @throws {TagError} naming the token on a tag the scheme does not allow
 */
export function toIob2(tags: readonly string[], scheme: TagScheme, strict = false): Iob2Tags {
  const allowed = PREFIXES[scheme];
  const out = new Array<string>(tags.length);
  let repairs = 0;
  let previousType = "";
  for (let index = 0; index < tags.length; index++) {
    const { prefix, type } = parseTagAt(tags, index);
    if (prefix === "") {
      out[index] = "O";
      previousType = "";
      continue;
    }
    if (!allowed.includes(prefix)) {
      throw new TagError(
        index,
        `the tag "${tags[index]}" has the prefix ${prefix}-, which ${scheme.toUpperCase()} ` +
          `does not use (it uses ${[...allowed].map((p) => `${p}-`).join(", ")}); ` +
          "give the file's scheme with --tag-scheme",
      );
    }
    const role = ROLE[prefix];
    const continues = (role === "inside" || role === "last") && type === previousType;
    if ((role === "inside" || role === "last") && !continues && scheme !== "iob1") {
      if (strict) {
        throw new TagError(
          index,
          `the tag "${tags[index]}" continues an entity, but none of type ${type} is open ` +
            `(the previous tag is ${index === 0 ? "the sentence start" : `"${tags[index - 1]}"`})`,
        );
      }
      repairs++;
    }
    out[index] = `${continues ? "I" : "B"}-${type}`;
    // An entity that ended (E-, L-, S-, U-) is closed: a following I- of the type begins anew.
    previousType = role === "last" || role === "single" ? "" : type;
  }
  return { tags: out, repairs };
}

/**
 * Converts IOB2 tags to another scheme (for writing files in that scheme).
 *
 * @param tags IOB2 tags
 * @param scheme the scheme to write
 * @returns the tags in `scheme`
 */
export function fromIob2(tags: readonly string[], scheme: TagScheme): string[] {
  return tags.map((tag, index) => {
    if (tag === "O" || scheme === "iob2") return tag;
    const prefix = tag[0];
    const type = tag.slice(2);
    const next = tags[index + 1];
    const continues = next === `I-${type}`;
    if (scheme === "iob1") {
      const previous = tags[index - 1];
      const follows = previous !== undefined && previous !== "O" && previous.slice(2) === type;
      return prefix === "B" && follows ? tag : `I-${type}`;
    }
    const [last, single] = scheme === "bioes" ? ["E", "S"] : ["L", "U"];
    if (prefix === "B") return continues ? tag : `${single}-${type}`;
    return continues ? tag : `${last}-${type}`;
  });
}
