/**
 * The evaluation stage: seqeval-style entity metrics as small pure functions over tag
 * sequences, and the evaluation of a tagger (or ensemble) on gold sentences.
 *
 * @example
 * ```ts
 * import { entityScores } from "./mod.ts";
 * const scores = entityScores([["B-geo", "O"]], [["B-geo", "O"]]);
 * console.log(scores.micro.f1); // 1
 * ```
 *
 * @module
 */
export * from "../data/entities.ts";
export * from "./metrics.ts";
export * from "./evaluate.ts";
