/**
 * Unicode in raw-text prediction (issue 16, finding 11): words are looked up in NFC with offsets
 * into the original text, zero-width characters and NUL separate tokens, emoji and symbols are
 * never part of an entity, and offsets are UTF-16 code units or, on request, code points.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { predictText, predictTexts } from "../lib/predict/predict_text.ts";
import { predictTokens } from "../lib/predict/predict.ts";
import { codePointOffsets, isSymbolToken, lookupForm } from "../lib/data/text.ts";
import { tokenize, tokenizeSentences } from "../lib/data/tokenize.ts";
import { buildLookupModel, sentencesOf, withTempDir } from "./fixtures/tiny_model/build.ts";

const TRAINING = sentencesOf([
  [["José", "B-per"], ["visited", "O"], ["Paris", "B-geo"], [".", "O"]],
  [["Barack", "B-per"], ["Obama", "I-per"], ["met", "O"], ["Zoë", "B-per"]],
]);
const LOOKUP: Record<string, string> = {
  José: "B-per",
  Paris: "B-geo",
  Barack: "B-per",
  Obama: "I-per",
  Zoë: "B-per",
};
const MODEL_OPTIONS = { sentences: TRAINING, lookup: LOOKUP, scale: 3 };
/** Unknown words are tagged I-per: a symbol given to the model would extend a person. */
const GREEDY_UNKNOWN = { ...MODEL_OPTIONS, unknownTag: "I-per" };

const CLI = new URL("../lib/cli/predict.ts", import.meta.url).pathname;

const words = (text: string): string[] => tokenize(text).map((t) => t.text);

/** Every token's text is its slice of the input. */
function assertOffsets(text: string): void {
  for (const token of tokenize(text)) assert.equal(text.slice(token.start, token.end), token.text);
}

Deno.test("zero-width characters and NUL separate tokens and are never inside one", () => {
  for (const separator of ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u0000"]) {
    const text = `${separator}Bar${separator}ack Obama${separator}, ${separator}`;
    const name = `U+${separator.codePointAt(0)!.toString(16).padStart(4, "0")}`;
    assert.deepEqual(words(text), ["Bar", "ack", "Obama", ","], name);
    assertOffsets(text);
    // A line holding only zero-width characters is a blank line.
    assert.equal(tokenizeSentences(`Title here\n${separator}\nBody text`).length, 2, name);
  }
});

Deno.test("emoji and symbols are tokens of their own, kept whole; the degree sign stays in words", () => {
  assert.deepEqual(words("Barack Obama 👋🏽"), ["Barack", "Obama", "👋🏽"]);
  assert.deepEqual(words("Obama👋🏽, 🇫🇷France ©2020 ❤️!"), [
    "Obama",
    "👋🏽",
    ",",
    "🇫🇷",
    "France",
    "©",
    "2020",
    "❤️",
    "!",
  ]);
  // A zero-width joiner separates, so a family emoji is three symbol tokens.
  assert.deepEqual(words("👨‍👩‍👧"), ["👨", "👩", "👧"]);
  assert.deepEqual(words("It was 30°C in Paris"), ["It", "was", "30°C", "in", "Paris"]);
  assertOffsets("Obama👋🏽, 🇫🇷France ©2020 ❤️! 👨‍👩‍👧");
  for (const symbol of ["👋🏽", "🇫🇷", "©", "❤️", "👨", "™"]) assert.ok(isSymbolToken(symbol), symbol);
  for (const word of ["Obama", "°C", "°", "$", "+", "O'Neil"]) {
    assert.ok(!isSymbolToken(word), word);
  }
});

Deno.test("text is tokenized in NFC with offsets into the original, unnormalised text", () => {
  const decomposed = "Jose\u0301's car. E\u0301. Zoe\u0308 (\u0301) \u212Bngstro\u0308m";
  const composed = decomposed.normalize("NFC");
  assert.notEqual(decomposed, composed);
  assert.deepEqual(words(decomposed).map(lookupForm), words(composed));
  assert.deepEqual(words(decomposed).slice(0, 4), ["Jose\u0301", "'s", "car", "."]);
  assertOffsets(decomposed);
  const [jose] = tokenize(decomposed);
  assert.deepEqual([jose.start, jose.end], [0, 5], "offsets count the combining mark");
  assert.equal(lookupForm("Jose\u0301"), "José");
});

