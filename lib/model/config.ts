/**
 * The one description of a tagger: {@linkcode TaggerOptions} as a user writes them, and
 * {@linkcode TaggerConfig}, every field resolved, as the tagger is built from it and as a model
 * folder stores it (`config.json` → `tagger`). Defaults are filled in and values checked here,
 * once; nothing else in the library validates a model setting.
 *
 * The default config is the Keras tutorial's model:
 *
 *   word ids → Embedding(vocabSize, 100, maskZero) → BiLSTM(100 per direction, recurrent
 *   dropout 0.1) → Dense(numTags, softmax) per token
 *
 * Variants beyond it, all off by default: a char CNN and a casing embedding beside the word
 * embedding (`charFeatures`), dropout before (`dropout`) and after (`outputDropout`) the
 * BiLSTMs, stacked BiLSTMs (`biLstmLayers`; 0 gives a context-free embedding → head tagger, a
 * baseline), a CRF head (`modelType: "bilstm-crf"`), and tfjs-layers' own BiLSTM as the
 * reference implementation (`layer: "stock"`).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** Which BiLSTM implementation a tagger uses: ours (`"fast"`) or tfjs-layers' (`"stock"`). */
export type BiLstmKind = "fast" | "stock";

/** The output head: softmax probabilities, or emission scores decoded by a CRF. */
export type ModelType = "bilstm" | "bilstm-crf";

/** LSTM gate activation. */
export type RecurrentActivation = "hardSigmoid" | "sigmoid";

/** Char CNN activation: tanh (Ma & Hovy 2016) or relu. */
export type CharActivation = "tanh" | "relu";

/** A tagger's settings as given: the sizes of its maps are required, the rest default. */
export interface TaggerOptions {
  /** Word vocabulary size including PAD (0) and UNK (1). */
  vocabSize: number;
  /** Tag classes, the padding label (id 0) included. */
  numTags: number;
  /** Sentence length after padding; default 50. */
  maxLen?: number;
  /** Word embedding width; default 100. */
  embeddingDim?: number;
  /** LSTM units per direction; default 100. */
  units?: number;
  /** Stacked BiLSTM layers, each reading the one below's output; default 1 (0: none). */
  biLstmLayers?: number;
  /** Dropout on the LSTMs' recurrent state, training only; default 0.1. */
  recurrentDropout?: number;
  /** LSTM gate activation; default `"sigmoid"` (Keras's, so the tutorial's). */
  recurrentActivation?: RecurrentActivation;
  /** Forget-gate bias starts at 1; default true (Keras's default). */
  unitForgetBias?: boolean;
  /** BiLSTM implementation; default `"fast"`. */
  layer?: BiLstmKind;
  /** Seed of every initialiser; default 42. */
  seed?: number;
  /** Mask padding (word id 0) through the BiLSTMs and trim batches to their longest row; default true. */
  maskPadding?: boolean;
  /** Output head; default `"bilstm"` (softmax). */
  modelType?: ModelType;
  /** Add a char CNN and a casing embedding to the word representation; default false. */
  charFeatures?: boolean;
  /** Rows of the char embedding (the character map's size); required with `charFeatures`. */
  numChars?: number;
  /** Characters per word in the char-id input; default 16. */
  maxChars?: number;
  /** Char embedding width; default 25. */
  charDim?: number;
  /** Char CNN filters, i.e. char features per word; default 50. */
  charFilters?: number;
  /** Char CNN window width, odd; default 3. */
  charWidth?: number;
  /** Char CNN activation; default `"tanh"`. */
  charActivation?: CharActivation;
  /** Casing embedding width (0 leaves casing out); default 8. */
  casingDim?: number;
  /** Dropout on the word representation, before the BiLSTMs, training only; default 0. */
  dropout?: number;
  /** Dropout on the BiLSTM output, before the head, training only; default 0. */
  outputDropout?: number;
}

/** A tagger's settings with every default filled in and every value checked. */
export type TaggerConfig = Readonly<Required<TaggerOptions>>;

/** The settings a training run may choose: everything but the sizes its data decides. */
export type ModelSettings = Partial<Omit<TaggerOptions, "vocabSize" | "numTags" | "maxLen">>;

/** Defaults of the optional {@linkcode TaggerOptions} fields: the tutorial's model. */
export const DEFAULT_TAGGER_OPTIONS: Readonly<
  Required<Omit<TaggerOptions, "vocabSize" | "numTags">>
> = {
  maxLen: 50,
  embeddingDim: 100,
  units: 100,
  biLstmLayers: 1,
  recurrentDropout: 0.1,
  recurrentActivation: "sigmoid",
  unitForgetBias: true,
  layer: "fast",
  seed: 42,
  maskPadding: true,
  modelType: "bilstm",
  charFeatures: false,
  numChars: 0,
  maxChars: 16,
  charDim: 25,
  charFilters: 50,
  charWidth: 3,
  charActivation: "tanh",
  casingDim: 8,
  dropout: 0,
  outputDropout: 0,
};

/** The char-feature settings, meaningful only with `charFeatures` (the map size first). */
export const CHAR_FIELDS = [
  "numChars",
  "maxChars",
  "charDim",
  "charFilters",
  "charWidth",
  "charActivation",
] as const;

