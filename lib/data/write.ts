/**
 * Writing sentences in the formats the readers read (`formats.ts`): CoNLL column files in any
 * tag scheme, and JSONL records with character spans. Used to export the bundled corpus for
 * other tools, to make fixtures, and by the round-trip tests.
 *
 * @example
 * ```ts
 * import { toConll, toJsonl } from "./write.ts";
 * const sentence = { id: 1, words: ["Peter", "Blackburn"], pos: ["NNP", "NNP"], tags: ["B-per", "I-per"], line: 2 };
 * toConll([sentence], { scheme: "iob1" }); // "Peter\tNNP\tI-per\nBlackburn\tNNP\tI-per\n"
 * toJsonl([sentence]); // {"text":"Peter Blackburn","spans":[{"start":0,"end":15,"label":"per"}],…}
 * ```
 *
 * @module
 */
import type { Sentence } from "./corpus.ts";
import { fromIob2, type TagScheme } from "./tag_schemes.ts";

/** Options for {@linkcode toConll}. */
export interface ConllWriteOptions {
  /** The tag scheme to write; default `"iob2"`. */
  scheme?: TagScheme;
  /** Write the POS column between token and tag; default true. */
  pos?: boolean;
}

/**
 * Sentences as a CoNLL column file: `token<TAB>POS<TAB>tag` lines, a blank line after each
 * sentence.
 *
 * @param sentences sentences with IOB2 tags
 * @param options the scheme and whether to write POS tags
 * @returns the file's text
 */
export function toConll(sentences: readonly Sentence[], options: ConllWriteOptions = {}): string {
  const scheme = options.scheme ?? "iob2";
  const parts: string[] = [];
  for (const sentence of sentences) {
    const tags = fromIob2(sentence.tags, scheme);
    sentence.words.forEach((word, index) => {
      parts.push(
        options.pos === false
          ? `${word}\t${tags[index]}\n`
          : `${word}\t${sentence.pos[index]}\t${tags[index]}\n`,
      );
    });
    parts.push("\n");
  }
  return parts.join("");
}

/** Options for {@linkcode toJsonl}. */
export interface JsonlWriteOptions {
  /**
   * Write each record's `tokens` (`[{"start", "end"}]`, as Prodigy does), so that reading it
   * back gives the same tokens whatever the tokenizer would make of the text; default true.
   */
  tokens?: boolean;
}

/**
 * Sentences as JSONL: one `{"text", "spans", "tokens"}` record per sentence, the text the
 * words joined by single spaces, span offsets in UTF-16 code units.
 *
 * @param sentences sentences with IOB2 tags
 * @param options whether to write the tokens
 * @returns the file's text
 */
export function toJsonl(sentences: readonly Sentence[], options: JsonlWriteOptions = {}): string {
  return sentences.map((sentence) => {
    const starts: number[] = [];
    let text = "";
    for (const word of sentence.words) {
      if (text !== "") text += " ";
      starts.push(text.length);
      text += word;
    }
    const ends = sentence.words.map((word, index) => starts[index] + word.length);
    const spans: { start: number; end: number; label: string }[] = [];
    sentence.tags.forEach((tag, index) => {
      if (tag === "O") return;
      const label = tag.slice(2);
      const continues = tag.startsWith("I-") && sentence.tags[index - 1]?.slice(2) === label;
      if (continues) spans[spans.length - 1].end = ends[index];
      else spans.push({ start: starts[index], end: ends[index], label });
    });
    const record = options.tokens === false
      ? { text, spans }
      : { text, spans, tokens: starts.map((start, index) => ({ start, end: ends[index] })) };
    return `${JSON.stringify(record)}\n`;
  }).join("");
}
