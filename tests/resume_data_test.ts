/**
 * `--resume` on data that changed since the run started (issue 27, finding 6): a new tag ended
 * in an uncaught `RangeError: unknown tag "B-City"` with a stack, and swapped labels with half
 * the sentences removed resumed silently. Now the run's checkpoints record a fingerprint of its
 * data, and a resume on other data is refused with the difference named, exit 1, nothing written.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runTask } from "./fixtures/task.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const OWN = new URL("./fixtures/own_data/", import.meta.url).pathname;
const TINY = ["--epochs", "1", "--units", "8", "--embedding-dim", "8", "--char-filters", "6"];

Deno.test("--resume refuses training data that changed since the run started, naming the change", async () => {
  await withTempDir(async (directory) => {
    const train = `${directory}/train.conll`;
    const dev = `${directory}/dev.conll`;
    const original = await Deno.readTextFile(`${OWN}train.conll`);
    // 60 sentences of the fixture (blocks after -DOCSTART-).
    const blocks = original.split(/\n\n+/).filter((block) => block.trim() !== "");
    const sentences = blocks.slice(1, 61);
    await Deno.writeTextFile(train, sentences.join("\n\n") + "\n");
    await Deno.copyFile(`${OWN}dev.conll`, dev);
    const out = `${directory}/run`;
    const first = await runTask("train", "--train", train, "--dev", dev, "--out", out, ...TINY);
    assert.equal(first.code, 0, first.stderr);
    const pointer = await Deno.readTextFile(`${out}/checkpoint.json`);

    const resume = () => runTask("train", "--resume", "--out", out, "--epochs", "2");
    // A new tag in one sentence.
    await Deno.writeTextFile(
      train,
      [sentences[0].replace(/ O$/m, " B-City"), ...sentences.slice(1)].join("\n\n") + "\n",
    );
    const newTag = await resume();
    assert.equal(newTag.code, 1, newTag.stderr);
    assert.match(newTag.stderr, /error: .*run: cannot resume: the training data changed/);
    assert.match(newTag.stderr, /60 training sentences .* now there are 60 training sentences/);
    assert.doesNotMatch(newTag.stderr, /RangeError|\n\s+at /, "no uncaught error, no stack");

    // Labels swapped and half the sentences removed.
    const swapped = sentences.slice(0, 30).map((block) =>
      block.replace(/PER$/gm, "TMP").replace(/LOC$/gm, "PER").replace(/TMP$/gm, "LOC")
    );
    await Deno.writeTextFile(train, swapped.join("\n\n") + "\n");
    const halved = await resume();
    assert.equal(halved.code, 1, halved.stderr);
    assert.match(halved.stderr, /now there are 30 training sentences/);
    assert.equal(await Deno.readTextFile(`${out}/checkpoint.json`), pointer, "nothing written");

    // The same data again: the resume goes ahead.
    await Deno.writeTextFile(train, sentences.join("\n\n") + "\n");
    const same = await resume();
    assert.equal(same.code, 0, same.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`)).epoch, 2);
  });
});
