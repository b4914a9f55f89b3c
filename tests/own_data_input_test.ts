/**
 * Wrong answers from own-data input (issue 27, finding 7): a JSONL record with both `spans` and
 * `entities` silently dropped `entities`; `evaluate --test` on a file with no sentences printed
 * F1 0.0000 and exited 0. Both are now errors naming the file (and line).
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadSentences } from "../lib/data/formats.ts";
import { runTask } from "./fixtures/task.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

Deno.test("a JSONL record with both spans and entities is an error naming the line", async () => {
  await withTempDir(async (directory) => {
    const path = `${directory}/both.jsonl`;
    await Deno.writeTextFile(
      path,
      '{"text": "Paris is big", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}\n' +
        '{"text": "Rome is old", "spans": [], "entities": [{"start": 0, "end": 4, "label": "LOC"}]}\n',
    );
    await assert.rejects(
      loadSentences(path),
      /both\.jsonl:2: the record has both "spans" and "entities"/,
    );
  });
});

Deno.test("evaluate --test on a file with no sentences exits 1 naming it", async () => {
  await withTempDir(async (directory) => {
    for (const [name, text] of [["empty.conll", ""], ["blank.conll", "\n\n-DOCSTART- -X- O\n\n"]]) {
      const path = `${directory}/${name}`;
      await Deno.writeTextFile(path, text);
      const run = await runTask("evaluate", "--model", "data/model-fast", "--test", path);
      assert.equal(run.code, 1, `${name}: ${run.stderr}`);
      assert.match(
        run.stderr,
        new RegExp(`error: .*${name}: (holds no sentences|the file is empty)`),
      );
      assert.doesNotMatch(run.stdout, /0\.0000/);
    }
  });
});
