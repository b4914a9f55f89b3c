import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

interface AblationRow {
  name: string;
  run: string;
  f1: number;
  precision: number;
  recall: number;
  validationF1: number | null;
  f1Upper?: number;
  f1Lower?: number;
  f1Title?: number;
  members?: string[];
  caselessMembers?: string[];
}

const ablation = JSON.parse(await Deno.readTextFile(`${ROOT}data/ablation.json`)) as {
  description: string;
  rows: AblationRow[];
};

/** The shipped model folders, as `data/ablation.json` names them in `run`. */
const SHIPPED = ["data/model", "data/model-fast", "data/model-teacher"];

Deno.test("every ablation row has a name, a run and entity scores in (0, 1) with F1 the mean of P and R", () => {
  const names = new Set<string>();
  for (const row of ablation.rows) {
    assert.ok(row.name.length > 0 && !names.has(row.name), `a unique name: ${row.name}`);
    names.add(row.name);
    assert.ok(row.run.length > 0, `${row.name}: run`);
    for (const value of [row.f1, row.precision, row.recall]) {
      assert.ok(value > 0 && value < 1, `${row.name}: ${value}`);
    }
    const harmonic = (2 * row.precision * row.recall) / (row.precision + row.recall);
    assert.ok(Math.abs(row.f1 - harmonic) < 1e-9, `${row.name}: F1 is P and R's harmonic mean`);
  }
});

for (const folder of SHIPPED) {
  Deno.test(`the ablation's row for ${folder} states what its evaluation.json and robustness.json measured`, async () => {
    const rows = ablation.rows.filter((row) => row.run === folder);
    assert.equal(rows.length, 1, `one row names ${folder}`);
    const [row] = rows;
    const evaluation = JSON.parse(await Deno.readTextFile(`${ROOT}${folder}/evaluation.json`));
    const robustness = JSON.parse(await Deno.readTextFile(`${ROOT}${folder}/robustness.json`));
    assert.equal(row.f1, evaluation.entity.f1);
    assert.equal(row.precision, evaluation.entity.precision);
    assert.equal(row.recall, evaluation.entity.recall);
    assert.equal(row.f1Upper, robustness.casings.upper.f1);
    assert.equal(row.f1Lower, robustness.casings.lower.f1);
    assert.equal(row.f1Title, robustness.casings.title.f1);
    const ensemble = JSON.parse(await Deno.readTextFile(`${ROOT}${folder}/ensemble.json`));
    assert.equal(row.members?.length, ensemble.members.length, "one run per member");
    assert.equal(row.caselessMembers?.length, ensemble.caseless.length, "one per caseless member");
  });
}

Deno.test("the shipped models reach issue 17's entity F1 bars in the ablation: default and teacher 0.86, fast 0.858", () => {
  const f1 = (folder: string) => ablation.rows.find((row) => row.run === folder)!.f1;
  assert.ok(f1("data/model") >= 0.86, `default ${f1("data/model")}`);
  assert.ok(f1("data/model-fast") >= 0.858, `fast ${f1("data/model-fast")}`);
  assert.ok(f1("data/model-teacher") >= 0.86, `teacher ${f1("data/model-teacher")}`);
});
