/**
 * Entity-level evaluation of IOB2 tag sequences, following seqeval: entity extraction in a strict
 * or a lenient (conlleval) mode, per-type precision/recall/F1 with micro, macro and weighted
 * averages, token accuracy, a tag confusion matrix, and a seqeval-like text report.
 *
 * Tags are `O`, `B-<type>` or `I-<type>` (GMB types: geo, gpe, org, per, tim, art, eve, nat).
 * Sequences are unpadded: any other tag (e.g. `PAD`, `<pad>`) raises an error.
 *
 * @module
 */
import { type EntityOptions, extractEntities } from "../data/entities.ts";

/** Precision, recall and F1 for one entity type or one average. */
export interface Scores {
  /** correct / predicted (0 when nothing was predicted). */
  precision: number;
  /** correct / gold (0 when there is no gold entity). */
  recall: number;
  /** Harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
  /** Number of gold entities (for averages: all gold entities). */
  support: number;
}

/** Scores for one entity type with the counts behind them. */
export interface TypeScores extends Scores {
  /** Number of predicted entities of this type. */
  predicted: number;
  /** Number of predicted entities that exactly match a gold entity. */
  correct: number;
}

/** Result of {@link entityScores}. */
export interface EntityScores {
  /** Per-type scores, for every type seen in gold or predictions. */
  byType: Record<string, TypeScores>;
  /** Scores from counts pooled over all types. */
  micro: Scores;
  /** Unweighted mean of the per-type scores. */
  macro: Scores;
  /** Mean of the per-type scores weighted by support. */
  weighted: Scores;
}

/** A tag confusion matrix: `counts[goldIndex][predictedIndex]`. */
export interface ConfusionMatrix {
  /** Row and column labels. */
  labels: string[];
  /** Counts, rows are gold tags, columns predicted tags. */
  counts: number[][];
}

/** Options for {@link classificationReport}. */
export interface ReportOptions {
  /** Decimal places for precision/recall/F1; default 2 (as in seqeval). */
  digits?: number;
}

/** Divides, defining 0/0 (and x/0) as 0. */
const safeDivide = (numerator: number, denominator: number): number =>
  denominator === 0 ? 0 : numerator / denominator;

/** F1 from precision and recall; 0 when both are 0. */
const f1Of = (precision: number, recall: number): number =>
  safeDivide(2 * precision * recall, precision + recall);

/** Throws when two corpora differ in sentence count or any sentence length. */
function checkAligned(gold: string[][], pred: string[][]): void {
  if (gold.length !== pred.length) {
    throw new Error(`gold has ${gold.length} sentences but predictions have ${pred.length}`);
  }
  gold.forEach((sentence, i) => {
    if (sentence.length !== pred[i].length) {
      throw new Error(
        `sentence ${i}: gold has ${sentence.length} tags but prediction has ${pred[i].length}`,
      );
    }
  });
}

/** Extracts entities from every sentence, prefixing errors with the corpus and sentence index. */
function entitiesOf(corpus: string[][], name: string, options: EntityOptions): Set<string>[] {
  return corpus.map((tags, i) => {
    try {
      return new Set(extractEntities(tags, options).map((e) => `${e.type}\t${e.start}\t${e.end}`));
    } catch (error) {
      throw new Error(`${name} sentence ${i}: ${(error as Error).message}`);
    }
  });
}

/**
 * Entity-level precision, recall and F1 per type, with micro, macro and weighted averages.
 * A predicted entity is correct only when (sentence, start, end, type) all match a gold entity.
 * Every ratio with a zero denominator is defined as 0 (so a type never predicted has precision
 * 0, and empty input gives all zeros). Types are those appearing in gold or predictions.
 *
 * @throws Error when the sentence counts or a sentence's lengths differ (naming the sentence),
 *   or when a tag is invalid.
 */
