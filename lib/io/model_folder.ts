/**
 * Model folders: a trained model with everything needed to use it again.
 *
 * A model folder holds `model.json` + `weights.bin` (tfjs layers format, see
 * `model_io.ts`), `vocab.json` (the word/tag maps) and `config.json` (how it was
 * built and trained). A training run folder additionally holds `checkpoint.json`,
 * pointing at its latest complete epoch under `checkpoints/`; loading a run
 * folder loads that epoch. Loading checks that the maps fit the weights.
 *
 * A model with char features (lib/model.ts `charFeatures`) also has `chars.json`, its character
 * map (lib/chars.ts), exposed as {@linkcode LoadedModel.chars}.
 *
 * An ensemble folder holds `ensemble.json` ({@linkcode EnsembleFolderConfig}) and one model
 * folder per member; it loads as one {@linkcode LoadedModel} whose `members` are the loaded
 * members (lib/ensemble.ts averages their outputs, lib/predict.ts decodes the average).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "../model/bilstm.ts"; // registers the FastBiLSTM layer class so saved models load
import { CharCnn } from "../model/char_cnn.ts"; // registers the CharCnn layer class
import "../model/crf_layer.ts"; // registers the CrfLayer class
import { type CharVocab, charVocabFromJSON, charVocabToJSON } from "../data/chars.ts";
import { readJSONFile, writeFileAtomic } from "./files.ts";
import { modelInterface } from "../predict/inference.ts";
import { fileIOHandler, type FileIOOptions } from "./model_io.ts";
import { loadVocab, saveVocab, type Vocab } from "../data/vocab.ts";

/** What `config.json` of a model folder holds. */
export interface ModelFolderConfig {
  /** Always `"bilstm-ner-model"`. */
  format: "bilstm-ner-model";
  /** Format version. */
  version: 1;
  /** Padded sentence length the model was trained with. */
  maxLen: number;
  /** The model variant (e.g. `"bilstm"`). */
  modelType: string;
  /** The model builder's configuration. */
  model: Record<string, unknown>;
  /** The training configuration, when the model was trained by this project. */
  training?: Record<string, unknown>;
}

/** A loaded model folder. */
export interface LoadedModel {
  /** The tfjs model. */
  model: tf.LayersModel;
  /** Its word/tag maps. */
  vocab: Vocab;
  /** Its configuration. */
  config: ModelFolderConfig;
  /** The folder the files were read from. */
  directory: string;
  /** The character map of a char-feature model (`chars.json`); absent otherwise. */
  chars?: CharVocab;
  /**
   * The members of an ensemble folder, each a plain loaded model folder; absent for a single
   * model. For an ensemble, `model`, `vocab`, `config` and `chars` are those of the first
   * member, and predictions average every member's output (lib/ensemble.ts).
   */
  members?: readonly LoadedModel[];
}

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

/** Options of {@linkcode saveModelFolder}: storage options plus the character map. */
export interface SaveModelFolderOptions extends FileIOOptions {
  /** The character map of a char-feature model, saved as `chars.json`. */
  chars?: CharVocab;
}

/** The pointer file a training run folder keeps to its latest complete checkpoint. */
export const CHECKPOINT_POINTER = "checkpoint.json";

/**
 * Saves a model, its maps and its config into a folder (each file atomically).
 *
 * @param directory the folder (created if missing)
 * @param model the model
 * @param vocab its word/tag maps
 * @param config its configuration
 * @param options storage options (e.g. float16 weights); `chars` for a char-feature model
 */
export async function saveModelFolder(
  directory: string,
  model: tf.LayersModel,
  vocab: Vocab,
  config: ModelFolderConfig,
  options: SaveModelFolderOptions = {},
): Promise<void> {
  const { chars, ...storage } = options;
  if (model.layers.some((l) => l instanceof CharCnn) && !chars) {
    throw new Error(`${directory}: a model with char features needs its character map (chars)`);
  }
  await Deno.mkdir(directory, { recursive: true });
  await model.save(fileIOHandler(directory, storage));
  await saveVocab(vocab, `${directory}/vocab.json`);
  if (chars) {
    await writeFileAtomic(`${directory}/chars.json`, JSON.stringify(charVocabToJSON(chars)));
  }
  await writeFileAtomic(`${directory}/config.json`, JSON.stringify(config, null, 2));
}

/**
 * Resolves a run folder to the folder of its latest checkpoint; a plain model
 * folder resolves to itself.
 *
 * @param directory a model folder or a training run folder
 * @returns the folder that holds `model.json`
 */
export async function resolveModelDirectory(directory: string): Promise<string> {
  try {
    await Deno.stat(directory);
  } catch {
    throw new Error(`${directory}: model folder not found`);
  }
  try {
    const pointer = JSON.parse(await Deno.readTextFile(`${directory}/${CHECKPOINT_POINTER}`));
    if (typeof pointer.latest === "string") return `${directory}/${pointer.latest}`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(
        `${directory}/${CHECKPOINT_POINTER}: unreadable (${(error as Error).message})`,
      );
    }
  }
  return directory;
}

