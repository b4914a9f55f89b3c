/**
 * The train command's settings flags (issue 26): `--preset`, `--patience`, `--max-len` and
 * `--config FILE` (replaying a run from its `config.json`, flags beside it winning), run as a
 * user runs them (`deno task train`, the task's permissions). Bad input gets one `error:` line
 * naming the flag or the file and field, and nothing is written.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runTask } from "./fixtures/task.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const OWN = new URL("./fixtures/own_data/", import.meta.url).pathname;
/** A small, quick training on the own-data fixture (60 sentences, a tiny model, 1 epoch). */
const SMALL = [
  "--train",
  `${OWN}train.conll`,
  "--dev",
  `${OWN}dev.conll`,
  "--limit",
  "60",
  "--epochs",
  "1",
  "--units",
  "8",
  "--embedding-dim",
  "8",
  "--char-filters",
  "6",
  "--threads",
  "1",
];

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads a checkpoint's config.json of a run folder (the latest). */
async function latestConfig(run: string): Promise<Record<string, Record<string, unknown>>> {
  const pointer = JSON.parse(await Deno.readTextFile(`${run}/checkpoint.json`));
  return JSON.parse(await Deno.readTextFile(`${run}/${pointer.latest}/config.json`));
}

Deno.test("train: bad --preset, --patience and --max-len exit 2 naming the flag, writing nothing", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const cases: [string[], RegExp][] = [
      [["--preset", "fast"], /--preset must be tutorial or accurate, got "fast"/],
      [["--patience=-1"], /--patience must be an integer >= 0/],
      [["--patience", "two"], /--patience must be an integer/],
      [["--max-len", "0"], /--max-len must be a positive integer/],
    ];
    for (const [flags, pattern] of cases) {
      const run = await runTask("train", ...SMALL, "--out", out, ...flags);
      assert.equal(run.code, 2, `${flags.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /^error: /);
      assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
      assert.equal(await exists(out), false, `${flags.join(" ")} wrote ${out}`);
    }
  });
});

Deno.test("train --config: a missing, malformed or unknown settings file exits 1 naming it", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const write = async (name: string, text: string) => {
      await Deno.writeTextFile(`${directory}/${name}`, text);
      return `${directory}/${name}`;
    };
    const cases: [string, RegExp][] = [
      [`${directory}/missing.json`, /missing\.json: file not found/],
      [await write("broken.json", "{ epochs: 3"), /broken\.json: not valid JSON/],
      [await write("list.json", "[1, 2]"), /list\.json: must hold a JSON object of settings/],
      [await write("typo.json", '{"epoch": 3}'), /typo\.json: unknown field "epoch" \(settings:/],
      [
        await write("model.json", '{"model": {"unit": 3}}'),
        /model\.json: unknown field "model\.unit"/,
      ],
      [
        await write("range.json", '{"model": {"units": -1}}'),
        /range\.json: field "model\.units" must be a positive integer, got -1/,
      ],
      [
        await write("preset.json", '{"preset": "fast"}'),
        /preset\.json: field "preset" must be one of tutorial, accurate/,
      ],
    ];
    for (const [file, pattern] of cases) {
      const run = await runTask("train", "--config", file, "--out", out);
      assert.equal(run.code, 1, `${file}: ${run.stderr}`);
      assert.match(run.stderr, /^error: /);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.equal(await exists(out), false, `${file} wrote ${out}`);
    }
    const both = await runTask(
      "train",
      "--config",
      `${directory}/x.json`,
      "--resume",
      "--out",
      out,
    );
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--config and --resume exclude each other/);
  });
});

Deno.test("train --config replays a run's settings from its config.json; a flag beside it wins", async () => {
  await withTempDir(async (directory) => {
    const first = `${directory}/first`;
    const trained = await runTask("train", ...SMALL, "--patience", "3", "--out", first, "--json");
    assert.equal(trained.code, 0, trained.stderr);
    const original = await latestConfig(first);
    assert.equal(original.training.preset, "accurate", "own data: the accurate preset");
    assert.equal(original.training.patience, 3);
    // The run records what was given explicitly, apart from what the preset filled in.
    assert.deepEqual(original.training.overrides, [
      "data",
      "epochs",
      "limit",
      "model.charFilters",
      "model.embeddingDim",
      "model.units",
      "patience",
    ], "what was given, not the preset's learning rate or model type");
    assert.equal(original.tagger.modelType, "bilstm-crf");

    // The checkpoint's config.json, as the acceptance names it, with --units given beside it.
    const pointer = JSON.parse(await Deno.readTextFile(`${first}/checkpoint.json`));
    const replay = `${directory}/replay`;
    const replayed = await runTask(
      "train",
      "--config",
      `${first}/${pointer.latest}/config.json`,
      "--units",
      "12",
      "--out",
      replay,
      "--json",
    );
    assert.equal(replayed.code, 0, replayed.stderr);
    const copy = await latestConfig(replay);
    assert.equal(copy.tagger.units, 12, "the flag wins");
    for (const field of ["embeddingDim", "modelType", "charFeatures", "charFilters", "dropout"]) {
      assert.deepEqual(copy.tagger[field], original.tagger[field], `tagger.${field}`);
    }
    for (const field of ["preset", "patience", "limit", "learningRate", "seed", "data"]) {
      assert.deepEqual(copy.training[field], original.training[field], `training.${field}`);
    }

    // A run folder works as --config too (its latest checkpoint's settings); so does a
    // hand-written file with the same fields.
    const fromFolder = JSON.parse(
      (await runTask("train", "--config", first, "--out", `${directory}/again`, "--json")).stdout,
    );
    assert.equal(fromFolder.config.model.units, 8);
    await Deno.writeTextFile(
      `${directory}/hand.json`,
      JSON.stringify({
        preset: "tutorial",
        epochs: 1,
        limit: 60,
        data: { train: `${OWN}train.conll`, dev: `${OWN}dev.conll` },
        model: { units: 6, embeddingDim: 8 },
      }),
    );
    const hand = await runTask(
      "train",
      "--config",
      `${directory}/hand.json`,
      "--out",
      `${directory}/hand`,
      "--json",
    );
    assert.equal(hand.code, 0, hand.stderr);
    const handConfig = JSON.parse(hand.stdout).config;
    assert.equal(handConfig.preset, "tutorial");
    assert.equal(handConfig.model.units, 6);
    assert.equal(handConfig.learningRate, 0.001, "the tutorial preset's rate");
  });
});
