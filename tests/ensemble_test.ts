/**
 * `lib/predict/ensemble.ts` and ensemble folders: averaging, decoding the average, loading checks, and
 * the export CLI writing an ensemble.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab } from "../lib/data/chars.ts";
import type { Sentence } from "../lib/data/corpus.ts";
import { readCrfParameters, viterbiDecode } from "../lib/model/crf/mod.ts";
import { averageCrfParameters, averageScores } from "../lib/predict/ensemble.ts";
import { evaluateModel } from "../lib/evaluate/evaluate.ts";
import { Tagger, type TaggerOptions } from "../lib/model/mod.ts";
import {
  ENSEMBLE_FILE,
  type LoadedTagger,
  loadModelFolder,
  loadTaggerFolder,
  saveEnsembleFolder,
  saveModelFolder,
} from "../lib/io/mod.ts";
import { predictTokens, predictWordIds, type TagDecoder } from "../lib/predict/predict.ts";
import { buildVocab, wordId } from "../lib/data/vocab.ts";
import { main as exportCli } from "../lib/cli/export.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

const SMALL = { embeddingDim: 8, units: 6, charDim: 5, charFilters: 7, casingDim: 3, maxChars: 8 };
const MAX_LEN = 6;

/** Saves an untrained small tagger built from `sentences` into `directory` and loads it. */
async function smallFolder(
  directory: string,
  sentences: Sentence[],
  variant: Partial<TaggerOptions>,
  vocabOptions: { lowercase?: boolean } = {},
  maxLen = MAX_LEN,
): Promise<LoadedTagger> {
  const vocab = buildVocab(sentences, vocabOptions);
  const chars = buildCharVocab(sentences);
  const modelConfig = {
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen,
    numChars: chars.chars.length,
    ...SMALL,
    ...variant,
  };
  const tagger = new Tagger(modelConfig);
  // Untrained CRF scores are small; scale the head so that averaging visibly changes paths.
  tagger.model.setWeights(tagger.model.getWeights().map((w) => tf.mul(w, 3)));
  await saveModelFolder(directory, { tagger, vocab, chars: variant.charFeatures ? chars : null });
  tagger.dispose();
  return await loadTaggerFolder(directory);
}

/** Captures the scores a decoder is handed, per window, in call order. */
function capturingDecoder(into: Float32Array[]): TagDecoder {
  return (scores, length, numTags) => {
    into.push(scores.slice(0, length * numTags));
    return { tagIds: new Int32Array(length).fill(1), probabilities: new Float32Array(length) };
  };
}

const CRF_CHARS: Partial<TaggerOptions> = { modelType: "bilstm-crf", charFeatures: true };

Deno.test("averageScores: element-wise mean over the fewest time steps; one member is itself", () => {
  const a = { scores: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), time: 2 }; // [2 rows, 2, 2]
  const b = { scores: Float32Array.from([3, 4, 9, 9, 7, 8, 9, 9]), time: 2 };
  const c = { scores: Float32Array.from([5, 6, 11, 12]), time: 1 }; // [2 rows, 1, 2]
  assert.deepEqual(Array.from(averageScores([a, b], 2, 2).scores), [2, 3, 6, 6.5, 6, 7, 8, 8.5]);
  const mixed = averageScores([a, c], 2, 2);
  assert.equal(mixed.time, 1);
  assert.deepEqual(Array.from(mixed.scores), [3, 4, 8, 9]);
  assert.equal(averageScores([a], 2, 2), a);
  assert.throws(() => averageScores([], 2, 2), /no member/);
  assert.throws(
    () => averageScores([a, { scores: new Float32Array(3), time: 2 }], 2, 2),
    /1 gave 3/,
  );
});

Deno.test("averageCrfParameters: mean transitions, start and end; label counts must agree", () => {
  const p = {
    transitions: Float32Array.from([1, 2, 3, 4]),
    start: Float32Array.from([1, -1]),
    end: Float32Array.from([0, 2]),
  };
  const q = {
    transitions: Float32Array.from([3, 2, 1, 0]),
    start: Float32Array.from([3, 1]),
    end: Float32Array.from([2, 2]),
  };
  const mean = averageCrfParameters([p, q]);
  assert.deepEqual(Array.from(mean.transitions), [2, 2, 2, 2]);
  assert.deepEqual(Array.from(mean.start), [2, 0]);
  assert.deepEqual(Array.from(mean.end), [1, 2]);
  const r = { ...q, start: Float32Array.from([1, 2, 3]) };
  assert.throws(() => averageCrfParameters([p, r]), /label count/);
  assert.throws(() => averageCrfParameters([]), /no members/);
});

