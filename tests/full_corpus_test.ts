import assert from "node:assert/strict";
import { loadCorpus } from "../lib/data/corpus.ts";
import { loadSplitFile, splitByIds, validationTail } from "../lib/data/encode.ts";
import { corpusStats } from "../lib/data/stats.ts";

Deno.test("the bundled corpus has the documented counts", async () => {
  const corpus = await loadCorpus();
  const stats = corpusStats(corpus);
  assert.equal(stats.rows, 1_048_575);
  assert.equal(stats.sentences, 47_959);
  assert.equal(stats.words, 35_178);
  assert.equal(stats.tags, 17);
  assert.equal(stats.posTags, 42);
  assert.equal(stats.maxSentenceLength, 104);
  assert.equal(stats.minSentenceLength, 1);
  assert.equal(stats.tagCounts["B-geo"], 37_644);
  assert.equal(stats.tagCounts["I-nat"], 51);
  assert.equal(corpus.sentences.filter((s) => s.words.includes("None")).length > 0, true);

  const split = splitByIds(corpus.sentences, await loadSplitFile());
  assert.equal(split.test.length, 9_592);
  assert.equal(split.train.length, 38_367);
  assert.equal(new Set([...split.train, ...split.test].map((s) => s.id)).size, 47_959);
  assert.equal(validationTail(split.train).validation.length, 3_837);
});
