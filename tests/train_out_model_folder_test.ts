/**
 * `train --out` writes only to a new, empty or run folder (issue 28, finding 5): a model folder
 * (a copy of `data/model-fast`, or a single model) is refused, naming it, and left
 * byte-identical — before, the training put its checkpoints into it, and the folder then
 * answered with the new checkpoint while `GET /v1/model` still reported the old F1 from its
 * `evaluation.json`. A folder of other files is refused the same way. A missing or empty folder,
 * a run stopped before its first checkpoint, and `--resume` of a real run still train.
 *
 * @module
 */
import { checksums } from "./fixtures/folders.ts";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { main as exportCli } from "../lib/cli/export.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import { projectPath } from "../lib/io/mod.ts";
import { RunFolderError, train, type TrainOptions } from "../lib/train/mod.ts";
import { LOCK_FILE } from "../lib/io/run_lock.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

/** A tiny training into `out`. */
async function tinyTrain(options: Partial<TrainOptions> & { out: string }, epochs = 1) {
  const result = await train({
    trainSentences: syntheticSentences(60),
    config: {
      epochs,
      batchSize: 8,
      maxLen: 10,
      seed: 5,
      learningRate: 0.01,
      model: { embeddingDim: 8, units: 6 },
    },
    progress: null,
    ...options,
  });
  result.tagger.dispose();
  return result;
}

/** Copies a folder recursively. */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** The train CLI's flags for a training of a second (it is refused before it starts here). */
const TINY_CLI = ["--limit", "40", "--epochs", "1", "--units", "4", "--threads", "1"];

/** Runs the train CLI in this process; returns its exit code and stderr lines. */
async function runTrain(args: string[]) {
  const { result, errors } = await withCapturedConsole(() => trainCli(args));
  return { code: result, errors };
}

Deno.test("finding 5: train --out refuses a model folder (a copy of data/model-fast), naming it, and leaves it as it was", async () => {
  await withTempDir(async (root) => {
    const copy = `${root}/model-fast`;
    await copyFolder(projectPath("data/model-fast"), copy);
    const before = await checksums(copy);
    const expected = new RegExp(
      `^error: ${copy}: is a model folder \\(ensemble\\.json\\), not a training run folder`,
    );
    for (const flags of [[], ["--resume"]]) {
      const result = await runTrain([...TINY_CLI, ...flags, "--out", copy]);
      assert.equal(result.code, 1, result.errors.join("\n"));
      assert.equal(result.errors.length, 1, result.errors.join("\n"));
      assert.match(result.errors[0], expected);
      assert.doesNotMatch(result.errors[0], /backend wasm/, "refused before the backend started");
    }
    // train() itself refuses it too (notebooks and scripts call it directly).
    await assert.rejects(
      tinyTrain({ out: copy }),
      (error: unknown) =>
        error instanceof RunFolderError && error.message.startsWith(`${copy}: is a model folder`),
    );
    assert.deepEqual(await checksums(copy), before, "no lock, checkpoint or file written");

    // A single model folder (config.json), as export writes it.
    await tinyTrain({ out: `${root}/run` });
    const single = `${root}/single`;
    const exported = await withCapturedConsole(() =>
      exportCli(["--from", `${root}/run`, "--to", single])
    );
    assert.equal(exported.result, 0, exported.errors.join("\n"));
    const singleBefore = await checksums(single);
    const refused = await runTrain([...TINY_CLI, "--out", single]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.errors[0],
      new RegExp(`^error: ${single}: is a model folder \\(config\\.json\\)`),
    );
    await assert.rejects(tinyTrain({ out: single }), /is a model folder \(config\.json\)/);
    assert.deepEqual(await checksums(single), singleBefore);
  });
});

Deno.test("train --out refuses a folder of other files; new, empty and run folders still train", async () => {
  await withTempDir(async (root) => {
    const user = `${root}/u`;
    await Deno.mkdir(user);
    await Deno.writeTextFile(`${user}/thesis.txt`, "precious");
    const cli = await runTrain([...TINY_CLI, "--out", user]);
    assert.equal(cli.code, 1);
    assert.equal(
      cli.errors[0],
      `error: ${user}: holds files that are not a training run (thesis.txt); training writes ` +
        "only to a new, empty or run folder: choose another --out",
    );
    await assert.rejects(tinyTrain({ out: user }), /u: holds files that are not a training run/);
    assert.deepEqual([...Deno.readDirSync(user)].map((entry) => entry.name), ["thesis.txt"]);

    // A missing folder and an empty one.
    await tinyTrain({ out: `${root}/new` });
    await Deno.mkdir(`${root}/empty`);
    await tinyTrain({ out: `${root}/empty` });
    // A run stopped before its first checkpoint: a stale lock and a distilled run's cache.
    const early = `${root}/early`;
    await Deno.mkdir(early);
    await Deno.writeTextFile(`${early}/${LOCK_FILE}`, "");
    await Deno.writeTextFile(`${early}/teacher-targets.json`, "{}");
    await tinyTrain({ out: early });
    // --resume of a real run.
    const resumed = await tinyTrain({ out: `${root}/new`, resume: true }, 2);
    assert.equal(resumed.history.loss.length, 2);
    for (const run of ["new", "empty", "early"]) {
      const pointer = JSON.parse(await Deno.readTextFile(`${root}/${run}/checkpoint.json`));
      assert.equal(pointer.epoch, run === "new" ? 2 : 1, run);
    }
  });
});
