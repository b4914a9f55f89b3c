import assert from "node:assert/strict";
import { within } from "../fixtures/wait.ts";
import { initBackend } from "../../lib/backend/backend.ts";
import { loadModelFolder } from "../../lib/io/mod.ts";
import { train } from "../../lib/train/train.ts";
import { weightsOf } from "../fixtures/resume.ts";
import { syntheticSentences } from "../fixtures/synthetic_corpus.ts";
import { TINY_RUN_CONFIG, TINY_RUN_SENTENCES } from "../fixtures/train_tiny.ts";

const SCRIPT = new URL("../fixtures/train_tiny.ts", import.meta.url).pathname;
/** Where the first process holds until killed: mid-epoch 2 (an epoch is 90 steps of 4). */
const HOLD = { epoch: 2, step: 45 };

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
    // The process holds mid-epoch 2 (epoch 1's checkpoint written) until killed: the kill lands
    // there, not wherever training had got to when the test looked.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, out, "--hold-at", `${HOLD.epoch}:${HOLD.step}`],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const heldLine = `held at epoch ${HOLD.epoch} step ${HOLD.step}\n`;
    const held = (async () => {
      let text = "";
      for await (const piece of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += piece;
        if (text.includes(heldLine)) return true;
      }
      return false;
    })();
    try {
      const holding = await within(
        held,
        `the training process to print "${heldLine.trim()}"`,
        120_000,
      );
      assert.ok(holding, `the training process ended without holding at ${JSON.stringify(HOLD)}`);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdin.abort().catch(() => {});
      await child.stdout.cancel().catch(() => {});
    }
    const epochAtKill = await readEpoch(out);
    assert.equal(
      epochAtKill,
      HOLD.epoch - 1,
      "killed mid-epoch 2: epoch 1's checkpoint is the last",
    );
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
    // The last checkpoint (a run folder loads its best epoch's by default).
    const loaded = await loadModelFolder(out, { checkpoint: "last" });
    const expected = weightsOf(straight.tagger);
    const actual = weightsOf(loaded.members[0].tagger);
    assert.deepEqual(actual, expected, "resumed weights equal an uninterrupted run's");
    const history = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
    assert.deepEqual(history.loss, straight.history.loss);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
