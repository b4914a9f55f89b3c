/**
 * `evaluate` records scores only inside `runs/` (issue 27, permissions): a link inside `runs/`
 * to a run folder elsewhere let its write land outside `runs/`. Now the record is refused with a
 * warning naming where the link leads, and nothing is written there.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runTask } from "./fixtures/task.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OWN = `${ROOT}tests/fixtures/own_data/`;

Deno.test("evaluate does not follow a link out of runs/ to record its scores", async () => {
  await withTempDir(async (directory) => {
    const outside = `${directory}/run`;
    const trained = await runTask(
      "train",
      "--train",
      `${OWN}train.conll`,
      "--dev",
      `${OWN}dev.conll`,
      "--limit",
      "40",
      "--epochs",
      "1",
      "--units",
      "4",
      "--embedding-dim",
      "4",
      "--char-filters",
      "4",
      "--out",
      outside,
    );
    assert.equal(trained.code, 0, trained.stderr);
    await Deno.mkdir(`${ROOT}runs`, { recursive: true });
    const link = `runs/.link-test-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.symlink(outside, `${ROOT}${link}`);
    try {
      const run = await runTask("evaluate", "--model", link, "--test", `${OWN}test.conll`);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /not written \(.*leads out of runs\/ .* through a link/);
      let written = true;
      try {
        await Deno.lstat(`${outside}/evaluation.json`);
      } catch {
        written = false;
      }
      assert.equal(written, false, "nothing was written outside runs/");
    } finally {
      await Deno.remove(`${ROOT}${link}`);
    }
  });
});
