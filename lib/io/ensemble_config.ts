/**
 * Ensemble folders without the file system: what `ensemble.json` holds and its checks, the
 * loaded model a command or a page tags with ({@linkcode LoadedModel}), and loading a model
 * folder or an ensemble folder through a {@linkcode ModelFileSource}. Pure (no `Deno.*`): the
 * Deno loader (lib/io/ensemble_folder.ts, which adds run folders) and the browser's
 * (lib/web/load.ts) both load here.
 *
 * @module
 */
import type { TaggerEnsemble } from "../model/mapped.ts";
import { type LoadedTagger, loadTaggerFrom } from "./_build_tagger.ts";
import { ENSEMBLE_FILE } from "./folder_config.ts";
import type { ModelFileSource } from "./model_source.ts";

/** What `ensemble.json` of an ensemble folder holds. */
export interface EnsembleFolderConfig {
  /** Always `"bilstm-ner-ensemble"`. */
  format: "bilstm-ner-ensemble";
  /** Format version. */
  version: 1;
  /** The member model folders, relative to the ensemble folder (e.g. `"member-1"`). */
  members: string[];
  /**
   * Member folders that tag caseless sentences (every letter of one case) in place of
   * `members` (lib/predict/_route.ts), e.g. taggers trained with case augmentation; optional.
   */
  caseless?: string[];
  /** Free-form notes on how the members were made (e.g. their seeds). */
  description?: string;
}

/** A loaded model folder: one tagger, or an ensemble folder's members. */
export interface LoadedModel extends TaggerEnsemble {
  /** The folder read (a run folder's latest checkpoint folder for a run). */
  readonly directory: string;
  /** The taggers: one for a model folder, every member for an ensemble folder. */
  readonly members: readonly LoadedTagger[];
  /** The members that tag caseless sentences (an ensemble folder's `caseless`), often none. */
  readonly caseless: readonly LoadedTagger[];
  /** `ensemble.json` of an ensemble folder, else null. */
  readonly ensemble: EnsembleFolderConfig | null;
}

/**
 * Loads a model folder (one tagger) or an ensemble folder (every member, and the caseless
 * members unless `withCaseless` is false) through a source. Each member must lie inside the
 * ensemble folder (the source checks) and may not itself be an ensemble; the members must be
 * averageable ({@linkcode checkEnsembleMembers}). Nothing half-loaded stays on an error.
 *
 * @param source the folder's files
 * @param withCaseless whether to load an ensemble's `caseless` members (default true)
 * @param loadMember loads one member folder (default {@linkcode loadTaggerFrom}; the Deno loader
 *   also accepts a member that is a training run folder)
 * @returns the loaded model
 * @throws {Error} naming the folder or file when files are missing, corrupt or mismatched
 */
export async function loadModelFrom(
  source: ModelFileSource,
  withCaseless = true,
  loadMember: (member: ModelFileSource) => Promise<LoadedTagger> = loadTaggerFrom,
): Promise<LoadedModel> {
  const directory = source.directory;
  if (!(await source.has(ENSEMBLE_FILE))) {
    const member = await loadMember(source);
    return { directory: member.directory, members: [member], caseless: [], ensemble: null };
  }
  const file = `${directory}/${ENSEMBLE_FILE}`;
  const ensemble = checkEnsembleConfig(
    await source.readJSON(ENSEMBLE_FILE, "ensemble config"),
    file,
  );
  const members: LoadedTagger[] = [];
  const caseless: LoadedTagger[] = [];
  try {
    for (const name of [...ensemble.members, ...(withCaseless ? ensemble.caseless ?? [] : [])]) {
      const memberSource = await source.folder(name, file, `member ${JSON.stringify(name)}`);
      if (await memberSource.has(ENSEMBLE_FILE)) {
        throw new Error(
          `${memberSource.directory}: an ensemble member cannot itself be an ensemble`,
        );
      }
      const loaded = await loadMember(memberSource);
      (ensemble.members.includes(name) ? members : caseless).push(loaded);
    }
    checkEnsembleMembers([...members, ...caseless]);
  } catch (error) {
    // nothing half-loaded stays
    for (const member of [...members, ...caseless]) member.tagger.dispose();
    throw error;
  }
  return { directory, members, caseless, ensemble };
}

/** Frees every tagger of a loaded folder. */
export function disposeLoadedModel(loaded: LoadedModel): void {
  for (const member of [...loaded.members, ...loaded.caseless]) member.tagger.dispose();
}

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed `ensemble.json`: format, version, a non-empty list of distinct member folders
 * inside the ensemble folder (relative paths without `..`), an optional text description.
 *
 * @param value the parsed file
 * @param file its path, for messages
 * @returns the config
 * @throws {Error} naming the file and the field that is missing or wrong
 */
export function checkEnsembleConfig(value: unknown, file: string): EnsembleFolderConfig {
  const notOurs = (problem: string): never => {
    throw new Error(
      `${file}: not a bilstm-ner ensemble config (need format "bilstm-ner-ensemble" and a ` +
        `non-empty list of member folders inside the ensemble folder): ${problem}`,
    );
  };
  if (!isRecord(value)) return notOurs("not a JSON object");
  if (value.format !== "bilstm-ner-ensemble") {
    notOurs(`field "format" is ${JSON.stringify(value.format)}`);
  }
  if (value.version !== undefined && value.version !== 1) {
    throw new Error(
      `${file}: field "version" is ${JSON.stringify(value.version)}, not one this program ` +
        "reads (1)",
    );
  }
  const members = value.members;
  if (!Array.isArray(members)) return notOurs(`field "members" is not a list`);
  if (members.length === 0) notOurs(`field "members" is empty`);
  const caseless = value.caseless ?? [];
  if (!Array.isArray(caseless)) return notOurs(`field "caseless" is not a list`);
  for (const [field, list] of [["members", members], ["caseless", caseless]] as const) {
    list.forEach((member: unknown, index: number) => {
      if (
        typeof member !== "string" || member === "" || member.startsWith("/") ||
        member.includes("..")
      ) {
        notOurs(
          `field "${field}[${index}]" is ${JSON.stringify(member)}, not a folder name inside ` +
            "the ensemble folder",
        );
      }
    });
  }
  const all = [...members, ...caseless];
  const repeated = all.find((member, index) => all.indexOf(member) !== index);
  if (repeated !== undefined) {
    notOurs(`fields "members" and "caseless" name ${JSON.stringify(repeated)} twice`);
  }
  if (value.description !== undefined && typeof value.description !== "string") {
    throw new Error(`${file}: field "description" must be a string`);
  }
  return value as unknown as EnsembleFolderConfig;
}

/** Throws, naming the member folder, unless the loaded members can be averaged. */
export function checkEnsembleMembers(members: readonly LoadedTagger[]): void {
  const [first] = members;
  const headOf = (m: LoadedTagger) => m.tagger.hasCrf ? "CRF" : "softmax";
  for (const member of members.slice(1)) {
    const maxLen = member.tagger.config.maxLen;
    const firstMaxLen = first.tagger.config.maxLen;
    const problem = member.vocab.tags.join("\u0000") !== first.vocab.tags.join("\u0000")
      ? `its tags [${member.vocab.tags.join(", ")}] differ from ${first.directory}'s`
      : maxLen !== firstMaxLen
      ? `its maxLen ${maxLen} differs from ${first.directory}'s ${firstMaxLen}`
      : headOf(member) !== headOf(first)
      ? `its ${headOf(member)} head differs from ${first.directory}'s ${headOf(first)} head`
      : null;
    if (problem) throw new Error(`${member.directory}: cannot join the ensemble: ${problem}`);
  }
}
