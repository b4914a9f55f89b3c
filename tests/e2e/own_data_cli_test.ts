/**
 * Your own data end to end, through the tasks as a user runs them: a CoNLL file made from the
 * first 2,000 tutorial training sentences, with CoNLL-2003's types (PER, LOC, ORG, MISC) in
 * IOB1, trains a tagger (`deno task train --train`); a CoNLL file of 500 test sentences in IOB2
 * scores it (`deno task evaluate --test --json`, the usual keys); `deno task predict` tags raw
 * text with the new types; the run resumes on its own data; types a dev or test file has and
 * the training file lacks are reported and scored as misses; data flags are checked.
 */
import assert from "node:assert/strict";
import { toConll } from "../../lib/data/write.ts";
import { conll2003Text, conllTypedSplit } from "../fixtures/own_data.ts";
import { runTask } from "../fixtures/task.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";

const OWN = new URL("../fixtures/own_data/", import.meta.url).pathname;

/** Runs a task that must succeed and print JSON. */
async function taskJSON(name: string, ...args: string[]): Promise<Record<string, unknown>> {
  const run = await runTask(name, ...args, "--json");
  assert.equal(run.code, 0, run.stderr.slice(-3000));
  return JSON.parse(run.stdout);
}

const TYPES = ["LOC", "MISC", "ORG", "PER"];

Deno.test({
  name: "own CoNLL data: train on 2,000 sentences, evaluate on 500, predict the new types, resume",
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (dir) => {
      const { train, test } = await conllTypedSplit(2000, 500);
      await Deno.writeTextFile(`${dir}/train.conll`, conll2003Text(train));
      await Deno.writeTextFile(`${dir}/test.conll`, toConll(test));
      const out = `${dir}/run`;
      const trained = await taskJSON(
        "train",
        "--train",
        `${dir}/train.conll`,
        "--epochs",
        "3",
        "--learning-rate",
        "0.01",
        "--out",
        out,
      );
      const config = trained.config as { data: Record<string, unknown> };
      assert.equal(config.data.format, "conll", "the format is detected and recorded");
      assert.equal(config.data.tagScheme, "iob1", "the scheme is detected and recorded");
      const vocab = JSON.parse(
        await Deno.readTextFile(`${out}/checkpoints/epoch-003/vocab.json`),
      ) as { tags: string[] };
      assert.deepEqual(
        [...new Set(vocab.tags.slice(1).filter((tag) => tag !== "O").map((tag) => tag.slice(2)))]
          .sort(),
        TYPES,
        "the model folder's tag set is the training file's",
      );

      const scores = await taskJSON("evaluate", "--model", out, "--test", `${dir}/test.conll`);
      assert.equal(scores.sentences, 500);
      assert.equal(scores.test, `${dir}/test.conll`);
      const entity = scores.entity as Record<string, number>;
      for (const key of ["precision", "recall", "f1", "support"]) {
        assert.equal(typeof entity[key], "number", key);
      }
      assert.ok(entity.f1 > 0.5, `entity F1 ${entity.f1} (0.69 when measured)`);
      assert.deepEqual(Object.keys(scores.perType as object).sort(), TYPES);
      for (const key of ["macro", "weighted", "tokenAccuracy", "confusion"]) {
        assert.ok(key in scores, key);
      }

      const tagged = await taskJSON(
        "predict",
        "--model",
        out,
        "Peter Smith flew from London to Paris for a United Nations meeting with French officials .",
      );
      const entities = tagged.entities as { text: string; type: string }[];
      assert.ok(entities.length >= 2, JSON.stringify(entities));
      for (const found of entities) assert.ok(TYPES.includes(found.type), found.type);
      assert.ok(
        entities.some((found) => found.text === "London" && found.type === "LOC"),
        JSON.stringify(entities),
      );

      const resumed = await taskJSON("train", "--resume", "--out", out, "--epochs", "4");
      assert.equal(resumed.resumedFromEpoch, 3);
      assert.equal((resumed.history as { epoch: number[] }).epoch.length, 4);
      assert.equal(
        (resumed.config as { data: { train: string } }).data.train,
        `${dir}/train.conll`,
      );
      const mismatch = await runTask(
        "train",
        "--resume",
        "--out",
        out,
        "--train",
        `${OWN}train.conll`,
      );
      assert.equal(mismatch.code, 1);
      const format = await runTask("train", "--resume", "--out", out, "--format", "jsonl");
      assert.equal(format.code, 1, format.stderr);
      assert.match(format.stderr, /--format: saved "conll", given "jsonl"/);
      assert.match(
        mismatch.stderr,
        /--train: saved ".*\/train\.conll", given ".*own_data\/train\.conll"/,
      );
    });
  },
});