/**
 * Loads a model folder (or the latest checkpoint of a run folder) and checks
 * that its maps match its weights.
 *
 * @param directory the folder
 * @returns the model, its maps and config
 * @throws {Error} naming the folder when files are missing, corrupt or mismatched
 */
export async function loadModelFolder(directory: string): Promise<LoadedModel> {
  const resolved = await resolveModelDirectory(directory);
  if (await exists(`${resolved}/${ENSEMBLE_FILE}`)) return await loadEnsembleFolder(resolved);
  const config = await readJSONFile<ModelFolderConfig>(`${resolved}/config.json`, "model config");
  if (config.format !== "bilstm-ner-model") {
    throw new Error(`${resolved}/config.json: not a bilstm-ner model config`);
  }
  const vocab = await loadVocab(`${resolved}/vocab.json`);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileIOHandler(resolved));
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(resolved) ? message : `${resolved}: ${message}`);
  }
  checkMapsMatchModel(model, vocab, config, resolved);
  const charLayer = model.layers.find((l) => l instanceof CharCnn) as CharCnn | undefined;
  if (!charLayer) return { model, vocab, config, directory: resolved };
  const chars = charVocabFromJSON(
    await readJSONFile<unknown>(`${resolved}/chars.json`, "character map"),
    `${resolved}/chars.json`,
  );
  if (chars.chars.length !== charLayer.config.numChars) {
    throw new Error(
      `${resolved}: the char CNN has ${charLayer.config.numChars} characters but chars.json has ` +
        `${chars.chars.length}: maps and weights do not match`,
    );
  }
  return { model, vocab, config, directory: resolved, chars };
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
 * Loads an ensemble folder: reads `ensemble.json`, loads every member (plain model folders,
 * not ensembles) and checks that they can be averaged: the same tags in the same order, the
 * same `maxLen`, and all CRF heads or all softmax heads. Members may differ otherwise (units,
 * seeds, vocabularies, char maps).
 *
 * @param directory the ensemble folder
 * @returns the first member's model, maps and config, with every member in `members`
 * @throws {Error} naming the file or member folder that is wrong
 */
async function loadEnsembleFolder(directory: string): Promise<LoadedModel> {
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
  const members: LoadedModel[] = [];
  try {
    for (const name of ensemble.members) {
      const memberDirectory = `${directory}/${name}`;
      if (await exists(`${memberDirectory}/${ENSEMBLE_FILE}`)) {
        throw new Error(`${memberDirectory}: an ensemble member cannot itself be an ensemble`);
      }
      members.push(await loadModelFolder(memberDirectory));
    }
    checkEnsembleMembers(members);
  } catch (error) {
    for (const member of members) member.model.dispose(); // nothing half-loaded stays in memory
    throw error;
  }
  return { ...members[0], directory, members };
}

/** Throws, naming the member folder, unless the loaded members can be averaged. */
function checkEnsembleMembers(members: readonly LoadedModel[]): void {
  const [first] = members;
  const isCrf = (m: LoadedModel) => modelInterface(m.model).crf !== null;
  const headOf = (m: LoadedModel) => isCrf(m) ? "CRF" : "softmax";
  for (const member of members.slice(1)) {
    const problem = member.vocab.tags.join("\u0000") !== first.vocab.tags.join("\u0000")
      ? `its tags [${member.vocab.tags.join(", ")}] differ from ${first.directory}'s`
      : member.config.maxLen !== first.config.maxLen
      ? `its maxLen ${member.config.maxLen} differs from ${first.directory}'s ${first.config.maxLen}`
      : isCrf(member) !== isCrf(first)
      ? `its ${headOf(member)} head differs from ${first.directory}'s ${headOf(first)} head`
      : null;
    if (problem) throw new Error(`${member.directory}: cannot join the ensemble: ${problem}`);
  }
}

/**
 * Checks that a model's input length, embedding rows and output labels agree
 * with its maps and config.
 *
 * @param model the model
 * @param vocab its maps
 * @param config its config
 * @param directory the folder, for the message
 * @throws {Error} describing the first mismatch
 */
export function checkMapsMatchModel(
  model: tf.LayersModel,
  vocab: Vocab,
  config: ModelFolderConfig,
  directory: string,
): void {
  const outputShape = model.outputs[0].shape;
  const labels = outputShape[outputShape.length - 1];
  if (labels !== vocab.tags.length) {
    throw new Error(
      `${directory}: the model predicts ${labels} labels but vocab.json has ` +
        `${vocab.tags.length} tags: maps and weights do not match`,
    );
  }
  const inputLength = model.inputs[0].shape[1];
  if (inputLength !== null && inputLength !== config.maxLen) {
    throw new Error(
      `${directory}: the model takes ${inputLength} tokens but config.json says maxLen ` +
        `${config.maxLen}`,
    );
  }
  for (const layer of model.layers) {
    const inputDim = (layer.getConfig() as { inputDim?: number }).inputDim;
    if (
      layer.getClassName() === "Embedding" && layer.name !== "casing_embedding" &&
      inputDim !== vocab.words.length
    ) {
      throw new Error(
        `${directory}: the embedding has ${inputDim} rows but vocab.json has ` +
          `${vocab.words.length} words: maps and weights do not match`,
      );
    }
  }
}
