/**
 * Issue 27, finding 10: `predict --jsonl` held about 90 MB of resident memory per MiB of one
 * input line, with no cap. Now a stdin line may hold up to `MAX_LINE_BYTES` of UTF-8: a longer
 * one is never held (its bytes are dropped as they arrive), its output is an error object in
 * its place, the lines after it are tagged, and the command exits 1 naming it. Batches are also
 * cut by the bytes of text they hold. (The memory of a long line, measured on a child process,
 * is in tests/e2e/predict_line_cap_memory_test.ts.)
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { LongLine, MAX_LINE_BYTES, readLineBatches } from "../lib/predict/stream.ts";
import { buildLookupModel, withTempDir } from "./fixtures/tiny_model/build.ts";
import { type Document, LOOKUP, runCli, TRAINING } from "./fixtures/predict_cli.ts";

const encoder = new TextEncoder();

/** A stream of the given chunks. */
function streamOf(chunks: (Uint8Array | string)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

/** Every batch of a stream read with a line cap. */
async function batchesOf(
  chunks: (Uint8Array | string)[],
  options: { maxLineBytes: number; batchLines?: number; batchBytes?: number },
): Promise<(string | LongLine)[][]> {
  const batches: (string | LongLine)[][] = [];
  for await (const batch of readLineBatches(streamOf(chunks), options)) batches.push(batch);
  return batches;
}

/** `size` bytes of `x`, in chunks of `chunk` bytes (each a fresh array). */
function bytesOf(size: number, chunk = 64 * 1024): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < size; at += chunk) {
    chunks.push(new Uint8Array(Math.min(chunk, size - at)).fill(0x78));
  }
  return chunks;
}

Deno.test("readLineBatches gives a line over the cap as a LongLine, between the lines around it", async () => {
  const long = 3 * 2 ** 20;
  const batches = await batchesOf(
    ["Paris is in France .\n", ...bytesOf(long), "\nObama visited New York .\n"],
    { maxLineBytes: MAX_LINE_BYTES },
  );
  assert.deepEqual(batches.flat(), [
    "Paris is in France .",
    new LongLine(2, long, MAX_LINE_BYTES),
    "Obama visited New York .",
  ]);
  const [longLine] = batches.flat().filter((item) => item instanceof LongLine) as LongLine[];
  assert.equal(longLine.message, `line longer than 64 KiB: ${long} bytes; not tagged`);
});

Deno.test("readLineBatches counts a line's bytes without its line ending, at the cap and past it", async () => {
  const cap = 10;
  const batches = await batchesOf(
    // 10 bytes (kept, also before \r\n), 11 bytes, a 2-byte character that ends past the cap
    // split across chunks, and a last line without a newline over the cap.
    ["0123456789\n", "0123456789\r\n", "01234567890\n", "012345678", "\u00e9", "\nabcdefghijkl"],
    { maxLineBytes: cap },
  );
  assert.deepEqual(batches.flat(), [
    "0123456789",
    "0123456789",
    new LongLine(3, 11, cap),
    new LongLine(4, 11, cap),
    new LongLine(5, 12, cap),
  ]);
});

Deno.test("readLineBatches cuts batches at batchBytes of text; a longer line is a batch alone", async () => {
  const batches = await batchesOf(["aaaa\nbbbb\ncccc\ndddddddddd\ne\n"], {
    maxLineBytes: 100,
    batchBytes: 8,
  });
  assert.deepEqual(batches, [["aaaa", "bbbb"], ["cccc"], ["dddddddddd"], ["e"]]);
});

Deno.test("predict --jsonl answers a 3 MiB line with an error object, tags the lines around it, exits 1", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const long = 3 * 2 ** 20;
    const input = encoder.encode(
      `Paris is in France\n${"x".repeat(long)}\nBarack Obama visited New York\n`,
    );
    const args = ["--model", directory, "--backend", "cpu"];
    const jsonl = await runCli([...args, "--jsonl"], input);
    assert.equal(jsonl.code, 1, jsonl.stderr);
    const lines = jsonl.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines.length, 3);
    assert.deepEqual((lines[0] as Document).entities.map((e) => e.text), ["Paris", "France"]);
    assert.deepEqual(lines[1], {
      line: 2,
      error: `line longer than 64 KiB: ${long} bytes; not tagged`,
    });
    assert.deepEqual([lines[2].line, (lines[2] as Document).entities.map((e) => e.text)], [
      3,
      ["Barack Obama", "New York"],
    ]);
    const errors = jsonl.stderr.split("\n").filter((line) => line.startsWith("error: "));
    assert.deepEqual(errors, [
      `error: stdin line 2: line longer than 64 KiB: ${long} bytes; not tagged`,
    ]);
    assert.doesNotMatch(jsonl.stderr, /\n\s+at /, "no stack trace");
    // --json: the same objects in "documents" (complete JSON); the table: an error line.
    const json = await runCli([...args, "--json"], input);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), { documents: lines });
    const table = await runCli(args, input);
    assert.equal(table.code, 1);
    assert.match(
      table.stdout,
      /Line 2:\nerror: line longer than 64 KiB: 3145728 bytes; not tagged\n/,
    );
    assert.match(table.stdout, /Line 3:\n.*Barack/s);
  });
});
