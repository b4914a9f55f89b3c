import assert from "node:assert/strict";
import { denoJSON } from "../fixtures/deno_child.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

interface PredictJSON {
  tokens: { text: string; tag: string }[];
  entities: { text: string; type: string; start: number; end: number; score: number }[];
}

async function predictJSON(text: string): Promise<PredictJSON> {
  return await denoJSON(["run", "-A", "lib/cli/predict.ts", "--json", text], ROOT) as PredictJSON;
}

Deno.test("the shipped reference model tags India as geo in the tutorial's demo sentence", async () => {
  const text = "Narendra Modi is the Prime Minister of India";
  const result = await predictJSON(text);
  const india = result.entities.find((entity) => entity.text === "India");
  assert.ok(india, `India is an entity: ${JSON.stringify(result.entities)}`);
  assert.equal(india.type, "geo");
  assert.equal(text.slice(india.start, india.end), "India");
  assert.ok(!result.tokens.some((token) => token.tag.endsWith("-nat")), "nothing is tagged nat");
});

Deno.test("the shipped reference model keeps $1 billion out of nat", async () => {
  const result = await predictJSON("Apple is looking at buying U.K. startup for $1 billion");
  const money = result.tokens.filter((token) => ["$", "1", "billion"].includes(token.text));
  assert.deepEqual(money.map((token) => token.text), ["$", "1", "billion"], "$ split from 1");
  assert.ok(money.every((token) => !token.tag.endsWith("-nat")), JSON.stringify(money));
  assert.ok(result.tokens.some((token) => token.text === "U.K."), "U.K. kept whole");
});

Deno.test("the shipped model scores entity F1 >= 0.80 on the test split, as its report says", async () => {
  const measured = await denoJSON(["run", "-A", "lib/cli/evaluate.ts", "--json"], ROOT) as {
    sentences: number;
    entity: { f1: number };
    tokenAccuracy: number;
    paddedAccuracy: number;
  };
  const report = JSON.parse(await Deno.readTextFile(`${ROOT}data/model/evaluation.json`));
  assert.equal(measured.sentences, 9592);
  assert.ok(measured.entity.f1 >= 0.8, `entity F1 ${measured.entity.f1}`);
  assert.ok(Math.abs(measured.entity.f1 - report.entity.f1) < 1e-6, "the report is reproducible");
  assert.ok(measured.tokenAccuracy < measured.paddedAccuracy, "padding inflates accuracy");
});

Deno.test("the shipped model keeps its entities in caseless text, as robustness.json says", async () => {
  const report = JSON.parse(await Deno.readTextFile(`${ROOT}data/model/robustness.json`));
  for (const casing of ["upper", "lower"]) {
    const measured = await denoJSON(
      ["run", "-A", "lib/cli/evaluate.ts", "--json", "--casing", casing],
      ROOT,
    ) as { casing: string; sentences: number; entity: { f1: number }; caselessMembers: string[] };
    assert.equal(measured.casing, casing);
    assert.equal(measured.sentences, 9592);
    assert.equal(measured.caselessMembers.length, 2, "the caseless members are loaded");
    assert.ok(measured.entity.f1 >= 0.8, `${casing}: entity F1 ${measured.entity.f1}`);
    assert.ok(
      Math.abs(measured.entity.f1 - report.casings[casing].f1) < 1e-6,
      `${casing}: the report is reproducible`,
    );
  }
});

Deno.test("the shipped fast model scores as its report says, in every casing", async () => {
  const report = JSON.parse(await Deno.readTextFile(`${ROOT}data/model-fast/robustness.json`));
  const evaluation = JSON.parse(await Deno.readTextFile(`${ROOT}data/model-fast/evaluation.json`));
  assert.equal(report.casings.original.f1, evaluation.entity.f1);
  for (const casing of ["original", "upper", "lower"]) {
    const measured = await denoJSON(
      [
        "run",
        "-A",
        "lib/cli/evaluate.ts",
        "--json",
        "--model",
        "data/model-fast",
        "--casing",
        casing,
      ],
      ROOT,
    ) as { sentences: number; entity: { f1: number }; caselessMembers: string[] };
    assert.equal(measured.sentences, 9592);
    assert.equal(measured.caselessMembers.length, 1, "the caseless member is loaded");
    assert.ok(measured.entity.f1 >= (casing === "original" ? 0.85 : 0.8), `${casing}: F1`);
    assert.ok(
      Math.abs(measured.entity.f1 - report.casings[casing].f1) < 1e-6,
      `${casing}: the report is reproducible`,
    );
  }
});

Deno.test("predict with a text argument routes caseless sentences as the library does, loading the caseless members only for them", async () => {
  const { initBackend } = await import("../../lib/backend/backend.ts");
  const { disposeLoadedModel, loadModelFolder } = await import("../../lib/io/ensemble_folder.ts");
  const { predictTexts } = await import("../../lib/predict/predict_text.ts");
  await initBackend({ backend: "wasm" });
  const folder = `${ROOT}data/model`;
  const full = await loadModelFolder(folder);
  const cased = await loadModelFolder(folder, { caseless: false });
  try {
    assert.equal(full.caseless.length, 2);
    assert.equal(cased.caseless.length, 0, "caseless: false leaves them out");
    assert.equal(cased.members.length, 2);
    for (
      const text of [
        "Barack Obama visited Paris on Monday .",
        "Barack Obama visited Paris . BARACK OBAMA VISITED PARIS ON MONDAY .",
        "barack obama visited paris on monday",
      ]
    ) {
      const [want] = predictTexts(full, [text]);
      const got = await predictJSON(text);
      assert.deepEqual(
        got.tokens.map((token) => token.tag),
        want.tokens.map((token) => token.tag),
        text,
      );
    }
    // The caseless members matter: without them the capitals lose their entities.
    const upper = "BARACK OBAMA VISITED PARIS ON MONDAY .";
    const [routed] = predictTexts(full, [upper]);
    const [unrouted] = predictTexts(cased, [upper]);
    assert.notDeepEqual(
      routed.tokens.map((token) => token.tag),
      unrouted.tokens.map((token) => token.tag),
    );
  } finally {
    disposeLoadedModel(full);
    disposeLoadedModel(cased);
  }
});