Deno.test("an ensemble averages its members' scores in every window of long sentences", async () => {
  const sentences = syntheticSentences(24, 5);
  await withTempDir(async (root) => {
    const first = await smallFolder(`${root}/a`, sentences, { ...CRF_CHARS, seed: 1 });
    const second = await smallFolder(`${root}/b`, sentences, { ...CRF_CHARS, seed: 2 });
    await saveEnsembleFolder(`${root}/ensemble`, [first, second], { description: "seeds 1, 2" });
    const ensemble = await loadModelFolder(`${root}/ensemble`);
    assert.equal(ensemble.members.length, 2);
    assert.notEqual(ensemble.ensemble, null, "an ensemble folder");
    assert.equal(ensemble.directory, `${root}/ensemble`);
    const config = JSON.parse(await Deno.readTextFile(`${root}/ensemble/${ENSEMBLE_FILE}`));
    assert.deepEqual(config.members, ["member-1", "member-2"]);
    assert.equal(config.description, "seeds 1, 2");

    // Doubled sentences are longer than MAX_LEN: they are tagged in windows, each averaged.
    const words = sentences.map((s) => [...s.words, ...s.words]);
    const ids = words.map((w) =>
      Int32Array.from(w, (word) => wordId(ensemble.members[0].vocab, word))
    );
    const captured = [first, second, ensemble].map((loaded) => {
      const windows: Float32Array[] = [];
      predictWordIds(loaded, ids, { words, decoder: capturingDecoder(windows) });
      return windows;
    });
    assert.ok(captured[2].length > sentences.length, "long sentences make several windows");
    captured[2].forEach((mean, window) => {
      assert.equal(mean.length, captured[0][window].length);
      mean.forEach((value, i) => {
        const expected = (captured[0][window][i] + captured[1][window][i]) / 2;
        assert.ok(Math.abs(value - expected) < 1e-5, `window ${window} value ${i}`);
      });
    });
    for (const loaded of [first, second, ...ensemble.members]) loaded.tagger.dispose();
  });
});

Deno.test("an ensemble's tags are the Viterbi path of the mean emissions under the mean CRF", async () => {
  const sentences = syntheticSentences(40, 6);
  await withTempDir(async (root) => {
    const members = [
      await smallFolder(`${root}/a`, sentences, { ...CRF_CHARS, seed: 3 }, {}, 40),
      await smallFolder(`${root}/b`, sentences, { ...CRF_CHARS, seed: 4 }, {}, 40),
      await smallFolder(`${root}/c`, sentences, { ...CRF_CHARS, seed: 5 }, {}, 40),
    ];
    await saveEnsembleFolder(`${root}/ensemble`, members);
    const ensemble = await loadModelFolder(`${root}/ensemble`);
    const crfOf = (loaded: LoadedTagger) => readCrfParameters(loaded.tagger.parts.crf!);
    const meanCrf = averageCrfParameters(members.map(crfOf));
    const [{ vocab }] = ensemble.members;
    const numTags = vocab.tags.length;
    let differsFromFirst = 0;
    for (const sentence of sentences) {
      const words = [sentence.words];
      const ids = [Int32Array.from(sentence.words, (word) => wordId(vocab, word))];
      const means: Float32Array[] = [];
      predictWordIds(ensemble, ids, { words, decoder: capturingDecoder(means) });
      assert.equal(means.length, 1, "a sentence that fits is one window");
      const expected = viterbiDecode(means[0], sentence.words.length, meanCrf, numTags, 0).tags;
      const [predicted] = predictWordIds(ensemble, ids, { words });
      assert.deepEqual(Array.from(predicted.tagIds), expected);
      const [alone] = predictWordIds(members[0], ids, { words });
      if (expected.some((tag, t) => tag !== alone.tagIds[t])) differsFromFirst++;
    }
    assert.ok(differsFromFirst > 0, "averaging changes some paths (the test can tell)");
    for (const loaded of [...members, ...ensemble.members]) loaded.tagger.dispose();
  });
});

Deno.test("an ensemble of one model twice predicts exactly what the model predicts", async () => {
  const sentences = syntheticSentences(30, 7);
  await withTempDir(async (root) => {
    for (const variant of [CRF_CHARS, {}]) {
      const single = await smallFolder(`${root}/single`, sentences, { ...variant, seed: 8 });
      await saveEnsembleFolder(`${root}/twice`, [single, single]);
      const twice = await loadModelFolder(`${root}/twice`);
      const words = sentences.map((s) => s.words);
      const alone = predictTokens(single, words);
      const doubled = predictTokens(twice, words);
      assert.deepEqual(
        doubled.map((s) => s.map((t) => t.tag)),
        alone.map((s) => s.map((t) => t.tag)),
      );
      doubled.flat().forEach((token, i) =>
        assert.ok(Math.abs(token.probability - alone.flat()[i].probability) < 1e-5)
      );
      const scores = evaluateModel(twice, sentences);
      assert.equal(scores.entity.f1, evaluateModel(single, sentences).entity.f1);
      for (const loaded of [single, ...twice.members]) loaded.tagger.dispose();
    }
  });
});

