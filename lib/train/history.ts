/**
 * The per-epoch record of a training run, as parallel arrays like Keras's `history.history`.
 *
 * @module
 */

/** Per-epoch metrics, as parallel arrays (Keras's `history.history`). */
export interface History {
  /** 1-based epoch numbers. */
  epoch: number[];
  /** Mean training loss per real token. */
  loss: number[];
  /** Training accuracy over real tokens. */
  accuracy: number[];
  /** Validation loss per real token (NaN, stored as null, when nothing is held out). */
  valLoss: number[];
  /** Validation accuracy over real tokens, padding excluded (NaN/null when nothing is held out). */
  valAccuracy: number[];
  /**
   * Validation entity F1 (strict IOB2, full sentences, as `evaluate --split validation` scores
   * it; NaN/null when nothing is held out, and for epochs of runs made before it was recorded).
   */
  valF1: number[];
  /** Wall seconds of the epoch (training + validation). */
  seconds: number[];
  /** Mean milliseconds per training step. */
  msPerStep: number[];
  /** Live tensors after the epoch (`tf.memory().numTensors`): flat means no leak. */
  numTensors: number[];
}

/** An empty history. */
export function emptyHistory(): History {
  return {
    epoch: [],
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    valF1: [],
    seconds: [],
    msPerStep: [],
    numTensors: [],
  };
}

/**
 * The history with one more epoch. A key the history lacks (a run recorded before the key
 * existed) is filled with NaN for its earlier epochs.
 */
export function appendEpoch(history: History, record: { [K in keyof History]: number }): History {
  const next = emptyHistory();
  const earlier = history.epoch.length;
  for (const key of Object.keys(next) as (keyof History)[]) {
    next[key] = [...(history[key] ?? new Array(earlier).fill(NaN)), record[key]];
  }
  return next;
}
