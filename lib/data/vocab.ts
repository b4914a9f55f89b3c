/**
 * Word and tag maps: step 3 of the tutorial, with its faults fixed.
 *
 * The tutorial padded with the last word id, mapped unknown words to index 0
 * and padded the labels with tag index 0, a real tag (`B-nat`). Here padding
 * and unknown words have their own ids (`padId` 0, `unknownId` 1) and padding
 * has its own label (`padTagId` 0, the pseudo-tag `<pad>`), which the model
 * masks out of the loss and the metrics.
 *
 * @module
 */
import type { Sentence } from "./sentence.ts";
import { writeFileAtomic } from "../fs/files.ts";

/** The padding token. */
export const PAD_WORD = "<pad>";
/** The unknown-word token. */
export const UNKNOWN_WORD = "<unk>";
/** The padding label: not a real tag, never predicted for a real token. */
export const PAD_TAG = "<pad>";

/** Options for {@linkcode buildVocab}. */
export interface VocabOptions {
  /** Words seen fewer times than this in the training sentences map to `<unk>`. Default 1. */
  minFrequency?: number;
  /** Lowercase words before lookup. Default false (the tutorial is case-sensitive). */
  lowercase?: boolean;
  /**
   * Look a word the map lacks up in its other casings (lowercase, capitalised, uppercase) and
   * take the most frequent one found, so `OBAMA` and `obama` find `Obama`. Default false.
   */
  caseFallback?: boolean;
  /**
   * The tag inventory, in id order after the padding label; default: the tags
   * of `sentences`, most frequent first. Pass it when `sentences` may lack rare tags.
   */
  tags?: readonly string[];
}

/** Word and tag maps with distinct padding and unknown ids. */
export interface Vocab {
  /** Words by id: `words[0]` is `<pad>`, `words[1]` is `<unk>`. */
  words: string[];
  /** Tags by id: `tags[0]` is the padding label `<pad>`, then the real tags. */
  tags: string[];
  /** Word → id. */
  wordIndex: Map<string, number>;
  /** Tag → id. */
  tagIndex: Map<string, number>;
  /** Id of the padding word (0). */
  padId: number;
  /** Id of unknown words (1). */
  unknownId: number;
  /** Id of the padding label (0). */
  padTagId: number;
  /** The options the maps were built with. */
  options: Required<Omit<VocabOptions, "tags">>;
}

/** The JSON form of a {@linkcode Vocab}, as saved next to a model. */
export interface VocabJSON {
  format: "bilstm-ner-vocab";
  version: 1;
  words: string[];
  tags: string[];
  options: Required<Omit<VocabOptions, "tags">>;
}

/**
 * Builds word and tag maps from sentences (normally the training split).
 *
 * Words are ordered by frequency (most frequent first, ties by code point) so
 * ids are deterministic; tags likewise, after the padding label.
 *
 * @param sentences the sentences to count
 * @param options minimum frequency and lowercasing
 * @returns the maps
 */
