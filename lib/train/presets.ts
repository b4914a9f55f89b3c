/**
 * Named bundles of training settings ("recipes"): `tutorial`, the Keras tutorial's model and
 * schedule (what the notebooks and the tutorial reproduction use), and `accurate`, this
 * project's best single-model recipe, which training on your own files uses unless told
 * otherwise. A preset fills in the settings a config leaves out; every setting given wins.
 *
 * @module
 */
import type { ModelSettings } from "../model/config.ts";

/** A preset's name. */
export type PresetName = "tutorial" | "accurate";

/** The preset names, for flags and messages. */
export const PRESET_NAMES: readonly PresetName[] = ["tutorial", "accurate"];

/** What a preset sets: training settings and model settings, each left out falling to defaults. */
export interface Preset {
  /** One line on what it is for. */
  description: string;
  /** Training settings it sets (the rest keep the tutorial's defaults). */
  train: {
    epochs?: number;
    patience?: number;
    learningRate?: number;
    learningRateDecay?: number;
  };
  /** Model settings it sets. */
  model: ModelSettings;
}

/** The presets. */
export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  tutorial: {
    description: "the Keras tutorial's BiLSTM with a softmax head, Adam 0.001, 5 epochs",
    train: {},
    model: {},
  },
  accurate: {
    description: "BiLSTM-CRF with char features and dropout 0.5, Adam 0.01 decaying 0.8 per " +
      "epoch, up to 40 epochs, stopping after 4 without a better dev F1",
    train: { epochs: 40, patience: 4, learningRate: 0.01, learningRateDecay: 0.8 },
    model: { modelType: "bilstm-crf", charFeatures: true, dropout: 0.5 },
  },
};

/**
 * The preset a config uses when it names none: `accurate` for your own training file
 * (`data.train`), `tutorial` for the bundled corpus.
 *
 * @param config the settings given (only `preset` and `data` are read)
 */
export function defaultPresetFor(config: { data?: { train?: string } | null }): PresetName {
  return config.data?.train ? "accurate" : "tutorial";
}
