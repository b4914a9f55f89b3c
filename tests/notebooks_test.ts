import assert from "node:assert/strict";
import { denoJSON } from "./fixtures/deno_child.ts";

const ROOT = new URL("..", import.meta.url).pathname;
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
