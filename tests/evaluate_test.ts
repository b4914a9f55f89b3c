import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadCorpus } from "../lib/data/corpus.ts";
import { loadSplitFile, splitByIds, validationTail } from "../lib/data/encode.ts";
import { tutorialTrainSentences } from "../lib/train/mod.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import {
  evaluateModel,
  evaluationToJSON,
  formatEvaluation,
  PADDED_ACCURACY_DEFINITION,
} from "../lib/evaluate/evaluate.ts";
import { loadModelForCli } from "../lib/cli/predict.ts";
import { validationLeaks } from "../lib/cli/evaluate.ts";
import type { LoadedModel, LoadedTagger } from "../lib/io/mod.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

const CLI = new URL("../lib/cli/evaluate.ts", import.meta.url).pathname;

// maxLen is 4 in these tests: the first two sentences are longer and are tagged in windows.
const GOLD = sentencesOf([
  [["Paris", "B-geo"], ["is", "O"], ["in", "O"], ["New", "B-geo"], ["York", "I-geo"], [".", "O"]],
  [["Narendra", "B-per"], ["Modi", "I-per"], ["met", "O"], ["the", "O"], ["U.N.", "B-org"]],
  [["Monday", "B-tim"]],
]);

/** A lookup model at the corpus's maxLen 50 that tags a few words of GOLD, for CLI runs. */
function buildCorpusLookupModel(directory: string) {
  return buildLookupModel(directory, {
    sentences: GOLD,
    lookup: { the: "O", Paris: "B-geo", New: "B-geo", York: "I-geo" },
    maxLen: 50,
  });
}

async function runCli(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

Deno.test("a model that always predicts O scores 0 entities and the share of O tokens", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, { sentences: GOLD });
    const result = evaluateModel(loaded, GOLD);
    assert.equal(result.sentences, 3);
    assert.equal(result.tokens, 12);
    assert.equal(result.longSentences, 2, "6 and 5 tokens are longer than maxLen 4");
    assert.deepEqual(result.entity, { precision: 0, recall: 0, f1: 0, support: 5 });
    assert.deepEqual(Object.keys(result.perType), ["geo", "org", "per", "tim"]);
    assert.deepEqual(result.perType.geo, { precision: 0, recall: 0, f1: 0, support: 2 });
    // O tokens: is, in, ., met, the.
    close(result.tokenAccuracy, 5 / 12);
    // Rows of 4: [Paris is in New] 2 right; [Narendra Modi met the] 2; [Monday + 3 pad] 3.
    close(result.paddedAccuracy, (2 + 2 + 3) / 12);
    assert.ok(result.predictions.flat().every((tag) => tag === "O"));
  });
});

Deno.test("entity scores and accuracies equal hand-computed values", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, {
      sentences: GOLD,
      lookup: {
        Paris: "B-geo",
        New: "B-geo",
        York: "I-geo",
        Narendra: "B-per",
        Modi: "B-per", // splits the person in two: both wrong
        the: "B-org", // a false positive
        Monday: "B-tim", // U.N. stays O: a miss
      },
    });
    const result = evaluateModel(loaded, GOLD, { batchSize: 2 });
    // Gold: Paris, New York, Narendra Modi, U.N., Monday. Predicted: Paris ✓, New York ✓,
    // Narendra ✗, Modi ✗, the ✗, Monday ✓ → 3 correct of 6 predicted and 5 gold.
    close(result.entity.precision, 3 / 6);
    close(result.entity.recall, 3 / 5);
    close(result.entity.f1, (2 * 0.5 * 0.6) / 1.1);
    assert.deepEqual(result.perType.geo, { precision: 1, recall: 1, f1: 1, support: 2 });
    assert.deepEqual(result.perType.per, { precision: 0, recall: 0, f1: 0, support: 1 });
    assert.deepEqual(result.perType.org, { precision: 0, recall: 0, f1: 0, support: 1 });
    assert.deepEqual(result.perType.tim, { precision: 1, recall: 1, f1: 1, support: 1 });
    close(result.macro.precision, 0.5);
    close(result.macro.f1, 0.5);
    // Wrong tokens: Modi, the, U.N.
    close(result.tokenAccuracy, 9 / 12);
    close(result.paddedAccuracy, (4 + 2 + 4) / 12);
    const { labels, counts } = result.confusion;
    assert.equal(counts[labels.indexOf("I-per")][labels.indexOf("B-per")], 1);
    assert.equal(counts[labels.indexOf("B-org")][labels.indexOf("O")], 1);
    assert.deepEqual(result.predictions[0], GOLD[0].tags, "the windowed sentence is whole");
    const json = JSON.parse(JSON.stringify(evaluationToJSON(result)));
    assert.equal(json.entity.f1, result.entity.f1);
    assert.equal(json.predictions, undefined);
    assert.equal(json.definitions.paddedAccuracy, PADDED_ACCURACY_DEFINITION);
    const text = formatEvaluation(result);
    assert.match(text, /micro avg\s+0\.5000\s+0\.6000\s+0\.5455\s+5/);
    assert.match(text, /token accuracy \(real tokens\)\s+75\.00%/);
    assert.match(text, /padded accuracy \(tutorial\)\s+83\.33%/);
  });
});

