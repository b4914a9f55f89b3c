/**
 * Pretrained word vectors (issue 26): the reader takes GloVe, word2vec and fastText text files
 * (header or not, plain or gzip), keeps the training words' rows (exact, then lowercased) and
 * the file's first other words, and names the file and line of a bad one; a training started
 * from vectors tags words it never saw in training by their vectors, and its model folder needs
 * the vectors file no more.
 *
 * @module
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import type { Sentence } from "../lib/data/corpus.ts";
import { readWordVectors, vectorFor } from "../lib/data/embeddings.ts";
import { evaluateModel } from "../lib/evaluate/evaluate.ts";
import { disposeLoadedModel, loadModelFolder } from "../lib/io/ensemble_folder.ts";
import { train, type TrainConfig } from "../lib/train/mod.ts";
import { runTask } from "./fixtures/task.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm", threads: 1 });

/** Writes a text file, gzip-compressed when the name ends in `.gz`. */
async function writeText(path: string, text: string): Promise<string> {
  if (!path.endsWith(".gz")) {
    await Deno.writeTextFile(path, text);
    return path;
  }
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
  return path;
}

Deno.test("vectors: GloVe, word2vec with a header, gzip; exact match first, then lowercase", async () => {
  await withTempDir(async (directory) => {
    const glove = "the 0.1 0.2 0.3\nParis 1 0 0\nparis 0.5 0.5 0\nlondon 0 1 0\nrome 0 0 1\n" +
      "oslo 1 1 1\n";
    for (
      const [name, text] of [
        ["glove.txt", glove],
        ["glove.txt.gz", glove],
        ["fasttext.vec", `6 3\n${glove}`],
      ]
    ) {
      const path = await writeText(`${directory}/${name}`, text);
      const vectors = await readWordVectors(path, {
        vocabulary: ["Paris", "London", "Berlin", "the"],
        extraWords: 2,
      });
      assert.equal(vectors.dimension, 3, name);
      assert.equal(vectors.vectorsRead, 6, name);
      assert.deepEqual([...vectorFor(vectors, "Paris")!], [1, 0, 0], `${name}: exact wins`);
      assert.deepEqual([...vectorFor(vectors, "London")!], [0, 1, 0], `${name}: lowercased`);
      assert.equal(vectorFor(vectors, "Berlin"), undefined, name);
      // `paris` and `london` serve Paris and London; the first two others are kept as extra.
      assert.deepEqual(vectors.extra, ["rome", "oslo"], name);
    }
  });
});

Deno.test("vectors: a bad file is an error naming the file and the line", async () => {
  await withTempDir(async (directory) => {
    const cases: [string, RegExp][] = [
      ["a 1 2 3\nb 1 2\n", /bad\.txt:2: "b" has 2 values, the vectors before it 3/],
      ["a 1 2 3\nb 1 x 3\n", /bad\.txt:2: value 2 of "b" is "x", not a number/],
      ["2 4\na 1 2 3\n", /bad\.txt:2: the header says 4 dimensions, but "a" has 3 values/],
      ["\n\n", /bad\.txt: holds no word vectors/],
      ["a\n", /bad\.txt:1: "a" has no vector values/],
    ];
    for (const [text, pattern] of cases) {
      const path = await writeText(`${directory}/bad.txt`, text);
      await assert.rejects(readWordVectors(path, { vocabulary: ["a", "b"] }), pattern);
    }
    await assert.rejects(
      readWordVectors(`${directory}/missing.vec`, { vocabulary: [] }),
      /missing\.vec: file not found/,
    );
  });
});

/** "we met NAME today ." with NAME tagged as its type: the context never tells the type. */
function sentencesOf(names: [string, string][], repeat: number): Sentence[] {
  const sentences: Sentence[] = [];
  for (let round = 0; round < repeat; round++) {
    for (const [name, type] of names) {
      const words = round % 2 === 0
        ? ["we", "met", name, "today", "."]
        : ["then", name, "left", "."];
      const tags = words.map((word) => (word === name ? `B-${type}` : "O"));
      const id = sentences.length + 1;
      sentences.push({ id, words, pos: words.map(() => "NN"), tags, line: id + 1 });
    }
  }
  return sentences;
}

const TRAIN_NAMES: [string, string][] = [
  ["Paris", "geo"],
  ["Rome", "geo"],
  ["Oslo", "geo"],
  ["Smith", "per"],
  ["Jones", "per"],
  ["Brown", "per"],
];
/** Names the training sentences never hold: only their vectors say what they are. */
const TEST_NAMES: [string, string][] = [
  ["Lima", "geo"],
  ["Kyiv", "geo"],
  ["Baku", "geo"],
  ["Green", "per"],
  ["White", "per"],
  ["Black", "per"],
];

