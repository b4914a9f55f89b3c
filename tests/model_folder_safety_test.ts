/**
 * Model folders are checked as they load (issue 16, findings 4 and 9, and "every JSON file
 * validated"): non-finite weights are refused naming the weights file and the weight; every
 * JSON file a load reads (config.json, vocab.json, chars.json, model.json, ensemble.json,
 * checkpoint.json) is checked, with errors that name the file and the field; a checkpoint
 * pointer and ensemble members must stay inside their folder, symbolic links followed; the
 * predict and evaluate CLIs print these as `error: …` and exit 1, without a stack trace.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildCharVocab } from "../lib/data/chars.ts";
import { buildVocab } from "../lib/data/vocab.ts";
import {
  CHECKPOINT_POINTER,
  disposeLoadedModel,
  ENSEMBLE_FILE,
  float32ToFloat16,
  loadModelFolder,
  saveEnsembleFolder,
  saveModelFolder,
} from "../lib/io/mod.ts";
import { Tagger, type TaggerOptions } from "../lib/model/mod.ts";
import { main as predictCli } from "../lib/cli/predict.ts";
import { main as evaluateCli } from "../lib/cli/evaluate.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { withCapturedConsole } from "./fixtures/console.ts";

await initBackend({ backend: "wasm" });

const SENTENCES = syntheticSentences(30, 8);
const SMALL: Partial<TaggerOptions> = {
  maxLen: 8,
  embeddingDim: 8,
  units: 5,
  charDim: 4,
  charFilters: 6,
  casingDim: 3,
  maxChars: 8,
};

/** Saves an untrained small tagger with its maps as a model folder. */
async function smallFolder(
  directory: string,
  variant: Partial<TaggerOptions> = {},
  float16 = false,
): Promise<void> {
  const vocab = buildVocab(SENTENCES);
  const chars = buildCharVocab(SENTENCES);
  const tagger = new Tagger({
    vocabSize: vocab.words.length,
    numTags: vocab.tags.length,
    numChars: chars.chars.length,
    ...SMALL,
    ...variant,
  });
  await saveModelFolder(
    directory,
    { tagger, vocab, chars: variant.charFeatures ? chars : null },
    { epochsDone: 1 },
    { float16 },
  );
  tagger.dispose();
}

/** Copies a folder tree (files and folders; no links). */
async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Reads, changes and writes back a JSON file. */
// deno-lint-ignore no-explicit-any
async function editJSON(path: string, change: (value: any) => unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(change(JSON.parse(await Deno.readTextFile(path)))));
}

/**
 * Overwrites the first `count` values (all when omitted) of one stored weight with `value`,
 * honouring float16 storage; returns how many were written.
 */
async function poisonWeight(
  directory: string,
  name: string,
  value: number,
  count?: number,
): Promise<number> {
  const modelJSON = JSON.parse(await Deno.readTextFile(`${directory}/model.json`));
  const bytes = await Deno.readFile(`${directory}/weights.bin`);
  let offset = 0;
  for (const spec of modelJSON.weightsManifest[0].weights) {
    const size = spec.shape.reduce((a: number, b: number) => a * b, 1);
    const half = spec.quantization?.dtype === "float16";
    if (spec.name === name) {
      const n = Math.min(count ?? size, size);
      const view = new DataView(bytes.buffer, offset);
      for (let i = 0; i < n; i++) {
        if (half) view.setUint16(2 * i, float32ToFloat16(value), true);
        else view.setFloat32(4 * i, value, true);
      }
      await Deno.writeFile(`${directory}/weights.bin`, bytes);
      return n;
    }
    offset += size * (half ? 2 : 4);
  }
  throw new Error(`no weight ${name}`);
}

