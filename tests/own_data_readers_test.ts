/**
 * The readers of your own data (lib/data/formats.ts): CoNLL column files, JSONL spans and the
 * GMB CSV read back exactly what was written (round trips over the whole bundled corpus), tag
 * schemes are detected and converted, and every kind of bad input is an error naming the file
 * and line.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { type Corpus, loadCorpus, type Sentence } from "../lib/data/corpus.ts";
import { loadTrainingSentences } from "../lib/data/dataset.ts";
import { loadSentences, type ReadOptions, readSentences } from "../lib/data/formats.ts";
import { detectTagScheme, emptyEvidence, gatherEvidence, toIob2 } from "../lib/data/tag_schemes.ts";
import { toConll, toJsonl } from "../lib/data/write.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

let bundled: Corpus | undefined;
/** The bundled corpus (loaded once for these tests). */
async function corpus(): Promise<Corpus> {
  bundled ??= await loadCorpus();
  return bundled;
}

/** Writes `text` to `name` in `dir` and reads it back. */
async function readText(
  dir: string,
  name: string,
  text: string | Uint8Array,
  options?: ReadOptions,
) {
  const path = `${dir}/${name}`;
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return await loadSentences(path, options);
}

/** Asserts two sentence lists have the same words and tags, naming the first difference. */
function assertSameSentences(actual: readonly Sentence[], expected: readonly Sentence[]): void {
  assert.equal(actual.length, expected.length, "sentence count");
  expected.forEach((sentence, index) => {
    assert.deepEqual(actual[index].words, sentence.words, `words of sentence ${index + 1}`);
    assert.deepEqual(actual[index].tags, sentence.tags, `tags of sentence ${index + 1}`);
  });
}

/** Asserts that reading `text` fails with a CorpusError naming `name:line` and matching. */
async function assertReadError(
  text: string,
  name: string,
  line: number | null,
  pattern: RegExp,
  options?: ReadOptions,
): Promise<void> {
  await withTempDir(async (dir) => {
    await assert.rejects(readText(dir, name, text, options), (error: Error) => {
      assert.equal(
        error.name === "CorpusError" || error.name === "InvalidUtf8Error",
        true,
        error.message,
      );
      const where = line === null ? `${dir}/${name}: ` : `${dir}/${name}:${line}: `;
      assert.ok(error.message.startsWith(where), `${error.message} should start with ${where}`);
      assert.match(error.message, pattern);
      return true;
    });
  });
}

for (const scheme of ["iob1", "iob2", "bioes", "bilou"] as const) {
  Deno.test(`round trip: all GMB sentences written as CoNLL ${scheme} read back the same`, async () => {
    const { sentences } = await corpus();
    await withTempDir(async (dir) => {
      const read = await readText(dir, "gmb.conll", toConll(sentences, { scheme }));
      assertSameSentences(read.sentences, sentences);
      assert.equal(read.summary.tagScheme, scheme, "the scheme is detected");
      assert.equal(read.summary.schemeDetected, true);
      assert.equal(read.summary.repairs, 0);
      assert.deepEqual(read.sentences[0].pos, sentences[0].pos, "the POS column is kept");
    });
  });
}

Deno.test("round trip: all GMB sentences as JSONL spans (with tokens) read back the same", async () => {
  const { sentences } = await corpus();
  await withTempDir(async (dir) => {
    const read = await readText(dir, "gmb.jsonl", toJsonl(sentences));
    assertSameSentences(read.sentences, sentences);
    assert.equal(read.summary.format, "jsonl");
  });
});

Deno.test("JSONL without tokens: the project's tokenizer re-splits 99.9% of GMB sentences exactly", async () => {
  const { sentences } = await corpus();
  await withTempDir(async (dir) => {
    const read = await readText(dir, "plain.jsonl", toJsonl(sentences, { tokens: false }));
    const same = read.sentences.filter((sentence, index) =>
      JSON.stringify([sentence.words, sentence.tags]) ===
        JSON.stringify([sentences[index].words, sentences[index].tags])
    ).length;
    assert.ok(same / sentences.length >= 0.999, `${same} of ${sentences.length}`);
    assert.equal(read.summary.skippedSpans, 0);
  });
});

Deno.test("the GMB CSV from any path, through the same reader, equals the bundled loader", async () => {
  const { sentences } = await corpus();
  const read = await loadSentences(new URL("../data/ner_dataset.csv.gz", import.meta.url).pathname);
  assert.equal(read.summary.format, "gmb");
  assert.equal(read.summary.encoding, "windows-1252");
  assert.equal(read.summary.tagScheme, "iob2");
  assertSameSentences(read.sentences, sentences);
});