Deno.test({
  name: "types the training file lacks: a clear message, scored as misses, no crash",
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (dir) => {
      const dev = (await Deno.readTextFile(`${OWN}dev.conll`)).replace("B-PER", "B-EVENT");
      await Deno.writeTextFile(`${dir}/dev.conll`, dev);
      const out = `${dir}/run`;
      const run = await runTask(
        "train",
        "--train",
        `${OWN}train.conll`,
        "--dev",
        `${dir}/dev.conll`,
        "--epochs",
        "1",
        "--out",
        out,
        "--json",
      );
      assert.equal(run.code, 0, run.stderr.slice(-2000));
      assert.match(run.stderr, /dev\.conll: the types EVENT \(1\) are not in the training data/);
      const evaluation = await runTask(
        "evaluate",
        "--model",
        out,
        "--test",
        `${dir}/dev.conll`,
        "--json",
      );
      assert.equal(evaluation.code, 0, evaluation.stderr);
      assert.match(evaluation.stderr, /the types EVENT \(1\) are not in the training data/);
      const perType = JSON.parse(evaluation.stdout).perType as Record<
        string,
        { recall: number; support: number }
      >;
      assert.deepEqual(perType.EVENT, { ...perType.EVENT, recall: 0, support: 1 });
    });
  },
});

Deno.test("data flags: checked, named, and refused where they do not apply", async () => {
  const orphan = await runTask("train", "--format", "conll");
  assert.equal(orphan.code, 2);
  assert.match(orphan.stderr, /--format needs --train PATH/);
  const both = await runTask(
    "train",
    "--train",
    `${OWN}train.conll`,
    "--dev",
    `${OWN}dev.conll`,
    "--validation-split",
    "0.2",
  );
  assert.equal(both.code, 2);
  assert.match(
    both.stderr,
    /--validation-split cannot be used with a validation file of its own \(--dev\)/,
  );
  const scheme = await runTask("evaluate", "--test", `${OWN}test.conll`, "--tag-scheme", "iob3");
  assert.equal(scheme.code, 2);
  assert.match(scheme.stderr, /--tag-scheme must be one of auto, iob1, iob2, bioes, bilou/);
  const missing = await runTask("train", "--train", `${OWN}nope.conll`, "--epochs", "1");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: .*nope\.conll: file not found/m);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, "no stack trace");
  const spans = await runTask("train", "--train", `${OWN}test.jsonl`, "--tag-scheme", "bioes");
  assert.equal(spans.code, 1);
  assert.match(spans.stderr, /^error: .*test\.jsonl: a JSONL file has spans, not tags/m);
  assert.doesNotMatch(spans.stderr, /\n\s+at /, "no stack trace");
  const stats = await taskJSON("stats", `${OWN}train.conll`);
  assert.equal(stats.format, "conll");
  assert.equal(stats.tagScheme, "iob1");
  assert.equal(stats.sentences, 300);
  const jsonl = await taskJSON("stats", `${OWN}test.jsonl`);
  assert.equal(jsonl.format, "jsonl");
  assert.equal(jsonl.sentences, 150);
});
