/**
 * Run folders are safe to train in (issue 16, findings 3, 6 and 7):
 *
 * - one training per folder: a lock held for the training's lifetime, released on every way
 *   out, refused to a second training (another process, or the same one) naming the holder,
 *   taken over with a message when its holder is gone;
 * - `--out` checked before training (a file in the way, a read-only folder, too little free
 *   space), and a checkpoint write that fails leaves no staging folder and the previous
 *   checkpoint loadable;
 * - resuming refuses settings that differ from the run's, a folder with no checkpoint, fewer
 *   epochs than done, and names a tampered checkpoint file.
 *
 * @module
 */
import { waitFor } from "./fixtures/wait.ts";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend/backend.ts";
import { main as trainCli } from "../lib/cli/train.ts";
import { loadModelFolder } from "../lib/io/mod.ts";
import { checkFreeSpace } from "../lib/train/run_folder_checks.ts";
import type { TrainConfig } from "../lib/train/config.ts";
import { hostName, LOCK_FILE } from "../lib/io/run_lock.ts";
import {
  ResumeMismatchError,
  RunFolderError,
  RunLockedError,
  train,
  type TrainOptions,
} from "../lib/train/train.ts";
import { withCapturedConsole } from "./fixtures/console.ts";
import { weightsOf } from "./fixtures/resume.ts";
import { syntheticSentences } from "./fixtures/synthetic_corpus.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

await initBackend({ backend: "wasm" });

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CLI = `${ROOT}/lib/cli/train.ts`;
const SENTENCES = syntheticSentences(60);
const CONFIG: TrainConfig = {
  epochs: 1,
  batchSize: 8,
  maxLen: 10,
  seed: 5,
  learningRate: 0.01,
  limit: 40,
  model: { embeddingDim: 8, units: 6 },
};

/** Mounts a tmpfs of `bytes` on `directory`; says whether it worked, and why not. */
async function mountTmpfs(directory: string, bytes: number) {
  const output = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", directory],
    stdout: "null",
    stderr: "piped",
  }).output().catch((error) => ({ success: false, stderr: new TextEncoder().encode(`${error}`) }));
  return { success: output.success, stderr: new TextDecoder().decode(output.stderr) };
}

/**
 * Whether a tmpfs (a real small filesystem to fill) can be mounted here: root on Linux. Probed
 * once, before any test runs, by mounting one and unmounting it; the tests that need one are
 * ignored, with this reason in their names, where it cannot.
 */
const CAN_MOUNT_TMPFS = await (async () => {
  const directory = await Deno.makeTempDir({ prefix: "bilstm-ner-tmpfs-probe-" });
  try {
    if (!(await mountTmpfs(directory, 64 * 1024)).success) return false;
    const umount = await new Deno.Command("umount", { args: [directory], stderr: "null" }).output();
    return umount.success;
  } finally {
    await Deno.remove(directory).catch(() => {});
  }
})();
const TMPFS_IGNORED = "(ignored where a tmpfs cannot be mounted: needs root on Linux)";

/** The CLI's smallest run on the bundled corpus. */
const TINY_CLI = ["--limit", "40", "--epochs", "1", "--units", "4", "--threads", "1"];