/** A literal pattern for a path. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("finding 4: non-finite weights are refused, naming weights.bin and the weight", async () => {
  await withTempDir(async (root) => {
    const cases: [string, Partial<TaggerOptions>, boolean, string, number, number | undefined][] = [
      ["softmax", {}, false, "bilstm/forward/kernel", NaN, undefined],
      ["crf", { modelType: "bilstm-crf", charFeatures: true }, false, "crf/transitions", NaN, 3],
      ["crf16", { modelType: "bilstm-crf" }, true, "tags/kernel", Infinity, 1],
      ["chars", { charFeatures: true }, false, "char_cnn/kernel", -Infinity, 2],
    ];
    for (const [name, variant, float16, weight, value, count] of cases) {
      const directory = `${root}/${name}`;
      await smallFolder(directory, variant, float16);
      const poisoned = await poisonWeight(directory, weight, value, count);
      const tensors = tf.memory().numTensors;
      await assert.rejects(
        loadModelFolder(directory),
        new RegExp(
          `^Error: ${literal(directory)}/weights\\.bin: weight "${literal(weight)}" has ` +
            `${poisoned} non-finite values`,
        ),
        name,
      );
      assert.equal(tf.memory().numTensors, tensors, `${name}: nothing half-loaded stays`);
    }
    // The cases, through the CLIs: all-NaN weights in a softmax model (exit 0 and every
    // tag O before) and in a CRF model (a misleading message about <pad> labels before).
    const nanKernel = `${root}/softmax`;
    const predicted = await withCapturedConsole(() =>
      predictCli(["--model", nanKernel, "--json", "Mr Smith met people in Paris"])
    );
    assert.equal(predicted.result, 1);
    assert.deepEqual(predicted.logs, []);
    assert.match(
      predicted.errors.join("\n"),
      /^error: .*weights\.bin: weight "bilstm\/forward\/kernel"/,
    );
    const crf = `${root}/crf-all`;
    await smallFolder(crf, { modelType: "bilstm-crf" });
    const modelJSON = JSON.parse(await Deno.readTextFile(`${crf}/model.json`));
    for (const spec of modelJSON.weightsManifest[0].weights) {
      await poisonWeight(crf, spec.name, NaN);
    }
    const evaluated = await withCapturedConsole(() =>
      evaluateCli(["--model", crf, "--limit", "5", "--json"])
    );
    assert.equal(evaluated.result, 1);
    const message = evaluated.errors.join("\n");
    assert.match(
      message,
      /^error: .*weights\.bin: weight "embedding\/embeddings" has \d+ non-finite/,
    );
    assert.doesNotMatch(message, /<pad>/);
  });
});

Deno.test("finding 9: a checkpoint pointer must resolve inside its run folder", async () => {
  await withTempDir(async (root) => {
    await smallFolder(`${root}/outside`);
    const run = `${root}/run`;
    await smallFolder(`${run}/checkpoints/epoch-001`);
    const pointer = `${run}/${CHECKPOINT_POINTER}`;
    const point = (value: unknown) => Deno.writeTextFile(pointer, JSON.stringify(value));
    await point({ latest: "checkpoints/epoch-001", epoch: 1 });
    const good = await loadModelFolder(run);
    assert.equal(good.directory, `${run}/checkpoints/epoch-001`);
    disposeLoadedModel(good);

    await point({ latest: "../outside", epoch: 1 });
    await assert.rejects(
      loadModelFolder(run),
      new RegExp(
        `${literal(pointer)}: field "latest" \\("\\.\\./outside"\\) must be a path inside`,
      ),
    );
    await point({ latest: `${root}/outside`, epoch: 1 });
    await assert.rejects(loadModelFolder(run), new RegExp(`${literal(pointer)}: field "latest"`));
    // A symbolic link inside the run folder that leaves it.
    await Deno.symlink(`${root}/outside`, `${run}/checkpoints/epoch-002`);
    await point({ latest: "checkpoints/epoch-002", epoch: 2 });
    await assert.rejects(
      loadModelFolder(run),
      new RegExp(
        `${literal(pointer)}: field "latest" .*resolves to .*outside.*refusing to load it`,
      ),
    );
    // One that stays inside is followed.
    await Deno.symlink("epoch-001", `${run}/checkpoints/epoch-003`);
    await point({ latest: "checkpoints/epoch-003", epoch: 3 });
    const linked = await loadModelFolder(run);
    assert.equal(linked.members.length, 1);
    disposeLoadedModel(linked);
    // The run folder itself may be reached through a link (the pointer is resolved from there).
    await Deno.symlink(run, `${root}/run-link`);
    const viaLink = await loadModelFolder(`${root}/run-link`);
    disposeLoadedModel(viaLink);
  });
});

Deno.test("finding 9: ensemble members and weight files must stay inside their folder", async () => {
  await withTempDir(async (root) => {
    await smallFolder(`${root}/a`, { modelType: "bilstm-crf" });
    await smallFolder(`${root}/outside`, { modelType: "bilstm-crf", seed: 9 });
    const members = await Promise.all(
      ["a", "a"].map(async (name) => (await loadModelFolder(`${root}/${name}`)).members[0]),
    );
    const ensemble = `${root}/ensemble`;
    await saveEnsembleFolder(ensemble, members);
    for (const member of members) member.tagger.dispose();
    const file = `${ensemble}/${ENSEMBLE_FILE}`;

    // member-2 replaced by a link to a folder outside the ensemble: refused, naming the file.
    await Deno.remove(`${ensemble}/member-2`, { recursive: true });
    await Deno.symlink(`${root}/outside`, `${ensemble}/member-2`);
    await assert.rejects(
      loadModelFolder(ensemble),
      new RegExp(`${literal(file)}: member "member-2" .*resolves to .*outside.*refusing`),
    );
    // A link to a member inside the ensemble loads.
    await Deno.remove(`${ensemble}/member-2`);
    await Deno.symlink("member-1", `${ensemble}/member-2`);
    const loaded = await loadModelFolder(ensemble);
    assert.equal(loaded.members.length, 2);
    disposeLoadedModel(loaded);
    // A member path that climbs out is refused before anything is read.
    await editJSON(file, (value) => ({ ...value, members: ["member-1", "../outside"] }));
    await assert.rejects(
      loadModelFolder(ensemble),
      new RegExp(`${literal(file)}: not a bilstm-ner`),
    );

    // model.json naming a weights file outside its folder.
    const modelJSON = `${root}/a/model.json`;
    await editJSON(modelJSON, (value) => {
      value.weightsManifest[0].paths = ["../outside/weights.bin"];
      return value;
    });
    await assert.rejects(
      loadModelFolder(`${root}/a`),
      new RegExp(
        `${
          literal(modelJSON)
        }: field "weightsManifest\\[0\\]\\.paths\\[0\\]" must name a file inside`,
      ),
    );
  });
});

/** A corruption of one file of a folder and the error it must give. */
// deno-lint-ignore no-explicit-any
type Case = [file: string, change: (value: any) => unknown, error: RegExp];

