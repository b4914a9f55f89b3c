/**
 * A tagger together with the maps that turn words into its inputs, and ensembles of them: what
 * prediction and evaluation take. Where the tagger came from (a model folder, a training run, a
 * notebook cell) does not matter to them.
 *
 * @module
 */
import type { CharVocab } from "../data/chars.ts";
import type { Vocab } from "../data/vocab.ts";
import type { Tagger } from "./tagger.ts";

/** A tagger and its maps. */
export interface MappedTagger {
  /** The tagger. */
  readonly tagger: Tagger;
  /** Its word and tag maps (`vocab.words.length` = `tagger.config.vocabSize`). */
  readonly vocab: Vocab;
  /** Its character map with char features (`chars.length` = `numChars`), else null. */
  readonly chars: CharVocab | null;
  /** Where it came from (e.g. its model folder), for messages; optional. */
  readonly source?: string;
}

/** Several taggers with the same tags whose scores are averaged (see lib/predict/ensemble.ts). */
export interface TaggerEnsemble {
  /** The members, at least one. */
  readonly members: readonly MappedTagger[];
  /**
   * Members that tag caseless sentences (every letter uppercase, or every letter lowercase: see
   * `isCaseless` in lib/data/recase.ts) in place of `members`, e.g. taggers trained with case
   * augmentation; none by default (`members` tag every sentence).
   */
  readonly caseless?: readonly MappedTagger[];
}

/** What predicts: one tagger with its maps, or an ensemble of them. */
export type Predictor = MappedTagger | TaggerEnsemble;

/**
 * The taggers of a predictor: itself, or an ensemble's members.
 *
 * @param predictor one tagger or an ensemble
 * @returns at least one tagger
 */
export function membersOf(predictor: Predictor): readonly MappedTagger[] {
  const members = "members" in predictor ? predictor.members : [predictor];
  if (members.length === 0) throw new RangeError("an ensemble needs at least one member");
  return members;
}

/**
 * The taggers that tag a predictor's caseless sentences: an ensemble's `caseless`, else none.
 *
 * @param predictor one tagger or an ensemble
 */
export function caselessOf(predictor: Predictor): readonly MappedTagger[] {
  return "caseless" in predictor ? predictor.caseless ?? [] : [];
}

/** A name for a tagger in messages: its source, or its position in the ensemble. */
export function describeMember(member: MappedTagger, index: number): string {
  return member.source ?? `member ${index + 1}`;
}
