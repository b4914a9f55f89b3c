import assert from "node:assert/strict";
import { bestEpochOf } from "../lib/train/checkpoint.ts";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { loadModelFolder } from "../lib/io/mod.ts";
import { seededRandom } from "../lib/data/random.ts";
import { Tagger } from "../lib/model/tagger.ts";
import {
  dropSingletons,
  epochLearningRate,
  NonFiniteLossError,
  prepareData,
  resolveTrainConfig,
  train,
  type TrainConfig,
} from "../lib/train/mod.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { straightAndResumed, weightsOf } from "./fixtures/resume.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

const tinyConfig: TrainConfig = {
  epochs: 3,
  batchSize: 8,
  maxLen: 10,
  seed: 5,
  learningRate: 0.01,
  model: { embeddingDim: 8, units: 6 },
};

Deno.test("training lowers the loss, keeps memory flat and leaves a loadable run folder", async () => {
  await initBackend({ backend: "wasm" });
  await withTempDir(async (out) => {
    const result = await train({
      trainSentences: syntheticSentences(80),
      config: tinyConfig,
      out,
      progress: null,
    });
    const { history } = result;
    assert.deepEqual(history.epoch, [1, 2, 3]);
    assert.ok(history.loss[2] < history.loss[0], `loss fell: ${history.loss}`);
    assert.equal(history.numTensors[2], history.numTensors[1], "no tensors leak across epochs");
    assert.ok(history.valAccuracy.every((value) => value > 0 && value <= 1));
    // The last checkpoint holds the weights training ended with.
    const loaded = await loadModelFolder(out, { checkpoint: "last" });
    const [member] = loaded.members;
    assert.equal(member.tagger.config.maxLen, 10);
    assert.deepEqual(member.vocab.words, result.vocab.words);
    const expected = result.tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
    const actual = member.tagger.model.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(actual, expected);
    const best = bestEpochOf(history)!;
    assert.deepEqual(result.bestEpoch, best);
    const checkpoints = [...Deno.readDirSync(`${out}/checkpoints`)].map((entry) => entry.name);
    assert.deepEqual(
      checkpoints.sort(),
      [...new Set(["epoch-003", `epoch-00${best.epoch}`])].sort(),
      "the latest and the best complete checkpoints are kept, no others",
    );
  });
});

Deno.test("validationSplit 0 trains on every sentence and records no validation scores", async () => {
  await initBackend({ backend: "wasm" });
  await withTempDir(async (out) => {
    const sentences = syntheticSentences(60);
    const lines: string[] = [];
    const result = await train({
      trainSentences: sentences,
      config: { ...tinyConfig, epochs: 2, validationSplit: 0 },
      out,
      progress: (line) => lines.push(line),
    });
    assert.ok(lines.join("").includes("training on 60 sentences"), lines.join(""));
    assert.ok(!lines.join("").includes("val_loss"), "no validation metrics are shown");
    assert.ok(result.history.valLoss.every(Number.isNaN));
    assert.ok(result.history.valAccuracy.every(Number.isNaN));
    const saved = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    assert.deepEqual(saved.valLoss, [null, null], "NaN is stored as null");
    const split = await train({
      trainSentences: sentences,
      config: { ...tinyConfig, epochs: 1 },
      progress: null,
    });
    assert.ok(Number.isFinite(split.history.valLoss[0]), "the default split still validates");
    split.tagger.dispose();
    result.tagger.dispose();
  });
});

Deno.test("learning-rate decay: a vanishing rate after epoch 1 leaves epoch 1's weights", async () => {
  await initBackend({ backend: "wasm" });
  assert.equal(epochLearningRate(resolveTrainConfig({ learningRateDecay: 0.5 }), 3), 0.00025);
  assert.throws(() => resolveTrainConfig({ learningRateDecay: 0 }), /learningRateDecay/);
  const sentences = syntheticSentences(40);
  const run = async (epochs: number, learningRateDecay: number) => {
    const result = await train({
      trainSentences: sentences,
      config: { ...tinyConfig, epochs, learningRateDecay },
      progress: null,
    });
    const weights = weightsOf(result.tagger);
    result.tagger.dispose();
    return weights;
  };
  const one = await run(1, 1);
  const frozen = await run(2, 1e-9);
  const constant = await run(2, 1);
  const maxDifference = (a: number[][], b: number[][]) =>
    Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));
  assert.ok(maxDifference(one, frozen) < 1e-6, "epoch 2 at ~0 learning rate changes nothing");
  assert.ok(maxDifference(one, constant) > 1e-3, "epoch 2 at the full rate does change weights");
});

Deno.test("the train CLI names a bad --validation-split or --learning-rate", async () => {
  const { errors } = await withCapturedConsole(async () => {
    assert.equal(await trainCli(["--validation-split", "1"]), 2);
    assert.equal(await trainCli(["--learning-rate=0"]), 2);
  });
  assert.match(errors[0], /--validation-split must be in \[0, 1\), got "1"/);
  assert.match(errors[1], /--learning-rate must be a positive number, got "0"/);
});

