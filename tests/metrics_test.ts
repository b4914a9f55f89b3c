/**
 * Tests for entity-level metrics, with hand-computed expectations.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  classificationReport,
  confusionMatrix,
  entityScores,
  tokenAccuracy,
} from "../lib/evaluate/metrics.ts";
import { extractEntities } from "../lib/data/entities.ts";

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${message ?? ""} ${actual} != ${expected}`);

Deno.test("extractEntities reads well-formed IOB2 the same in both schemes", () => {
  const tags = ["B-per", "I-per", "O", "B-geo", "O", "B-tim", "I-tim", "I-tim"];
  const expected = [
    { type: "per", start: 0, end: 2 },
    { type: "geo", start: 3, end: 4 },
    { type: "tim", start: 5, end: 8 },
  ];
  assert.deepEqual(extractEntities(tags, { scheme: "strict" }), expected);
  assert.deepEqual(extractEntities(tags, { scheme: "conlleval" }), expected);
  assert.deepEqual(extractEntities(tags), expected);
});

Deno.test("extractEntities drops I- without B- in strict mode and starts one in conlleval", () => {
  const tags = ["O", "I-geo", "I-geo", "O", "I-org"];
  assert.deepEqual(extractEntities(tags, { scheme: "strict" }), []);
  assert.deepEqual(extractEntities(tags, { scheme: "conlleval" }), [
    { type: "geo", start: 1, end: 3 },
    { type: "org", start: 4, end: 5 },
  ]);
});

Deno.test("extractEntities ends an entity at a type switch B-per I-geo", () => {
  const tags = ["B-per", "I-geo", "I-geo"];
  assert.deepEqual(extractEntities(tags, { scheme: "strict" }), [
    { type: "per", start: 0, end: 1 },
  ]);
  assert.deepEqual(extractEntities(tags, { scheme: "conlleval" }), [
    { type: "per", start: 0, end: 1 },
    { type: "geo", start: 1, end: 3 },
  ]);
});

Deno.test("extractEntities keeps adjacent B-geo B-geo apart and closes at sentence end", () => {
  for (const scheme of ["strict", "conlleval"] as const) {
    assert.deepEqual(extractEntities(["B-geo", "B-geo", "I-geo"], { scheme }), [
      { type: "geo", start: 0, end: 1 },
      { type: "geo", start: 1, end: 3 },
    ]);
    assert.deepEqual(extractEntities(["O", "O", "B-org"], { scheme }), [
      { type: "org", start: 2, end: 3 },
    ]);
    assert.deepEqual(extractEntities([], { scheme }), []);
    assert.deepEqual(extractEntities(["O", "O"], { scheme }), []);
  }
});

Deno.test("extractEntities rejects padding and malformed tags, naming tag and position", () => {
  assert.throws(() => extractEntities(["B-geo", "O", "PAD"]), /"PAD" at position 2/);
  assert.throws(() => extractEntities(["<pad>"]), /"<pad>" at position 0/);
  assert.throws(() => extractEntities(["O", "B-"]), /"B-" at position 1/);
  assert.throws(() => extractEntities(["E-geo"]), /"E-geo" at position 0/);
});

Deno.test("entityScores is perfect when predictions equal gold", () => {
  const gold = [["B-geo", "O", "B-per", "I-per"], ["O", "B-tim"]];
  const scores = entityScores(gold, gold);
  for (const s of [scores.micro, scores.macro, scores.weighted, ...Object.values(scores.byType)]) {
    assert.deepEqual([s.precision, s.recall, s.f1], [1, 1, 1]);
  }
  assert.deepEqual(Object.keys(scores.byType), ["geo", "per", "tim"]);
  assert.equal(scores.micro.support, 3);
});

Deno.test("entityScores is zero when nothing matches, and 0/0 counts as 0", () => {
  const gold = [["B-geo", "I-geo", "O"]];
  const pred = [["B-geo", "O", "B-org"]];
  const scores = entityScores(gold, pred);
  assert.deepEqual(scores.byType.geo, {
    precision: 0,
    recall: 0,
    f1: 0,
    support: 1,
    predicted: 1,
    correct: 0,
  });
  assert.deepEqual(scores.byType.org, {
    precision: 0,
    recall: 0,
    f1: 0,
    support: 0,
    predicted: 1,
    correct: 0,
  });
  assert.deepEqual(scores.micro, { precision: 0, recall: 0, f1: 0, support: 1 });
  const empty = entityScores([], []);
  assert.deepEqual(empty.byType, {});
  assert.deepEqual(empty.micro, { precision: 0, recall: 0, f1: 0, support: 0 });
  assert.deepEqual(empty.macro, { precision: 0, recall: 0, f1: 0, support: 0 });
  const noEntities = entityScores([["O", "O"]], [["O", "O"]]);
  assert.deepEqual(noEntities.micro, { precision: 0, recall: 0, f1: 0, support: 0 });
});

Deno.test("entityScores micro, macro and weighted averages differ as hand-computed", () => {
  // Gold: geo x3, per x1. Pred: geo x2 (both right), per x1 (wrong span).
  const gold = [["B-geo", "O", "B-per", "I-per"], ["B-geo", "B-geo", "O"]];
  const pred = [["B-geo", "O", "B-per", "O"], ["B-geo", "O", "O"]];
  const s = entityScores(gold, pred);
  close(s.byType.geo.precision, 1);
  close(s.byType.geo.recall, 2 / 3);
  close(s.byType.geo.f1, 0.8);
  assert.equal(s.byType.geo.support, 3);
  assert.equal(s.byType.per.f1, 0);
  // micro: 2 correct / 3 predicted / 4 gold.
  close(s.micro.precision, 2 / 3);
  close(s.micro.recall, 1 / 2);
  close(s.micro.f1, 4 / 7);
  // macro: mean over geo and per.
  close(s.macro.precision, 0.5);
  close(s.macro.recall, 1 / 3);
  close(s.macro.f1, 0.4);
  // weighted by support 3:1.
  close(s.weighted.precision, 0.75);
  close(s.weighted.recall, 0.5);
  close(s.weighted.f1, 0.6);
  assert.equal(s.macro.support, 4);
});

Deno.test("entityScores depends on the scheme for ill-formed predictions", () => {
  const gold = [["B-geo", "I-geo", "O"]];
  const pred = [["I-geo", "I-geo", "O"]];
  assert.equal(entityScores(gold, pred, { scheme: "strict" }).micro.f1, 0);
  assert.equal(entityScores(gold, pred, { scheme: "conlleval" }).micro.f1, 1);
});

Deno.test("entityScores names the sentence when lengths or tags are wrong", () => {
  assert.throws(() => entityScores([["O"]], []), /1 sentences but predictions have 0/);
  assert.throws(() => entityScores([["O"], ["O", "O"]], [["O"], ["O"]]), /sentence 1: gold has 2/);
  assert.throws(
    () => entityScores([["O"], ["O", "B-geo"]], [["O"], ["O", "PAD"]]),
    /prediction sentence 1: invalid tag "PAD" at position 1/,
  );
});

Deno.test("tokenAccuracy counts matching tags over all tokens", () => {
  const gold = [["B-geo", "O", "O"], ["B-per", "I-per"]];
  const pred = [["B-geo", "O", "B-org"], ["B-per", "O"]];
  close(tokenAccuracy(gold, pred), 3 / 5);
  assert.equal(tokenAccuracy(gold, gold), 1);
  assert.equal(tokenAccuracy([], []), 0);
  assert.throws(() => tokenAccuracy([["O"]], [["O", "O"]]), /sentence 0/);
});

Deno.test("confusionMatrix puts gold in rows, orders labels by type with O last", () => {
  const gold = [["B-geo", "O", "O"], ["B-per", "I-per"]];
  const pred = [["B-geo", "O", "B-geo"], ["B-per", "O"]];
  const matrix = confusionMatrix(gold, pred);
  assert.deepEqual(matrix.labels, ["B-geo", "B-per", "I-per", "O"]);
  assert.deepEqual(matrix.counts, [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 0, 1],
    [1, 0, 0, 1],
  ]);
  const custom = confusionMatrix(gold, pred, ["O", "B-geo", "B-per", "I-per", "I-geo"]);
  assert.deepEqual(custom.counts[0], [1, 1, 0, 0, 0]);
  assert.deepEqual(custom.counts[4], [0, 0, 0, 0, 0]);
  assert.throws(() => confusionMatrix(gold, pred, ["O"]), /"B-geo" is not in labels/);
});

Deno.test("classificationReport prints aligned seqeval-style rows", () => {
  const gold = [["B-geo", "O", "B-per", "I-per"], ["B-geo", "B-geo", "O"]];
  const pred = [["B-geo", "O", "B-per", "O"], ["B-geo", "O", "O"]];
  const report = classificationReport(entityScores(gold, pred));
  const lines = report.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.trim().split(/\s{2,}/)), [
    ["precision", "recall", "f1-score", "support"],
    [""],
    ["geo", "1.00", "0.67", "0.80", "3"],
    ["per", "0.00", "0.00", "0.00", "1"],
    [""],
    ["micro avg", "0.67", "0.50", "0.57", "4"],
    ["macro avg", "0.50", "0.33", "0.40", "4"],
    ["weighted avg", "0.75", "0.50", "0.60", "4"],
  ]);
  const widths = new Set(lines.filter((l) => l.length > 0).map((l) => l.length));
  assert.equal(widths.size, 1, "all non-empty lines have the same width");
  assert.match(classificationReport(entityScores(gold, pred), { digits: 4 }), /0\.6667/);
});