const MODEL_CASES: Case[] = [
  ["config.json", () => [], /config\.json: not a bilstm-ner model config/],
  [
    "config.json",
    (c) => ({ ...c, tagger: undefined }),
    /config\.json: the "tagger" config is missing/,
  ],
  ["config.json", (c) => ({ ...c, tagger: [1] }), /config\.json: field "tagger" must be an object/],
  [
    "config.json",
    (c) => ({ ...c, tagger: { ...c.tagger, units: "many" } }),
    /config\.json: tagger\.units must be a positive integer, got "many"/,
  ],
  [
    "config.json",
    (c) => ({ ...c, tagger: { ...c.tagger, vocabSize: undefined } }),
    /config\.json: tagger\.vocabSize must be a positive integer/,
  ],
  [
    "config.json",
    (c) => ({ ...c, training: "fast" }),
    /config\.json: field "training" must be an object/,
  ],
  [
    "config.json",
    (c) => ({ ...c, training: { epochsDone: -1 } }),
    /config\.json: field "training\.epochsDone" must be an integer >= 0, got -1/,
  ],
  [
    "config.json",
    (c) => ({ ...c, tagger: { ...c.tagger, charFeatures: "yes" } }),
    /config\.json: tagger\.charFeatures must be one of true, false/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, format: undefined }),
    /vocab\.json: not a bilstm-ner vocabulary .*"format"/,
  ],
  ["vocab.json", (v) => ({ ...v, words: "the" }), /vocab\.json: .*field "words" is not a list/],
  [
    "vocab.json",
    (v) => ({ ...v, words: [...v.words.slice(0, 3), 7, ...v.words.slice(4)] }),
    /vocab\.json: .*field "words\[3\]" must be a string, got 7/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, words: [...v.words.slice(0, 4), v.words[2], ...v.words.slice(5)] }),
    /vocab\.json: .*field "words\[4\]" repeats/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, words: v.words.slice(1) }),
    /vocab\.json: .*field "words\[0\]" must be "<pad>"/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, tags: [v.tags[0], v.tags[1], "FOO", ...v.tags.slice(3)] }),
    /vocab\.json: .*field "tags\[2\]" is "FOO", not "O", "B-<type>" or "I-<type>"/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, tags: [v.tags[0], "<pad>", ...v.tags.slice(2)] }),
    /vocab\.json: .*field "tags\[1\]"/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, options: undefined }),
    /vocab\.json: .*field "options" is missing/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, options: { ...v.options, lowercase: "no" } }),
    /vocab\.json: .*field "options\.lowercase" must be true or false, got "no"/,
  ],
  [
    "vocab.json",
    (v) => ({ ...v, options: { ...v.options, minFrequency: 0 } }),
    /vocab\.json: .*field "options\.minFrequency" must be an integer >= 1, got 0/,
  ],
  ["vocab.json", (v) => ({ ...v, version: 2 }), /vocab\.json: .*field "version" is 2/],
  [
    "chars.json",
    (c) => ({ ...c, chars: [...c.chars, "ab"] }),
    /chars\.json: not a bilstm-ner character map .*field "chars\[\d+\]" must be one character, got "ab"/,
  ],
  [
    "chars.json",
    (c) => ({ ...c, chars: [...c.chars, 5] }),
    /chars\.json: .*field "chars\[\d+\]" must be one/,
  ],
  [
    "chars.json",
    (c) => ({ ...c, chars: [...c.chars, c.chars[2]] }),
    /chars\.json: .*"chars\[\d+\]" repeats/,
  ],
  ["chars.json", (c) => ({ ...c, version: 2 }), /chars\.json: .*field "version" is 2/],
  ["chars.json", (c) => ({ ...c, options: null }), /chars\.json: .*field "options"/],
  [
    "chars.json",
    (c) => ({ ...c, options: { minFrequency: 0.5 } }),
    /chars\.json: .*field "options\.minFrequency" must be an integer >= 1/,
  ],
  [
    "model.json",
    (m) => ({ ...m, weightsManifest: [{ weights: m.weightsManifest[0].weights }] }),
    /model\.json: field "weightsManifest\[0\]\.paths" must be a list/,
  ],
  [
    "model.json",
    (m) => {
      m.weightsManifest[0].weights[2].shape = "8x8";
      return m;
    },
    /model\.json: field "weightsManifest\[0\]\.weights\[2\]\.shape" must be a list of sizes/,
  ],
  [
    "model.json",
    (m) => {
      m.weightsManifest[0].weights[1].name = m.weightsManifest[0].weights[0].name;
      return m;
    },
    /model\.json: field "weightsManifest\[0\]\.weights\[1\]\.name" repeats/,
  ],
  [
    "model.json",
    (m) => {
      m.weightsManifest[0].weights[0].dtype = "complex64";
      return m;
    },
    /model\.json: unsupported weight dtype complex64/,
  ],
];

