/**
 * The README's worked example on your own data, run as printed (issue 26): its four commands
 * are read from the README's `sh` block that trains on `tests/fixtures/own_data/`, and only the
 * run folder `runs/own` is moved to a temporary folder. With no flags beyond the printed ones,
 * training stops by itself, `evaluate` scores entity F1 >= 0.35 on the test file with the best
 * epoch's checkpoint, and `predict` finds entities.
 *
 * @module
 */
import assert from "node:assert/strict";
import { withTempDir } from "../fixtures/temp_dir.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The README's commands of the worked example, joined across `\` continuations. */
async function readmeExample(): Promise<string[][]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((match) => match[1])
    .find((text) => text.includes("--train tests/fixtures/own_data/train.conll"));
  assert.ok(block, "the README has the worked example");
  return block.replace(/\\\n\s*/g, "").split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line.startsWith("deno task "))
    .map((line) =>
      [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2]).slice(2)
    );
}

/** Runs `deno task NAME ARGS` at the root. */
async function task(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("the README's worked example, run as printed, learns: F1 >= 0.35, predict finds entities", async () => {
  const commands = await readmeExample();
  assert.deepEqual(commands.map((command) => command[0]), [
    "stats",
    "train",
    "evaluate",
    "predict",
  ]);
  await withTempDir(async (directory) => {
    const out = `${directory}/own`;
    const moved = commands.map((command) =>
      command.map((word) => (word === "runs/own" ? out : word))
    );
    const [stats, train, evaluate, predict] = moved;
    assert.equal((await task(stats)).code, 0);

    const trained = await task(train);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /preset accurate · best epoch \d+/);
    const history = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    const pointer = JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`));
    const best = Math.max(...history.valF1);
    assert.equal(pointer.best.epoch, history.valF1.indexOf(best) + 1, "the best dev epoch is kept");

    const scored = await task([...evaluate, "--json"]);
    assert.equal(scored.code, 0, scored.stderr);
    const report = JSON.parse(scored.stdout);
    assert.ok(report.model.endsWith(pointer.best.checkpoint), `evaluated ${report.model}`);
    assert.ok(report.entity.f1 >= 0.35, `test entity F1 ${report.entity.f1}`);
    console.log(
      `worked example: ${history.epoch.length} epochs, best ${pointer.best.epoch} ` +
        `(dev F1 ${best.toFixed(4)}), test entity F1 ${report.entity.f1.toFixed(4)}`,
    );

    const tagged = await task(predict);
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.doesNotMatch(tagged.stdout, /Entities: none/);
    assert.match(tagged.stdout, /\b(PER|LOC|ORG|MISC)\b/);
  });
});
