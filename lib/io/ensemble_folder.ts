/**
 * Ensemble folders and loading any model folder: `loadModelFolder` reads a model folder, a
 * training run's latest checkpoint, or an ensemble folder, and gives the taggers in it with
 * their maps, ready for lib/predict/ and lib/evaluate/.
 *
 * An ensemble folder holds `ensemble.json` ({@linkcode EnsembleFolderConfig}) and one model
 * folder per member (`member-1/`, …), trained on the same split with different seeds or
 * settings; predictions average the members' scores (lib/predict/ensemble.ts). Members must
 * lie inside the ensemble folder, symbolic links followed. Saving writes the new folder beside
 * the old one and swaps it in only once written (and checked, when asked), so the old folder is
 * never lost.
 *
 * @module
 */
import type { TaggerEnsemble } from "../model/mapped.ts";
import { readJSONFileInside, resolveInsideFolder } from "../fs/inside.ts";
import { replaceFolder } from "../fs/replace_folder.ts";
import { exists, readRegularFile, writeFileAtomic } from "../fs/files.ts";
import { ENSEMBLE_FILE } from "./folder_config.ts";
import {
  type CheckpointChoice,
  type LoadedTagger,
  loadTaggerFolder,
  resolveModelDirectory,
  saveModelFolder,
  type TrainingRecord,
} from "./model_folder.ts";
import type { FileIOOptions } from "./model_io.ts";

export { ENSEMBLE_FILE } from "./folder_config.ts";

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

/** What {@linkcode loadModelFolder} loads. */
export interface LoadModelOptions {
  /**
   * Whether to load an ensemble's `caseless` members (default true). False leaves them out, for
   * input known to hold no caseless sentence (it starts faster); such a model then tags every
   * sentence with its `members`.
   */
  caseless?: boolean;
  /**
   * Which checkpoint of a training run folder: `"best"` (the epoch with the best validation
   * entity F1; the default) or `"last"`. Plain model and ensemble folders ignore it.
   */
  checkpoint?: CheckpointChoice;
}

/**
 * Loads a model folder, a training run folder (its best epoch's checkpoint unless
 * `options.checkpoint` is `"last"`) or an ensemble folder.
 *
 * @param directory the folder
 * @param options whether to load the caseless members
 * @returns its tagger(s) with maps and configs
 * @throws {Error} naming the folder or file when files are missing, corrupt or mismatched
 */
export async function loadModelFolder(
  directory: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const resolved = await resolveModelDirectory(directory, options.checkpoint ?? "best");
  if (await exists(`${resolved}/${ENSEMBLE_FILE}`)) {
    return await loadEnsembleFolder(resolved, options.caseless ?? true);
  }
  const member = await loadTaggerFolder(resolved);
  return { directory: member.directory, members: [member], caseless: [], ensemble: null };
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

/**
 * Reads and checks `ensemble.json` (a regular file inside the folder, links followed, at most
 * 64 MiB, checked before it is read).
 */
async function readEnsembleConfig(directory: string): Promise<EnsembleFolderConfig> {
  const file = `${directory}/${ENSEMBLE_FILE}`;
  return checkEnsembleConfig(
    await readJSONFileInside<unknown>(directory, file, "ensemble config"),
    file,
  );
}

/**
 * Loads an ensemble folder: every member (plain model folders, not ensembles), checked to be
 * averageable: the same tags in the same order, the same `maxLen`, and all CRF heads or all
 * softmax heads. Members may differ otherwise (units, seeds, vocabularies, char maps). Each
 * member must lie inside the ensemble folder once symbolic links are followed. The caseless
 * members are left out when `withCaseless` is false.
 */
async function loadEnsembleFolder(directory: string, withCaseless: boolean): Promise<LoadedModel> {
  const ensemble = await readEnsembleConfig(directory);
  const file = `${directory}/${ENSEMBLE_FILE}`;
  const members: LoadedTagger[] = [];
  const caseless: LoadedTagger[] = [];
  try {
    for (const name of [...ensemble.members, ...(withCaseless ? ensemble.caseless ?? [] : [])]) {
      const memberDirectory = await resolveInsideFolder(
        directory,
        name,
        file,
        `member ${JSON.stringify(name)}`,
      );
      if (await exists(`${memberDirectory}/${ENSEMBLE_FILE}`)) {
        throw new Error(`${memberDirectory}: an ensemble member cannot itself be an ensemble`);
      }
      const loaded = await loadTaggerFolder(memberDirectory);
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

/** Options of {@linkcode saveEnsembleFolder}: weight storage, a description, a check. */
export interface SaveEnsembleOptions extends FileIOOptions {
  /** Stored in `ensemble.json` (e.g. how the members were trained). */
  description?: string;
  /** Members for caseless sentences, saved as `caseless-1/`, … (see `caseless`). */
  caseless?: readonly LoadedTagger[];
  /**
   * Checks the new folder, written beside `directory`, before it replaces anything (e.g. loads
   * it back and tags a sentence); a throw leaves the old folder as it was.
   */
  verify?: (staging: string) => Promise<void>;
}

/**
 * Saves loaded taggers as an ensemble folder: `member-1/`, `member-2/`, … (each a model folder,
 * with its `history.json` when the source had one) and `ensemble.json`. The folder is built
 * beside `directory`, checked with `options.verify`, and only then swapped in
 * ({@linkcode replaceFolder}): the old folder is moved aside, the new one renamed into place and
 * the old one removed, so a reader never sees a half-written ensemble and a failure at any step
 * before the swap leaves the old folder byte-identical. A replaced folder is replaced whole.
 *
 * @param directory the ensemble folder
 * @param members the taggers (loaded from plain model folders), in order
 * @param options weight storage (e.g. float16), a description and a check
 * @returns the member folder names
 * @throws {Error} naming `directory` when it is a file (never replaced), or what writing or the
 *   check threw
 */
export async function saveEnsembleFolder(
  directory: string,
  members: readonly LoadedTagger[],
  options: SaveEnsembleOptions = {},
): Promise<string[]> {
  if (members.length === 0) throw new RangeError(`${directory}: an ensemble needs members`);
  const { description, verify, caseless = [], ...storage } = options;
  const names = members.map((_, index) => `member-${index + 1}`);
  const caselessNames = caseless.map((_, index) => `caseless-${index + 1}`);
  const everyone = [...members, ...caseless];
  const everyName = [...names, ...caselessNames];
  await replaceFolder(directory, async (staging) => {
    for (const [index, member] of everyone.entries()) {
      const target = `${staging}/${everyName[index]}`;
      await saveModelFolder(target, member, member.config.training as TrainingRecord, storage);
      const history = await readRegularFile(`${member.directory}/history.json`, "training history")
        .catch((error) => {
          if (error instanceof Deno.errors.NotFound) return null;
          throw error;
        });
      if (history !== null) await writeFileAtomic(`${target}/history.json`, history);
    }
    const config: EnsembleFolderConfig = {
      format: "bilstm-ner-ensemble",
      version: 1,
      members: names,
      ...(caseless.length === 0 ? {} : { caseless: caselessNames }),
      ...(description === undefined ? {} : { description }),
    };
    await writeFileAtomic(`${staging}/${ENSEMBLE_FILE}`, JSON.stringify(config, null, 2));
  }, { verify });
  return names;
}