const ENSEMBLE_CASES: Case[] = [
  [
    ENSEMBLE_FILE,
    (e) => ({ ...e, members: "member-1" }),
    /ensemble\.json: .*field "members" is not a list/,
  ],
  [
    ENSEMBLE_FILE,
    (e) => ({ ...e, members: ["member-1", "member-1"] }),
    /ensemble\.json: .*"member-1" twice/,
  ],
  [
    ENSEMBLE_FILE,
    (e) => ({ ...e, members: ["/tmp"] }),
    /ensemble\.json: .*field "members\[0\]" is "\/tmp"/,
  ],
  [ENSEMBLE_FILE, (e) => ({ ...e, members: [3] }), /ensemble\.json: .*field "members\[0\]" is 3/],
  [ENSEMBLE_FILE, (e) => ({ ...e, version: 2 }), /ensemble\.json: field "version" is 2/],
  [
    ENSEMBLE_FILE,
    (e) => ({ ...e, description: 5 }),
    /ensemble\.json: field "description" must be a string/,
  ],
  [
    ENSEMBLE_FILE,
    (e) => ({ ...e, members: ["member-1", "member-9"] }),
    /ensemble\.json: member "member-9" .*not found/,
  ],
];

const RUN_CASES: Case[] = [
  [CHECKPOINT_POINTER, () => ({}), /checkpoint\.json: field "latest" is missing/],
  [CHECKPOINT_POINTER, () => [], /checkpoint\.json: not a checkpoint pointer/],
  [
    CHECKPOINT_POINTER,
    () => ({ latest: 5 }),
    /checkpoint\.json: field "latest" must be a non-empty folder path, got 5/,
  ],
  [
    CHECKPOINT_POINTER,
    (p) => ({ ...p, epoch: -1 }),
    /checkpoint\.json: field "epoch" must be an integer >= 0, got -1/,
  ],
  [
    CHECKPOINT_POINTER,
    (p) => ({ ...p, partial: { epoch: 1 } }),
    /checkpoint\.json: field "partial\.step" must be an integer >= 0/,
  ],
  [
    CHECKPOINT_POINTER,
    (p) => ({ ...p, latest: "checkpoints/epoch-009" }),
    /checkpoint\.json: field "latest" \("checkpoints\/epoch-009"\) cannot be read: not found/,
  ],
];