/** Trains quietly on the synthetic sentences. */
function quietTrain(options: Partial<TrainOptions>) {
  return train({ trainSentences: SENTENCES, config: CONFIG, progress: null, ...options });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/** Runs the train CLI as a process. */
async function runCli(args: string[], prefix: string[] = []) {
  const [command, ...rest] = [...prefix, Deno.execPath(), "run", "-A", CLI, ...args];
  const output = await new Deno.Command(command, {
    args: rest,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace:\n${stderr}`);
}

function writeLock(out: string, holder: Record<string, unknown>): Promise<void> {
  return Deno.writeTextFile(
    `${out}/${LOCK_FILE}`,
    JSON.stringify({
      host: hostName(),
      since: "2020-01-02T03:04:05.000Z",
      token: crypto.randomUUID(),
      ...holder,
    }),
  );
}

// ---- finding 3: one training per run folder ----

Deno.test("lock: a second train() on a folder the same process trains in fails at once, naming the holder", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const controller = new AbortController();
    let firstEnded = false;
    const first = quietTrain({
      out,
      config: { ...CONFIG, epochs: 500 },
      signal: controller.signal,
    });
    first.then(() => firstEnded = true, () => firstEnded = true);
    await waitFor("the first training's lock", () => exists(`${out}/${LOCK_FILE}`));
    let secondSteps = 0;
    await assert.rejects(quietTrain({ out, onStep: () => secondSteps++ }), (error: unknown) => {
      assert.ok(error instanceof RunLockedError, String(error));
      assert.match(
        error.message,
        new RegExp(`pid ${Deno.pid} on host ${hostName()} \\(this process\\), since \\d{4}-`),
      );
      assert.ok(error.message.includes(out), error.message);
      return true;
    });
    // At once, not after training: the second took no step, and the first was still training.
    assert.equal(secondSteps, 0, "refused before any training step");
    assert.equal(firstEnded, false, "refused while the first training ran, not after it ended");
    controller.abort();
    const result = await first;
    assert.ok(result.interrupted, "the first training went on until stopped");
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false, "released after a stop");
    // Released after an error too, and after a normal end.
    await assert.rejects(
      quietTrain({
        out: `${directory}/failing`,
        progress: (line) => {
          if (line.startsWith("epoch 1/1")) throw new Error("boom");
        },
      }),
      /boom/,
    );
    assert.equal(await exists(`${directory}/failing/${LOCK_FILE}`), false, "released on error");
    (await quietTrain({ out: `${directory}/normal` })).tagger.dispose();
    assert.equal(await exists(`${directory}/normal/${LOCK_FILE}`), false, "released at the end");
    result.tagger.dispose();
  });
});

Deno.test("lock: two processes on one folder — the second exits 1 at once naming the first, which Ctrl-C releases", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const long = ["--limit", "2000", "--batch-size", "4", "--epochs", "20", "--units", "8"];
    const first = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...long, "--threads", "1", "--out", out],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let firstErr = "";
    const reading = (async () => {
      for await (const piece of first.stderr.pipeThrough(new TextDecoderStream())) {
        firstErr += piece;
      }
    })();
    try {
      await waitFor("the first process's lock", () => exists(`${out}/${LOCK_FILE}`));
      const lock = JSON.parse(await Deno.readTextFile(`${out}/${LOCK_FILE}`));
      assert.equal(lock.pid, first.pid);
      assert.equal(lock.host, hostName());
      assert.ok(!Number.isNaN(Date.parse(lock.since)), lock.since);

      const second = await runCli([...TINY_CLI, "--out", out]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `another training is running in this folder: pid ${first.pid} on host ` +
            `${hostName()}, since ${lock.since.replace(/[.]/g, "\\.")}`,
        ),
      );
      assert.ok(second.stderr.includes(out), second.stderr);
      assert.doesNotMatch(second.stderr, /backend wasm/, "refused before the backend started");
      assertNoStack(second.stderr);

      // The same from a training in this process.
      await assert.rejects(quietTrain({ out }), new RegExp(`pid ${first.pid} on host`));
      await waitFor(
        "the first process's training",
        () => Promise.resolve(/epoch 1\/20 \d/.test(firstErr)),
      );
    } finally {
      try {
        first.kill("SIGINT");
      } catch {
        // It has ended already (the assertions above say why).
      }
    }
    const status = await first.status;
    await reading;
    assert.equal(status.code, 130, firstErr.slice(-2000));
    assert.equal(status.signal, null, "it stopped by itself, not killed by the signal");
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false, "the stopped run released its lock");

    // Ctrl-C as soon as the lock is taken, before training starts: still a clean stop.
    const early = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...long, "--threads", "1", "--out", out, "--resume"],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const earlyErr = new Response(early.stderr).text();
    await waitFor("the resumed process's lock", () => exists(`${out}/${LOCK_FILE}`));
    early.kill("SIGINT");
    const earlyStatus = await early.status;
    assert.equal(earlyStatus.code, 130, (await earlyErr).slice(-2000));
    assert.equal(earlyStatus.signal, null);
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false, "released");
  });
});

Deno.test("lock: a stale lock (its pid is gone) is taken over with a message", async () => {
  await withTempDir(async (out) => {
    const pid = await deadPid();
    await writeLock(out, { pid });
    const lines: string[] = [];
    const result = await quietTrain({ out, progress: (line) => lines.push(line) });
    assert.match(
      lines.join(""),
      new RegExp(`taking over a stale lock: pid ${pid} on ${hostName()} .*no longer running`),
    );
    assert.deepEqual(result.history.epoch, [1]);
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false);
    result.tagger.dispose();
  });
});

Deno.test("lock: a holder is live while it holds the OS lock: a live pid without it is stale, another host's is never taken", async () => {
  await withTempDir(async (out) => {
    // A live holder: a process that holds the lock file's advisory lock until its stdin ends
    // (or it is killed).
    const holderPid = 4242;
    await writeLock(out, { pid: holderPid });
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const file = await Deno.open(${JSON.stringify(`${out}/${LOCK_FILE}`)}, { read: true });` +
        "await file.lock(true); console.log('locked');" +
        "await Deno.stdin.readable.pipeTo(new WritableStream());",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.match((await reader.read()).value ?? "", /locked/);
      reader.releaseLock();
      let steps = 0;
      await assert.rejects(quietTrain({ out, onStep: () => steps++ }), (error: unknown) => {
        assert.ok(error instanceof RunLockedError);
        assert.match(error.message, new RegExp(`pid ${holderPid} on host ${hostName()}, since`));
        return true;
      });
      assert.equal(steps, 0, "nothing was trained");
      assert.ok(await exists(`${out}/${LOCK_FILE}`), "the holder's lock stays");
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
      await holder.stdin.abort().catch(() => {});
      await holder.stdout.cancel().catch(() => {});
    }
    // Killed, it holds nothing: its lock file is stale now.
    const lines: string[] = [];
    const result = await quietTrain({ out, progress: (line) => lines.push(line) });
    assert.match(lines.join(""), new RegExp(`taking over a stale lock: pid ${holderPid} on`));
    result.tagger.dispose();
  });
  // A process that runs until its stdin ends (or it is killed), holding no lock.
  const live = new Deno.Command("cat", { stdin: "piped", stdout: "null" }).spawn();
  try {
    await withTempDir(async (out) => {
      // A pid that runs (a reused pid, say) but holds no lock is no holder.
      await writeLock(out, { pid: live.pid });
      const lines: string[] = [];
      const result = await quietTrain({ out, progress: (line) => lines.push(line) });
      assert.match(lines.join(""), new RegExp(`taking over a stale lock: pid ${live.pid} on`));
      result.tagger.dispose();
    });
  } finally {
    await live.stdin.close();
    await live.status;
  }
  await withTempDir(async (out) => {
    await writeLock(out, { pid: await deadPid(), host: "elsewhere.example" });
    await assert.rejects(
      quietTrain({ out }),
      /host elsewhere\.example.*cannot be checked here; if no training runs there, remove the lock file/,
    );
    assert.ok(await exists(`${out}/${LOCK_FILE}`), "another host's lock is left alone");
  });
});

