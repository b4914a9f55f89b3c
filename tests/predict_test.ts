import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadModelFolder } from "../lib/io/mod.ts";
import {
  argmaxDecoder,
  planWindows,
  predictTokens,
  predictWordIds,
} from "../lib/predict/predict.ts";
import { predictText, predictTexts } from "../lib/predict/predict_text.ts";
import { saveVocab } from "../lib/data/vocab.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";

const TRAINING = sentencesOf([
  [["Paris", "B-geo"], ["is", "O"], ["in", "O"], ["France", "B-geo"], [".", "O"]],
  [["Narendra", "B-per"], ["Modi", "I-per"], ["visited", "O"], ["New", "B-geo"], ["York", "I-geo"]],
  [["Monday", "B-tim"], ["the", "O"], ["U.N.", "B-org"], ["met", "O"], ["$", "O"], ["1", "O"]],
]);

const LOOKUP: Record<string, string> = {
  Paris: "B-geo",
  France: "B-geo",
  Narendra: "B-per",
  Modi: "I-per",
  New: "B-geo",
  York: "I-geo",
  Monday: "B-tim",
  "U.N.": "B-org",
};

const CLI = new URL("../lib/cli/predict.ts", import.meta.url).pathname;

async function runCli(args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("planWindows covers every token of long sentences exactly once, in order", () => {
  for (const maxLen of [1, 2, 3, 4, 5, 50]) {
    for (const length of [0, 1, maxLen - 1, maxLen, maxLen + 1, 2 * maxLen + 3, 7 * maxLen]) {
      const windows = planWindows(length, maxLen);
      const covered = new Array(Math.max(length, 0)).fill(0);
      let expectedFrom = 0;
      for (const window of windows) {
        assert.ok(window.length <= maxLen, "a window fits the model");
        assert.ok(window.start >= 0 && window.start + window.length <= length);
        assert.equal(window.keepFrom, expectedFrom, "kept ranges are contiguous");
        assert.ok(window.keepFrom >= window.start && window.keepTo <= window.start + window.length);
        for (let token = window.keepFrom; token < window.keepTo; token++) covered[token]++;
        expectedFrom = window.keepTo;
      }
      assert.equal(expectedFrom, Math.max(length, 0));
      assert.ok(covered.every((count) => count === 1), `maxLen ${maxLen}, length ${length}`);
    }
  }
  assert.deepEqual(planWindows(3, 50), [{ start: 0, length: 3, keepFrom: 0, keepTo: 3 }]);
});

Deno.test("long sentences are tagged whole through windows, each token from its own word", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const [{ tagger, vocab }] = loaded.members;
    assert.equal(tagger.config.maxLen, 4);
    const cycle = ["Paris", "is", "Monday", "U.N.", "Modi", "the", "York"];
    const words = Array.from({ length: 31 }, (_, i) => cycle[i % cycle.length]);
    const [tags] = predictTokens(loaded, [words], { batchSize: 3 });
    assert.equal(tags.length, words.length);
    tags.forEach((prediction, i) => assert.equal(prediction.tag, LOOKUP[words[i]] ?? "O"));
    const [ids] = predictWordIds(loaded, [words.map((word) => vocab.wordIndex.get(word)!)]);
    assert.equal(ids.firstWindowTagIds.length, 4, "the first window is maxLen tokens");
  });
});

Deno.test("predictText gives offsets into the input and entity types without prefix", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const text = "  Narendra  Modi visited New York on Monday.\n\nThe U.N. met in Paris, France!";
    const { tokens, entities } = predictText(loaded, text);
    for (const token of tokens) assert.equal(text.slice(token.start, token.end), token.text);
    assert.deepEqual(tokens.map((t) => t.text).slice(0, 3), ["Narendra", "Modi", "visited"]);
    assert.deepEqual(
      entities.map((e) => [e.text, e.type]),
      [
        ["Narendra  Modi", "per"],
        ["New York", "geo"],
        ["Monday", "tim"],
        ["U.N.", "org"],
        ["Paris", "geo"],
        ["France", "geo"],
      ],
    );
    for (const entity of entities) {
      assert.equal(text.slice(entity.start, entity.end), entity.text);
      assert.ok(!/^[BI]-/.test(entity.type));
      assert.ok(entity.score > 0.99 && entity.score <= 1, "score is a mean probability");
    }
  });
});

Deno.test("entity score is the mean probability of the entity's tokens", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    // scale 1: the looked-up tag has logit 1, the others 0, so probabilities are well below 1.
    const loaded = await buildLookupModel(directory, {
      sentences: TRAINING,
      lookup: LOOKUP,
      scale: 1,
    });
    const { tokens, entities } = predictText(loaded, "Narendra Modi");
    assert.equal(entities.length, 1);
    const numTags = loaded.members[0].vocab.tags.length;
    const expected = Math.E / (Math.E + numTags - 1);
    assert.ok(Math.abs(tokens[0].probability - expected) < 1e-6);
    const mean = (tokens[0].probability + tokens[1].probability) / 2;
    assert.ok(Math.abs(entities[0].score - mean) < 1e-7);
  });
});