/** Every field of {@linkcode TaggerOptions}, in a stable order. */
export const TAGGER_FIELDS: readonly (keyof TaggerOptions)[] = [
  "vocabSize",
  "numTags",
  ...Object.keys(DEFAULT_TAGGER_OPTIONS) as (keyof TaggerOptions)[],
];

const CHOICES: Partial<Record<keyof TaggerOptions, readonly unknown[]>> = {
  recurrentActivation: ["hardSigmoid", "sigmoid"],
  layer: ["fast", "stock"],
  modelType: ["bilstm", "bilstm-crf"],
  maskPadding: [true, false],
  unitForgetBias: [true, false],
  charFeatures: [true, false],
  charActivation: ["tanh", "relu"],
};

/** Throws a {@linkcode ConfigError} naming `prefix + key` unless `value` suits the field. */
function checkField(key: keyof TaggerOptions, value: unknown, prefix: string): void {
  const fail = (problem: string): never => {
    throw new ConfigError(`${prefix}${key}`, problem, value);
  };
  const choices = CHOICES[key];
  if (choices) {
    if (!choices.includes(value)) fail(`must be one of ${choices.join(", ")}`);
    return;
  }
  const isInteger = typeof value === "number" && Number.isInteger(value);
  switch (key) {
    case "dropout":
    case "outputDropout":
    case "recurrentDropout":
      if (!(typeof value === "number" && value >= 0 && value < 1)) fail("must be in [0, 1)");
      return;
    case "seed":
      if (!isInteger) fail("must be an integer");
      return;
    case "biLstmLayers":
    case "casingDim":
    case "numChars":
      if (!isInteger || (value as number) < 0) fail("must be an integer >= 0");
      return;
    case "charWidth":
      if (!isInteger || (value as number) < 1) fail("must be a positive odd integer");
      if ((value as number) % 2 === 0) fail("must be odd");
      return;
    default:
      if (!isInteger || (value as number) < 1) fail("must be a positive integer");
  }
}

/**
 * Checks the settings that are present (a partial config, e.g. a training run's model
 * settings), without filling in defaults.
 *
 * @param options some tagger settings
 * @param prefix put before each field name in errors (e.g. `"model."`)
 * @throws {ConfigError} naming the first bad field; also for an unknown field, and for char
 *   settings given without `charFeatures`
 */
export function checkTaggerOptions(options: Partial<TaggerOptions>, prefix = ""): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!TAGGER_FIELDS.includes(key as keyof TaggerOptions)) {
      throw new ConfigError(`${prefix}${key}`, "is not a tagger setting");
    }
    checkField(key as keyof TaggerOptions, value, prefix);
  }
  if (!options.charFeatures) {
    for (const key of CHAR_FIELDS.slice(1)) {
      if (options[key] !== undefined) {
        throw new ConfigError(`${prefix}${key}`, "needs charFeatures", options[key]);
      }
    }
  }
}

/**
 * Fills in defaults and checks every value: the config a tagger is built from. Without
 * `charFeatures` the char settings are ignored and reset to their defaults (so a preset of sizes
 * can be shared by every variant, and the stored config shows no char settings the tagger does
 * not use); {@linkcode checkTaggerOptions}, which a training run's settings go through, refuses
 * them instead, as a user who sets them must have meant char features.
 *
 * @example
 * ```ts
 * import { resolveTaggerConfig } from "./config.ts";
 * const config = resolveTaggerConfig({ vocabSize: 35_178, numTags: 18, units: 200 });
 * console.log(config.embeddingDim); // 100
 * ```
 *
 * @param options the settings given
 * @returns the complete, frozen config
 * @throws {ConfigError} naming the first bad field
 */
export function resolveTaggerConfig(options: TaggerOptions): TaggerConfig {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([key, value]) =>
      value !== undefined && TAGGER_FIELDS.includes(key as keyof TaggerOptions)
    ),
  );
  const resolved = { ...DEFAULT_TAGGER_OPTIONS, ...defined } as Required<TaggerOptions>;
  for (const key of TAGGER_FIELDS) {
    if (!resolved.charFeatures && (CHAR_FIELDS as readonly string[]).includes(key)) continue;
    checkField(key, resolved[key], "");
  }
  if (resolved.charFeatures && resolved.numChars < 1) {
    throw new ConfigError("numChars", "must be a positive integer with charFeatures", 0);
  }
  if (!resolved.charFeatures) {
    // One source of truth: a tagger without char features has no char settings to remember.
    Object.assign(resolved, {
      numChars: 0,
      ...Object.fromEntries(CHAR_FIELDS.slice(1).map((k) => [k, DEFAULT_TAGGER_OPTIONS[k]])),
    });
  }
  return Object.freeze(resolved);
}

/**
 * The width of the BiLSTM input: word embedding, plus char CNN features and the casing
 * embedding with char features.
 *
 * @param config a resolved config
 */
export function wordRepresentationWidth(config: TaggerConfig): number {
  return config.embeddingDim +
    (config.charFeatures ? config.charFilters + config.casingDim : 0);
}

/**
 * The width of what the head reads: the top BiLSTM's `[forward; backward]` output, or the word
 * representation when there is no BiLSTM.
 *
 * @param config a resolved config
 */
export function headInputWidth(config: TaggerConfig): number {
  return config.biLstmLayers > 0 ? 2 * config.units : wordRepresentationWidth(config);
}