Deno.test(".gz is accepted for CoNLL and JSONL, detected by content whatever the name", async () => {
  const sentences = (await corpus()).sentences.slice(0, 50);
  await withTempDir(async (dir) => {
    const conll = await readText(dir, "a.conll.gz", gzipSync(toConll(sentences)));
    assertSameSentences(conll.sentences, sentences);
    const jsonl = await readText(dir, "b.txt.gz", gzipSync(toJsonl(sentences)));
    assert.equal(jsonl.summary.format, "jsonl", "a .txt file of JSON objects is JSONL");
    assertSameSentences(jsonl.sentences, sentences);
  });
});

Deno.test("CoNLL: spaces or tabs, -DOCSTART- skipped, CRLF, the tag column chosen", async () => {
  const text = "-DOCSTART- -X- -X- O\r\n\r\nEU NNP B-NP B-ORG\r\nrejects VBZ B-VP O\r\n\r\n" +
    "Peter\tNNP\tB-NP\tB-PER\nBlackburn\tNNP\tI-NP\tI-PER\n";
  await withTempDir(async (dir) => {
    const read = await readText(dir, "x.conll", text);
    assert.deepEqual(read.sentences.map((s) => s.words), [["EU", "rejects"], [
      "Peter",
      "Blackburn",
    ]]);
    assert.deepEqual(read.sentences.map((s) => s.tags), [["B-ORG", "O"], ["B-PER", "I-PER"]]);
    assert.deepEqual(read.sentences.map((s) => s.line), [3, 6], "lines of the first tokens");
    const chunks = await readText(dir, "y.conll", text, { tagColumn: 3 });
    assert.deepEqual(chunks.sentences[0].tags, ["B-NP", "B-VP"]);
  });
});

Deno.test("a Windows-1252 CoNLL file is detected and decoded", async () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("Jos"),
    0xe9,
    ...new TextEncoder().encode(" B-PER\n"),
  ]);
  await withTempDir(async (dir) => {
    const read = await readText(dir, "latin.conll", bytes);
    assert.equal(read.summary.encoding, "windows-1252");
    assert.deepEqual(read.sentences[0].words, ["José"]);
    await assert.rejects(
      readText(dir, "latin2.conll", bytes, { encoding: "utf-8" }),
      /:1: not valid UTF-8/,
    );
  });
});

Deno.test("bad input: a column count that differs names the line and both counts", async () => {
  await assertReadError(
    "EU NNP B-ORG\nrejects O\n",
    "x.conll",
    2,
    /2 columns, but the file's first token line \(1\) has 3/,
  );
});

