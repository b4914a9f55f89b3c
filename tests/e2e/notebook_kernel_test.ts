/**
 * The Deno Jupyter kernel as the notebooks use it:
 *
 * - the library is imported as `#lib/...` (deno.json's import map), which works whether the
 *   kernel starts at the repository root or in `notebooks/`, while a `../lib/` import depends on
 *   the kernel's folder;
 * - Jupyter's Interrupt (SIGINT to the kernel process, the Deno kernelspec's interrupt mode)
 *   during `train` stops it at a step boundary with a checkpoint, the kernel and its variables
 *   survive, and resuming ends with exactly the weights of an uninterrupted run;
 * - the same SIGINT to `deno task train` exits 130 with a checkpoint and says how to resume.
 *
 * Each test starts real `deno jupyter --kernel` processes or a training process.
 *
 * @module
 */

import { within } from "../fixtures/wait.ts";
import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/backend.ts";
import { loadModelFolder } from "../../lib/io/ensemble_folder.ts";
import { executeCell, type ExecutionOutcome } from "../../lib/notebook/_execute_cell.ts";
import {
  type CellOutput,
  type CodeCell,
  joinLines,
  readNotebook,
} from "../../lib/notebook/ipynb.ts";
import { DenoKernel } from "../../lib/notebook/kernel.ts";
import { NotebookCellError, runNotebook } from "../../lib/notebook/runner.ts";
import { train, type TrainConfig } from "../../lib/train/mod.ts";
import { weightsOf } from "../fixtures/resume.ts";
import { syntheticSentences } from "../fixtures/synthetic_corpus.ts";
import { withTempDir } from "../fixtures/temp_dir.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const NOTEBOOKS = `${ROOT}/notebooks`;
const FIXTURES = `${ROOT}/tests/fixtures/notebooks`;
const quiet = { echoStreams: false, log: () => {}, format: false };

/** The code cells of an executed notebook. */
async function executedCells(path: string): Promise<CodeCell[]> {
  const notebook = await readNotebook(path);
  return notebook.cells.filter((c): c is CodeCell => c.cell_type === "code");
}

/** All stdout text of some outputs. */
function stdoutOf(outputs: CellOutput[]): string {
  return outputs.map((o) =>
    o.output_type === "stream" && o.name === "stdout" ? joinLines(o.text) : ""
  )
    .join("");
}

/** Asserts that every code cell of an executed notebook ran and none holds an error. */
async function assertRanCleanly(path: string, label: string): Promise<CodeCell[]> {
  const cells = await executedCells(path);
  assert.ok(cells.length > 0, `${label}: has code cells`);
  for (const [index, cell] of cells.entries()) {
    assert.notEqual(cell.execution_count, null, `${label}: code cell ${index + 1} ran`);
    const errors = cell.outputs.filter((o) => o.output_type === "error");
    assert.equal(errors.length, 0, `${label}: code cell ${index + 1} has no error`);
  }
  return cells;
}

