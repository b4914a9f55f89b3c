/**
 * Streaming prediction (issue 16, finding 8): stdin is read line by line, each batch of lines is
 * tagged and written before the rest of the input is read (`--jsonl`: one JSON object per line),
 * outputs come in input order, and memory stays bounded however long the input is.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { InvalidUtf8Error, readLineBatches } from "../lib/predict/stream.ts";
import { buildLookupModel, withTempDir } from "./fixtures/tiny_model/build.ts";
import {
  type Document,
  lineReader,
  LOOKUP,
  runCli,
  spawnCli,
  TRAINING,
} from "./fixtures/predict_cli.ts";

const encoder = new TextEncoder();

/** A byte stream the test feeds by hand (and closes when it likes). */
function handFedStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    stream,
    push: (bytes: Uint8Array | string) =>
      controller.enqueue(typeof bytes === "string" ? encoder.encode(bytes) : bytes),
    close: () => controller.close(),
  };
}

/** All batches of a stream made of the given chunks. */
async function batchesOf(
  chunks: (Uint8Array | string)[],
  batchLines?: number,
): Promise<string[][]> {
  const fed = handFedStream();
  chunks.forEach((chunk) => fed.push(chunk));
  fed.close();
  const batches: string[][] = [];
  for await (const batch of readLineBatches(fed.stream, { batchLines })) batches.push(batch);
  return batches;
}

Deno.test("readLineBatches splits lines across chunks, in batches, like the lines of the text", async () => {
  const e = encoder.encode("é");
  assert.deepEqual(
    await batchesOf(["\uFEFFfirst\r\nsec", "ond\n\nJos", e.slice(0, 1), e.slice(1), "\nlast"]),
    [["first", "second", "", "José", "last"]],
  );
  assert.deepEqual(await batchesOf(["a\nb\n"]), [["a", "b"]], "a final newline adds no line");
  assert.deepEqual(await batchesOf(["\n"]), [[""]]);
  assert.deepEqual(await batchesOf([]), []);
  assert.deepEqual(await batchesOf(["\uFEFFa\n\uFEFFb\n"]), [["a", "\uFEFFb"]], "only a first BOM");
  const many = Array.from({ length: 7 }, (_, i) => `line ${i}`);
  assert.deepEqual(await batchesOf([many.join("\n")], 3), [
    many.slice(0, 3),
    many.slice(3, 6),
    many.slice(6),
  ]);
});

Deno.test("readLineBatches hands out the lines read so far when the input pauses", async () => {
  const fed = handFedStream();
  const batches = readLineBatches(fed.stream, { batchLines: 256, idleMs: 10 });
  fed.push("Paris\nLondon\nhalf a li");
  // The stream is still open: the two whole lines come out anyway.
  assert.deepEqual(await batches.next(), { done: false, value: ["Paris", "London"] });
  fed.push("ne\n");
  assert.deepEqual(await batches.next(), { done: false, value: ["half a line"] });
  fed.close();
  assert.deepEqual(await batches.next(), { done: true, value: undefined });
});

Deno.test("readLineBatches names the first line that is not UTF-8, after the lines before it", async () => {
  const fed = handFedStream();
  fed.push("good\nalso good\n");
  fed.push(new Uint8Array([0x41, 0xff, 0x0a]));
  fed.close();
  const seen: string[][] = [];
  await assert.rejects(
    async () => {
      for await (const batch of readLineBatches(fed.stream, { batchLines: 2 })) seen.push(batch);
    },
    (error: unknown) => {
      assert.ok(error instanceof InvalidUtf8Error);
      assert.equal(error.line, 3);
      assert.match(error.message, /stdin is not valid UTF-8 \(line 3\)/);
      return true;
    },
  );
  assert.deepEqual(seen, [["good", "also good"]]);
  await assert.rejects(readLineBatches(fed.stream, { batchLines: 0 }).next(), RangeError);
});

