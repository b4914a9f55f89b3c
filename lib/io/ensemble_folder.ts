/**
 * Ensemble folders and loading any model folder: `loadModelFolder` reads a model folder, a
 * training run's latest checkpoint, or an ensemble folder, and gives the taggers in it with
 * their maps, ready for lib/predict/ and lib/evaluate/.
 *
 * An ensemble folder holds `ensemble.json` ({@linkcode EnsembleFolderConfig}) and one model
 * folder per member (`member-1/`, …), trained on the same split with different seeds or
 * settings; predictions average the members' scores (lib/predict/ensemble.ts).
 *
 * @module
 */
import type { TaggerEnsemble } from "../model/mapped.ts";
import { readJSONFile, writeFileAtomic } from "./files.ts";
import {
  type LoadedTagger,
  loadTaggerFolder,
  resolveModelDirectory,
  saveModelFolder,
  type TrainingRecord,
} from "./model_folder.ts";
import type { FileIOOptions } from "./model_io.ts";

/** The file whose presence makes a folder an ensemble. */
export const ENSEMBLE_FILE = "ensemble.json";

/** What `ensemble.json` of an ensemble folder holds. */
export interface EnsembleFolderConfig {
  /** Always `"bilstm-ner-ensemble"`. */
  format: "bilstm-ner-ensemble";
  /** Format version. */
  version: 1;
  /** The member model folders, relative to the ensemble folder (e.g. `"member-1"`). */
  members: string[];
  /** Free-form notes on how the members were made (e.g. their seeds). */
  description?: string;
}

/** A loaded model folder: one tagger, or an ensemble folder's members. */
export interface LoadedModel extends TaggerEnsemble {
  /** The folder read (a run folder's latest checkpoint folder for a run). */
  readonly directory: string;
  /** The taggers: one for a model folder, every member for an ensemble folder. */
  readonly members: readonly LoadedTagger[];
  /** `ensemble.json` of an ensemble folder, else null. */
  readonly ensemble: EnsembleFolderConfig | null;
}

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Loads a model folder, a training run folder (its latest checkpoint) or an ensemble folder.
 *
 * @param directory the folder
 * @returns its tagger(s) with maps and configs
 * @throws {Error} naming the folder or file when files are missing, corrupt or mismatched
 */
export async function loadModelFolder(directory: string): Promise<LoadedModel> {
  const resolved = await resolveModelDirectory(directory);
  if (await exists(`${resolved}/${ENSEMBLE_FILE}`)) return await loadEnsembleFolder(resolved);
  const member = await loadTaggerFolder(resolved);
  return { directory: member.directory, members: [member], ensemble: null };
}

/** Frees every tagger of a loaded folder. */
export function disposeLoadedModel(loaded: LoadedModel): void {
  for (const member of loaded.members) member.tagger.dispose();
}

/** Reads and checks `ensemble.json`. */
async function readEnsembleConfig(directory: string): Promise<EnsembleFolderConfig> {
  const file = `${directory}/${ENSEMBLE_FILE}`;
  const ensemble = await readJSONFile<EnsembleFolderConfig>(file, "ensemble config");
  if (
    ensemble?.format !== "bilstm-ner-ensemble" || !Array.isArray(ensemble.members) ||
    ensemble.members.length === 0 ||
    !ensemble.members.every((m) => typeof m === "string" && m !== "" && !m.includes(".."))
  ) {
    throw new Error(
      `${file}: not a bilstm-ner ensemble config (need format "bilstm-ner-ensemble" and a ` +
        `non-empty list of member folders inside the ensemble folder)`,
    );
  }
  return ensemble;
}

/**
 * Loads an ensemble folder: every member (plain model folders, not ensembles), checked to be
 * averageable: the same tags in the same order, the same `maxLen`, and all CRF heads or all
 * softmax heads. Members may differ otherwise (units, seeds, vocabularies, char maps).
 */
async function loadEnsembleFolder(directory: string): Promise<LoadedModel> {
  const ensemble = await readEnsembleConfig(directory);
  const members: LoadedTagger[] = [];
  try {
    for (const name of ensemble.members) {
      const memberDirectory = `${directory}/${name}`;
      if (await exists(`${memberDirectory}/${ENSEMBLE_FILE}`)) {
        throw new Error(`${memberDirectory}: an ensemble member cannot itself be an ensemble`);
      }
      members.push(await loadTaggerFolder(memberDirectory));
    }
    checkEnsembleMembers(members);
  } catch (error) {
    for (const member of members) member.tagger.dispose(); // nothing half-loaded stays
    throw error;
  }
  return { directory, members, ensemble };
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

/** Options of {@linkcode saveEnsembleFolder}: weight storage plus a description. */
export interface SaveEnsembleOptions extends FileIOOptions {
  /** Stored in `ensemble.json` (e.g. how the members were trained). */
  description?: string;
}

/**
 * Saves loaded taggers as an ensemble folder: `member-1/`, `member-2/`, … (each a model folder,
 * with its `history.json` when the source had one) and `ensemble.json`. The folder is built
 * beside `directory` and renamed into place, replacing what was there, so a reader never sees a
 * half-written ensemble.
 *
 * @param directory the ensemble folder
 * @param members the taggers (loaded from plain model folders), in order
 * @param options weight storage (e.g. float16) and a description
 * @returns the member folder names
 */
export async function saveEnsembleFolder(
  directory: string,
  members: readonly LoadedTagger[],
  options: SaveEnsembleOptions = {},
): Promise<string[]> {
  if (members.length === 0) throw new RangeError(`${directory}: an ensemble needs members`);
  const { description, ...storage } = options;
  directory = directory.replace(/(?<=.)\/+$/, ""); // "out/" stages beside "out", not inside it
  const staging = `${directory}.staging-${Deno.pid}`;
  const previous = `${directory}.previous-${Deno.pid}`;
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  const names = members.map((_, index) => `member-${index + 1}`);
  for (const [index, member] of members.entries()) {
    const target = `${staging}/${names[index]}`;
    await saveModelFolder(target, member, member.config.training as TrainingRecord, storage);
    const history = await Deno.readTextFile(`${member.directory}/history.json`).catch(() => null);
    if (history !== null) await writeFileAtomic(`${target}/history.json`, history);
  }
  const config: EnsembleFolderConfig = {
    format: "bilstm-ner-ensemble",
    version: 1,
    members: names,
    ...(description === undefined ? {} : { description }),
  };
  await writeFileAtomic(`${staging}/${ENSEMBLE_FILE}`, JSON.stringify(config, null, 2));
  const hadPrevious = await Deno.rename(directory, previous).then(() => true, (error) => {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  });
  await Deno.rename(staging, directory);
  if (hadPrevious) await Deno.remove(previous, { recursive: true });
  return names;
}