Deno.test("notebooks import the library as #lib/ whether the kernel starts at the root or in notebooks/", async () => {
  await withTempDir(async (out) => {
    for (const [where, cwd] of [["root", ROOT], ["notebooks/", NOTEBOOKS]]) {
      for (const name of ["01_import_libraries", "03_maps_padding_split"]) {
        const outputPath = `${out}/${name}.${where.replace("/", "")}.ipynb`;
        await runNotebook(`${NOTEBOOKS}/${name}.ipynb`, {
          ...quiet,
          cwd,
          outputPath,
          env: { BILSTM_NER_QUICK: "1" },
        });
        await assertRanCleanly(outputPath, `${name} with the kernel at the ${where}`);
      }
      // The fixture prints the kernel's folder, so this also shows the kernel started there.
      const outputPath = `${out}/lib_import_map.${where.replace("/", "")}.ipynb`;
      await runNotebook(`${FIXTURES}/lib_import_map.ipynb`, { ...quiet, cwd, outputPath });
      const [folder, imported] = await assertRanCleanly(outputPath, `fixture at the ${where}`);
      assert.equal(stdoutOf(folder.outputs), `${cwd}\n`, "the kernel ran in the chosen folder");
      assert.match(stdoutOf(imported.outputs), /#lib\//);
    }
  });
});

Deno.test("a ../lib/ import works with the kernel in notebooks/ but not at the root", async () => {
  await withTempDir(async (out) => {
    const notebook = `${FIXTURES}/parent_relative_import.ipynb`;
    const fromNotebooks = `${out}/from_notebooks.ipynb`;
    await runNotebook(notebook, { ...quiet, cwd: NOTEBOOKS, outputPath: fromNotebooks });
    const [cell] = await assertRanCleanly(fromNotebooks, "../lib/ import from notebooks/");
    assert.match(stdoutOf(cell.outputs), /\.\.\/lib\//);

    const error = await runNotebook(notebook, { ...quiet, cwd: ROOT, outputPath: `${out}/x.ipynb` })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof NotebookCellError, `expected NotebookCellError, got ${error}`);
    assert.equal(error.cellNumber, 1);
    // From the root, ../lib/ points outside the repository.
    const outside = new URL("../lib/plot/table.ts", `file://${ROOT}/`).href;
    assert.match(error.evalue, /Module not found/);
    assert.ok(error.evalue.includes(outside), error.evalue);
  });
});

/** Training settings: 3 epochs of 225 steps of 4. */
const KERNEL_SENTENCES = 1000;
const KERNEL_CONFIG: TrainConfig = {
  epochs: 3,
  batchSize: 4,
  maxLen: 12,
  seed: 7,
  model: { embeddingDim: 32, units: 64 },
};
/** Steps of an epoch: 900 fit sentences (the last 10% are held out) in steps of 4. */
const STEPS_PER_EPOCH = 225;
/**
 * The kernel is interrupted once it reports this step of epoch 2 (steps print every 10); the
 * cell holds training at that step boundary until the Interrupt has come.
 */
const INTERRUPT_AFTER = { epoch: 2, step: 20 };

/** Executes a cell, collecting its stream text; `onStream` also sees each piece as it arrives. */
async function run(
  kernel: DenoKernel,
  code: string,
  onStream: (text: string) => void = () => {},
): Promise<{ outcome: ExecutionOutcome; text: string }> {
  let text = "";
  const outcome = await executeCell(kernel, code, {
    cellTimeoutMs: 120_000, // a guard against a hang
    quietMs: 50,
    useSentinel: true,
    onStream: (piece) => {
      text += piece;
      onStream(piece);
    },
  });
  assert.equal(outcome.timedOut, false, "the cell finished in time");
  const error = outcome.collector.error;
  assert.equal(error, undefined, `the cell raised ${error?.ename}: ${error?.evalue}`);
  return { outcome, text };
}

/** The JSON printed after `tag ` on a line of a cell's output. */
function printed(text: string, tag: string): unknown {
  const line = text.split("\n").find((l) => l.startsWith(`${tag} `));
  assert.ok(line !== undefined, `the cell printed "${tag} ...":\n${text}`);
  return JSON.parse(line.slice(tag.length + 1));
}

Deno.test("Interrupt (SIGINT) during train in a kernel: kernel alive, checkpoint, resume equals an uninterrupted run", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const kernel = await DenoKernel.start({ cwd: ROOT });
    try {
      const corpusUrl = new URL("../fixtures/synthetic_corpus.ts", import.meta.url).href;
      let interruptedAt: string | null = null;
      const stepLine = new RegExp(`^step ${INTERRUPT_AFTER.epoch} ${INTERRUPT_AFTER.step}$`, "m");
      const started = performance.now();
      const first = await run(
        kernel,
        [
          `import { initBackend } from "#lib/backend/backend.ts";`,
          `import { train } from "#lib/train/mod.ts";`,
          `import { syntheticSentences } from ${JSON.stringify(corpusUrl)};`,
          `await initBackend({ backend: "wasm", threads: 1 });`,
          `const sentences = syntheticSentences(${KERNEL_SENTENCES});`,
          `const config = ${JSON.stringify(KERNEL_CONFIG)};`,
          `const out = ${JSON.stringify(out)};`,
          `console.log("PID " + Deno.pid);`,
          // The step that triggers the Interrupt holds training (a promise from onStep) until
          // the SIGINT has come, however late the kernel's output reaches the test: training
          // stops at that step boundary, never after the epoch's end. The cell's own listener
          // goes once it has heard the signal; a timer guards against a signal that never comes.
          `const interruptCame = Promise.withResolvers();`,
          `let interruptGuard;`,
          `const onInterrupt = () => {`,
          `  Deno.removeSignalListener("SIGINT", onInterrupt);`,
          `  clearTimeout(interruptGuard);`,
          `  interruptCame.resolve();`,
          `};`,
          `Deno.addSignalListener("SIGINT", onInterrupt);`,
          `const result = await train({`,
          `  trainSentences: sentences, config, out, progress: null,`,
          `  onStep: (epoch, step) => {`,
          `    if (step % 10 === 0) console.log(\`step \${epoch} \${step}\`);`,
          `    if (epoch === ${INTERRUPT_AFTER.epoch} && step === ${INTERRUPT_AFTER.step}) {`,
          `      interruptGuard = setTimeout(() => interruptCame.reject(new Error(`,
          `        "no Interrupt (SIGINT) reached the kernel within 60 s of step ${INTERRUPT_AFTER.epoch} ${INTERRUPT_AFTER.step}",`,
          `      )), 60_000);`,
          `      return interruptCame.promise;`,
          `    }`,
          `  },`,
          `});`,
          `console.log("INTERRUPTED " + JSON.stringify(result.interrupted));`,
        ].join("\n"),
        (piece) => {
          if (interruptedAt === null && stepLine.test(piece)) {
            interruptedAt = piece;
            kernel.interrupt(); // what Jupyter's Interrupt does for the Deno kernelspec
          }
        },
      );
      const trainingSeconds = (performance.now() - started) / 1000;
      assert.ok(interruptedAt !== null, `the cell never printed step ${INTERRUPT_AFTER.step}`);
      assert.equal(printed(first.text, "PID"), kernel.pid, "the cells run in the kernel process");
      assert.equal(kernel.hasExited, false, "the kernel survived the SIGINT");

      const interrupted = printed(first.text, "INTERRUPTED") as {
        epoch: number;
        step: number;
        reason: string;
      } | null;
      assert.ok(interrupted !== null, `train was not interrupted (${trainingSeconds} s)`);
      assert.equal(interrupted.reason, "SIGINT");
      assert.equal(interrupted.epoch, INTERRUPT_AFTER.epoch, "stopped in the epoch interrupted");
      assert.equal(interrupted.step, INTERRUPT_AFTER.step, "stopped at the step it was held at");
      assert.ok(interrupted.step < STEPS_PER_EPOCH, "stopped mid-epoch");

      const pointer = JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`));
      assert.deepEqual(pointer.partial, { epoch: interrupted.epoch, step: interrupted.step });
      assert.equal(pointer.epoch, interrupted.epoch - 1, "the last complete epoch");

      // The kernel kept the earlier cell's variables.
      const second = await run(
        kernel,
        `console.log("STATE " + JSON.stringify({ sentences: sentences.length, ` +
          `interrupted: result.interrupted, pid: Deno.pid }));`,
      );
      assert.deepEqual(printed(second.text, "STATE"), {
        sentences: KERNEL_SENTENCES,
        interrupted,
        pid: kernel.pid,
      });

      // Resume in the same kernel, from the mid-epoch checkpoint.
      const third = await run(
        kernel,
        [
          `const resumed = await train({ trainSentences: sentences, config, out, resume: true, progress: null });`,
          `console.log("RESUMED " + JSON.stringify({ interrupted: resumed.interrupted, ` +
          `from: resumed.resumedFromEpoch, loss: resumed.history.loss }));`,
        ].join("\n"),
      );
      const resumed = printed(third.text, "RESUMED") as {
        interrupted: unknown;
        from: number;
        loss: number[];
      };
      assert.equal(resumed.interrupted, null);
      assert.equal(resumed.from, INTERRUPT_AFTER.epoch - 1);

      // train released its SIGINT listener: an Interrupt now ends the idle kernel, as Jupyter's
      // does when nothing listens (a listener left behind would swallow later Interrupts).
      kernel.interrupt();
      const status = await within(kernel.exited, "the idle kernel to end on an Interrupt");
      assert.equal(status.signal, "SIGINT", "the kernel ended on the SIGINT after training");

      await initBackend({ backend: "wasm", threads: 1 });
      const straight = await train({
        trainSentences: syntheticSentences(KERNEL_SENTENCES),
        config: KERNEL_CONFIG,
        progress: null,
      });
      assert.equal(straight.interrupted, null);
      assert.deepEqual(resumed.loss, straight.history.loss, "resumed history = uninterrupted");
      const history = JSON.parse(await Deno.readTextFile(`${out}/history.json`));
      assert.deepEqual(history.loss, straight.history.loss);
      assert.deepEqual(history.valF1, straight.history.valF1);
      const loaded = await loadModelFolder(out, { checkpoint: "last" });
      assert.deepEqual(
        weightsOf(loaded.members[0].tagger),
        weightsOf(straight.tagger),
        "resumed weights equal an uninterrupted run's",
      );
      straight.tagger.dispose();
      for (const member of loaded.members) member.tagger.dispose();
    } finally {
      await kernel.shutdown();
    }
  });
});

Deno.test("train CLI: SIGINT mid-epoch exits 130 with a checkpoint and a resume hint; --resume completes", async () => {
  await withTempDir(async (directory) => {
    const out = `${directory}/run`;
    const args = [
      "run",
      "-A",
      `${ROOT}/lib/cli/train.ts`,
      "--limit",
      "1000",
      "--batch-size",
      "2", // 450 steps per epoch: time for the signal to land mid-epoch on a fast machine too
      "--epochs",
      "3",
      "--units",
      "8",
      "--threads",
      "1",
      "--out",
      out,
    ];
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    let stderr = "";
    let sent = false;
    let sentAt = "";
    const started = performance.now();
    // Progress lines look like "epoch 2/3 45/450 [...]" (every 10%); interrupt at the first one
    // of epoch 2. (With 225 steps per epoch, one CI run saw the signal land only after epoch 2's
    // last step.)
    const progress = /epoch 2\/3 (\d+)\//g;
    for await (const piece of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += piece;
      const reached = [...piece.matchAll(progress)].find((match) => Number(match[1]) >= 10);
      if (!sent && reached) {
        sent = true;
        sentAt = `${reached[0]}, ${Math.round(performance.now() - started)} ms after the start`;
        child.kill("SIGINT");
      }
    }
    const status = await child.status;
    await stdout;
    assert.ok(sent, `no progress of epoch 2 appeared:\n${stderr.slice(-2000)}`);
    assert.equal(status.code, 130, stderr.slice(-2000));
    assert.equal(status.signal, null, "the process exited by itself, not killed by the signal");
    assert.ok(stderr.includes(`--resume --out ${out}`), `stderr says how to resume:\n${stderr}`);
    const pointer = JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`));
    assert.equal(pointer.partial?.epoch, 2, `${JSON.stringify(pointer)}; SIGINT at ${sentAt}`);
    assert.ok(pointer.partial.step >= 10, JSON.stringify(pointer));
    assert.equal(pointer.epoch, 1);

    const resumed = await new Deno.Command(Deno.execPath(), {
      args: [...args, "--resume", "--json"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const resumedErr = new TextDecoder().decode(resumed.stderr);
    assert.equal(resumed.code, 0, resumedErr.slice(-2000));
    const report = JSON.parse(new TextDecoder().decode(resumed.stdout));
    assert.equal(report.interrupted, null);
    assert.equal(report.resumedFromEpoch, 1);
    assert.deepEqual(report.history.epoch, [1, 2, 3]);
    const final = JSON.parse(await Deno.readTextFile(`${out}/checkpoint.json`));
    assert.equal(final.epoch, 3);
    assert.equal(final.partial, undefined, "no partial checkpoint left once complete");
  });
});