Deno.test("predict --jsonl writes each line's document while stdin is still open", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const child = spawnCli(["--model", directory, "--backend", "cpu", "--jsonl"]);
    const writer = child.stdin.getWriter();
    const lines = lineReader(child.stdout);
    try {
      await writer.write(encoder.encode("Paris is in France.\n\nBarack Obama visited New York\n"));
      // stdin stays open: the three documents must come out before it is closed.
      const first = [await lines.next(), await lines.next(), await lines.next()]
        .map((line) => JSON.parse(line!) as Document);
      assert.deepEqual(first.map((d) => [d.line, d.text, d.entities.map((e) => e.text)]), [
        [1, "Paris is in France.", ["Paris", "France"]],
        [2, "", []],
        [3, "Barack Obama visited New York", ["Barack Obama", "New York"]],
      ]);
      assert.deepEqual(first[1].tokens, [], "an empty line is an empty document");
      assert.deepEqual(Object.keys(first[0]), ["line", "text", "tokens", "entities"]);
      await writer.write(encoder.encode("New York"));
      await writer.close();
      const last = JSON.parse((await lines.next())!) as Document;
      assert.deepEqual([last.line, last.entities.map((e) => e.type)], [4, ["geo"]]);
      assert.equal(await lines.next(), undefined);
    } finally {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
    }
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(status.code, 0, stderr);
  });
});

Deno.test("predict --jsonl keeps input order across batches and --json keeps its shape", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const cycle = ["Paris is in France.", "", "Barack Obama visited New York", "a b c d e f g"];
    // 700 lines: three batches of up to 256 lines, lines of different lengths.
    const input = Array.from(
      { length: 700 },
      (_, i) => `${cycle[i % 4]}${i % 4 === 1 ? "" : ` ${i}`}`,
    );
    const bytes = encoder.encode(input.join("\n") + "\n");
    const jsonl = await runCli(["--model", directory, "--backend", "cpu", "--jsonl"], bytes);
    assert.equal(jsonl.code, 0, jsonl.stderr);
    const documents = jsonl.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(documents.length, 700);
    documents.forEach((document: Document, i) => {
      assert.equal(document.line, i + 1);
      assert.equal(document.text, input[i]);
      if (input[i] === "") assert.deepEqual([document.tokens, document.entities], [[], []]);
    });
    const json = await runCli(["--model", directory, "--backend", "cpu", "--json"], bytes);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { documents });
    const empty = await runCli(
      ["--model", directory, "--backend", "cpu", "--json"],
      new Uint8Array(),
    );
    assert.deepEqual(JSON.parse(empty.stdout), { documents: [] });
    const emptyLines = await runCli(
      ["--model", directory, "--backend", "cpu", "--jsonl"],
      new Uint8Array(),
    );
    assert.deepEqual([emptyLines.code, emptyLines.stdout], [0, ""]);
  });
});

Deno.test("predict --jsonl stops at a line that is not UTF-8, after writing the lines before it", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    await buildLookupModel(directory, { sentences: TRAINING, lookup: LOOKUP });
    const good = Array.from({ length: 300 }, () => "Paris is in France.").join("\n") + "\n";
    const bytes = new Uint8Array([...encoder.encode(good), 0x50, 0xe9, 0x0a, 0x41, 0x0a]);
    const result = await runCli(["--model", directory, "--backend", "cpu", "--jsonl"], bytes);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /stdin is not valid UTF-8 \(line 301\)/);
    const written = result.stdout.trimEnd().split("\n");
    assert.equal(written.length, 300, "every line before the bad one is written");
    assert.ok(written.every((line, i) => JSON.parse(line).line === i + 1));
    const json = await runCli(["--model", directory, "--backend", "cpu", "--json"], bytes);
    assert.equal(json.code, 1);
    assert.throws(() => JSON.parse(json.stdout), "a cut-short --json object is not valid JSON");
  });
});

Deno.test("predict rejects --json with --jsonl and an unknown --offsets", async () => {
  const both = await runCli(["--json", "--jsonl"], encoder.encode("Paris\n"));
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--json and --jsonl exclude each other/);
  const offsets = await runCli(["--offsets", "bytes"], encoder.encode("Paris\n"));
  assert.equal(offsets.code, 2);
  assert.match(offsets.stderr, /--offsets must be utf16 or codepoints, got "bytes"/);
});
