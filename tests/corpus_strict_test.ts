/**
 * The corpus reader returns right data or an error naming the file and line, never wrong data
 * silently (issue 16, finding 5): the encoding detected or given, a sentence id that starts two
 * separate sentences, `<pad>` and non-IOB tags, and a size cap with a bounded read.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors.ts";
import {
  CorpusError,
  DEFAULT_MAX_CORPUS_BYTES,
  loadCorpus,
  type LoadCorpusOptions,
  parseCorpus,
} from "../lib/data/corpus.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const QUIRKS = fixture("quirks.csv");
const QUIRKS_UTF8 = fixture("quirks_utf8.csv");
const REPEATED_ID = fixture("repeated_id.csv");
const HEADER = "Sentence #,Word,POS,Tag\r\n";
const windows1252 = (text: string) =>
  Uint8Array.from(text, (char) => {
    const code = char.charCodeAt(0);
    assert.ok(code < 0x100, `not a Latin-1 character: ${char}`);
    return code;
  });

async function withTempFile<T>(
  contents: string | Uint8Array,
  suffix: string,
  body: (path: string) => Promise<T>,
): Promise<T> {
  const path = await Deno.makeTempFile({ prefix: "bilstm-ner-corpus-", suffix });
  try {
    if (typeof contents === "string") await Deno.writeTextFile(path, contents);
    else await Deno.writeFile(path, contents);
    return await body(path);
  } finally {
    await Deno.remove(path);
  }
}

/** Deno's calls that open or read a file by its path. */
const FILE_READERS = [
  "open",
  "openSync",
  "readFile",
  "readFileSync",
  "readTextFile",
  "readTextFileSync",
] as const;

