/**
 * Text without normal casing: recasing, `isCaseless`, the vocabulary's case fallback, case
 * augmentation in training batches, evaluation with `casing`, and ensembles whose `caseless`
 * members tag the caseless sentences (in memory, through an ensemble folder and `export`).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab } from "../lib/data/chars.ts";
import type { Sentence } from "../lib/data/corpus.ts";
import { isCaseless, recaseSentences, recaseWords } from "../lib/data/recase.ts";
import { buildVocab, vocabFromJSON, vocabToJSON, wordId } from "../lib/data/vocab.ts";
import { evaluateModel } from "../lib/evaluate/evaluate.ts";
import { loadModelFolder, saveEnsembleFolder, saveModelFolder } from "../lib/io/mod.ts";
import { loadTaggerFolder } from "../lib/io/model_folder.ts";
import { Tagger } from "../lib/model/mod.ts";
import type { MappedTagger } from "../lib/model/mapped.ts";
import { predictTokens } from "../lib/predict/predict.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { augmentCase, gatherBatch, gatherFeatures, prepareData } from "../lib/train/data.ts";
import { main as exportCli } from "../lib/cli/export.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

Deno.test("recasing words and sentences; caseless means every letter of one case", () => {
  assert.deepEqual(recaseWords(["Obama", "visited", "NATO", "3rd"], "upper"), [
    "OBAMA",
    "VISITED",
    "NATO",
    "3RD",
  ]);
  assert.deepEqual(recaseWords(["Obama", "NATO"], "lower"), ["obama", "nato"]);
  assert.deepEqual(recaseWords(["obama", "NATO", "élan"], "title"), ["Obama", "Nato", "Élan"]);
  const [sentence] = recaseSentences([
    { id: 7, words: ["Obama", "spoke"], pos: ["NNP", "VBD"], tags: ["B-per", "O"], line: 9 },
  ], "upper");
  assert.deepEqual(sentence, {
    id: 7,
    words: ["OBAMA", "SPOKE"],
    pos: ["NNP", "VBD"],
    tags: ["B-per", "O"],
    line: 9,
  });
  assert.equal(isCaseless(["OBAMA", "VISITS", "PARIS", "."]), true);
  assert.equal(isCaseless(["obama", "visits", "paris", "."]), true);
  assert.equal(isCaseless(["Obama", "visits", "Paris", "."]), false);
  assert.equal(isCaseless(["1990", "."]), false, "no letters: not caseless");
});

Deno.test("case fallback: an unknown word finds its most frequent casing in the map", () => {
  const sentences: Sentence[] = [
    {
      id: 1,
      words: ["Obama", "met", "Obama", "obama"],
      pos: [],
      tags: ["O", "O", "O", "O"],
      line: 1,
    },
    { id: 2, words: ["The", "the", "the"], pos: [], tags: ["O", "O", "O"], line: 2 },
  ];
  const plain = buildVocab(sentences);
  const fallback = buildVocab(sentences, { caseFallback: true });
  assert.equal(wordId(plain, "OBAMA"), plain.unknownId);
  assert.equal(wordId(fallback, "OBAMA"), fallback.wordIndex.get("Obama"), "Obama is seen twice");
  assert.equal(wordId(fallback, "THE"), fallback.wordIndex.get("the"), "the is seen twice");
  assert.equal(wordId(fallback, "obama"), fallback.wordIndex.get("obama"), "exact first");
  assert.equal(wordId(fallback, "MET"), fallback.wordIndex.get("met"));
  assert.equal(wordId(fallback, "Paris"), fallback.unknownId);
  const restored = vocabFromJSON(vocabToJSON(fallback));
  assert.equal(restored.options.caseFallback, true, "saved and restored");
  const { options: _options, ...old } = vocabToJSON(plain);
  const oldFile = { ...old, options: { minFrequency: 1, lowercase: false } };
  assert.equal(vocabFromJSON(oldFile).options.caseFallback, false, "older files: off");
});

Deno.test("case augmentation swaps a seeded share of rows for their upper/lowercased words", () => {
  const sentences = syntheticSentences(64, 5);
  const config = resolveTrainConfig({
    maxLen: 12,
    caseAugmentation: 0.5,
    caseFallback: true,
    model: { charFeatures: true },
  });
  const data = prepareData(sentences, config);
  assert.ok(data.caseVariants, "variants are encoded");
  const rows = Array.from({ length: 32 }, (_, row) => row);
  const batch = gatherBatch(data.fit, rows);
  const features = gatherFeatures(data.fitFeatures, rows, data.fit.maxLen)!;
  const original = { words: batch.wordIds.slice(), casing: features.casingIds!.slice() };
  let draws = 0;
  const sequence = [0.1, 0.3, 0.9];
  augmentCase(batch, features, rows, data, {
    rate: 0.5,
    random: () => sequence[draws++ % sequence.length],
  });
  assert.equal(draws, 32, "one draw per row");
  const width = data.fit.maxLen;
  const rowOf = (array: Int32Array, row: number) =>
    Array.from(array.subarray(row * width, (row + 1) * width));
  const variantRow = (variant: "upper" | "lower", row: number, field: "wordIds" | "casingIds") =>
    field === "wordIds"
      ? Array.from(data.caseVariants![variant].wordIds.subarray(row * width, (row + 1) * width))
      : Array.from(
        data.caseVariants![variant].features!.casingIds.subarray(row * width, (row + 1) * width),
      );
  // draws 0.1 → upper (below 0.25), 0.3 → lower (below 0.5), 0.9 → kept
  assert.deepEqual(rowOf(features.casingIds!, 0), variantRow("upper", 0, "casingIds"));
  assert.deepEqual(rowOf(batch.wordIds, 1), variantRow("lower", 1, "wordIds"));
  assert.deepEqual(rowOf(batch.wordIds, 2), rowOf(original.words, 2));
  assert.notDeepEqual(rowOf(features.casingIds!, 0), rowOf(original.casing, 0));
  const off = prepareData(sentences, resolveTrainConfig({ maxLen: 12 }));
  assert.equal(off.caseVariants, undefined, "no augmentation: no variants, no draws");
  let noDraws = 0;
  augmentCase(batch, undefined, rows, off, { rate: 0, random: () => (noDraws++, 0) });
  assert.equal(noDraws, 0);
});

/** A small tagger for `sentences`, seeded, with its maps. */
function smallTagger(sentences: Sentence[], seed: number, caseFallback = false): MappedTagger {
  const vocab = buildVocab(sentences, { caseFallback });
  const chars = buildCharVocab(sentences);
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: 8,
    numChars: chars.chars.length,
    charFeatures: true,
    modelType: "bilstm-crf",
    embeddingDim: 8,
    units: 6,
    charDim: 5,
    charFilters: 7,
    casingDim: 3,
    maxChars: 8,
    seed,
  });
  tagger.model.setWeights(tagger.model.getWeights().map((w) => tf.mul(w, 3)));
  return { tagger, vocab, chars };
}

