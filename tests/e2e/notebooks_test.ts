import assert from "node:assert/strict";
import { denoJSON } from "../fixtures/deno_child.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const NOTEBOOKS = [
  "01_import_libraries.ipynb",
  "02_load_and_group.ipynb",
  "03_maps_padding_split.ipynb",
  "04_build_model.ipynb",
  "05_train.ipynb",
  "06_evaluate_and_predict.ipynb",
];

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
}

Deno.test("the six notebooks execute in quick mode without errors and show inline SVG plots", async () => {
  const out = await Deno.makeTempDir();
  try {
    const summary = await denoJSON(
      ["run", "-A", "lib/cli/notebooks.ts", "--quick", "--out", out, "--json"],
      ROOT,
    );
    assert.ok(summary, "the --json summary parses");
    let svgPlots = 0;
    for (const name of NOTEBOOKS) {
      const notebook = JSON.parse(await Deno.readTextFile(`${out}/${name}`));
      const codeCells = notebook.cells.filter((cell: { cell_type: string }) =>
        cell.cell_type === "code"
      );
      const outputs: Output[] = codeCells.flatMap((cell: { outputs: Output[] }) => cell.outputs);
      assert.equal(outputs.filter((o) => o.output_type === "error").length, 0, `${name}: errors`);
      assert.ok(
        codeCells.every((cell: { execution_count: number | null }) =>
          cell.execution_count !== null
        ),
        `${name}: every code cell ran`,
      );
      svgPlots += outputs.filter((o) => o.data && "image/svg+xml" in o.data).length;
    }
    assert.ok(svgPlots >= 5, `at least 5 inline SVG plots, found ${svgPlots}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** The text of every output of a notebook's code cells. */
function outputText(notebook: { cells: { cell_type: string; outputs?: unknown[] }[] }): string {
  return notebook.cells.flatMap((cell) => cell.outputs ?? []).map((output) => {
    const { text, data } = output as { text?: string | string[]; data?: Record<string, unknown> };
    const plain = data?.["text/plain"];
    return [text, plain].flat().filter((part) => typeof part === "string").join("");
  }).join("\n");
}

Deno.test("the six notebooks run end to end on your own CoNLL data (quick mode)", async () => {
  const out = await Deno.makeTempDir();
  try {
    const own = `${ROOT}tests/fixtures/own_data`;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "lib/cli/notebooks.ts", "--quick", "--out", out, "--json"],
      cwd: ROOT,
      env: {
        BILSTM_NER_TRAIN: "tests/fixtures/own_data/train.conll",
        BILSTM_NER_DEV: `${own}/dev.conll`,
        BILSTM_NER_TEST: `${own}/test.conll`,
        BILSTM_NER_RUNS: `${out}/runs`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr).slice(-3000));
    const read = async (name: string) => JSON.parse(await Deno.readTextFile(`${out}/${name}`));
    for (const name of NOTEBOOKS) {
      const outputs = (await read(name)).cells.flatMap((cell: { outputs?: Output[] }) =>
        cell.outputs ?? []
      );
      assert.equal(outputs.filter((o: Output) => o.output_type === "error").length, 0, name);
    }
    assert.match(
      outputText(await read("02_load_and_group.ipynb")),
      /conll file, IOB1 tags \(read as IOB2\), utf-8: 6,543 rows → 300 sentences/,
    );
    assert.match(
      outputText(await read("03_maps_padding_split.ipynb")),
      /validation \(the dev file\)\s+100/,
    );
    const evaluation = outputText(await read("06_evaluate_and_predict.ipynb"));
    assert.match(evaluation, /scoring on 150 sentences of \S+own_data\/test\.conll/);
    for (const type of ["LOC", "MISC", "ORG", "PER"]) {
      assert.match(evaluation, new RegExp(`^\\s+${type}\\s+\\d`, "m"), `${type} in the report`);
    }
    const report = evaluation.slice(
      evaluation.indexOf("scoring on"),
      evaluation.indexOf("micro avg"),
    );
    assert.doesNotMatch(report, /\bgeo\b/, "no GMB type: the model scored is the own-data run");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