/** Runs `body`, recording the paths it opens or reads through {@linkcode FILE_READERS}. */
async function pathsOpenedDuring<T>(
  body: () => Promise<T>,
): Promise<{ result: T; opened: string[] }> {
  const opened: string[] = [];
  const originals = Object.fromEntries(FILE_READERS.map((name) => [name, Deno[name]]));
  for (const name of FILE_READERS) {
    const original = Deno[name] as (path: string | URL, ...rest: unknown[]) => unknown;
    Object.assign(Deno, {
      [name]: (path: string | URL, ...rest: unknown[]) => {
        opened.push(path instanceof URL ? path.pathname : path);
        return original(path, ...rest);
      },
    });
  }
  try {
    return { result: await body(), opened };
  } finally {
    Object.assign(Deno, originals);
  }
}

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Asserts that loading rejects with a CorpusError naming the file (and the line, if given). */
async function assertCorpusError(
  path: string,
  expected: { line?: number; message: RegExp },
  options?: LoadCorpusOptions,
): Promise<CorpusError> {
  let caught: unknown;
  try {
    await loadCorpus(path, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CorpusError, `expected a CorpusError, got ${caught}`);
  assert.equal(caught.file, path);
  assert.equal(caught.line, expected.line);
  assert.match(caught.message, expected.message);
  const prefix = expected.line === undefined ? `${path}: ` : `${path}:${expected.line}: `;
  assert.ok(caught.message.startsWith(prefix), `"${caught.message}" starts with "${prefix}"`);
  return caught;
}

// --- Encoding -----------------------------------------------------------------------------

Deno.test("a UTF-8 file reads as UTF-8: München, not MÃ¼nchen", async () => {
  const corpus = await loadCorpus(QUIRKS_UTF8);
  assert.equal(corpus.encoding, "utf-8");
  const last = corpus.sentences.at(-1)!;
  assert.deepEqual(last.words, ["München", ",", "Zürich"]);
  assert.deepEqual(last.line, 28);
  // Every quirk of the Windows-1252 fixture reads the same from its UTF-8 transcoding.
  const original = await loadCorpus(QUIRKS);
  assert.equal(original.encoding, "windows-1252");
  assert.deepEqual(corpus.sentences.slice(0, -1), original.sentences);
});

Deno.test("a UTF-8 byte-order mark is dropped, in a plain and a gzip file", async () => {
  const bytes = await Deno.readFile(QUIRKS_UTF8);
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
  const expected = (await loadCorpus(QUIRKS_UTF8)).sentences;
  for (const [contents, suffix] of [[withBom, ".csv"], [await gzip(withBom), ".csv.gz"]] as const) {
    await withTempFile(contents, suffix, async (path) => {
      const corpus = await loadCorpus(path);
      assert.equal(corpus.encoding, "utf-8");
      assert.deepEqual(corpus.sentences, expected);
    });
  }
});

Deno.test("an encoding given is used: windows-1252 on UTF-8 bytes reads them as such", async () => {
  const text = `${HEADER}Sentence: 1,München,NNP,B-geo\r\n,",",",",O\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    const corpus = await loadCorpus(path, { encoding: "windows-1252" });
    assert.equal(corpus.encoding, "windows-1252");
    assert.deepEqual(corpus.sentences[0].words, ["MÃ¼nchen", ","]);
    assert.deepEqual((await loadCorpus(path, { encoding: "utf-8" })).sentences[0].words, [
      "München",
      ",",
    ]);
  });
  // The closing curly quote in UTF-8 (E2 80 9D) holds 0x9D, a byte Windows-1252 leaves
  // undefined: an error, not a control character.
  await assertCorpusError(QUIRKS_UTF8, {
    line: 18,
    message: /byte 0x9D is not a character in Windows-1252: the file is in another encoding/,
  }, { encoding: "windows-1252" });
});

Deno.test("utf-8 given on Windows-1252 bytes is an error naming the line of the first bad byte", async () => {
  await assertCorpusError(
    QUIRKS,
    { line: 14, message: /not valid UTF-8: byte 0xE9 at offset \d+/ },
    {
      encoding: "utf-8",
    },
  );
});

Deno.test("a file starting with a UTF-8 byte-order mark must be valid UTF-8", async () => {
  const text = `\ufeff${HEADER}Sentence: 1,Zürich,NNP,B-geo\r\n`;
  const bytes = new Uint8Array([
    ...new TextEncoder().encode(text),
    ...windows1252(",Sébastien,NNP,B-per\r\n"),
  ]);
  await withTempFile(bytes, ".csv", async (path) => {
    await assertCorpusError(path, {
      line: 3,
      message: /not valid UTF-8 \(though it starts with a UTF-8 byte-order mark\)/,
    });
    await assertCorpusError(path, {
      line: 1,
      message: /byte-order mark but was to be read as windows-1252/,
    }, {
      encoding: "windows-1252",
    });
  });
});

Deno.test("bytes that Windows-1252 leaves undefined, and UTF-16, are errors", async () => {
  const undefinedByte = new Uint8Array([
    ...windows1252(`${HEADER}Sentence: 1,a,DT,O\r\n`),
    ...windows1252(",b"),
    0x81,
    ...windows1252(",NN,O\r\n"),
  ]);
  await withTempFile(undefinedByte, ".csv", async (path) => {
    await assertCorpusError(path, {
      line: 3,
      message: /byte 0x81 is not a character in Windows-1252/,
    });
  });
  const utf16 = new Uint8Array([0xff, 0xfe, ...windows1252("S\0e\0")]);
  await withTempFile(utf16, ".csv", async (path) => {
    await assertCorpusError(path, { line: 1, message: /UTF-16/ });
  });
});

// --- A sentence id used twice -------------------------------------------------------------

Deno.test("a sentence id that starts a sentence again after others is an error naming both lines", async () => {
  const error = await assertCorpusError(REPEATED_ID, {
    line: 40,
    message: /"Sentence: 5" starts a second sentence: it already started one at line 10/,
  });
  assert.match(error.message, /other sentences came between/);
  const gz = await gzip(await Deno.readFile(REPEATED_ID));
  await withTempFile(gz, ".csv.gz", async (path) => {
    await assertCorpusError(path, { line: 40, message: /at line 10/ });
  });
});

Deno.test("the same number written differently is the same sentence id", async () => {
  const text = `${HEADER}Sentence: 5,a,DT,O\r\nSentence: 6,b,NN,O\r\nSentence: 05,c,NN,O\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    await assertCorpusError(path, {
      line: 4,
      message: /"Sentence: 05" starts a second sentence 5: "Sentence: 5" started one at line 2/,
    });
  });
});