Deno.test("an ensemble with caseless members routes each sentence by its casing, in order", () => {
  const sentences = syntheticSentences(40, 8);
  const cased = smallTagger(sentences, 1);
  const caseless = smallTagger(sentences, 2, true);
  try {
    const words = [
      sentences[0].words,
      sentences[1].words.map((word) => word.toUpperCase()),
      sentences[2].words,
      sentences[3].words.map((word) => word.toLowerCase()),
    ];
    assert.deepEqual(words.map(isCaseless), [false, true, false, true]);
    const routed = predictTokens({ members: [cased], caseless: [caseless] }, words);
    const byCased = predictTokens(cased, words);
    const byCaseless = predictTokens(caseless, words);
    assert.deepEqual(routed[0], byCased[0]);
    assert.deepEqual(routed[1], byCaseless[1]);
    assert.deepEqual(routed[2], byCased[2]);
    assert.deepEqual(routed[3], byCaseless[3]);
    assert.notDeepEqual(byCased[1], byCaseless[1], "the two taggers differ, so routing shows");
    const gold = sentences.slice(0, 12);
    const upper = evaluateModel({ members: [cased], caseless: [caseless] }, gold, {
      casing: "upper",
    });
    const direct = evaluateModel(caseless, gold, { casing: "upper" });
    assert.equal(upper.casing, "upper");
    assert.deepEqual(upper.predictions, direct.predictions, "uppercased: all caseless");
  } finally {
    cased.tagger.dispose();
    caseless.tagger.dispose();
  }
});

Deno.test("ensemble folders keep caseless members; export --caseless-from writes them", async () => {
  const sentences = syntheticSentences(40, 8);
  await withTempDir(async (dir) => {
    for (const [name, seed] of [["a", 1], ["b", 2]] as const) {
      const mapped = smallTagger(sentences, seed, seed === 2);
      await saveModelFolder(`${dir}/${name}`, mapped);
      mapped.tagger.dispose();
    }
    const [a, b] = [await loadTaggerFolder(`${dir}/a`), await loadTaggerFolder(`${dir}/b`)];
    await saveEnsembleFolder(`${dir}/saved`, [a], { caseless: [b] });
    a.tagger.dispose();
    b.tagger.dispose();
    const config = JSON.parse(await Deno.readTextFile(`${dir}/saved/ensemble.json`));
    assert.deepEqual(config.members, ["member-1"]);
    assert.deepEqual(config.caseless, ["caseless-1"]);
    const loaded = await loadModelFolder(`${dir}/saved`);
    assert.equal(loaded.members.length, 1);
    assert.equal(loaded.caseless.length, 1);
    const words = [sentences[5].words.map((word) => word.toUpperCase())];
    const single = await loadModelFolder(`${dir}/b`);
    assert.deepEqual(predictTokens(loaded, words), predictTokens(single, words));
    for (const model of [loaded, single]) {
      for (const m of [...model.members, ...model.caseless]) m.tagger.dispose();
    }
    const exported = await withCapturedConsole(() =>
      exportCli(["--from", `${dir}/a`, "--caseless-from", `${dir}/b`, "--to", `${dir}/exported`])
    );
    assert.equal(exported.result, 0, exported.errors.join("\n"));
    assert.match(exported.logs.join("\n"), /caseless sentences by .*\/b/);
    const written = JSON.parse(await Deno.readTextFile(`${dir}/exported/ensemble.json`));
    assert.deepEqual(written.caseless, ["caseless-1"]);
    await Deno.writeTextFile(
      `${dir}/saved/ensemble.json`,
      JSON.stringify({ ...config, caseless: ["member-1"] }),
    );
    await assert.rejects(
      loadModelFolder(`${dir}/saved`),
      /fields "members" and "caseless" name "member-1" twice/,
    );
  });
});