Deno.test("every JSON file a load reads is checked: errors name the file and the field", async () => {
  await withTempDir(async (root) => {
    const base = `${root}/base`;
    await smallFolder(base, { charFeatures: true, modelType: "bilstm-crf" });
    const members = [(await loadModelFolder(base)).members[0]];
    await saveEnsembleFolder(`${root}/ensemble-base`, [members[0], members[0]]);
    members[0].tagger.dispose();
    await copyFolder(base, `${root}/run-base/checkpoints/epoch-001`);
    await Deno.writeTextFile(
      `${root}/run-base/${CHECKPOINT_POINTER}`,
      JSON.stringify({ latest: "checkpoints/epoch-001", epoch: 1 }),
    );
    const groups: [string, string, Case[]][] = [
      ["base", "", MODEL_CASES],
      ["ensemble-base", "", ENSEMBLE_CASES],
      ["ensemble-base", "member-2/", MODEL_CASES.filter(([file]) => file === "vocab.json")],
      ["run-base", "", RUN_CASES],
      [
        "run-base",
        "checkpoints/epoch-001/",
        MODEL_CASES.filter(([file]) => file === "config.json"),
      ],
    ];
    let index = 0;
    const tensors = tf.memory().numTensors;
    for (const [source, inner, cases] of groups) {
      for (const [file, change, error] of cases) {
        const directory = `${root}/case-${index++}`;
        await copyFolder(`${root}/${source}`, directory);
        await editJSON(`${directory}/${inner}${file}`, change);
        await assert.rejects(
          loadModelFolder(directory),
          (thrown: Error) => {
            assert.match(thrown.message, error);
            assert.ok(
              thrown.message.startsWith(`${directory}/${inner}`),
              `the message names the file's folder: ${thrown.message}`,
            );
            return true;
          },
          `${source}/${inner}${file}: ${error}`,
        );
        await Deno.remove(directory, { recursive: true });
      }
    }
    assert.equal(tf.memory().numTensors, tensors, "failed loads leave no tensors");
  });
});

Deno.test("predict and evaluate print a bad folder's error as one line, without a stack trace", async () => {
  await withTempDir(async (root) => {
    const directory = `${root}/model`;
    await smallFolder(directory, { modelType: "bilstm-crf" });
    await editJSON(`${directory}/vocab.json`, (v) => ({ ...v, tags: [...v.tags, 3] }));
    const cli = (name: string) => new URL(`../lib/cli/${name}.ts`, import.meta.url).pathname;
    const runs: [string, string[]][] = [["predict", ["Mr Smith"]], ["evaluate", ["--limit", "5"]]];
    for (const [name, args] of runs) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli(name), "--model", directory, ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 1, `${name}: ${stderr}`);
      assert.match(
        stderr,
        /^error: .*vocab\.json: .*field "tags\[\d+\]" must be a string, got 3\)$/m,
      );
      assert.doesNotMatch(stderr, /^\s+at /m, `${name}: no stack trace`);
      assert.equal(new TextDecoder().decode(output.stdout), "");
    }
  });
});
