import assert from "node:assert/strict";
import type { Sentence } from "../lib/data/corpus.ts";
import {
  buildVocab,
  decodeTags,
  loadVocab,
  PAD_TAG,
  PAD_WORD,
  saveVocab,
  tagId,
  UNKNOWN_WORD,
  vocabFromJSON,
  vocabToJSON,
  wordId,
} from "../lib/data/vocab.ts";

const sentences: Sentence[] = [
  { id: 1, words: ["The", "U.S.", "said"], pos: [], tags: ["O", "B-geo", "O"], line: 2 },
  { id: 2, words: ["the", "U.S.", "None"], pos: [], tags: ["O", "B-geo", "O"], line: 5 },
  { id: 3, words: ["Bush", "said"], pos: [], tags: ["B-per", "O"], line: 8 },
];

Deno.test("padding and unknown words get distinct ids, padding gets its own label", () => {
  const vocab = buildVocab(sentences);
  assert.equal(vocab.padId, 0);
  assert.equal(vocab.unknownId, 1);
  assert.notEqual(vocab.padId, vocab.unknownId);
  assert.equal(vocab.words[vocab.padId], PAD_WORD);
  assert.equal(vocab.words[vocab.unknownId], UNKNOWN_WORD);
  assert.equal(vocab.tags[vocab.padTagId], PAD_TAG);
  assert.ok(!["O", "B-geo", "B-per"].includes(vocab.tags[vocab.padTagId]));
  assert.deepEqual(vocab.tags, [PAD_TAG, "O", "B-geo", "B-per"]);
});

Deno.test("orders words by frequency, then code point, and maps unseen words to unknownId", () => {
  const vocab = buildVocab(sentences);
  assert.deepEqual(vocab.words.slice(2), ["U.S.", "said", "Bush", "None", "The", "the"]);
  assert.equal(wordId(vocab, "said"), 3);
  assert.equal(wordId(vocab, "None"), 5, "None is a word");
  assert.equal(wordId(vocab, "Obama"), vocab.unknownId);
});

Deno.test("minFrequency sends rare words to unknownId", () => {
  const vocab = buildVocab(sentences, { minFrequency: 2 });
  assert.deepEqual(vocab.words, [PAD_WORD, UNKNOWN_WORD, "U.S.", "said"]);
  assert.equal(wordId(vocab, "Bush"), vocab.unknownId);
  assert.throws(() => buildVocab(sentences, { minFrequency: 0 }), /minFrequency/);
});

Deno.test("lowercasing merges case variants at build and lookup time", () => {
  const vocab = buildVocab(sentences, { lowercase: true });
  assert.equal(wordId(vocab, "THE"), wordId(vocab, "the"));
  assert.ok(!vocab.words.includes("The"));
  assert.ok(vocab.words.includes("the"));
  assert.ok(vocab.words.includes("u.s."));
});

Deno.test("tag ids round-trip and unknown tags are named in the error", () => {
  const vocab = buildVocab(sentences);
  assert.deepEqual(decodeTags(vocab, ["O", "B-per", "B-geo"].map((tag) => tagId(vocab, tag))), [
    "O",
    "B-per",
    "B-geo",
  ]);
  assert.throws(() => tagId(vocab, "B-xyz"), /unknown tag "B-xyz"/);
  assert.throws(() => tagId(vocab, PAD_TAG), /unknown tag/);
  assert.throws(() => decodeTags(vocab, [99]), /tag id 99/);
});

Deno.test("saves and loads maps as JSON, atomically, and rejects foreign JSON", async () => {
  const vocab = buildVocab(sentences, { minFrequency: 1, lowercase: true });
  const directory = await Deno.makeTempDir();
  try {
    const path = `${directory}/vocab.json`;
    await saveVocab(vocab, path);
    assert.deepEqual([...Deno.readDirSync(directory)].map((entry) => entry.name), ["vocab.json"]);
    const loaded = await loadVocab(path);
    assert.deepEqual(loaded, vocab);
    await Deno.writeTextFile(path, '{"words": []}');
    await assert.rejects(loadVocab(path), /not a bilstm-ner vocabulary/);
    await Deno.writeTextFile(path, "{");
    await assert.rejects(loadVocab(path), new RegExp(`${path}: invalid JSON`));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
  assert.throws(() => vocabFromJSON({ ...vocabToJSON(vocab), tags: ["O"] }), /not a bilstm-ner/);
});

Deno.test("a given tag inventory keeps tags the sentences lack, in the given order", () => {
  const vocab = buildVocab(sentences, { tags: ["O", "B-per", "B-geo", "B-nat"] });
  assert.deepEqual(vocab.tags, [PAD_TAG, "O", "B-per", "B-geo", "B-nat"]);
  assert.equal(tagId(vocab, "B-nat"), 4);
});
