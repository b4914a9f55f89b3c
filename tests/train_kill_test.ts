import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { loadModelFolder } from "../lib/io/mod.ts";
import { train } from "../lib/train/train.ts";
import { weightsOf } from "./fixtures/resume.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { TINY_RUN_CONFIG, TINY_RUN_SENTENCES } from "./fixtures/train_tiny.ts";

const SCRIPT = new URL("./fixtures/train_tiny.ts", import.meta.url).pathname;

async function readEpoch(out: string): Promise<number> {
  try {
    return JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`)).epoch;
  } catch {
    return 0;
  }
}

Deno.test("a training process killed mid-epoch resumes from its last checkpoint to the same weights", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const out = `${directory}/run`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, out],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 60_000;
    while ((await readEpoch(out)) < 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill("SIGKILL");
    await child.status;
    const epochAtKill = await readEpoch(out);
    assert.ok(epochAtKill >= 1 && epochAtKill < 3, `killed after epoch ${epochAtKill} of 3`);
    const leftovers = [...Deno.readDirSync(`${out}/checkpoints`)].map((entry) => entry.name);
    assert.ok(leftovers.includes(`epoch-${String(epochAtKill).padStart(3, "0")}`));

    const resumed = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, out, "--resume"],
    }).output();
    assert.equal(resumed.code, 0, new TextDecoder().decode(resumed.stderr));
    assert.equal(await readEpoch(out), 3);

    await initBackend({ backend: "wasm" });
    const straight = await train({
      trainSentences: syntheticSentences(TINY_RUN_SENTENCES),
      config: TINY_RUN_CONFIG,
      progress: null,
    });
    const loaded = await loadModelFolder(out);
    const expected = weightsOf(straight.tagger);
    const actual = weightsOf(loaded.members[0].tagger);
    assert.deepEqual(actual, expected, "resumed weights equal an uninterrupted run's");
    const history = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    assert.deepEqual(history.loss, straight.history.loss);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