export function entityScores(
  gold: string[][],
  pred: string[][],
  options: EntityOptions = {},
): EntityScores {
  checkAligned(gold, pred);
  const goldEntities = entitiesOf(gold, "gold", options);
  const predEntities = entitiesOf(pred, "prediction", options);
  const counts = new Map<string, { gold: number; predicted: number; correct: number }>();
  const countsFor = (type: string) => {
    let c = counts.get(type);
    if (c === undefined) counts.set(type, c = { gold: 0, predicted: 0, correct: 0 });
    return c;
  };
  goldEntities.forEach((sentence, i) => {
    for (const key of sentence) {
      const c = countsFor(key.split("\t")[0]);
      c.gold++;
      if (predEntities[i].has(key)) c.correct++;
    }
    for (const key of predEntities[i]) countsFor(key.split("\t")[0]).predicted++;
  });

  const byType: Record<string, TypeScores> = {};
  let totalGold = 0, totalPredicted = 0, totalCorrect = 0;
  for (const type of [...counts.keys()].sort()) {
    const c = counts.get(type)!;
    const precision = safeDivide(c.correct, c.predicted);
    const recall = safeDivide(c.correct, c.gold);
    byType[type] = {
      precision,
      recall,
      f1: f1Of(precision, recall),
      support: c.gold,
      predicted: c.predicted,
      correct: c.correct,
    };
    totalGold += c.gold;
    totalPredicted += c.predicted;
    totalCorrect += c.correct;
  }

  const microPrecision = safeDivide(totalCorrect, totalPredicted);
  const microRecall = safeDivide(totalCorrect, totalGold);
  const types = Object.values(byType);
  const average = (weight: (s: TypeScores) => number): Scores => {
    const total = types.reduce((sum, s) => sum + weight(s), 0);
    const mean = (pick: (s: TypeScores) => number) =>
      safeDivide(types.reduce((sum, s) => sum + weight(s) * pick(s), 0), total);
    return {
      precision: mean((s) => s.precision),
      recall: mean((s) => s.recall),
      f1: mean((s) => s.f1),
      support: totalGold,
    };
  };
  return {
    byType,
    micro: {
      precision: microPrecision,
      recall: microRecall,
      f1: f1Of(microPrecision, microRecall),
      support: totalGold,
    },
    macro: average(() => 1),
    weighted: average((s) => s.support),
  };
}

/**
 * Fraction of tokens whose predicted tag equals the gold tag, over all (unpadded) tokens.
 * Returns 0 for empty input (0/0 is defined as 0).
 *
 * @throws Error when sentence counts or lengths differ (naming the sentence).
 */
export function tokenAccuracy(gold: string[][], pred: string[][]): number {
  checkAligned(gold, pred);
  let correct = 0, total = 0;
  gold.forEach((sentence, i) => {
    sentence.forEach((tag, j) => {
      if (tag === pred[i][j]) correct++;
      total++;
    });
  });
  return safeDivide(correct, total);
}

/** Orders tags by type, then B before I, with O last. */
function compareTags(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "O") return 1;
  if (b === "O") return -1;
  const byType = a.slice(2).localeCompare(b.slice(2));
  return byType !== 0 ? byType : a.localeCompare(b);
}

/**
 * Token-level tag confusion matrix; rows are gold tags, columns predicted tags.
 * `labels` defaults to every tag seen, sorted by type (B before I) with `O` last.
 *
 * @throws Error when sentence counts or lengths differ, or a tag is missing from `labels`.
 */
export function confusionMatrix(
  gold: string[][],
  pred: string[][],
  labels?: string[],
): ConfusionMatrix {
  checkAligned(gold, pred);
  const tagLabels = labels ?? [...new Set([...gold.flat(), ...pred.flat()])].sort(compareTags);
  const index = new Map(tagLabels.map((label, i) => [label, i]));
  const counts = tagLabels.map(() => tagLabels.map(() => 0));
  const indexOf = (tag: string, i: number, j: number): number => {
    const k = index.get(tag);
    if (k === undefined) {
      throw new Error(`sentence ${i}, token ${j}: tag ${JSON.stringify(tag)} is not in labels`);
    }
    return k;
  };
  gold.forEach((sentence, i) => {
    sentence.forEach((tag, j) => counts[indexOf(tag, i, j)][indexOf(pred[i][j], i, j)]++);
  });
  return { labels: tagLabels, counts };
}

/**
 * Formats scores as a seqeval-style text table: one row per type, then `micro avg`, `macro avg`
 * and `weighted avg`, with right-aligned columns precision, recall, f1-score, support.
 */
export function classificationReport(scores: EntityScores, options: ReportOptions = {}): string {
  const digits = options.digits ?? 2;
  const headers = ["precision", "recall", "f1-score", "support"];
  const names = [...Object.keys(scores.byType), "micro avg", "macro avg", "weighted avg"];
  const nameWidth = Math.max(...names.map((n) => n.length));
  const columnWidth = Math.max(...headers.map((h) => h.length), digits + 2);
  const row = (name: string, s: Scores) =>
    name.padStart(nameWidth) +
    [s.precision, s.recall, s.f1].map((v) => v.toFixed(digits).padStart(columnWidth + 1)).join(
      "",
    ) +
    String(s.support).padStart(columnWidth + 1);
  const lines = [
    " ".repeat(nameWidth) + headers.map((h) => h.padStart(columnWidth + 1)).join(""),
    "",
    ...Object.entries(scores.byType).map(([type, s]) => row(type, s)),
    "",
    row("micro avg", scores.micro),
    row("macro avg", scores.macro),
    row("weighted avg", scores.weighted),
  ];
  return lines.join("\n") + "\n";
}