export function buildVocab(sentences: readonly Sentence[], options: VocabOptions = {}): Vocab {
  const resolved = {
    minFrequency: options.minFrequency ?? 1,
    lowercase: options.lowercase ?? false,
    caseFallback: options.caseFallback ?? false,
  };
  if (!Number.isInteger(resolved.minFrequency) || resolved.minFrequency < 1) {
    throw new RangeError(`minFrequency must be an integer >= 1, got ${resolved.minFrequency}`);
  }
  const wordCounts = new Map<string, number>();
  const tagCounts = new Map<string, number>();
  for (const sentence of sentences) {
    for (const word of sentence.words) {
      const key = resolved.lowercase ? word.toLowerCase() : word;
      wordCounts.set(key, (wordCounts.get(key) ?? 0) + 1);
    }
    for (const tag of sentence.tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
  }
  const words = byFrequency(wordCounts)
    .filter((word) => wordCounts.get(word)! >= resolved.minFrequency && !isReserved(word));
  const tags = (options.tags ?? byFrequency(tagCounts)).filter((tag) => tag !== PAD_TAG);
  return makeVocab([PAD_WORD, UNKNOWN_WORD, ...words], [PAD_TAG, ...tags], resolved);
}

/**
 * The id of a word, `unknownId` when it is not in the map.
 *
 * @param vocab the maps
 * @param word the word, as it appears in text
 * @returns its id
 */
export function wordId(vocab: Vocab, word: string): number {
  const key = vocab.options.lowercase ? word.toLowerCase() : word;
  const id = vocab.wordIndex.get(key);
  if (id !== undefined) return id;
  return vocab.options.caseFallback ? caseVariantId(vocab, key) : vocab.unknownId;
}

/** A word with its first character uppercase and the rest lowercase: `Obama`. */
export function capitalise(word: string): string {
  const [first = "", ...rest] = Array.from(word);
  return first.toUpperCase() + rest.join("").toLowerCase();
}

/**
 * The id of the most frequent of a word's other casings in the map (ids are in frequency order,
 * so the smallest), or `unknownId` when none is in it.
 */
function caseVariantId(vocab: Vocab, word: string): number {
  let best = vocab.unknownId;
  for (const variant of [word.toLowerCase(), capitalise(word), word.toUpperCase()]) {
    const id = vocab.wordIndex.get(variant);
    if (id !== undefined && (best === vocab.unknownId || id < best)) best = id;
  }
  return best;
}

/**
 * The id of a tag.
 *
 * @param vocab the maps
 * @param tag a real tag such as `B-geo`
 * @returns its id
 * @throws {RangeError} when the tag is not in the map (the message names it)
 */
export function tagId(vocab: Vocab, tag: string): number {
  const id = vocab.tagIndex.get(tag);
  if (id === undefined || id === vocab.padTagId) {
    throw new RangeError(`unknown tag "${tag}" (known: ${vocab.tags.slice(1).join(", ")})`);
  }
  return id;
}

/**
 * Decodes tag ids back to tag names.
 *
 * @param vocab the maps
 * @param ids tag ids (e.g. a model's argmax)
 * @returns the tag names; the padding label decodes to `<pad>`
 * @throws {RangeError} on an id outside the tag map
 */
export function decodeTags(vocab: Vocab, ids: ArrayLike<number>): string[] {
  return Array.from(ids, (id) => {
    const tag = vocab.tags[id];
    if (tag === undefined) {
      throw new RangeError(`tag id ${id} is outside 0..${vocab.tags.length - 1}`);
    }
    return tag;
  });
}

/**
 * Converts maps to their JSON form.
 *
 * @param vocab the maps
 * @returns a plain object for `JSON.stringify`
 */
export function vocabToJSON(vocab: Vocab): VocabJSON {
  return {
    format: "bilstm-ner-vocab",
    version: 1,
    words: vocab.words,
    tags: vocab.tags,
    options: vocab.options,
  };
}

/**
 * Restores maps from their JSON form, checking it: the format, `words` and `tags` as lists of
 * distinct strings starting with the reserved entries, tags that are `O`, `B-<type>` or
 * `I-<type>` after the padding label, and the options' types.
 *
 * @param json the parsed JSON
 * @param source where it came from, for error messages
 * @returns the maps
 * @throws {Error} naming `source` and the field when the object is not a valid vocabulary
 */
export function vocabFromJSON(json: unknown, source = "vocab"): Vocab {
  const fail = (problem: string): never => {
    throw new Error(`${source}: not a bilstm-ner vocabulary (${problem})`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("format, words or tags missing: not a JSON object");
  }
  const value = json as Partial<Record<keyof VocabJSON, unknown>>;
  if (value.format !== "bilstm-ner-vocab") {
    fail(`format, words or tags missing: field "format" is ${JSON.stringify(value.format)}`);
  }
  if (value.version !== undefined && value.version !== 1) {
    fail(`field "version" is ${JSON.stringify(value.version)}, not one this program reads (1)`);
  }
  const words = checkStringList(value.words, "words", [PAD_WORD, UNKNOWN_WORD], fail);
  const tags = checkStringList(value.tags, "tags", [PAD_TAG], fail);
  if (tags.length < 2) fail(`field "tags" holds no real tag after "${PAD_TAG}"`);
  tags.forEach((tag, index) => {
    if (index > 0 && !/^(O|[BI]-\S+)$/.test(tag)) {
      fail(`field "tags[${index}]" is ${JSON.stringify(tag)}, not "O", "B-<type>" or "I-<type>"`);
    }
  });
  const options = value.options as Record<string, unknown> | undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return fail(`field "options" is missing or not an object`);
  }
  const { minFrequency, lowercase, caseFallback = false } = options;
  if (!(typeof minFrequency === "number" && Number.isInteger(minFrequency) && minFrequency >= 1)) {
    fail(
      `field "options.minFrequency" must be an integer >= 1, got ${JSON.stringify(minFrequency)}`,
    );
  }
  if (typeof lowercase !== "boolean") {
    fail(`field "options.lowercase" must be true or false, got ${JSON.stringify(lowercase)}`);
  }
  if (typeof caseFallback !== "boolean") {
    fail(
      `field "options.caseFallback" must be true or false, got ${JSON.stringify(caseFallback)}`,
    );
  }
  return makeVocab(words, tags, {
    minFrequency: minFrequency as number,
    lowercase: lowercase as boolean,
    caseFallback: caseFallback as boolean,
  });
}

/**
 * Checks a list field of a vocabulary file: distinct strings that start with `reserved`.
 *
 * @returns the list
 */
function checkStringList(
  list: unknown,
  field: string,
  reserved: readonly string[],
  fail: (problem: string) => never,
): string[] {
  if (!Array.isArray(list)) {
    return fail(`format, words or tags missing: field "${field}" is not a list`);
  }
  reserved.forEach((entry, index) => {
    if (list[index] !== entry) {
      fail(`field "${field}[${index}]" must be "${entry}", got ${JSON.stringify(list[index])}`);
    }
  });
  const seen = new Set<string>();
  list.forEach((entry: unknown, index: number) => {
    if (typeof entry !== "string") {
      fail(`field "${field}[${index}]" must be a string, got ${JSON.stringify(entry)}`);
    }
    if (seen.has(entry as string)) {
      fail(`field "${field}[${index}]" repeats ${JSON.stringify(entry)}`);
    }
    seen.add(entry as string);
  });
  return list as string[];
}

/**
 * Saves maps as JSON, atomically (temp file + rename).
 *
 * @param vocab the maps
 * @param path the file to write
 */
export async function saveVocab(vocab: Vocab, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(vocabToJSON(vocab)));
}

