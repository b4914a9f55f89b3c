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
import { replaceFolder } from "../fs/replace_folder.ts";
import { readRegularFile, writeFileAtomic } from "../fs/files.ts";
import { ENSEMBLE_FILE } from "./folder_config.ts";
import { diskSource } from "./_disk_source.ts";
import { type EnsembleFolderConfig, type LoadedModel, loadModelFrom } from "./ensemble_config.ts";
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
export {
  checkEnsembleConfig,
  checkEnsembleMembers,
  disposeLoadedModel,
  type EnsembleFolderConfig,
  type LoadedModel,
} from "./ensemble_config.ts";

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
  // A member may itself be a training run folder: it loads its best checkpoint.
  return await loadModelFrom(
    diskSource(resolved),
    options.caseless ?? true,
    (member) => loadTaggerFolder(member.directory),
  );
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
