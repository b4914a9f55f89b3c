/**
 * `lib/data/chars.ts`: character map, character ids aligned with `encodeSentences`, long words,
 * unknown and astral characters, casing classes, JSON round trip.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Sentence } from "../lib/data/corpus.ts";
import {
  buildCharVocab,
  Casing,
  CASING_COUNT,
  charId,
  charVocabFromJSON,
  charVocabToJSON,
  encodeCasing,
  encodeChars,
  encodeWordChars,
  encodeWordListChars,
  PAD_CHAR,
  UNKNOWN_CHAR,
  wordCasing,
} from "../lib/data/chars.ts";
import { encodeSentences } from "../lib/data/encode.ts";
import { buildVocab } from "../lib/data/vocab.ts";

const sentences: Sentence[] = [
  { id: 1, words: ["The", "U.S.", "said"], pos: [], tags: ["O", "B-geo", "O"], line: 2 },
  { id: 2, words: ["Bush", "said", "1990"], pos: [], tags: ["B-per", "O", "B-tim"], line: 6 },
];

Deno.test("buildCharVocab: pad 0, unk 1, then by frequency and code point", () => {
  const chars = buildCharVocab(sentences);
  assert.equal(chars.padId, 0);
  assert.equal(chars.unknownId, 1);
  assert.deepEqual(chars.chars.slice(0, 2), [PAD_CHAR, UNKNOWN_CHAR]);
  // counts: s 3 ("said" ×2, "Bush"); ".", 9, a, d, h, i 2 each (ties by code point); then singles
  assert.deepEqual(chars.chars.slice(2, 9), ["s", ".", "9", "a", "d", "h", "i"]);
  assert.equal(charId(chars, "s"), 2);
  assert.equal(new Set(chars.chars).size, chars.chars.length);
  const frequent = buildCharVocab(sentences, { minFrequency: 2 });
  assert.deepEqual(frequent.chars.slice(2), ["s", ".", "9", "a", "d", "h", "i"]);
  assert.throws(() => buildCharVocab(sentences, { minFrequency: 0 }), RangeError);
});

Deno.test("unknown characters map to unknownId; astral characters are one character", () => {
  const chars = buildCharVocab([{ words: ["a😀b"] }]);
  assert.deepEqual(chars.chars.slice(2), ["a", "b", "😀"]);
  const ids = encodeWordChars("a😀zé", chars, { maxChars: 5 });
  assert.deepEqual([...ids], [2, 4, 1, 1, 0]);
  // an empty word still has one real character, so it is never mistaken for padding
  assert.deepEqual([...encodeWordChars("", chars, { maxChars: 3 })], [1, 0, 0]);
});

Deno.test("long words keep first and last halves by default, or their start", () => {
  const chars = buildCharVocab([{ words: ["abcdefghijklmnopqrstuvwxyz"] }]);
  const decode = (ids: Int32Array) => Array.from(ids, (id) => chars.chars[id]).join("");
  const word = "internationalisation"; // 20 characters
  assert.equal(decode(encodeWordChars(word, chars)), "internat" + "lisation");
  assert.equal(decode(encodeWordChars(word, chars, { maxChars: 5 })), "int" + "on");
  assert.equal(decode(encodeWordChars(word, chars, { longWords: "start" })), word.slice(0, 16));
  assert.equal(decode(encodeWordChars("abc", chars, { maxChars: 3 })), "abc");
  assert.throws(() => encodeWordChars("abc", chars, { maxChars: 0 }), RangeError);
});

Deno.test("encodeChars and encodeCasing align with encodeSentences for every layout", () => {
  const vocab = buildVocab(sentences);
  const chars = buildCharVocab(sentences);
  const long = [...sentences, {
    id: 3,
    words: ["a", "b", "c", "d", "e"],
    pos: [],
    tags: ["O", "O", "O", "O", "O"],
    line: 9,
  }];
  for (const padding of ["post", "pre"] as const) {
    for (const truncating of ["post", "pre"] as const) {
      const layout = { maxLen: 4, padding, truncating };
      const encoded = encodeSentences(long, vocab, layout);
      const ids = encodeChars(long, chars, { ...layout, maxChars: 6 });
      const casing = encodeCasing(long, layout);
      assert.equal(ids.length, encoded.size * 4 * 6);
      assert.equal(casing.length, encoded.size * 4);
      for (let cell = 0; cell < encoded.size * 4; cell++) {
        const first = ids[cell * 6];
        assert.equal(first !== chars.padId, encoded.mask[cell] === 1, `cell ${cell}`);
        assert.equal(casing[cell] !== Casing.PAD, encoded.mask[cell] === 1);
        if (encoded.wordIds[cell] > 1) {
          const word = vocab.words[encoded.wordIds[cell]];
          assert.deepEqual([...ids.subarray(cell * 6, cell * 6 + 6)], [
            ...encodeWordChars(word, chars, { maxChars: 6 }),
          ]);
          assert.equal(casing[cell], wordCasing(word));
        }
      }
    }
  }
  const flat = encodeWordListChars(["Bush", "said"], chars, { maxChars: 6 });
  assert.deepEqual([...flat], [
    ...encodeChars([sentences[1]], chars, { maxChars: 6 }).slice(0, 12),
  ]);
});

Deno.test("wordCasing classifies the usual shapes", () => {
  const expected: [string, number][] = [
    ["Paris", Casing.CAPITALISED],
    ["A", Casing.CAPITALISED],
    ["NATO", Casing.ALL_CAPS],
    ["U.S.", Casing.ALL_CAPS],
    ["1990", Casing.NUMERIC],
    ["1,000.5", Casing.NUMERIC],
    ["iPhone", Casing.MIXED],
    ["McDonald", Casing.MIXED],
    ["the", Casing.LOWER],
    ["don't", Casing.LOWER],
    ["$", Casing.OTHER],
    [",", Casing.OTHER],
    ["3rd", Casing.CONTAINS_DIGIT],
    ["1990s", Casing.CONTAINS_DIGIT],
    ["Ölüdeniz", Casing.CAPITALISED],
  ];
  for (const [word, casing] of expected) assert.equal(wordCasing(word), casing, word);
  assert.equal(Math.max(...Object.values(Casing)), CASING_COUNT - 1);
});

Deno.test("character map JSON round trip, and invalid JSON is rejected", () => {
  const chars = buildCharVocab(sentences, { minFrequency: 1 });
  const json = JSON.parse(JSON.stringify(charVocabToJSON(chars)));
  const restored = charVocabFromJSON(json);
  assert.deepEqual(restored.chars, chars.chars);
  assert.deepEqual(restored.options, chars.options);
  assert.deepEqual([...restored.index], [...chars.index]);
  assert.deepEqual(
    [...encodeChars(sentences, restored, { maxLen: 3 })],
    [...encodeChars(sentences, chars, { maxLen: 3 })],
  );
  assert.throws(() => charVocabFromJSON({ ...json, format: "x" }, "c.json"), /c\.json/);
  assert.throws(() => charVocabFromJSON({ ...json, chars: ["<unk>", "<pad>"] }));
  assert.throws(() => charVocabFromJSON({ ...json, chars: [...json.chars, "ab"] }));
  assert.throws(() => charVocabFromJSON(null));
});