Deno.test("bad input: an empty file, and a file without a single tag", async () => {
  await assertReadError("\n\n  \n", "empty.conll", null, /the file is empty/);
  await assertReadError(
    "EU\nrejects\n",
    "words.conll",
    1,
    /one column: "EU"; a CoNLL token line holds the token and its tag/,
  );
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/o.conll`, "EU O\nrejects O\n");
    await assert.rejects(
      loadTrainingSentences({ train: `${dir}/o.conll` }),
      /o\.conll: no entity in 1 sentences: every tag is O/,
    );
  });
});

Deno.test("bad input: unknown tag prefixes and malformed tags name their line", async () => {
  await assertReadError(
    "EU B-ORG\n\nPeter X-PER\n",
    "x.conll",
    3,
    /the tag "X-PER" has an unknown prefix "X-"/,
  );
  await assertReadError("EU ORG\n", "y.conll", 1, /the tag "ORG" is not O and not PREFIX-TYPE/);
  await assertReadError("EU S-ORG\nsays O\n", "z.conll", 1, /prefix S-, which IOB2 does not use/, {
    tagScheme: "iob2",
  });
});

Deno.test("I- after O under IOB2 is repaired to B- and counted, or refused with strict", async () => {
  const text = "the O\nEU B-ORG\nsays O\n\nthe O\nUN I-ORG\nsays O\n";
  await withTempDir(async (dir) => {
    const read = await readText(dir, "x.conll", text);
    assert.equal(read.summary.tagScheme, "iob2");
    assert.equal(read.summary.repairs, 1);
    assert.deepEqual(read.sentences[1].tags, ["O", "B-ORG", "O"]);
  });
  await assertReadError(
    text,
    "x.conll",
    6,
    /"I-ORG" continues an entity, but none of type ORG is open/,
    { strict: true },
  );
});

Deno.test("a file in the wrong format for --format is named as what it looks like", async () => {
  const jsonl = '{"text": "EU rejects", "spans": []}\n';
  await assertReadError(jsonl, "x.conll", 1, /--format conll .*looks like JSONL/, {
    format: "conll",
  });
  await assertReadError("EU B-ORG\n", "x.jsonl", 1, /--format jsonl .*looks like no JSON/, {
    format: "jsonl",
  });
  await assertReadError("EU B-ORG\n", "x.csv", 1, /expected the header "Sentence #,Word,POS,Tag"/);
  await assertReadError(
    "Sentence #,Word,POS,Tag\nSentence: 1,EU,NNP,B-org\n",
    "x.conll",
    1,
    /looks like a GMB CSV/,
    { format: "conll" },
  );
});

Deno.test("JSONL: misaligned or overlapping spans are errors naming the line, or skipped and counted", async () => {
  const text =
    '{"text": "Peter Blackburn met EU officials", "spans": [{"start": 0, "end": 15, "label": "PER"}]}\n' +
    '{"text": "Peter Blackburn met EU officials", "entities": [[0, 3, "PER"], [20, 22, "ORG"]]}\n' +
    '{"text": "EU officials", "label": [[0, 2, "ORG"], [0, 12, "MISC"]]}\n';
  await assertReadError(
    text,
    "x.jsonl",
    2,
    /the span "Pet" \[0, 3\) PER does not end on a token boundary/,
  );
  await withTempDir(async (dir) => {
    const read = await readText(dir, "x.jsonl", text, { skipMisaligned: true });
    assert.equal(read.summary.skippedSpans, 2, "the misaligned span and the overlapping one");
    assert.deepEqual(read.sentences.map((s) => s.tags), [
      ["B-PER", "I-PER", "O", "O", "O"],
      ["O", "O", "O", "B-ORG", "O"],
      ["B-ORG", "O"],
    ]);
  });
  const overlap =
    '{"text": "EU officials", "spans": [{"start": 0, "end": 12, "label": "ORG"}, {"start": 3, "end": 12, "label": "X"}]}\n';
  await assertReadError(overlap, "y.jsonl", 1, /overlaps "EU officials" \[0, 12\) ORG/);
  await assertReadError('{"text": "EU"}\n[1]\n', "z.jsonl", 2, /not a JSON object/);
  await assertReadError(
    '{"text": "EU", "spans": [{"start": 0, "end": 9, "label": "ORG"}]}\n',
    "w.jsonl",
    1,
    /not a non-empty range within the text's 2/,
  );
});

Deno.test("JSONL offsets in code points (Python's) map onto UTF-16 offsets", async () => {
  const text =
    '{"text": "😀 Peter Blackburn", "spans": [{"start": 2, "end": 17, "label": "PER"}]}\n';
  await withTempDir(async (dir) => {
    const read = await readText(dir, "emoji.jsonl", text, { offsets: "codepoints" });
    assert.deepEqual(read.sentences[0].tags.slice(-2), ["B-PER", "I-PER"]);
  });
  await assertReadError(text, "emoji.jsonl", 1, /does not start on a token boundary/);
});

Deno.test("schemes: IOB1 converted, BIOES/BILOU converted, mixed schemes refused, ambiguity noted", () => {
  assert.deepEqual(toIob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"], "iob1").tags, [
    "B-PER",
    "I-PER",
    "B-PER",
    "O",
    "B-LOC",
  ]);
  assert.deepEqual(toIob2(["S-PER", "B-LOC", "I-LOC", "E-LOC", "E-ORG"], "bioes"), {
    tags: ["B-PER", "B-LOC", "I-LOC", "I-LOC", "B-ORG"],
    repairs: 1,
  });
  assert.deepEqual(toIob2(["U-PER", "B-LOC", "L-LOC"], "bilou").tags, ["B-PER", "B-LOC", "I-LOC"]);
  const evidence = (...sentences: string[][]) => {
    const counts = emptyEvidence();
    for (const tags of sentences) gatherEvidence(tags, counts);
    return detectTagScheme(counts);
  };
  assert.equal(evidence(["I-PER", "O", "I-LOC", "B-LOC"]).scheme, "iob1");
  assert.equal(evidence(["B-PER", "O", "B-LOC", "I-LOC"]).scheme, "iob2");
  assert.equal(evidence(["O", "O"]).scheme, "iob2", "no entities: IOB2");
  assert.equal(evidence(["S-PER", "O"]).scheme, "bioes");
  assert.equal(evidence(["U-PER", "O"]).scheme, "bilou");
  assert.throws(() => evidence(["S-PER", "U-LOC"]), /mix BIOES prefixes .* and BILOU prefixes/);
  const ambiguous = evidence(["B-PER", "O", "B-LOC"], ["I-ORG"]);
  assert.equal(ambiguous.scheme, "iob2");
  assert.match(ambiguous.note ?? "", /2 entities begin with B- and 1 with I-: read as IOB2/);
});

Deno.test("streaming: readSentences yields sentences as it reads, the scheme from a sample", async () => {
  const sentences = (await corpus()).sentences.slice(0, 30);
  await withTempDir(async (dir) => {
    const path = `${dir}/s.conll`;
    await Deno.writeTextFile(path, toConll(sentences, { scheme: "iob1" }));
    const read: Sentence[] = [];
    for await (const sentence of readSentences(path, {}, undefined, 5)) read.push(sentence);
    assertSameSentences(read, sentences);
  });
});
