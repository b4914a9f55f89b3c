/**
 * Honest evaluation of a tagger (or an ensemble) on gold sentences (the tutorial's step 6, done properly).
 *
 * The tutorial reported Keras's accuracy over every padded position: 50 per sentence, most of
 * them padding the model could not get wrong, which inflates the figure to ~99%. Here the
 * headline numbers are entity-level precision/recall/F1 (seqeval, strict IOB2 by default) and
 * token accuracy over real tokens of the full sentences (long sentences tagged in windows, see
 * `planWindows`). The tutorial-style figure is computed beside them as `paddedAccuracy`, with its
 * definition spelled out ({@linkcode PADDED_ACCURACY_DEFINITION}), so the two can be compared.
 *
 * @module
 */
import type { Sentence } from "../data/corpus.ts";
import type { EntityScheme } from "../data/entities.ts";
import {
  classificationReport,
  type ConfusionMatrix,
  confusionMatrix,
  entityScores,
  tokenAccuracy,
} from "./metrics.ts";
import { membersOf, type Predictor } from "../model/mapped.ts";
import {
  type PredictOptions,
  predictWordIds,
  type SequencePrediction,
} from "../predict/predict.ts";
import type { PredictPool } from "../predict/pool.ts";
import { wordId } from "../data/vocab.ts";
import { recaseWords, TEXT_CASINGS, type TextCasing } from "../data/recase.ts";
import { ConfigError } from "../errors.ts";

/** How {@linkcode EvaluationResult.tokenAccuracy} is defined (also printed in reports). */
export const TOKEN_ACCURACY_DEFINITION =
  "share of real tokens whose predicted tag equals the gold tag, over the full sentences " +
  "(sentences longer than maxLen are tagged in overlapping windows; nothing is truncated)";

/** How {@linkcode EvaluationResult.paddedAccuracy} is defined (also printed in reports). */
export const PADDED_ACCURACY_DEFINITION =
  "tutorial-style accuracy over all maxLen positions of each padded row: sentences truncated " +
  "at maxLen as the tutorial did, real tokens scored by the model's prediction on the " +
  "truncated row, every padding position counted as correct (the tutorial padded labels with " +
  "a real tag that its model learned to predict on padding)";

/** Options for {@linkcode evaluateModel}. */
export interface EvaluateOptions extends PredictOptions {
  /** Entity extraction for the scores: `"strict"` IOB2 (default) or lenient `"conlleval"`. */
  scheme?: EntityScheme;
  /**
   * Tag the words in another casing (uppercased, lowercased, capitalised), gold tags
   * unchanged, to measure robustness to text without normal casing; default `"original"`.
   */
  casing?: TextCasing;
}

/** Precision, recall and F1. */
export interface PRF {
  /** Correct entities / predicted entities. */
  precision: number;
  /** Correct entities / gold entities. */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
}

/** Scores of one entity type. */
export interface TypeEvaluation extends PRF {
  /** Gold entities of this type. */
  support: number;
}

/** The result of {@linkcode evaluateModel}. */
export interface EvaluationResult {
  /** Sentences evaluated. */
  sentences: number;
  /** Real tokens evaluated. */
  tokens: number;
  /** The entity scheme used. */
  scheme: EntityScheme;
  /** The casing the words were tagged in (`"original"`: as given). */
  casing: TextCasing;
  /** The model's row length. */
  maxLen: number;
  /** Sentences longer than `maxLen` (tagged in windows; truncated in `paddedAccuracy`). */
  longSentences: number;
  /** Micro-averaged entity scores (all types pooled): the headline figure. */
  entity: PRF & { support: number };
  /** Scores per entity type (types seen in gold or predictions). */
  perType: Record<string, TypeEvaluation>;
  /** Unweighted mean over types. */
  macro: PRF;
  /** Mean over types weighted by support. */
  weighted: PRF;
  /** See {@linkcode TOKEN_ACCURACY_DEFINITION}. */
  tokenAccuracy: number;
  /** See {@linkcode PADDED_ACCURACY_DEFINITION}. */
  paddedAccuracy: number;
  /** Tag confusion matrix over real tokens (rows gold, columns predicted). */
  confusion: ConfusionMatrix;
  /** The seqeval-style classification report (per type, micro, macro, weighted). */
  report: string;
  /** The predicted tags per sentence (full sentences). */
  predictions: string[][];
}

/**
 * Evaluates a model on gold sentences.
 *
 * @param predictor a tagger with its maps, or an ensemble (e.g. a loaded model folder)
 * @param sentences gold sentences (e.g. the tutorial's 9,592 test sentences)
 * @param options entity scheme (default `"strict"`), batch size, progress callback
 * @returns entity scores, token accuracy, the tutorial-style padded accuracy and a report
 */
export function evaluateModel(
  predictor: Predictor,
  sentences: readonly Sentence[],
  options: EvaluateOptions = {},
): EvaluationResult {
  const input = evaluationInput(predictor, sentences, options);
  return scoreEvaluation(
    predictor,
    sentences,
    predictWordIds(predictor, input.ids, { ...options, words: input.words }),
    options,
  );
}

/**
 * {@linkcode evaluateModel} with the tagging spread over a prediction pool's workers
 * (lib/predict/pool.ts): the same result, sooner on several cores.
 *
 * @param pool a pool made for `predictor`
 * @param predictor the same predictor (its maps look the words up; its tags name the ids)
 * @param sentences gold sentences
 * @param options as {@linkcode evaluateModel}'s
 * @returns as {@linkcode evaluateModel}'s
 */
