/**
 * Streaming prediction's memory bound, measured on a child process's peak resident memory
 * (`/proc/PID/status`, Linux; reading it needs --allow-all, so it runs with the end-to-end
 * tests, not in `deno task test:unit`).
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildLookupModel, withTempDir } from "../fixtures/tiny_model/build.ts";
import { type Document, lineReader, LOOKUP, spawnCli, TRAINING } from "../fixtures/predict_cli.ts";

const encoder = new TextEncoder();

Deno.test({
  name: "predict --jsonl memory does not grow with the number of lines",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await tf.setBackend("cpu");
    await withTempDir(async (directory) => {
      await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
      const child = spawnCli(["--model", directory, "--backend", "cpu", "--jsonl"]);
      /** The child's peak resident memory so far, in MB (Linux). */
      const peakMb = async () => {
        const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
        return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
      };
      const sentence = "The report calls on President Bush and Congress to urge Chinese " +
        "officials not to use the global war against terrorism as a pretext to suppress " +
        "minorities ' rights .";
      const total = 10_000;
      const writer = child.stdin.getWriter();
      const writing = (async () => {
        for (let from = 0; from < total; from += 500) {
          const chunk = Array.from({ length: 500 }, (_, i) => `${sentence} ${from + i}\n`);
          await writer.write(encoder.encode(chunk.join("")));
        }
      })();
      const lines = lineReader(child.stdout);
      let early = 0;
      for (let line = 1; line <= total; line++) {
        const document = JSON.parse((await lines.next())!) as Document;
        assert.equal(document.line, line);
        if (line === 2_000) early = await peakMb();
      }
      // stdin is still open: the process is alive and holds all it ever held.
      const late = await peakMb();
      await writing;
      await writer.close();
      assert.equal(await lines.next(), undefined);
      assert.equal((await child.status).code, 0);
      // Holding every line and document (the old predict) grows by ~25 MB per 1,000 lines.
      assert.ok(
        late - early < 100,
        `peak memory grew from ${early.toFixed(0)} MB (2,000 lines) to ${late.toFixed(0)} MB ` +
          `(${total} lines)`,
      );
      await child.stderr.cancel();
    });
  },
});
