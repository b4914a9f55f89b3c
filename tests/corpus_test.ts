import assert from "node:assert/strict";
import { CorpusError, loadCorpus, parseCorpus } from "../lib/data/corpus.ts";

const FIXTURE = new URL("./fixtures/quirks.csv", import.meta.url).pathname;
const FIXTURE_GZ = new URL("./fixtures/quirks.csv.gz", import.meta.url).pathname;
const HEADER = "Sentence #,Word,POS,Tag\r\n";

async function withTempFile(
  contents: string | Uint8Array,
  suffix: string,
  body: (path: string) => Promise<void>,
): Promise<void> {
  const path = await Deno.makeTempFile({ suffix });
  try {
    if (typeof contents === "string") await Deno.writeTextFile(path, contents);
    else await Deno.writeFile(path, contents);
    await body(path);
  } finally {
    await Deno.remove(path);
  }
}

async function assertCorpusError(
  promise: Promise<unknown>,
  expected: { file: string; line?: number; message: RegExp },
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CorpusError, `expected CorpusError, got ${error}`);
    assert.equal(error.file, expected.file);
    assert.equal(error.line, expected.line);
    assert.match(error.message, expected.message);
    assert.ok(error.message.startsWith(expected.file), "message names the file");
    return true;
  });
}

Deno.test("loads the quirks fixture: every row becomes a token, grouped by sentence", async () => {
  const corpus = await loadCorpus(FIXTURE);
  assert.equal(corpus.rows, 26);
  assert.deepEqual(corpus.sentences.map((sentence) => sentence.id), [1, 2, 3, 10]);
  assert.deepEqual(corpus.sentences.map((sentence) => sentence.words.length), [8, 12, 4, 2]);
  assert.equal(corpus.sentences.reduce((sum, s) => sum + s.words.length, 0), corpus.rows);
  assert.deepEqual(corpus.sentences.map((sentence) => sentence.line), [2, 10, 22, 26]);
});

Deno.test("keeps quoted commas, quoted quotes and numbers with commas as single tokens", async () => {
  const [first, second] = (await loadCorpus(FIXTURE)).sentences;
  assert.equal(first.words[4], ",");
  assert.equal(first.pos[4], ",");
  assert.equal(first.words[5], "10,000");
  assert.equal(second.words[0], '"');
  assert.equal(second.pos[0], "``");
});

Deno.test("keeps None, NA and null as words, never as missing values", async () => {
  const second = (await loadCorpus(FIXTURE)).sentences[1];
  assert.deepEqual(second.words.slice(1, 4), ["None", "NA", "null"]);
  assert.deepEqual(second.tags.slice(1, 4), ["O", "B-org", "O"]);
});

Deno.test("decodes Windows-1252: accents, curly quotes, ellipsis, degree sign and NBSP", async () => {
  const second = (await loadCorpus(FIXTURE)).sentences[1];
  assert.equal(second.words[4], "Sébastien");
  assert.equal(second.words[5], "Citroën");
  assert.equal(second.words[6], "\u201c");
  assert.equal(second.words[7], "5\u00a0storm", "the NBSP stays inside one token");
  assert.equal(second.words[8], "\u201d");
  assert.equal(second.words[9], "\u2026");
  assert.equal(second.words[10], "40°C");
});

Deno.test("reads gzip-compressed files in-process with the same result", async () => {
  assert.deepEqual(
    (await loadCorpus(FIXTURE_GZ)).sentences,
    (await loadCorpus(FIXTURE)).sentences,
  );
});

Deno.test("reports a missing file by name", async () => {
  await assertCorpusError(loadCorpus("/nonexistent/ner.csv"), {
    file: "/nonexistent/ner.csv",
    message: /file not found/,
  });
});

Deno.test("reports an empty file", async () => {
  await withTempFile("", ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), { file: path, message: /empty/ });
  });
  await withTempFile(HEADER, ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), { file: path, message: /no rows/ });
  });
});

Deno.test("reports a wrong or missing column on line 1", async () => {
  await withTempFile("Sentence #,Word,Tag\r\nSentence: 1,a,O\r\n", ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), {
      file: path,
      line: 1,
      message: /expected the header/,
    });
  });
  await withTempFile("Sentence,Word,POS,Tag\r\nSentence: 1,a,DT,O\r\n", ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), { file: path, line: 1, message: /found "Sentence,/ });
  });
});

Deno.test("reports a row with too few fields with its line", async () => {
  const text = `${HEADER}Sentence: 1,a,DT,O\r\n,b,NN,O\r\n,c,NN\r\n,d,NN,O\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), {
      file: path,
      line: 4,
      message: /expected 4 fields .*found 3/,
    });
  });
});

Deno.test("reports a row with too many fields with its line", async () => {
  const text = `${HEADER}Sentence: 1,a,DT,O\r\n,b,NN,O,extra\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), {
      file: path,
      line: 3,
      message: /expected 4 fields, found 5/,
    });
  });
});

Deno.test("reports a non-numeric sentence id with its line", async () => {
  const text = `${HEADER}Sentence: 1,a,DT,O\r\nSentence: two,b,NN,O\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), {
      file: path,
      line: 3,
      message: /Sentence: N.*"Sentence: two"/,
    });
  });
});

Deno.test("reports a first row that starts no sentence", async () => {
  await withTempFile(`${HEADER},a,DT,O\r\n`, ".csv", async (path) => {
    await assertCorpusError(loadCorpus(path), { file: path, line: 2, message: /first row/ });
  });
});

Deno.test("reports a truncated gzip file", async () => {
  const compressed = await Deno.readFile(FIXTURE_GZ);
  await withTempFile(compressed.slice(0, compressed.length - 12), ".csv.gz", async (path) => {
    await assertCorpusError(loadCorpus(path), { file: path, message: /corrupt or truncated gzip/ });
  });
});

Deno.test("parses text with LF line endings", () => {
  const corpus = parseCorpus(
    "Sentence #,Word,POS,Tag\nSentence: 7,Zürich,NNP,B-geo\n,.,.,O\n",
    "inline.csv",
  );
  assert.deepEqual(corpus.sentences, [
    { id: 7, words: ["Zürich", "."], pos: ["NNP", "."], tags: ["B-geo", "O"], line: 2 },
  ]);
});