Deno.test("a 10,000-word text gives one token per word and empty text gives nothing", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    // No sentence-final punctuation: one 10,000-token sentence, tagged in windows.
    const words = Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? "Paris" : "word"));
    const text = words.join(" ");
    const { tokens, entities } = predictText(loaded, text);
    assert.equal(tokens.length, 10_000);
    assert.equal(entities.length, Math.ceil(10_000 / 3));
    assert.ok(tokens.every((t, i) => t.tag === (i % 3 === 0 ? "B-geo" : "O")));
    assert.deepEqual(predictText(loaded, ""), { tokens: [], entities: [] });
    assert.deepEqual(predictText(loaded, " \n\t "), { tokens: [], entities: [] });
    assert.deepEqual(predictTokens(loaded, [[], ["Paris"], []]).map((s) => s.length), [0, 1, 0]);
  });
});

Deno.test("predictTexts batches several texts and keeps each text's own offsets", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const texts = ["Paris is nice. So is France.", "", "Monday in New York"];
    const batched = predictTexts(loaded, texts, { batchSize: 1 });
    assert.equal(batched.length, 3);
    batched.forEach((prediction, i) => assert.deepEqual(prediction, predictText(loaded, texts[i])));
    assert.deepEqual(batched[2].entities.map((e) => [e.start, e.end, e.type]), [
      [0, 6, "tim"],
      [10, 18, "geo"],
    ]);
  });
});

Deno.test("unknown words go through <unk>", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, {
      sentences: TRAINING,
      lookup: LOOKUP,
      unknownTag: "B-org",
    });
    const [tags] = predictTokens(loaded, [["Zyxwv", "is", "Paris", "paris"]]);
    assert.deepEqual(tags.map((t) => t.tag), ["B-org", "O", "B-geo", "B-org"]);
  });
});

Deno.test("the padding label is never predicted for a real token, even when most probable", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, {
      sentences: TRAINING,
      lookup: LOOKUP,
      padLogit: 50,
    });
    const { tokens } = predictText(loaded, "Narendra Modi visited Paris and Zyxwv.");
    assert.ok(tokens.length > 0);
    for (const token of tokens) {
      assert.notEqual(token.tag, "<pad>");
      assert.ok(token.probability < 1e-6, "the pad label holds almost all the mass");
    }
    // The lookup tag still wins among the real tags.
    assert.deepEqual(tokens.slice(0, 4).map((t) => t.tag), ["B-per", "I-per", "O", "B-geo"]);
    // Even a row of all-equal real scores decodes to a real tag.
    const decoded = argmaxDecoder(new Float32Array([0.97, 0.01, 0.01, 0.01]), 1, 4);
    assert.deepEqual([...decoded.tagIds], [1]);
  });
});

Deno.test("a model whose maps do not match its weights fails with a clear message", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const [{ vocab }] = loaded.members;
    await saveVocab(
      { ...vocab, tags: vocab.tags.slice(0, -1) },
      `${directory}/vocab.json`,
    );
    await assert.rejects(loadModelFolder(directory), /maps and weights do not match/);
    const result = await runCli(["--model", directory, "--backend", "cpu", "Paris"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /maps and weights do not match/);
  });
});

Deno.test("the predict CLI prints JSON for text and for stdin lines", async () => {
  await withTempDir(async (directory) => {
    await tf.setBackend("cpu");
    await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const single = await runCli([
      "--model",
      directory,
      "--json",
      "--backend",
      "cpu",
      "Modi",
      "in",
      "Paris",
    ]);
    assert.equal(single.code, 0, single.stderr);
    const json = JSON.parse(single.stdout);
    assert.deepEqual(json.tokens.map((t: { tag: string }) => t.tag), ["I-per", "O", "B-geo"]);
    assert.deepEqual(json.entities.map((e: { type: string }) => e.type), ["per", "geo"]);
    const lines = new TextEncoder().encode("Paris\n\nNew York is far\n");
    const many = await runCli(["--model", directory, "--json", "--backend", "cpu"], lines);
    assert.equal(many.code, 0, many.stderr);
    const documents = JSON.parse(many.stdout).documents;
    assert.deepEqual(
      documents.map((d: { line: number; entities: unknown[] }) => [d.line, d.entities.length]),
      [[1, 1], [2, 0], [3, 1]],
    );
    const table = await runCli(["--model", directory, "--backend", "cpu", "New York"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Word\s+Tag\s+p/);
    assert.match(table.stdout, /New York\s+geo/);
  });
});

Deno.test("the predict CLI rejects non-UTF-8 stdin, a missing model and bad flags", async () => {
  const bad = await runCli(["--model", "/nonexistent/model"], new Uint8Array([0xff, 0xfe, 0x41]));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /stdin is not valid UTF-8/);
  assert.equal(bad.stdout, "");
  const missing = await runCli(["--model", "/nonexistent/model", "--backend", "cpu", "Paris"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\/model: model folder not found/);
  const flag = await runCli(["--colour", "Paris"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--colour/);
  const backend = await runCli(["--backend", "gpu", "Paris"]);
  assert.equal(backend.code, 2);
  assert.match(backend.stderr, /--backend must be wasm or cpu/);
});
