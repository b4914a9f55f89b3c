/**
 * The library's public surface, `lib/mod.ts` (issue "Easy to pick up"): small and fully
 * documented (`deno doc --lint` passes, at most 80 names, each listed in docs/library.md), usable
 * from a program outside the project with read permission alone (the docs' example, run as it
 * says), and its `Model` wiring (load, tag, train, evaluate) working.
 */
import assert from "node:assert/strict";
import {
  evaluateModel,
  initBackend,
  loadModelFolder,
  loadSentences,
  type Model,
  predictText,
  predictTexts,
  predictTokens,
  projectPath,
  SHIPPED_MODEL,
  toConll,
  train,
} from "../lib/mod.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const ROOT = new URL("../", import.meta.url);
const MOD = new URL("../lib/mod.ts", import.meta.url).pathname;
const DOC = new URL("../docs/library.md", import.meta.url);
const MAX_PUBLIC_NAMES = 80;

/** Runs `deno ...args` and returns its exit code and text output. */
async function deno(args: string[], cwd?: string | URL) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

/** The distinct top-level names `deno doc --json` gives for the module. */
async function publicNames(): Promise<string[]> {
  const { code, stdout, stderr } = await deno(["doc", "--json", MOD], ROOT);
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  // Deno 2.x: { version, nodes: { [specifier]: { symbols: [{ name, … }] } } }; Deno 1.x gave an
  // array of nodes, each with a name.
  const nodes: { name: string }[] = Array.isArray(doc)
    ? doc
    : Array.isArray(doc.nodes)
    ? doc.nodes
    : Object.values(doc.nodes as Record<string, { symbols: { name: string }[] }>)
      .flatMap((module) => module.symbols);
  return [...new Set(nodes.map((node) => node.name))].sort();
}

/** The fenced code blocks of a language in a Markdown text, in order. */
function codeBlocks(markdown: string, language: string): string[] {
  const fence = new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g");
  return [...markdown.matchAll(fence)].map((match) => match[1]);
}

Deno.test("deno doc --lint lib/mod.ts passes: every public name documented, no private type", async () => {
  const { code, stdout, stderr } = await deno(["doc", "--lint", MOD], ROOT);
  assert.equal(code, 0, `deno doc --lint failed:\n${stdout}\n${stderr}`.slice(-4000));
});

Deno.test("lib/mod.ts is a small surface, and docs/library.md lists every public name", async () => {
  const names = await publicNames();
  assert.ok(names.length >= 20, `suspiciously few names: ${names.join(", ")}`);
  assert.ok(
    names.length <= MAX_PUBLIC_NAMES,
    `${names.length} public names (at most ${MAX_PUBLIC_NAMES}): ${names.join(", ")}`,
  );
  for (const name of ["initBackend", "loadModelFolder", "predictText", "train", "evaluateModel"]) {
    assert.ok(names.includes(name), `${name} is not public`);
  }
  const source = await Deno.readTextFile(MOD);
  assert.doesNotMatch(source, /export \*/, "lib/mod.ts re-exports whole modules");
  const listed = [...(await Deno.readTextFile(DOC)).matchAll(/^- `(\w+)`/gm)]
    .map((match) => match[1]).sort();
  assert.deepEqual(listed, names, "docs/library.md's list of public names is out of date");
});

Deno.test("the docs/library.md example runs outside the project with --allow-read only", async () => {
  const doc = await Deno.readTextFile(DOC);
  const [command] = codeBlocks(doc, "sh");
  const [example] = codeBlocks(doc, "ts");
  const [expected] = codeBlocks(doc, "text");
  assert.ok(example.split("\n").filter(Boolean).length <= 8, `example too long:\n${example}`);
  // The command as the docs give it, with the project's real path.
  const args = command.trim().split(/\s+/).map((arg) =>
    arg.replace("/path/to/bilstm-ner/", ROOT.pathname)
  );
  assert.deepEqual(args.slice(0, 2), ["deno", "run"]);
  assert.deepEqual(
    args.filter((arg) => arg.startsWith("--allow") || arg.startsWith("-A")),
    ["--allow-read"],
  );
  await withTempDir(async (folder) => {
    await Deno.writeTextFile(`${folder}/${args.at(-1)}`, example);
    const { code, stdout, stderr } = await deno(args.slice(1), folder);
    assert.equal(code, 0, stderr.slice(-3000));
    assert.equal(stdout, expected);
    assert.match(stdout, /^Angela Merkel per$/m);
    assert.match(stdout, /^Paris geo$/m);
  });
});

Deno.test("a missing model folder is an Error naming it", async () => {
  await initBackend();
  await assert.rejects(
    loadModelFolder("/nonexistent/bilstm-ner-model"),
    (error: Error) => error.message === "/nonexistent/bilstm-ner-model: model folder not found",
  );
});

Deno.test("Model: the shipped model tags text and tokens, and evaluates", async () => {
  await initBackend();
  const model: Model = await loadModelFolder(SHIPPED_MODEL);
  try {
    assert.equal(model.directory, projectPath("data/model"));
    assert.ok(model.size > 1, "the shipped model is an ensemble");
    assert.ok(model.tags.includes("B-geo") && !model.tags.includes("<pad>"), `${model.tags}`);
    const text = "Angela Merkel visited Paris on Monday.";
    const single = predictText(model, text);
    assert.deepEqual(single.entities.map((entity) => [entity.text, entity.type]), [
      ["Angela Merkel", "per"],
      ["Paris", "geo"],
      ["Monday", "tim"],
    ]);
    assert.deepEqual(predictTexts(model, [text, ""]), [single, { tokens: [], entities: [] }]);
    const [tokens] = predictTokens(model, [["Angela", "Merkel", "visited", "Paris", "."]]);
    assert.deepEqual(tokens.map((token) => token.tag), ["B-per", "I-per", "O", "B-geo", "O"]);
    const gold = [{
      id: 1,
      words: ["Angela", "Merkel", "visited", "Paris", "."],
      pos: ["NNP", "NNP", "VBD", "NNP", "."],
      tags: ["B-per", "I-per", "O", "B-geo", "O"],
      line: 1,
    }];
    assert.equal(evaluateModel(model, gold).entity.f1, 1);
  } finally {
    model.dispose();
  }
});

Deno.test("train returns a Model that tags; its run folder loads; corpora round-trip", async () => {
  await initBackend();
  await withTempDir(async (folder) => {
    const file = `${folder}/train.conll`;
    await Deno.writeTextFile(file, toConll(syntheticSentences(40)));
    const { sentences, summary } = await loadSentences(file);
    assert.equal(summary.format, "conll");
    const result = await train({
      trainSentences: sentences,
      config: { epochs: 1, batchSize: 8, maxLen: 10, model: { embeddingDim: 8, units: 6 } },
      out: `${folder}/run`,
      progress: null,
    });
    try {
      assert.equal(result.model.directory, null);
      assert.equal(result.model.size, 1);
      assert.equal(result.history.loss.length, 1);
      const [tokens] = predictTokens(result.model, [["we", "met", "Smith", "in", "Paris"]]);
      assert.equal(tokens.length, 5);
      assert.ok(tokens.every((token) => result.model.tags.includes(token.tag)));
    } finally {
      result.model.dispose();
    }
    const loaded = await loadModelFolder(`${folder}/run`);
    try {
      assert.match(loaded.directory ?? "", /run\/checkpoints\//);
      assert.equal(predictText(loaded, "We met Smith in Paris.").tokens.length, 6);
    } finally {
      loaded.dispose();
    }
  });
});
