import assert from "node:assert/strict";
import type { Sentence } from "../lib/data/corpus.ts";
import { loadCorpus } from "../lib/data/corpus.ts";
import {
  encodeSentences,
  oneHot,
  randomSplit,
  splitByIds,
  validationTail,
} from "../lib/data/encode.ts";
import { buildVocab } from "../lib/data/vocab.ts";

const sentences: Sentence[] = [
  { id: 1, words: ["Bush", "spoke", "."], pos: [], tags: ["B-per", "O", "O"], line: 2 },
  {
    id: 2,
    words: ["Iraq", "and", "Iran", "met", "."],
    pos: [],
    tags: [
      "B-geo",
      "O",
      "B-geo",
      "O",
      "O",
    ],
    line: 5,
  },
];

Deno.test("pads after the words with padId/padTagId and masks only real tokens", () => {
  const vocab = buildVocab(sentences);
  const encoded = encodeSentences(sentences, vocab, { maxLen: 4 });
  assert.equal(encoded.size, 2);
  const row0 = Array.from(encoded.wordIds.slice(0, 4));
  assert.deepEqual(row0.slice(3), [vocab.padId]);
  assert.deepEqual(Array.from(encoded.tagIds.slice(0, 4)).slice(3), [vocab.padTagId]);
  assert.deepEqual(Array.from(encoded.mask), [1, 1, 1, 0, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(encoded.lengths), [3, 5]);
  assert.deepEqual(Array.from(encoded.sentenceIds), [1, 2]);
  assert.equal(vocab.words[encoded.wordIds[4]], "Iraq");
  assert.equal(vocab.tags[encoded.tagIds[4]], "B-geo");
});

Deno.test("truncates long sentences at the end by default, at the start with truncating pre", () => {
  const vocab = buildVocab(sentences);
  const post = encodeSentences(sentences, vocab, { maxLen: 2 });
  assert.deepEqual([...post.wordIds.slice(2, 4)].map((id) => vocab.words[id]), ["Iraq", "and"]);
  const pre = encodeSentences(sentences, vocab, { maxLen: 2, truncating: "pre" });
  assert.deepEqual([...pre.wordIds.slice(2, 4)].map((id) => vocab.words[id]), ["met", "."]);
  const prePadded = encodeSentences(sentences, vocab, { maxLen: 4, padding: "pre" });
  assert.deepEqual(Array.from(prePadded.mask.slice(0, 4)), [0, 1, 1, 1]);
});

Deno.test("unseen words encode as unknownId, not as padding", () => {
  const vocab = buildVocab(sentences.slice(0, 1));
  const unseen: Sentence = {
    id: 3,
    words: ["Obama", "spoke"],
    pos: [],
    tags: ["B-per", "O"],
    line: 9,
  };
  const encoded = encodeSentences([unseen], vocab, { maxLen: 6 });
  assert.equal(encoded.wordIds[0], vocab.unknownId);
  assert.notEqual(encoded.wordIds[1], vocab.unknownId);
  assert.equal(encoded.mask[0], 1);
});

Deno.test("an unknown tag names the file, line, sentence and token", () => {
  const vocab = buildVocab(sentences.slice(0, 1));
  assert.throws(
    () => encodeSentences(sentences.slice(1), vocab, { source: "ner.csv" }),
    /ner\.csv:5: unknown tag "B-geo" in sentence 2, token 1 \("Iraq"\)/,
  );
});

Deno.test("one-hot expands tag ids including the padding label", () => {
  assert.deepEqual(Array.from(oneHot(new Int32Array([2, 0]), 3)), [0, 0, 1, 1, 0, 0]);
  assert.throws(() => oneHot(new Int32Array([3]), 3), /tag id 3/);
});

Deno.test("splits by sentence ids in the listed order and rejects unknown ids", () => {
  const split = splitByIds(sentences, { train: [2], test: [1] });
  assert.deepEqual(split.train.map((s) => s.id), [2]);
  assert.deepEqual(split.test.map((s) => s.id), [1]);
  assert.throws(() => splitByIds(sentences, { train: [3], test: [] }), /sentence 3/);
});

Deno.test("a seeded random split is reproducible, disjoint and complete", () => {
  const many = Array.from({ length: 100 }, (_, id) => ({ ...sentences[0], id }));
  const first = randomSplit(many, { testRatio: 0.2, seed: 7 });
  const again = randomSplit(many, { testRatio: 0.2, seed: 7 });
  const other = randomSplit(many, { testRatio: 0.2, seed: 8 });
  assert.equal(first.test.length, 20);
  assert.deepEqual(first.test.map((s) => s.id), again.test.map((s) => s.id));
  assert.notDeepEqual(first.test.map((s) => s.id), other.test.map((s) => s.id));
  const ids = new Set([...first.train, ...first.test].map((s) => s.id));
  assert.equal(ids.size, 100);
});

Deno.test("the validation tail takes the last 10% like Keras's validation_split", () => {
  const items = Array.from({ length: 38367 }, (_, index) => index);
  const { train, validation } = validationTail(items, 0.1);
  assert.equal(validation.length, 3837);
  assert.equal(train.length, 34530);
  assert.equal(validation[0], 34530);
});

Deno.test("encodes the quirks fixture end to end", async () => {
  const corpus = await loadCorpus(new URL("./fixtures/quirks.csv", import.meta.url).pathname);
  const vocab = buildVocab(corpus.sentences);
  const encoded = encodeSentences(corpus.sentences, vocab, { maxLen: 50 });
  assert.equal(encoded.mask.reduce((sum, value) => sum + value, 0), corpus.rows);
});