export async function evaluateWithPool(
  pool: PredictPool,
  predictor: Predictor,
  sentences: readonly Sentence[],
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const input = evaluationInput(predictor, sentences, options);
  const predicted = await pool.predictWordIds(input.ids, { ...options, words: input.words });
  return scoreEvaluation(predictor, sentences, predicted, options);
}

/** The words (in the casing asked for) and their ids in the predictor's first map. */
function evaluationInput(
  predictor: Predictor,
  sentences: readonly Sentence[],
  options: EvaluateOptions,
): { words: (readonly string[])[]; ids: Int32Array[] } {
  const casing = options.casing ?? "original";
  if (!TEXT_CASINGS.includes(casing)) {
    throw new ConfigError("casing", `must be ${TEXT_CASINGS.join(", ")}`, casing);
  }
  const { vocab } = membersOf(predictor)[0];
  const words = sentences.map((sentence) => recaseWords(sentence.words, casing));
  const ids = words.map((sentenceWords) =>
    Int32Array.from(sentenceWords, (word) => wordId(vocab, word))
  );
  return { words, ids };
}

/** Scores predictions against the gold sentences. */
function scoreEvaluation(
  predictor: Predictor,
  sentences: readonly Sentence[],
  predicted: readonly SequencePrediction[],
  options: EvaluateOptions,
): EvaluationResult {
  const scheme = options.scheme ?? "strict";
  const casing = options.casing ?? "original";
  const { vocab, tagger } = membersOf(predictor)[0];
  const { maxLen } = tagger.config;
  const gold = sentences.map((sentence) => sentence.tags);
  const predictions = predicted.map((prediction) =>
    Array.from(prediction.tagIds, (id) => vocab.tags[id])
  );
  const scores = entityScores(gold, predictions, { scheme });
  const pick = ({ precision, recall, f1 }: PRF): PRF => ({ precision, recall, f1 });
  const perType: Record<string, TypeEvaluation> = {};
  for (const [type, s] of Object.entries(scores.byType)) {
    perType[type] = { ...pick(s), support: s.support };
  }
  let paddedCorrect = 0;
  sentences.forEach((sentence, index) => {
    const firstWindow = predicted[index].firstWindowTagIds;
    paddedCorrect += maxLen - firstWindow.length;
    firstWindow.forEach((id, token) => {
      if (vocab.tags[id] === sentence.tags[token]) paddedCorrect++;
    });
  });
  return {
    sentences: sentences.length,
    tokens: gold.reduce((sum, tags) => sum + tags.length, 0),
    scheme,
    casing,
    maxLen,
    longSentences: sentences.filter((sentence) => sentence.words.length > maxLen).length,
    entity: { ...pick(scores.micro), support: scores.micro.support },
    perType,
    macro: pick(scores.macro),
    weighted: pick(scores.weighted),
    tokenAccuracy: tokenAccuracy(gold, predictions),
    paddedAccuracy: sentences.length === 0 ? 0 : paddedCorrect / (sentences.length * maxLen),
    confusion: confusionMatrix(gold, predictions),
    report: classificationReport(scores, { digits: 4 }),
    predictions,
  };
}

/**
 * The evaluation as a plain object for `JSON.stringify`: everything but the per-sentence
 * predictions and the text report, plus the accuracy definitions.
 *
 * @param result what {@linkcode evaluateModel} returned
 * @returns a JSON-ready object
 */
export function evaluationToJSON(result: EvaluationResult): Record<string, unknown> {
  const { predictions: _predictions, report: _report, ...rest } = result;
  return {
    ...rest,
    definitions: {
      tokenAccuracy: TOKEN_ACCURACY_DEFINITION,
      paddedAccuracy: PADDED_ACCURACY_DEFINITION,
    },
  };
}

/**
 * A readable summary: the classification report, then token accuracy over real tokens and the
 * tutorial-style padded accuracy beside it, each with its definition.
 *
 * @param result what {@linkcode evaluateModel} returned
 * @returns the text, lines joined by `\n`
 */
export function formatEvaluation(result: EvaluationResult): string {
  const percent = (value: number) => `${(100 * value).toFixed(2)}%`;
  return [
    `Entity scores (${result.scheme} IOB2, seqeval)${
      result.casing === "original" ? "" : `, the words ${CASING_WORDS[result.casing]}`
    }:`,
    "",
    result.report,
    `token accuracy (real tokens)   ${percent(result.tokenAccuracy)}`,
    wrap(`= ${TOKEN_ACCURACY_DEFINITION}`, "  "),
    `padded accuracy (tutorial)     ${percent(result.paddedAccuracy)}`,
    wrap(`= ${PADDED_ACCURACY_DEFINITION}`, "  "),
    `${result.sentences} sentences, ${result.tokens} tokens, ` +
    `${result.longSentences} longer than maxLen ${result.maxLen}`,
  ].join("\n");
}

const CASING_WORDS: Readonly<Record<TextCasing, string>> = {
  original: "as given",
  upper: "uppercased",
  lower: "lowercased",
  title: "capitalised",
};

/** Wraps text at spaces into lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, indent: string, width = 100): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line.length > indent.length && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + "  ";
    }
    line += (line.trim().length > 0 ? " " : "") + word;
  }
  lines.push(line);
  return lines.join("\n");
}
