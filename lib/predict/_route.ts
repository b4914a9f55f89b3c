/**
 * Routing by casing, for {@linkcode predictWordIds} (`predict.ts` is the public surface): an
 * ensemble with `caseless` members tags each caseless sentence (every letter of one case; see
 * `isCaseless`) with those members and every other sentence with its `members`.
 *
 * @module
 */
import { isCaseless } from "../data/recase.ts";
import { wordId } from "../data/vocab.ts";
import type { TaggerEnsemble } from "../model/mapped.ts";
import type { PredictOptions, SequencePrediction } from "./predict_options.ts";

/** The prediction function the routes call (predictWordIds itself). */
type Predict = (
  predictor: TaggerEnsemble,
  sentences: readonly ArrayLike<number>[],
  options: PredictOptions,
) => SequencePrediction[];

/**
 * Splits the sentences into cased and caseless, tags each part with its members and returns the
 * predictions in the sentences' order. Progress is reported over both parts together.
 *
 * @param ensemble the ensemble (its `members` for cased sentences, `caseless` for the rest)
 * @param sentences word ids in the map of `members[0]`
 * @param options with `words`, the sentences' words (needed to decide and to look up)
 * @param predict the prediction function for one part
 */
export function routeByCasing(
  ensemble: TaggerEnsemble,
  sentences: readonly ArrayLike<number>[],
  options: PredictOptions & { words?: readonly (readonly string[])[] },
  predict: Predict,
): SequencePrediction[] {
  const words = options.words!;
  const caseless = ensemble.caseless!;
  const routes = words.map((sentence) => isCaseless(sentence));
  const results = new Array<SequencePrediction>(sentences.length);
  const parts = [false, true].map((toCaseless) =>
    routes.flatMap((route, index) => route === toCaseless ? [index] : [])
  );
  let doneBefore = 0;
  const total = sentences.length;
  parts.forEach((indices, part) => {
    if (indices.length === 0) return;
    const members = part === 0 ? ensemble.members : caseless;
    const partWords = indices.map((index) => words[index]);
    const ids = part === 0
      ? indices.map((index) => sentences[index])
      : partWords.map((sentence) =>
        Int32Array.from(sentence, (word) => wordId(members[0].vocab, word))
      );
    const predictions = predict({ members }, ids, {
      ...options,
      words: partWords,
      decoder: options.decoder,
      onProgress: options.onProgress &&
        ((done, rows) =>
          options.onProgress!(Math.round(doneBefore + (done / rows) * indices.length), total)),
    });
    indices.forEach((index, at) => (results[index] = predictions[at]));
    doneBefore += indices.length;
  });
  return results;
}