Deno.test("the evaluate CLI prints JSON equal to the library's numbers", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildCorpusLookupModel(directory);
    const result = await runCli([
      "--model",
      directory,
      "--limit",
      "40",
      "--json",
      "--backend",
      "cpu",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    const { test } = splitByIds((await loadCorpus()).sentences, await loadSplitFile());
    const expected = evaluateModel(loaded, test.slice(0, 40));
    assert.equal(json.sentences, 40);
    assert.equal(json.model, directory);
    assert.equal(json.backend.backend, "cpu");
    assert.equal(json.entity.precision, expected.entity.precision);
    assert.equal(json.entity.recall, expected.entity.recall);
    assert.equal(json.entity.f1, expected.entity.f1);
    assert.equal(json.tokenAccuracy, expected.tokenAccuracy);
    assert.equal(json.paddedAccuracy, expected.paddedAccuracy);
    assert.deepEqual(json.perType, expected.perType);
    assert.ok(json.paddedAccuracy > json.tokenAccuracy, "padding inflates accuracy");
  });
});

Deno.test("evaluate --split validation scores the trainer's validation tail, not the test split", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildCorpusLookupModel(directory);
    const args = ["--model", directory, "--limit", "40", "--json", "--backend", "cpu"];
    const result = await runCli([...args, "--split", "validation"]);
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout);
    const corpus = await loadCorpus();
    const { validation } = validationTail(await tutorialTrainSentences(corpus.sentences), 0.1);
    assert.equal(validation.length, 3837);
    const expected = evaluateModel(loaded, validation.slice(0, 40));
    const { test } = splitByIds(corpus.sentences, await loadSplitFile());
    const onTest = evaluateModel(loaded, test.slice(0, 40));
    assert.equal(json.split, "validation");
    assert.equal(json.tokens, expected.tokens);
    assert.notEqual(json.tokens, onTest.tokens, "other sentences than the test split's");
    assert.equal(json.entity.f1, expected.entity.f1);
    // This model has no training record, so nothing says the validation tail was held out.
    assert.match(result.stderr, /warning: .* has no training record/);
    const bad = await runCli(["--split", "train"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--split must be test or validation, got "train"/);
  });
});

Deno.test("validationLeaks counts the validation sentences each model folder was trained on", () => {
  const member = (directory: string, training?: Record<string, unknown>) =>
    ({ directory, config: { training } }) as unknown as LoadedTagger;
  const folder = (directory: string, training?: Record<string, unknown>): LoadedModel => ({
    caseless: [],
    directory,
    members: [member(directory, training)],
    ensemble: null,
  });
  const members = [
    member("held-out", { validationSplit: 0.1, limit: null }),
    member("all", { validationSplit: 0, limit: null }),
    member("more-held-out", { validationSplit: 0.2, limit: null }),
    member("all-of-a-few", { validationSplit: 0, limit: 40 }),
    member("all-of-most", { validationSplit: 0, limit: 36000 }),
    member("unknown"),
  ];
  const ensemble: LoadedModel = {
    caseless: [],
    directory: "ensemble",
    members,
    ensemble: {
      format: "bilstm-ner-ensemble",
      version: 1,
      members: members.map((m) => m.directory),
    },
  };
  // 38,367 training sentences: the tail is the last 3,837, from sentence 34,530 on.
  assert.deepEqual(validationLeaks(ensemble, 38367), [
    "all was trained on 3837 of these 3837",
    "all-of-most was trained on 1470 of these 3837",
    "unknown has no training record: it may have been trained on these",
  ]);
  assert.deepEqual(validationLeaks(folder("held-out", { validationSplit: 0.1 }), 38367), []);
});

Deno.test("evaluate --split validation stays quiet about a run that held the tail out", async () => {
  await withTempDir(async (directory) => {
    const tiny = ["--limit", "40", "--epochs", "1", "--units", "4", "--threads", "1", "--json"];
    assert.equal(
      (await withCapturedConsole(() => trainCli([...tiny, "--out", directory]))).result,
      0,
    );
    const result = await runCli(["--model", directory, "--split", "validation", "--limit", "5"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /warning/);
    assert.match(result.stdout, /on the validation split/);
  });
});

Deno.test("the evaluate CLI rejects bad flags and a missing model folder", async () => {
  const limit = await runCli(["--limit", "ten"]);
  assert.equal(limit.code, 2);
  assert.match(limit.stderr, /--limit must be a positive integer, got "ten"/);
  const unknown = await runCli(["--epochs", "3"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--epochs/);
  const missing = await runCli(["--model", "/nonexistent/model", "--backend", "cpu"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\/model: model folder not found/);
  assert.equal(missing.stdout, "");
});

Deno.test("without --model and without the shipped model the CLIs say how to get a model", async () => {
  await assert.rejects(
    loadModelForCli(undefined, { backend: "cpu", threads: 1 }, "/nonexistent/data/model"),
    /no model at \/nonexistent\/data\/model: train one with deno task train or pass --model/,
  );
});