Deno.test("the train CLI passes model-shape flags into the saved model, and names bad ones", async () => {
  const { errors } = await withCapturedConsole(async () => {
    assert.equal(await trainCli(["--char-features", "--char-width", "4"]), 2);
    assert.equal(await trainCli(["--char-filters", "8"]), 2);
    assert.equal(await trainCli(["--recurrent-dropout", "1"]), 2);
    assert.equal(await trainCli(["--embedding-dim", "0"]), 2);
    assert.equal(await trainCli(["--char-features", "--char-activation", "sigmoid"]), 2);
    assert.equal(await trainCli(["--char-activation", "relu"]), 2);
  });
  assert.match(errors[0], /--char-width must be odd, got "4"/);
  assert.match(errors[1], /--char-filters and --char-width need --char-features/);
  assert.match(errors[2], /--recurrent-dropout must be in \[0, 1\), got "1"/);
  assert.match(errors[3], /--embedding-dim must be a positive integer, got "0"/);
  assert.match(errors[4], /--char-activation must be one of tanh, relu, got "sigmoid"/);
  assert.match(errors[5], /need --char-features.*\(given: --char-activation\)/);
  await withTempDir(async (out) => {
    const flags = ["--limit", "40", "--epochs", "1", "--units", "4", "--threads", "1"];
    const shape = ["--embedding-dim", "6", "--recurrent-dropout", "0.25"];
    const chars = [
      ...["--char-features", "--char-filters", "5", "--char-width", "5"],
      ...["--char-activation", "relu"],
    ];
    const args = [...flags, ...shape, ...chars, "--out", out, "--json"];
    assert.equal((await withCapturedConsole(() => trainCli(args))).result, 0);
    const loaded = await loadModelFolder(out);
    const [member] = loaded.members;
    try {
      const { embeddingDim, recurrentDropout, charFilters, charWidth, charActivation } =
        member.tagger.config;
      assert.deepEqual([embeddingDim, recurrentDropout, charFilters, charWidth], [6, 0.25, 5, 5]);
      assert.equal(charActivation, "relu");
      assert.equal(member.tagger.parts.charCnn?.config.activation, "relu", "the layer uses it");
      const shapes = member.tagger.model.weights.map((weight) => weight.shape.join("x"));
      assert.ok(shapes.includes(`${member.vocab.words.length}x6`), `word embedding: ${shapes}`);
      // The char CNN kernel is stored as [width · charDim, filters]; charDim is 25 by default.
      assert.ok(shapes.includes(`${5 * 25}x5`), `char CNN kernel: ${shapes}`);
    } finally {
      member.tagger.dispose();
    }
  });
});

Deno.test("a run interrupted mid-epoch resumes from its last checkpoint to the same weights", async () => {
  await initBackend({ backend: "wasm" });
  const sentences = syntheticSentences(60);
  await withTempDir(async (directory) => {
    const { straight, resumed, epochAtInterrupt, resumedDirectory } = await straightAndResumed(
      sentences,
      tinyConfig,
      directory,
    );
    assert.equal(epochAtInterrupt, 1, "epoch 1 is the last complete checkpoint");
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.deepEqual(resumed.history.epoch, [1, 2, 3]);
    assert.deepEqual(resumed.history.loss, straight.history.loss);
    assert.deepEqual(
      weightsOf(resumed.tagger),
      weightsOf(straight.tagger),
      "resumed weights equal the uninterrupted run's",
    );
    await assert.rejects(
      train({ trainSentences: sentences, config: tinyConfig, out: resumedDirectory }),
      /already holds a training run/,
    );
  });
});

Deno.test("a NaN loss stops training with a clear message", async () => {
  await initBackend({ backend: "wasm" });
  const sentences = syntheticSentences(40);
  const config = { ...tinyConfig, epochs: 1 };
  const vocab = prepareData(sentences, resolveTrainConfig(config)).vocab;
  const tagger = new Tagger({
    ...config.model,
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    maxLen: config.maxLen,
  });
  const head = tagger.model.getLayer("tags");
  head.setWeights(head.getWeights().map((weight) => tf.fill(weight.shape, NaN)));
  await assert.rejects(
    train({ trainSentences: sentences, config, tagger, vocab, progress: null }),
    (error: unknown) => {
      assert.ok(error instanceof NonFiniteLossError);
      assert.match(error.message, /loss became NaN at epoch 1, step 1 /);
      return true;
    },
  );
});

Deno.test("singleton dropout replaces only once-seen real words, reproducibly", () => {
  const singletons = new Uint8Array([0, 0, 1, 0, 1]);
  const run = () => {
    const wordIds = new Int32Array([2, 3, 4, 2, 0, 4]);
    const mask = new Float32Array([1, 1, 1, 1, 0, 0]);
    dropSingletons(wordIds, mask, singletons, 1, { rate: 1, random: seededRandom(1) });
    return Array.from(wordIds);
  };
  assert.deepEqual(run(), [1, 3, 1, 1, 0, 4]);
  const unchanged = new Int32Array([2, 3]);
  dropSingletons(unchanged, new Float32Array([1, 1]), singletons, 1, {
    rate: 0,
    random: Math.random,
  });
  assert.deepEqual(Array.from(unchanged), [2, 3]);
});

Deno.test("bad settings are named", async () => {
  await assert.rejects(
    train({ trainSentences: syntheticSentences(10), config: { epochs: 0 }, progress: null }),
    /epochs must be a positive integer/,
  );
});

Deno.test("countPadding reproduces the tutorial's fault: padding counted, not masked", async () => {
  await initBackend({ backend: "wasm" });
  const sentences = syntheticSentences(60);
  const config = { ...tinyConfig, epochs: 6 };
  const honest = await train({ trainSentences: sentences, config, progress: null });
  const faulty = await train({
    trainSentences: sentences,
    config: { ...config, countPadding: true },
    progress: null,
  });
  const maskZero = (result: typeof honest) =>
    result.tagger.model.getLayer("embedding").getConfig().maskZero;
  assert.equal(maskZero(honest), true);
  assert.equal(maskZero(faulty), false);
  assert.ok(
    faulty.history.valAccuracy[5] > honest.history.valAccuracy[5],
    `padding inflates accuracy: ${faulty.history.valAccuracy} vs ${honest.history.valAccuracy}`,
  );
});
