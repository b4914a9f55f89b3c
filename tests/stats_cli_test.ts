/**
 * `deno task stats FILE`, run as a user runs it (through the task, with its permissions in
 * deno.json): the same statistics for any GMB-style CSV, plain or gzip; a file the reader refuses
 * prints `error: FILE:LINE: …` and exits 1, with no stack trace and nothing on stdout; a usage
 * mistake exits 2.
 */
import assert from "node:assert/strict";
import { corpusStats } from "../lib/data/stats.ts";
import type { Corpus, Sentence } from "../lib/data/corpus.ts";
import { runTask, type TaskRun } from "./fixtures/task.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

type Run = TaskRun;

/** Runs `deno task stats ARGS` at the repository root. */
function stats(...args: string[]): Promise<Run> {
  return runTask("stats", ...args);
}

/** Asserts a run failed the way the CLI reports a refused file: one `error:` line, exit 1. */
function assertFileError(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, "", "nothing on stdout");
  assert.match(run.stderr, /^error: /);
  assert.match(run.stderr, pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
}

Deno.test("stats FILE on a sentence id that repeats after another sentence exits 1 naming both lines", async () => {
  const path = fixture("repeated_id.csv");
  for (const json of [[], ["--json"]]) {
    const run = await stats(...json, path);
    assertFileError(
      run,
      new RegExp(`^error: ${path}:40: "Sentence: 5" starts a second sentence: .*at line 10\\b`),
    );
  }
});

Deno.test("stats FILE prints the statistics of a GMB-style CSV, plain or gzip, as pure JSON", async () => {
  const plain = await stats("--json", fixture("quirks.csv"));
  assert.equal(plain.code, 0, plain.stderr);
  const report = JSON.parse(plain.stdout);
  assert.equal(report.file, fixture("quirks.csv"));
  assert.equal(report.encoding, "windows-1252");
  assert.equal(report.rows, 26);
  assert.equal(report.sentences, 4);
  const gz = JSON.parse((await stats("--json", fixture("quirks.csv.gz"))).stdout);
  assert.deepEqual({ ...gz, file: undefined, loadSeconds: undefined }, {
    ...report,
    file: undefined,
    loadSeconds: undefined,
  });
  const utf8 = JSON.parse((await stats("--json", fixture("quirks_utf8.csv"))).stdout);
  assert.equal(utf8.encoding, "utf-8");
  assert.equal(utf8.rows, 29);
  assert.equal(utf8.tagCounts["B-geo"], 4);
});

Deno.test("stats FILE prints a table naming the file and its encoding", async () => {
  const run = await stats("--encoding", "utf-8", fixture("quirks_utf8.csv"));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Corpus: \S+quirks_utf8\.csv \(gmb, utf-8; loaded and grouped in/);
  assert.match(run.stdout, /rows \(tokens\) +29\n/);
});

Deno.test("stats without FILE still reads the bundled corpus", async () => {
  const run = await stats("--json");
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.match(report.file, /data\/ner_dataset\.csv\.gz$/);
  assert.equal(report.encoding, "windows-1252");
  assert.equal(report.rows, 1_048_575);
  assert.equal(report.sentences, 47_959);
});

Deno.test("stats on files the reader refuses: exit 1, error: FILE[:LINE], no stack trace", async () => {
  const directory = await Deno.makeTempDir({ prefix: "bilstm-ner-stats-" });
  try {
    const pad = `${directory}/pad.csv`;
    await Deno.writeTextFile(
      pad,
      "Sentence #,Word,POS,Tag\r\nSentence: 1,a,DT,O\r\n,b,NN,<pad>\r\n",
    );
    assertFileError(await stats("--json", pad), new RegExp(`^error: ${pad}:3: the tag "<pad>"`));
    const iobes = `${directory}/iobes.csv`;
    await Deno.writeTextFile(iobes, "Sentence #,Word,POS,Tag\r\nSentence: 1,a,DT,S-geo\r\n");
    assertFileError(
      await stats(iobes),
      new RegExp(`^error: ${iobes}:2: the tag "S-geo" is not IOB`),
    );
    assertFileError(
      await stats("--encoding", "utf-8", fixture("quirks.csv")),
      /quirks\.csv:14: not valid UTF-8/,
    );
    // No line break anywhere: read in linear time up to the cap (it was quadratic).
    const oneLine = `${directory}/one-line.conll`;
    await Deno.writeTextFile(oneLine, "x".repeat(3 * 1024 * 1024));
    assertFileError(
      await stats("--max-bytes", "2M", oneLine),
      new RegExp(`^error: ${oneLine}: .*cap of 2 MiB`),
    );
    // A NUL byte stops the read at once, in the chunk it arrives in, naming its line.
    assertFileError(
      await stats("/dev/zero"),
      /^error: \/dev\/zero:1: a NUL byte: this is not a text file/,
    );
    assertFileError(
      await stats("--max-bytes", "500", fixture("quirks_utf8.csv")),
      /the file is 516 bytes, over the corpus size cap of 500 bytes/,
    );
    assertFileError(await stats(directory), /is a folder/);
    assertFileError(await stats(`${directory}/missing.csv`), /missing\.csv: file not found/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("stats usage mistakes exit 2 with the error and a pointer to --help", async () => {
  for (
    const [args, message] of [
      [["a.csv", "b.csv"], /expected one FILE, got 2: a\.csv b\.csv/],
      [
        ["--encoding", "latin1"],
        /--encoding must be one of auto, utf-8, windows-1252, got "latin1"/,
      ],
      [["--max-bytes", "0"], /--max-bytes must be a size in bytes/],
      [["--max-bytes", "12X"], /--max-bytes must be a size in bytes/],
    ] as const
  ) {
    const run = await stats(...args);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, message);
    assert.match(run.stderr, /\n\(deno task stats --help lists the flags\)\n$/);
  }
  const help = await stats("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--encoding E .*auto .*utf-8 or windows-1252/);
  assert.match(help.stdout, /--max-bytes SIZE/);
});

Deno.test("corpus statistics of 300,000 sentences (Math.min(...lengths) overflowed the stack)", () => {
  const sentences: Sentence[] = Array.from({ length: 300_000 }, (_, index) => ({
    id: index + 1,
    words: index === 7 ? ["a"] : ["a", "b", "c"].slice(0, 2 + (index % 2)),
    pos: ["DT", "NN", "NN"].slice(0, index === 7 ? 1 : 2 + (index % 2)),
    tags: ["O", "O", "O"].slice(0, index === 7 ? 1 : 2 + (index % 2)),
    line: index + 2,
  }));
  const rows = sentences.reduce((sum, sentence) => sum + sentence.words.length, 0);
  const corpus: Corpus = { source: "big.csv", rows, sentences };
  const result = corpusStats(corpus);
  assert.equal(result.minSentenceLength, 1);
  assert.equal(result.maxSentenceLength, 3);
  assert.equal(result.sentences, 300_000);
  assert.equal(result.meanSentenceLength, rows / 300_000);
});