/** 8-dimensional vectors: places near one direction, people near another, fillers apart. */
function vectorsText(): string {
  const lines: string[] = [];
  let state = 7;
  const noise = () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 - 0.5) * 0.2;
  };
  const row = (word: string, base: number[]) =>
    lines.push(`${word} ${base.map((value) => (value + noise()).toFixed(4)).join(" ")}`);
  const place = [1, 1, 0, 0, 0, 0, 0, 0];
  const person = [0, 0, 1, 1, 0, 0, 0, 0];
  for (const word of ["we", "met", "today", "then", "left", "."]) {
    row(word, [0, 0, 0, 0, 1, 0, 0, 0]);
  }
  for (const [name, type] of [...TRAIN_NAMES, ...TEST_NAMES]) {
    row(name.toLowerCase(), type === "geo" ? place : person);
  }
  return lines.join("\n") + "\n";
}

const SETTINGS: TrainConfig = {
  epochs: 25,
  batchSize: 6,
  maxLen: 8,
  seed: 3,
  learningRate: 0.02,
  unknownWordRate: 0,
  model: { units: 8, embeddingDim: 8 },
};

Deno.test("vectors matter: unseen names are tagged by their vectors; the model needs no file", async () => {
  await withTempDir(async (directory) => {
    const vectorsFile = await writeText(`${directory}/vectors.txt`, vectorsText());
    const trainSentences = sentencesOf(TRAIN_NAMES, 6);
    const testSentences = sentencesOf(TEST_NAMES, 2);
    const scores: Record<string, number> = {};
    for (const withVectors of [false, true]) {
      const out = `${directory}/${withVectors ? "with" : "without"}`;
      const result = await train({
        trainSentences,
        devSentences: testSentences.slice(0, 6),
        config: {
          ...SETTINGS,
          ...(withVectors ? { embeddings: { file: vectorsFile, extraWords: 100 } } : {}),
        },
        out,
        progress: null,
      });
      result.tagger.dispose();
      const loaded = await loadModelFolder(out);
      try {
        scores[withVectors ? "with" : "without"] = evaluateModel(loaded, testSentences).entity.f1;
        if (withVectors) {
          assert.ok(loaded.members[0].vocab.wordIndex.has("lima"), "vector words join the vocab");
        }
      } finally {
        disposeLoadedModel(loaded);
      }
    }
    console.log(
      `entity F1 on unseen names: ${scores.with} with vectors, ${scores.without} without`,
    );
    assert.ok(scores.with >= 0.9, `with vectors: F1 ${scores.with}`);
    assert.ok(
      scores.with - scores.without >= 0.4,
      `vectors must matter: F1 ${scores.with} with, ${scores.without} without`,
    );

    // The model folder holds the rows it uses: with the vectors file gone, it still tags.
    await Deno.remove(vectorsFile);
    const tagged = await runTask(
      "predict",
      "--model",
      `${directory}/with`,
      "--json",
      "we met Kyiv today .",
    );
    assert.equal(tagged.code, 0, tagged.stderr);
    const document = JSON.parse(tagged.stdout);
    assert.deepEqual(
      document.entities.map((entity: { text: string; type: string }) => [entity.text, entity.type]),
      [["Kyiv", "geo"]],
    );
  });
});

Deno.test("train --embeddings: bad files and flags exit with one error line, nothing written", async () => {
  await withTempDir(async (directory) => {
    const own = new URL("./fixtures/own_data/", import.meta.url).pathname;
    const base = ["--train", `${own}train.conll`, "--limit", "40", "--epochs", "1"];
    const out = `${directory}/run`;
    const vectors = await writeText(`${directory}/v.txt`, "the 1 2 3\nParis 1 2\n");
    const cases: [string[], number, RegExp][] = [
      [["--embeddings", `${directory}/none.vec`], 1, /none\.vec: file not found/],
      [["--embeddings", vectors], 1, /v\.txt:2: "Paris" has 2 values, the vectors before it 3/],
      [["--embeddings-words", "5"], 2, /--embeddings-words needs --embeddings FILE/],
      [["--freeze-embeddings"], 2, /--freeze-embeddings needs --embeddings FILE/],
      [
        ["--embeddings", vectors, "--embeddings-words", "-3"],
        2,
        /--embeddings-words needs a value|--embeddings-words must be/,
      ],
    ];
    for (const [flags, code, pattern] of cases) {
      const run = await runTask("train", ...base, "--out", out, ...flags);
      assert.equal(run.code, code, `${flags.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^error: |\nerror: /);
      assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
      let written = true;
      try {
        await Deno.lstat(`${out}/checkpoint.json`);
      } catch {
        written = false;
      }
      assert.equal(written, false, `${flags.join(" ")} wrote a checkpoint`);
    }
    const good = await writeText(`${directory}/good.txt`, "the 1 2 3\nparis 1 2 3\n");
    const mismatch = await runTask(
      "train",
      ...base,
      "--out",
      out,
      "--embeddings",
      good,
      "--embedding-dim",
      "50",
    );
    assert.equal(mismatch.code, 1, mismatch.stderr);
    assert.match(
      mismatch.stderr,
      /embeddingDim must be the width of the vectors in .*good\.txt \(3\)/,
    );
  });
});
