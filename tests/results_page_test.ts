import assert from "node:assert/strict";
import { runTask } from "./fixtures/task.ts";
import {
  checkResultsPage,
  fillPlaceholders,
  loadResultsData,
  renderResultsPage,
} from "../lib/cli/_results_page.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("docs/results.md is what data/ablation.json and the model folders generate", async () => {
  const differences = await checkResultsPage();
  assert.deepEqual(
    differences,
    [],
    `docs/results.md is out of date; run deno task docs:results:\n${differences.join("\n")}`,
  );
});

Deno.test("the check bites: one F1 changed in a copy of the ablation data is reported", async () => {
  const ablation = JSON.parse(await Deno.readTextFile(`${ROOT}data/ablation.json`));
  const row = ablation.rows.find((r: { run: string }) => r.run === "runs/crf-char");
  assert.ok(row, "the + CRF row");
  row.f1 = 0.8012;
  const dir = await Deno.makeTempDir({ prefix: "results_page_test_" });
  try {
    const ablationPath = `${dir}/ablation.json`;
    await Deno.writeTextFile(ablationPath, JSON.stringify(ablation));
    const differences = await checkResultsPage({ ablationPath });
    assert.ok(differences.length > 0, "a difference is reported");
    assert.match(differences.join("\n"), /\*\*0\.801\*\*/, "the new F1 in the generated table");
    assert.match(differences.join("\n"), /\*\*0\.846\*\*/, "the page's F1 it disagrees with");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task docs:results --check exits 0 with its task's permissions", async () => {
  const { code, stderr } = await runTask("docs:results", "--check");
  assert.equal(code, 0, stderr);
});

Deno.test("a row without an explanation, or a placeholder naming no row, fails loudly", async () => {
  const data = await loadResultsData();
  const extra = { ...data.rows[0], run: "runs/new-experiment", name: "a new experiment" };
  assert.throws(
    () => renderResultsPage({ ...data, rows: [...data.rows, extra] }),
    /no explanation for the row "a new experiment"/,
  );
  assert.throws(() => fillPlaceholders("{f1 runs/gone}", data.rows), /no row with run/);
  assert.throws(() => fillPlaceholders("{nope runs/crf-char}", data.rows), /no field "nope"/);
});

Deno.test("placeholders: decimals, percentages, ranges; other braces are left alone", () => {
  const rows = [
    { name: "a", run: "runs/a", precision: 0.5, recall: 0.5, f1: 0.85314, acc: 0.98636 },
    { name: "b", run: "runs/b", precision: 0.5, recall: 0.5, f1: 0.86, acc: null },
  ];
  assert.equal(fillPlaceholders("{f1 runs/a}", rows), "0.853");
  assert.equal(fillPlaceholders("{f1 runs/a .4}", rows), "0.8531");
  assert.equal(fillPlaceholders("{acc runs/a %}", rows), "98.64%");
  assert.equal(fillPlaceholders("{acc runs/b}", rows), "—");
  assert.equal(fillPlaceholders("{f1 runs/b runs/a}", rows), "0.853–0.860");
  const plain = "`evaluateModel(…, { casing })` and data/model*/{evaluation,robustness}.json";
  assert.equal(fillPlaceholders(plain, rows), plain);
});

Deno.test("the results and speed pages name no issue of a tracker users cannot see", async () => {
  for (const page of ["docs/results.md", "docs/speed.md"]) {
    const text = await Deno.readTextFile(`${ROOT}${page}`);
    assert.doesNotMatch(text, /\bissues? #?\d+/i, page);
  }
});
