/**
 * The files of a training run folder are read only when they are regular files of a bounded
 * size, and the checkpoint a pointer names must stay inside the run: a FIFO would block a read
 * forever and a link to `/dev/zero` never ends, so `runs`, resuming, loading a run and the saved
 * optimizer state refuse them by name instead (as model folders' own files already were).
 *
 * @module
 */
import assert from "node:assert/strict";
import { MAX_JSON_BYTES, readJSONFile, readJSONIfAny } from "../lib/fs/files.ts";
import { readCheckpointPointer } from "../lib/io/model_folder.ts";
import { loadState, saveState } from "../lib/io/state_file.ts";
import { listRuns } from "../lib/train/runs.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";
import { within } from "./fixtures/wait.ts";

/** Makes a FIFO at `path`. */
async function mkfifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, `mkfifo ${path}`);
}

/** A run folder with a pointer to `latest` and a minimal v2 config there (when it is inside). */
async function writeRun(directory: string, latest = "checkpoints/epoch-001"): Promise<void> {
  await Deno.mkdir(`${directory}/checkpoints/epoch-001`, { recursive: true });
  await Deno.writeTextFile(`${directory}/checkpoint.json`, JSON.stringify({ latest, epoch: 1 }));
  await Deno.writeTextFile(
    `${directory}/checkpoints/epoch-001/config.json`,
    JSON.stringify({ format: "bilstm-ner-model", version: 2, tagger: { units: 8 } }),
  );
}

Deno.test("readJSONFile and readJSONIfAny refuse a FIFO, a device and an oversized file by name", async () => {
  await withTempDir(async (dir) => {
    await mkfifo(`${dir}/fifo.json`);
    await Deno.symlink("/dev/zero", `${dir}/zero.json`);
    await Deno.writeTextFile(`${dir}/big.json`, "");
    await Deno.truncate(`${dir}/big.json`, MAX_JSON_BYTES + 1);
    for (const read of [readJSONFile, readJSONIfAny]) {
      await assert.rejects(
        within(read(`${dir}/fifo.json`, "history"), "a FIFO refused", 20_000),
        /fifo\.json: history is a FIFO \(named pipe\), not a regular file; refusing to read it/,
      );
      await assert.rejects(
        within(read(`${dir}/zero.json`, "history"), "/dev/zero refused", 20_000),
        /zero\.json: history is a character device, not a regular file/,
      );
      await assert.rejects(
        read(`${dir}/big.json`, "history"),
        /big\.json: history is 67108865 bytes/,
      );
    }
    assert.equal(await readJSONIfAny(`${dir}/missing.json`), undefined, "missing is not an error");
  });
});

Deno.test("runs names a run's FIFO config, /dev/zero history and escaping checkpoint instead of hanging", async () => {
  await withTempDir(async (root) => {
    await writeRun(`${root}/fifo-config`);
    await Deno.remove(`${root}/fifo-config/checkpoints/epoch-001/config.json`);
    await mkfifo(`${root}/fifo-config/checkpoints/epoch-001/config.json`);
    await writeRun(`${root}/zero-history`);
    await Deno.symlink("/dev/zero", `${root}/zero-history/history.json`);
    await writeRun(`${root}/zero-evaluation`);
    await Deno.symlink("/dev/zero", `${root}/zero-evaluation/evaluation.json`);
    await writeRun(`${root}/climbs-out`, "../zero-history/checkpoints/epoch-001");
    await Deno.mkdir(`${root}/elsewhere/epoch-001`, { recursive: true });
    await writeRun(`${root}/linked-out`, "checkpoints/outside");
    await Deno.symlink(`${root}/elsewhere/epoch-001`, `${root}/linked-out/checkpoints/outside`);

    const runs = Object.fromEntries(
      (await within(listRuns(root), "listRuns over unsafe files", 20_000)).map((run) => [
        run.dir,
        run,
      ]),
    );
    assert.match(runs["fifo-config"].error ?? "", /config\.json: model config is a FIFO/);
    assert.match(
      runs["zero-history"].error ?? "",
      /history\.json: training history is a character device/,
    );
    assert.deepEqual(runs["zero-history"].settings, { units: 8 }, "what is safe still reads");
    assert.match(
      runs["zero-evaluation"].error ?? "",
      /evaluation\.json: evaluation record is a character device/,
    );
    assert.match(runs["climbs-out"].error ?? "", /checkpoint "latest" .* must be a path inside/);
    assert.match(runs["linked-out"].error ?? "", /checkpoint "latest" .* resolves to .*, outside/);
  });
});

Deno.test("loading a run whose checkpoint.json is a FIFO, and a saved state whose .bin is one, are refused", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/run`);
    await mkfifo(`${dir}/run/checkpoint.json`);
    await assert.rejects(
      within(readCheckpointPointer(`${dir}/run`), "a FIFO pointer refused", 20_000),
      /checkpoint\.json: checkpoint pointer is a FIFO/,
    );
    await saveState(`${dir}/optimizer`, { step: 3, moments: new Float32Array([1, 2, 3]) });
    assert.deepEqual(
      (await loadState<{ moments: Float32Array }>(`${dir}/optimizer`)).moments,
      new Float32Array([1, 2, 3]),
    );
    await Deno.remove(`${dir}/optimizer.bin`);
    await mkfifo(`${dir}/optimizer.bin`);
    await assert.rejects(
      within(loadState(`${dir}/optimizer`), "a FIFO state refused", 20_000),
      /optimizer\.bin: cannot read saved state \(.*optimizer\.bin: saved state is a FIFO/,
    );
  });
});