Deno.test("an id repeated on the rows of its own sentence continues it (ids on every row)", () => {
  const corpus = parseCorpus(
    `${HEADER}Sentence: 1,a,DT,O\r\nSentence: 1,b,NN,O\r\n,c,NN,O\r\nSentence: 1,d,NN,O\r\n` +
      "Sentence: 2,e,NN,O\r\nSentence: 2,f,NN,O\r\n",
    "filled.csv",
  );
  assert.deepEqual(corpus.sentences.map((s) => [s.id, s.words.join(""), s.line]), [
    [1, "abcd", 2],
    [2, "ef", 6],
  ]);
});

// --- Tags ---------------------------------------------------------------------------------

Deno.test("the padding label <pad> as a tag is an error naming the line", async () => {
  const text = `${HEADER}Sentence: 1,a,DT,O\r\n,b,NN,B-geo\r\nSentence: 2,c,NN,<pad>\r\n`;
  await withTempFile(text, ".csv", async (path) => {
    await assertCorpusError(path, { line: 4, message: /"<pad>" is reserved for padding/ });
  });
});

Deno.test("non-IOB tags are errors naming the line; O, B-x and I-x pass", async () => {
  for (
    const [tag, line] of [["E-geo", 3], ["S-per", 3], ["B-", 3], ["geo", 3], ["o", 3], ["O ", 3]]
  ) {
    const text = `${HEADER}Sentence: 1,a,DT,I-geo\r\n,b,NN,${tag}\r\n,c,NN,O\r\n`;
    await withTempFile(text, ".csv", async (path) => {
      const error = await assertCorpusError(path, { line: Number(line), message: /is not IOB/ });
      assert.ok(error.message.includes(`"${tag}"`), error.message);
    });
  }
  const good = parseCorpus(
    `${HEADER}Sentence: 1,a,DT,B-x\r\n,b,NN,I-my-type\r\n,c,NN,O\r\n`,
    "ok.csv",
  );
  assert.deepEqual(good.sentences[0].tags, ["B-x", "I-my-type", "O"]);
});

// --- Other silent corruptions -------------------------------------------------------------

Deno.test("a NUL byte and a field spanning lines are errors naming the line", async () => {
  await withTempFile(`${HEADER}Sentence: 1,a,DT,O\r\n,b\0,NN,O\r\n`, ".csv", async (path) => {
    await assertCorpusError(path, { line: 3, message: /NUL byte/ });
  });
  const spans = `${HEADER}Sentence: 1,a,DT,O\r\n,"b\r\nc",NN,O\r\n,d,NN,<pad>\r\n`;
  await withTempFile(spans, ".csv", async (path) => {
    await assertCorpusError(path, { line: 3, message: /spans lines/ });
  });
});

// --- Size cap and bounded reads -----------------------------------------------------------

