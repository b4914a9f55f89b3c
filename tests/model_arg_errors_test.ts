/**
 * A `--model` that names a folder holding no model gets an error saying what the folder is and
 * what to pass instead (it used to say `…/config.json: cannot read model config (not found)`
 * whatever the folder was), from the library and through a CLI in one line without a stack.
 *
 * @module
 */
import assert from "node:assert/strict";
import { loadModelFolder } from "../lib/io/ensemble_folder.ts";
import { LOCK_FILE } from "../lib/io/run_lock.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { CLI } from "./fixtures/predict_cli.ts";

/** A run folder with a pointer to one checkpoint (what `isRunFolder` recognises). */
async function fakeRun(directory: string): Promise<void> {
  await Deno.mkdir(`${directory}/checkpoints/epoch-001`, { recursive: true });
  await Deno.writeTextFile(
    `${directory}/checkpoint.json`,
    JSON.stringify({ latest: "checkpoints/epoch-001", epoch: 1 }),
  );
}

Deno.test("--model at an empty folder, a runs root, an unfinished run or a checkpoints folder says what it is", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/empty`);
    await fakeRun(`${dir}/runs/alpha`);
    await fakeRun(`${dir}/runs/beta`);
    await Deno.mkdir(`${dir}/unfinished/checkpoints`, { recursive: true });
    await Deno.writeTextFile(`${dir}/unfinished/${LOCK_FILE}`, "{}");
    await Deno.mkdir(`${dir}/other`);
    await Deno.writeTextFile(`${dir}/other/notes.txt`, "mine");
    const cases: [string, RegExp][] = [
      [
        "empty",
        /empty: an empty folder, not a model\. Pass a model folder such as data\/model.*deno task train --out/,
      ],
      [
        "runs",
        /runs: a folder of training runs \(alpha, beta\), not a model\. Pass one run, e\.g\. --model .*runs\/alpha/,
      ],
      [
        "unfinished",
        /unfinished: a training run with no finished epoch yet \(no checkpoint\.json\)/,
      ],
      [
        "runs/alpha/checkpoints",
        /checkpoints: a run's checkpoints folder \(epoch-001\), not a model\. Pass the run \(--model .*runs\/alpha, its best epoch\) or one checkpoint \(--model .*epoch-001\)/,
      ],
      [
        "other",
        /other: not a model folder \(no config\.json, ensemble\.json or checkpoint\.json in it\)/,
      ],
    ];
    for (const [name, expected] of cases) {
      await assert.rejects(loadModelFolder(`${dir}/${name}`), expected, name);
      await assert.rejects(loadModelFolder(`${dir}/${name}`), (error: Error) => {
        assert.doesNotMatch(error.message, /config\.json: cannot read/, name);
        return true;
      });
    }
  });
});

Deno.test("predict --model RUNS_ROOT prints one error line naming a run to pass, no stack", async () => {
  await withTempDir(async (dir) => {
    await fakeRun(`${dir}/runs/alpha`);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "--model", `${dir}/runs`, "Angela Merkel visited Paris."],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    assert.equal(output.code, 1, stderr);
    assert.match(stderr, /a folder of training runs \(alpha\), not a model\. Pass one run/);
    assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    assert.ok(stderr.split("\n").length <= 2, stderr);
  });
});