Deno.test("members with their own word map look words up themselves; ids alone are refused", async () => {
  const sentences = syntheticSentences(30, 9);
  await withTempDir(async (root) => {
    const cased = await smallFolder(`${root}/cased`, sentences, { modelType: "bilstm-crf" });
    const lower = await smallFolder(`${root}/lower`, sentences, { modelType: "bilstm-crf" }, {
      lowercase: true,
    });
    await saveEnsembleFolder(`${root}/ensemble`, [cased, lower]);
    const ensemble = await loadModelFolder(`${root}/ensemble`);
    const words = sentences.map((s) => s.words.map((w) => w.toUpperCase()));
    const ids = words.map((w) =>
      Int32Array.from(w, (word) => wordId(ensemble.members[0].vocab, word))
    );
    assert.throws(() => predictWordIds(ensemble, ids), /member-2 has its own word map/);
    const captured = [cased, lower, ensemble].map((loaded, index) => {
      const windows: Float32Array[] = [];
      const own = index === 1
        ? words.map((w) => Int32Array.from(w, (word) => wordId(lower.vocab, word)))
        : ids;
      predictWordIds(loaded, own, { words, decoder: capturingDecoder(windows) });
      return windows;
    });
    captured[2].forEach((mean, window) =>
      mean.forEach((value, i) =>
        assert.ok(Math.abs(value - (captured[0][window][i] + captured[1][window][i]) / 2) < 1e-5)
      )
    );
    for (const loaded of [cased, lower, ...ensemble.members]) loaded.tagger.dispose();
  });
});

Deno.test("members that cannot be averaged are refused, naming the member folder", async () => {
  const sentences = syntheticSentences(20, 10);
  await withTempDir(async (root) => {
    const crf = await smallFolder(`${root}/crf`, sentences, { modelType: "bilstm-crf" });
    const softmax = await smallFolder(`${root}/softmax`, sentences, {});
    const fewerTags = await smallFolder(
      `${root}/fewer`,
      sentences.map((s) => ({ ...s, tags: s.tags.map(() => "O") })),
      { modelType: "bilstm-crf" },
    );
    await saveEnsembleFolder(`${root}/heads`, [crf, softmax]);
    const tensors = tf.memory().numTensors;
    await assert.rejects(
      loadModelFolder(`${root}/heads`),
      /heads\/member-2: cannot join.*softmax head/,
    );
    assert.equal(tf.memory().numTensors, tensors, "members loaded before the error are disposed");
    await saveEnsembleFolder(`${root}/tags`, [crf, fewerTags]);
    await assert.rejects(loadModelFolder(`${root}/tags`), /tags\/member-2: cannot join.*tags/);
    await Deno.writeTextFile(
      `${root}/heads/${ENSEMBLE_FILE}`,
      JSON.stringify({ format: "bilstm-ner-ensemble", version: 1, members: ["../crf"] }),
    );
    await assert.rejects(
      loadModelFolder(`${root}/heads`),
      /heads\/ensemble.json: not a bilstm-ner/,
    );
    await Deno.writeTextFile(
      `${root}/heads/${ENSEMBLE_FILE}`,
      JSON.stringify({ format: "bilstm-ner-ensemble", version: 1, members: [] }),
    );
    await assert.rejects(loadModelFolder(`${root}/heads`), /non-empty list/);
    for (const loaded of [crf, softmax, fewerTags]) loaded.tagger.dispose();
  });
});

Deno.test("export with several --from writes an ensemble that replaces the old folder", async () => {
  const sentences = syntheticSentences(20, 12);
  await withTempDir(async (root) => {
    const first = await smallFolder(`${root}/a`, sentences, { ...CRF_CHARS, seed: 1 });
    const second = await smallFolder(`${root}/b`, sentences, { ...CRF_CHARS, seed: 2 });
    await withCapturedConsole(async () => {
      // An earlier export (a model folder, which export may replace) with a stray file in it.
      assert.equal(await exportCli(["--from", `${root}/a`, "--to", `${root}/out`]), 0);
      await Deno.writeTextFile(`${root}/out/stale.txt`, "from an earlier export");
      assert.equal(
        await exportCli(["--from", `${root}/a`, "--from", `${root}/b`, "--to", `${root}/out/`]),
        0,
      );
      assert.equal(await exportCli(["--to", `${root}/out`]), 2);
    });
    const entries = [];
    for await (const entry of Deno.readDir(`${root}/out`)) entries.push(entry.name);
    assert.deepEqual(entries.sort(), [ENSEMBLE_FILE, "member-1", "member-2"]);
    const ensemble = await loadModelFolder(`${root}/out`);
    const words = sentences.map((s) => s.words);
    const expected: Float32Array[] = [];
    predictWordIds(
      ensemble,
      words.map((w) => Int32Array.from(w, (x) => wordId(ensemble.members[0].vocab, x))),
      {
        words,
        decoder: capturingDecoder(expected),
      },
    );
    const fromMembers = [first, second].map((loaded) => {
      const windows: Float32Array[] = [];
      predictWordIds(loaded, words.map((w) => Int32Array.from(w, (x) => wordId(loaded.vocab, x))), {
        words,
        decoder: capturingDecoder(windows),
      });
      return windows;
    });
    expected.forEach((mean, window) =>
      mean.forEach((value, i) =>
        assert.ok(
          Math.abs(value - (fromMembers[0][window][i] + fromMembers[1][window][i]) / 2) < 1e-5,
        )
      )
    );
    for (const loaded of [first, second, ...ensemble.members]) loaded.tagger.dispose();
  });
});