Deno.test("a file over the size cap is refused before it is read (an 8 GiB sparse file)", async () => {
  await withTempFile(HEADER, ".csv", async (path) => {
    await Deno.truncate(path, 8 * 2 ** 30);
    // Refused at once: from its size alone, the file never opened (so not one byte read).
    const { opened } = await pathsOpenedDuring(() =>
      assertCorpusError(path, {
        message: /the file is 8 GiB, over the corpus size cap of 128 MiB; nothing was read/,
      })
    );
    assert.deepEqual(opened.filter((p) => p === path), [], "refused before the file was opened");
  });
  assert.equal(DEFAULT_MAX_CORPUS_BYTES, 128 * 2 ** 20);
  // The cap can be raised, and lowered.
  const bytes = (await Deno.stat(QUIRKS)).size;
  const lowered = await pathsOpenedDuring(() =>
    assertCorpusError(QUIRKS, { message: /over the corpus size cap of 100 bytes/ }, {
      maxBytes: 100,
    })
  );
  assert.deepEqual(lowered.opened.filter((p) => p === QUIRKS), [], "refused before opening");
  // Within the cap the file is opened and read: the recording above sees opens.
  const loaded = await pathsOpenedDuring(() => loadCorpus(QUIRKS, { maxBytes: bytes }));
  assert.equal(loaded.result.rows, 26);
  assert.ok(loaded.opened.includes(QUIRKS), `opened ${QUIRKS}: ${loaded.opened}`);
});

Deno.test("/dev/zero is read only up to the cap, then an error naming it", async () => {
  await assertCorpusError("/dev/zero", {
    message: /stopped reading at the corpus size cap of 1 MiB .*not a regular file/,
  }, {
    maxBytes: 2 ** 20,
  });
  // With the default cap too: 128 MiB, not until memory runs out.
  await assertCorpusError("/dev/zero", { message: /size cap of 128 MiB/ });
});

Deno.test("a FIFO is read up to the cap; one that ends within it loads", async () => {
  const directory = await Deno.makeTempDir({ prefix: "bilstm-ner-fifo-" });
  try {
    const fifo = `${directory}/corpus.csv`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    // An endless writer: the reader must stop at the cap and close, which ends the writer.
    const endless = (async () => {
      const file = await Deno.open(fifo, { write: true });
      const chunk = new TextEncoder().encode(",word,NN,O\n".repeat(6000));
      try {
        while (true) await file.write(chunk);
      } catch (error) {
        assert.ok(error instanceof Deno.errors.BrokenPipe, String(error));
      } finally {
        file.close();
      }
    })();
    await assertCorpusError(fifo, { message: /stopped reading at the corpus size cap of 1 MiB/ }, {
      maxBytes: 2 ** 20,
    });
    await endless;
    // A writer that ends: the FIFO loads like a file.
    const writer = (async () => {
      const file = await Deno.open(fifo, { write: true });
      await file.write(await Deno.readFile(QUIRKS));
      file.close();
    })();
    const corpus = await loadCorpus(fifo);
    await writer;
    assert.deepEqual(corpus.sentences, (await loadCorpus(QUIRKS)).sentences);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("gzip data that unpacks past the cap stops there with an error (a gzip bomb)", async () => {
  const bomb = await gzip(new Uint8Array(8 * 2 ** 20));
  assert.ok(bomb.length < 2 ** 20);
  await withTempFile(bomb, ".csv.gz", async (path) => {
    await assertCorpusError(path, {
      message: /gzip data decompresses to more than the corpus size cap of 1 MiB/,
    }, {
      maxBytes: 2 ** 20,
    });
  });
});

Deno.test("a folder is an error, and bad options are ConfigErrors naming the option", async () => {
  const directory = await Deno.makeTempDir();
  try {
    await assertCorpusError(directory, { message: /is a folder/ });
  } finally {
    await Deno.remove(directory);
  }
  for (
    const [options, field] of [
      [{ maxBytes: 0 }, "maxBytes"],
      [{ maxBytes: 1.5 }, "maxBytes"],
      [{ encoding: "latin1" }, "encoding"],
    ] as const
  ) {
    await assert.rejects(
      loadCorpus(QUIRKS, options as LoadCorpusOptions),
      (error: unknown) => error instanceof ConfigError && error.field === field,
    );
  }
});