// ---- finding 6: --out checked before training; a failed checkpoint write loses nothing ----

Deno.test("--out on a file fails before the first epoch, naming it; the file is untouched", async () => {
  await withTempDir(async (directory) => {
    const file = `${directory}/notes.txt`;
    await Deno.writeTextFile(file, "mine");
    let steps = 0;
    await assert.rejects(
      quietTrain({ out: file, onStep: () => steps++ }),
      new RegExp(`${file}: not a folder`),
    );
    assert.equal(steps, 0);
    assert.equal(await Deno.readTextFile(file), "mine");
    const cli = await runCli([...TINY_CLI, "--out", file]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, new RegExp(`error: ${file}: not a folder`));
    assertNoStack(cli.stderr);
    assert.equal(await Deno.readTextFile(file), "mine");
  });
});

/** Root writes through a read-only mode: the capabilities to drop for it, where possible. */
const IS_ROOT = Deno.uid() === 0;
const HAS_SETPRIV = (() => {
  try {
    return new Deno.Command("setpriv", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a read-only --out fails before training, naming it " +
    "(ignored as root without setpriv: a read-only mode does not stop root's writes)",
  ignore: IS_ROOT && !HAS_SETPRIV,
  fn: readOnlyOutTest,
});

async function readOnlyOutTest() {
  const root = IS_ROOT;
  const prefix = root ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"] : [];
  await withTempDir(async (directory) => {
    const out = `${directory}/readonly`;
    await Deno.mkdir(out);
    await Deno.chmod(out, 0o555);
    try {
      if (!root) {
        let steps = 0;
        await assert.rejects(
          quietTrain({ out, onStep: () => steps++ }),
          new RegExp(`${out}: cannot write`),
        );
        assert.equal(steps, 0);
      }
      const cli = await runCli([...TINY_CLI, "--out", out], prefix);
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, new RegExp(`error: ${out}: cannot write .*Permission denied`));
      assert.doesNotMatch(cli.stderr, /epoch 1\/1/);
      assertNoStack(cli.stderr);
      // A folder that does not exist under a read-only one cannot be created.
      const below = await runCli([...TINY_CLI, "--out", `${out}/run`], prefix);
      assert.equal(below.code, 1, below.stderr);
      assert.match(below.stderr, new RegExp(`error: ${out}/run: cannot create the run folder`));
      assert.deepEqual([...Deno.readDirSync(out)], [], "nothing was left in it");
    } finally {
      await Deno.chmod(out, 0o755);
    }
  });
}

Deno.test("too little free space is refused before training, naming the folder", async () => {
  await withTempDir(async (out) => {
    assert.equal(await checkFreeSpace(out, 1), null, "measured");
    await assert.rejects(
      checkFreeSpace(out, Number.MAX_SAFE_INTEGER),
      new RegExp(`${out}: too little free space for checkpoints: [\\d.]+ MiB free, about`),
    );
  });
});

Deno.test({
  name: "too little free space on a small filesystem is refused before the first step " +
    TMPFS_IGNORED,
  ignore: !CAN_MOUNT_TMPFS,
}, async () => {
  await withTmpfs(64 * 1024, async (out) => {
    let steps = 0;
    await assert.rejects(
      quietTrain({ out, onStep: () => steps++ }),
      (error: unknown) => {
        assert.ok(error instanceof RunFolderError);
        assert.match(error.message, new RegExp(`${out}: too little free space`));
        return true;
      },
    );
    assert.equal(steps, 0, "refused before the first step");
    assert.deepEqual([...Deno.readDirSync(out)], [], "nothing left behind, the lock released");
  });
});

/** Runs `body` on a tmpfs of `bytes` mounted on a temporary folder (see `CAN_MOUNT_TMPFS`). */
async function withTmpfs(bytes: number, body: (dir: string) => Promise<void>): Promise<void> {
  await withTempDir(async (directory) => {
    const mount = await mountTmpfs(directory, bytes);
    assert.ok(mount.success, `mount -t tmpfs on ${directory}: ${mount.stderr}`);
    let umount: Deno.CommandOutput;
    try {
      await body(directory);
    } finally {
      umount = await new Deno.Command("umount", { args: [directory] }).output();
    }
    assert.ok(umount.success, `umount ${directory}: ${new TextDecoder().decode(umount.stderr)}`);
  });
}

/** After epoch 1, checkpoints fail (by `breakWrites`); epoch 2's leaves epoch 1 intact. */
async function checkpointFailsAfterEpochOne(
  out: string,
  breakWrites: () => Promise<() => Promise<void>>,
  reason: RegExp,
): Promise<void> {
  let restore: (() => Promise<void>) | null = null;
  const config = { ...CONFIG, epochs: 2 };
  try {
    await assert.rejects(
      quietTrain({
        out,
        config,
        onEpoch: async (epoch) => {
          if (epoch === 1) restore = await breakWrites();
        },
      }),
      (error: unknown) => {
        assert.ok(error instanceof RunFolderError, String(error));
        assert.match(error.message, new RegExp(`${out}: writing checkpoint epoch-002 failed`));
        assert.match(error.message, reason);
        assert.match(error.message, /still points at the previous checkpoint/);
        return true;
      },
    );
  } finally {
    await (restore as (() => Promise<void>) | null)?.();
  }
  assert.deepEqual(
    [...Deno.readDirSync(`${out}/checkpoints`)].map((entry) => entry.name),
    ["epoch-001"],
    "no staging folder left behind",
  );
  assert.equal(await exists(`${out}/${LOCK_FILE}`), false, "the lock is released");
  assert.equal(JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`)).epoch, 1);
  const loaded = await loadModelFolder(out);
  const straight = await quietTrain({ config: { ...CONFIG, epochs: 1 } });
  assert.deepEqual(weightsOf(loaded.members[0].tagger), weightsOf(straight.tagger));
  loaded.members[0].tagger.dispose();
  straight.tagger.dispose();
  const resumed = await quietTrain({ out, config, resume: true });
  assert.deepEqual(resumed.history.epoch, [1, 2], "the run goes on from epoch 1");
  resumed.tagger.dispose();
}

Deno.test("a checkpoint write that fails (ENOSPC) leaves no staging folder and the previous checkpoint loadable", async () => {
  await withTempDir(async (out) => {
    const { writeFile, writeTextFile } = Deno;
    const full = (path: string | URL) => {
      if (String(path).includes("/checkpoints/.epoch-002")) {
        throw new Error(`No space left on device (os error 28): write '${path}'`);
      }
    };
    await checkpointFailsAfterEpochOne(out, () => {
      Object.assign(Deno, {
        writeFile: (path: string | URL, ...rest: unknown[]) => {
          full(path);
          return (writeFile as (...args: unknown[]) => Promise<void>)(path, ...rest);
        },
        writeTextFile: (path: string | URL, ...rest: unknown[]) => {
          full(path);
          return (writeTextFile as (...args: unknown[]) => Promise<void>)(path, ...rest);
        },
      });
      return Promise.resolve(() => {
        Object.assign(Deno, { writeFile, writeTextFile });
        return Promise.resolve();
      });
    }, /No space left on device/);
  });
});

Deno.test({
  name: "a checkpoint write on a full filesystem leaves no staging folder and the previous " +
    `checkpoint loadable ${TMPFS_IGNORED}`,
  ignore: !CAN_MOUNT_TMPFS,
}, async () => {
  await withTmpfs(8 * 2 ** 20, async (out) => {
    await checkpointFailsAfterEpochOne(out, async () => {
      const filler = `${out}/filler`;
      const file = await Deno.open(filler, { createNew: true, write: true });
      const chunk = new Uint8Array(64 * 1024);
      try {
        while (true) await file.write(chunk);
      } catch {
        // full
      } finally {
        file.close();
      }
      return () => Deno.remove(filler);
    }, /No space left on device|os error 28/);
  });
});

// ---- finding 7: resuming only what was saved ----

/** A run of `epochs` epochs in `out`. */
async function trainedRun(out: string, epochs: number, config: TrainConfig = CONFIG) {
  (await quietTrain({ out, config: { ...config, epochs } })).tagger.dispose();
}

Deno.test("resume: settings that differ from the run's are listed; left-out settings take the run's", async () => {
  await withTempDir(async (out) => {
    await trainedRun(out, 1);
    const pointer = await Deno.readTextFile(`${out}/checkpoint.json`);
    await assert.rejects(
      quietTrain({
        out,
        resume: true,
        config: { ...CONFIG, epochs: 2, limit: 50, learningRate: 0.02, model: { units: 8 } },
      }),
      (error: unknown) => {
        assert.ok(error instanceof ResumeMismatchError, String(error));
        assert.deepEqual(error.differences.map((d) => d.field), [
          "learningRate",
          "limit",
          "model.units",
        ]);
        assert.match(error.message, /^ {2}limit: saved 40, given 50$/m);
        assert.match(error.message, /^ {2}learningRate: saved 0\.01, given 0\.02$/m);
        assert.match(error.message, /^ {2}model\.units: saved 6, given 8$/m);
        assert.doesNotMatch(error.message, /epochs:/);
        return true;
      },
    );
    assert.equal(await Deno.readTextFile(`${out}/checkpoint.json`), pointer, "run untouched");
    // Only epochs given: everything else is the run's (the default limit does not count).
    const resumed = await train({
      trainSentences: SENTENCES,
      config: { epochs: 2 },
      out,
      resume: true,
      progress: null,
    });
    assert.equal(resumed.resumedFromEpoch, 1);
    assert.equal(resumed.config.limit, 40);
    assert.equal(resumed.config.model.units, 6);
    resumed.tagger.dispose();
    // The run's own values given explicitly are no difference.
    const again = await quietTrain({ out, resume: true, config: { ...CONFIG, epochs: 3 } });
    assert.deepEqual(again.history.epoch, [1, 2, 3]);
    again.tagger.dispose();
  });
});

Deno.test("resume: no checkpoint, fewer epochs than done, a given tagger — each an error", async () => {
  await withTempDir(async (directory) => {
    const empty = `${directory}/empty`;
    await Deno.mkdir(empty);
    await assert.rejects(quietTrain({ out: empty, resume: true }), /empty: nothing to resume/);
    assert.deepEqual([...Deno.readDirSync(empty)], [], "nothing written");
    const missing = `${directory}/missing`;
    await assert.rejects(quietTrain({ out: missing, resume: true }), /nothing to resume/);
    assert.equal(await exists(missing), false, "not created");
    await assert.rejects(quietTrain({ resume: true }), /resume needs out/);

    const out = `${directory}/run`;
    await trainedRun(out, 2);
    await assert.rejects(
      quietTrain({ out, resume: true, config: { ...CONFIG, epochs: 1 } }),
      /epochs 1 is below the run's progress: 2 epochs done; ask for 2 or more/,
    );
    const done = await quietTrain({ out, resume: true, config: { ...CONFIG, epochs: 2 } });
    assert.equal(done.steps, 0, "as many epochs as done: nothing to train");
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false);
    // A mid-epoch checkpoint: its epoch is under way.
    const stopped = `${directory}/stopped`;
    const controller = new AbortController();
    (await quietTrain({
      out: stopped,
      config: { ...CONFIG, epochs: 2 },
      signal: controller.signal,
      onStep: (epoch, step) => {
        if (epoch === 2 && step === 1) controller.abort();
      },
    })).tagger.dispose();
    await assert.rejects(
      quietTrain({ out: stopped, resume: true, config: { ...CONFIG, epochs: 1 } }),
      /epochs 1 is below the run's progress: 1 epoch done, epoch 2 under way; ask for 2 or more/,
    );
    await assert.rejects(
      quietTrain({ out, resume: true, tagger: done.tagger, vocab: done.vocab }),
      /resuming continues the run's own tagger and maps/,
    );
    done.tagger.dispose();
  });
});

Deno.test("resume: a tampered checkpoint is named, file and field", async () => {
  await withTempDir(async (out) => {
    await trainedRun(out, 1);
    const file = `${out}/checkpoints/epoch-001/config.json`;
    const original = await Deno.readTextFile(file);
    const tamper = async (edit: (config: Record<string, Record<string, unknown>>) => void) => {
      const config = JSON.parse(original);
      edit(config);
      await Deno.writeTextFile(file, JSON.stringify(config));
    };
    const resume = () => quietTrain({ out, resume: true, config: { epochs: 2 } });
    const named = (pattern: string) => (error: unknown) => {
      assert.ok(error instanceof RunFolderError, String(error));
      assert.ok(error.message.includes(file), error.message);
      assert.match(error.message, new RegExp(pattern));
      return true;
    };
    await Deno.writeTextFile(file, original.slice(0, 40));
    await assert.rejects(resume(), named("JSON"));
    await tamper((config) => config.training.lowercase = "yes");
    await assert.rejects(resume(), named(`training\\.lowercase must be a boolean, got "yes"`));
    await tamper((config) => config.training.limit = "40");
    await assert.rejects(resume(), named(`training\\.limit must be a number or null, got "40"`));
    await tamper((config) => config.training.batchSize = 0);
    await assert.rejects(resume(), named("training\\.batchSize must be a positive integer"));
    await tamper((config) => config.training.epochsDone = 7);
    await assert.rejects(resume(), named("epochsDone is 7, but checkpoint\\.json says 1"));
    await Deno.writeTextFile(file, original);
    const pointer = `${out}/checkpoint.json`;
    await Deno.writeTextFile(pointer, JSON.stringify({ latest: "../../elsewhere", epoch: 1 }));
    await assert.rejects(resume(), /checkpoint\.json: not a checkpoint pointer: latest must name/);
    await Deno.writeTextFile(pointer, JSON.stringify({ latest: "checkpoints/epoch-001" }));
    await assert.rejects(resume(), /checkpoint\.json: not a checkpoint pointer: epoch must be/);
    assert.equal(await exists(`${out}/${LOCK_FILE}`), false, "every refusal released the lock");
  });
});

Deno.test("train CLI --resume: differences named by flag, no checkpoint, fewer epochs, a tampered file — exit 1, no stack", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const cli = (args: string[]) => withCapturedConsole(() => trainCli(args));
    const first = await cli([...TINY_CLI, "--lowercase", "--out", out, "--json"]);
    assert.equal(first.result, 0, first.errors.join("\n"));

    const differ = await cli([
      ...["--limit", "50", "--units", "6", "--epochs", "2", "--threads", "1"],
      ...["--resume", "--out", out],
    ]);
    assert.equal(differ.result, 1);
    const message = differ.errors.join("\n");
    assert.match(message, /cannot resume with settings other than the run's own/);
    assert.match(message, /^ {2}--limit: saved 40, given 50$/m);
    assert.match(message, /^ {2}--units: saved 4, given 6$/m);

    // Flags left out (--lowercase, --units, --limit, and --layer's default) take the run's.
    const more = await cli(["--epochs", "2", "--threads", "1", "--resume", "--out", out, "--json"]);
    assert.equal(more.result, 0, more.errors.join("\n"));
    const report = JSON.parse(more.logs[0]);
    assert.equal(report.resumedFromEpoch, 1);
    assert.equal(report.config.lowercase, true);
    assert.equal(report.config.limit, 40);
    assert.equal(report.config.model.units, 4);

    const fewer = await cli(["--epochs", "1", "--threads", "1", "--resume", "--out", out]);
    assert.equal(fewer.result, 1);
    assert.match(fewer.errors.join("\n"), /epochs 1 is below the run's progress: 2 epochs done/);

    const empty = `${directory}/empty`;
    await Deno.mkdir(empty);
    const nothing = await cli(["--threads", "1", "--resume", "--out", empty]);
    assert.equal(nothing.result, 1);
    assert.match(nothing.errors.join("\n"), /empty: nothing to resume/);

    const file = `${out}/checkpoints/epoch-002/config.json`;
    await Deno.writeTextFile(file, "{ not json");
    const tampered = await runCli(["--epochs", "3", "--threads", "1", "--resume", "--out", out]);
    assert.equal(tampered.code, 1, tampered.stderr);
    assert.ok(tampered.stderr.includes(file), tampered.stderr);
    assertNoStack(tampered.stderr);
  });
});
