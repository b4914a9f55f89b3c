/**
 * Run folders named from their settings, and which model a notebook's `model` setting means.
 *
 * @module
 */
import assert from "node:assert/strict";
import { projectPath } from "../lib/fs/paths.ts";
import { chooseModel, latestRunFolder, SHIPPED_MODEL } from "../lib/io/runs.ts";
import { runsRoot } from "../lib/fs/paths.ts";
import { runFolderName } from "../lib/train/run_name.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

Deno.test("a run's folder name follows its settings, not how they were written", () => {
  const base = runFolderName({}, "notebook");
  assert.match(base, /^notebook-bilstm-u100-s42-[0-9a-f]{8}$/);
  const spelledOut = { seed: 42, learningRate: 0.001, model: { units: 100, dropout: 0 } };
  assert.equal(runFolderName(spelledOut, "notebook"), base, "defaults written out: same run");
  assert.equal(runFolderName({ epochs: 12 }, "notebook"), base, "more epochs: the same run");
  const others = [
    { seed: 7 },
    { limit: 400 },
    { model: { units: 200 } },
    { model: { dropout: 0.5 } },
    { model: { modelType: "bilstm-crf" as const } },
    { model: { charFeatures: true } },
    { model: { charFeatures: true, charFilters: 30 } },
  ];
  const names = others.map((settings) => runFolderName(settings, "notebook"));
  assert.equal(new Set([base, ...names]).size, others.length + 1, "other settings: new runs");
  assert.match(
    runFolderName({ model: { modelType: "bilstm-crf", units: 200 } }),
    /^run-bilstm-crf-u200-/,
  );
  assert.throws(() => runFolderName({ model: { units: 0 } }), /model\.units/);
});

Deno.test("the model choice names the shipped model, the latest run or a path", async () => {
  assert.equal(await chooseModel("shipped"), SHIPPED_MODEL);
  assert.equal(SHIPPED_MODEL, projectPath("data/model"));
  assert.equal(await chooseModel("data/model"), projectPath("data/model"));
  await assert.rejects(chooseModel("no/such/folder"), /no\/such\/folder: model folder not found/);
  await withTempDir(async (root) => {
    const previous = Deno.env.get("BILSTM_NER_RUNS");
    Deno.env.set("BILSTM_NER_RUNS", root);
    try {
      assert.equal(runsRoot(), root);
      assert.equal(await latestRunFolder(), null);
      await assert.rejects(chooseModel("latest run"), /no training run under/);
      // Distinct modification times, set rather than waited for: a day apart, in the past.
      for (const [name, day] of [["older", 1], ["newer", 2]] as const) {
        await Deno.mkdir(`${root}/${name}`);
        await Deno.writeTextFile(`${root}/${name}/checkpoint.json`, "{}");
        const time = new Date(Date.UTC(2020, 0, day));
        await Deno.utime(`${root}/${name}/checkpoint.json`, time, time);
      }
      await Deno.mkdir(`${root}/not-a-run`);
      assert.equal(await chooseModel("latest run"), `${root}/newer`);
      await Deno.writeTextFile(`${root}/older/checkpoint.json`, "{}"); // written last now
      assert.equal(await latestRunFolder(), `${root}/older`);
    } finally {
      if (previous === undefined) Deno.env.delete("BILSTM_NER_RUNS");
      else Deno.env.set("BILSTM_NER_RUNS", previous);
    }
  });
});