/**
 * Loads maps saved by {@linkcode saveVocab}.
 *
 * @param path the JSON file
 * @returns the maps
 * @throws {Error} naming the file when it is missing or invalid
 */
export async function loadVocab(path: string): Promise<Vocab> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read vocabulary (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: invalid JSON (${(error as Error).message})`);
  }
  return vocabFromJSON(json, path);
}

/**
 * The maps with more words appended after their own (e.g. words of pretrained vectors that the
 * training sentences lack); words the map has already are skipped.
 *
 * @param vocab the maps
 * @param words words to add, in the order their ids are given
 * @returns new maps; `vocab` is unchanged
 */
export function withExtraWords(vocab: Vocab, words: Iterable<string>): Vocab {
  const added = [...vocab.words];
  const known = new Set(added);
  for (const word of words) {
    const key = vocab.options.lowercase ? word.toLowerCase() : word;
    if (!known.has(key)) {
      known.add(key);
      added.push(key);
    }
  }
  return makeVocab(added, vocab.tags, vocab.options);
}

function makeVocab(
  words: string[],
  tags: string[],
  options: Required<Omit<VocabOptions, "tags">>,
): Vocab {
  return {
    words,
    tags,
    wordIndex: new Map(words.map((word, id) => [word, id])),
    tagIndex: new Map(tags.map((tag, id) => [tag, id])),
    padId: 0,
    unknownId: 1,
    padTagId: 0,
    options: {
      minFrequency: options.minFrequency,
      lowercase: options.lowercase,
      caseFallback: options.caseFallback,
    },
  };
}

function byFrequency(counts: Map<string, number>): string[] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([key]) => key);
}

function isReserved(word: string): boolean {
  return word === PAD_WORD || word === UNKNOWN_WORD;
}