Deno.test("Jose\\u0301 tags and scores like José, with offsets into the original text", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, MODEL_OPTIONS);
    const decomposed = "Jose\u0301 visited Paris and met Zoe\u0308.";
    const composed = decomposed.normalize("NFC");
    const a = predictText(loaded, decomposed);
    const b = predictText(loaded, composed);
    assert.deepEqual(
      a.tokens.map((t) => [t.tag, t.probability]),
      b.tokens.map((t) => [t.tag, t.probability]),
    );
    assert.deepEqual(
      a.entities.map((e) => [e.type, e.score]),
      b.entities.map((e) => [e.type, e.score]),
    );
    assert.deepEqual(a.entities.map((e) => e.text), ["Jose\u0301", "Paris", "Zoe\u0308"]);
    for (const item of [...a.tokens, ...a.entities]) {
      assert.equal(decomposed.slice(item.start, item.end), item.text);
    }
    assert.deepEqual(a.entities[0], { ...b.entities[0], text: "Jose\u0301", end: 5 });
    const [[tag]] = predictTokens(loaded, [["Jose\u0301"]]);
    assert.equal(tag.tag, "B-per");
  });
});

Deno.test("emoji and symbols are never part of an entity and do not change its score", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, GREEDY_UNKNOWN);
    const plain = predictText(loaded, "Barack Obama");
    assert.deepEqual(plain.entities.map((e) => e.text), ["Barack Obama"]);
    for (
      const text of ["Barack Obama 👋🏽", "Barack Obama👋🏽", "Barack Obama ©™", "Barack Obama 🇺🇸"]
    ) {
      const { tokens, entities } = predictText(loaded, text);
      assert.deepEqual(entities, plain.entities, text);
      assert.deepEqual(tokens.slice(2).map((t) => [t.tag, t.probability]), [["O", 1]], text);
    }
    // Unknown words still go to the model (and here extend the person, as it was told).
    assert.deepEqual(
      predictText(loaded, "Barack Obama Zyxwv").entities.map((e) => e.text),
      ["Barack Obama Zyxwv"],
    );
    // A symbol between two names splits them.
    assert.deepEqual(
      predictText(loaded, "Barack 🎉 Obama").entities.map((e) => e.text),
      ["Barack", "Obama"],
    );
  });
});

Deno.test("offsets are UTF-16 code units by default and code points with offsets: codepoints", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    const loaded = await buildLookupModel(directory, MODEL_OPTIONS);
    const text = "👋🏽 Barack Obama met 𝒳 and Jose\u0301 in Paris 🇫🇷.";
    const utf16 = predictText(loaded, text);
    const codePoints = predictText(loaded, text, { offsets: "codepoints" });
    const chars = [...text];
    for (const item of [...utf16.tokens, ...utf16.entities]) {
      assert.equal(text.slice(item.start, item.end), item.text);
    }
    for (const item of [...codePoints.tokens, ...codePoints.entities]) {
      assert.equal(chars.slice(item.start, item.end).join(""), item.text);
    }
    assert.deepEqual(utf16.entities.map((e) => [e.text, e.start]), [
      ["Barack Obama", 5],
      ["Jose\u0301", 29],
      ["Paris", 38],
    ]);
    assert.deepEqual(codePoints.entities.map((e) => e.start), [3, 26, 35]);
    assert.deepEqual(
      predictTexts(loaded, [text, "Paris"], { offsets: "codepoints" }),
      [codePoints, predictText(loaded, "Paris")],
    );
    assert.throws(
      // @ts-expect-error: not an offset unit
      () => predictText(loaded, text, { offsets: "bytes" }),
      /offsets must be "utf16" or "codepoints", got "bytes"/,
    );
    const toCodePoints = codePointOffsets("a😀b");
    assert.deepEqual([0, 1, 3, 4].map(toCodePoints), [0, 1, 2, 3]);
  });
});

Deno.test("the predict CLI gives code point offsets with --offsets codepoints", async () => {
  await tf.setBackend("cpu");
  await withTempDir(async (directory) => {
    await buildLookupModel(directory, GREEDY_UNKNOWN);
    const run = async (args: string[], stdin?: string) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "--model", directory, "--backend", "cpu", ...args],
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(stdin));
        await writer.close();
      }
      const output = await child.output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      return new TextDecoder().decode(output.stdout);
    };
    const text = "👋🏽 Barack Obama 👋🏽";
    const starts = (json: { entities: { start: number; end: number }[] }) =>
      json.entities.map((e) => [e.start, e.end]);
    assert.deepEqual(starts(JSON.parse(await run(["--json", text]))), [[5, 17]]);
    assert.deepEqual(
      starts(JSON.parse(await run(["--json", "--offsets", "codepoints", text]))),
      [[3, 15]],
    );
    const jsonl = await run(["--jsonl", "--offsets", "codepoints"], `${text}\n${text}\n`);
    assert.deepEqual(jsonl.trimEnd().split("\n").map((line) => starts(JSON.parse(line))), [
      [[3, 15]],
      [[3, 15]],
    ]);
  });
});
