/**
 * What `GET /v1/model` says about the served model: its entity types, tag scheme and tags, each
 * member's tagger config and training record, and the scores of the folder's `evaluation.json`
 * (written by `deno task evaluate`) when there is one.
 *
 * @module
 */
import { PAD_TAG } from "../data/vocab.ts";
import type { LoadedModel } from "../io/ensemble_folder.ts";
import type { TaggerConfig } from "../model/config.ts";

/** The summary of an `evaluation.json` that `GET /v1/model` shows. */
export interface EvaluationSummary {
  /** The split scored (e.g. `"test"`). */
  split?: string;
  /** Sentences scored. */
  sentences?: number;
  /** Tokens scored. */
  tokens?: number;
  /** The entity scheme of the scores (`"strict"`: strict IOB2, like seqeval). */
  scheme?: string;
  /** Micro-averaged entity precision, recall, F1 and support. */
  entity?: unknown;
  /** Scores per entity type. */
  perType?: unknown;
  /** Macro averages over the types. */
  macro?: unknown;
  /** Support-weighted averages over the types. */
  weighted?: unknown;
  /** Share of real tokens tagged right. */
  tokenAccuracy?: number;
}

/** The body of `GET /v1/model`. */
export interface ModelInfo {
  /** The model folder's name (its last path segment; the full path is not shown to clients). */
  name: string;
  /** The entity types, sorted (e.g. `["art", "eve", "geo", …]`). */
  types: string[];
  /** The tag scheme: strict IOB2 (`B-x` starts an entity, `I-x` continues it, `O` outside). */
  scheme: "IOB2";
  /** The tags the model predicts (the padding label excluded). */
  tags: string[];
  /** Taggers whose scores are averaged (1 for a plain model folder). */
  members: number;
  /** Each member's tagger config and, when recorded, how it was trained. */
  configs: { tagger: TaggerConfig; training?: unknown }[];
  /** The offsets a response counts unless the request asks otherwise. */
  defaultOffsets: "utf16";
  /** The folder's recorded evaluation, or null. */
  evaluation: EvaluationSummary | null;
}

/** The fields of `evaluation.json` kept in the summary (its confusion matrix is left out). */
const SUMMARY_FIELDS: readonly (keyof EvaluationSummary)[] = [
  "split",
  "sentences",
  "tokens",
  "scheme",
  "entity",
  "perType",
  "macro",
  "weighted",
  "tokenAccuracy",
];

/** Reads `evaluation.json` from the first folder that has a readable one. */
async function readEvaluation(directories: readonly string[]): Promise<EvaluationSummary | null> {
  for (const directory of directories) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await Deno.readTextFile(`${directory}/evaluation.json`));
    } catch {
      continue; // missing or unreadable: the model is served without scores
    }
    if (typeof parsed !== "object" || parsed === null) continue;
    const record = parsed as Record<string, unknown>;
    // A run scored only on files of its own has no split record at the top (see lib/io/runs.ts).
    if (!("entity" in record)) continue;
    return Object.fromEntries(
      SUMMARY_FIELDS.filter((field) => field in record).map((field) => [field, record[field]]),
    ) as EvaluationSummary;
  }
  return null;
}

/**
 * Describes a loaded model for `GET /v1/model`.
 *
 * @param loaded the loaded model folder
 * @param directory the folder as given (e.g. a run folder, whose `evaluation.json` lies above
 *   the checkpoint folder that was loaded); default the loaded folder
 * @returns the description
 */
export async function describeModel(
  loaded: LoadedModel,
  directory: string = loaded.directory,
): Promise<ModelInfo> {
  const tags = loaded.members[0].vocab.tags.filter((tag) => tag !== PAD_TAG);
  const types = [...new Set(tags.filter((tag) => tag !== "O").map((tag) => tag.slice(2)))].sort();
  const name = directory.replace(/[/\\]+$/, "").split(/[/\\]/).at(-1) ?? directory;
  return {
    name,
    types,
    scheme: "IOB2",
    tags,
    members: loaded.members.length,
    configs: loaded.members.map((member) => ({
      tagger: member.config.tagger,
      ...(member.config.training === undefined ? {} : { training: member.config.training }),
    })),
    defaultOffsets: "utf16",
    evaluation: await readEvaluation([...new Set([directory, loaded.directory])]),
  };
}
