/**
 * The training stage: settings, data preparation, the trainer (one step of any tagger variant,
 * lazy sparse Adam), the epoch loop with checkpoints and resume, and progress.
 *
 * @example
 * ```ts
 * import { train } from "./mod.ts";
 * import { loadCorpus } from "../data/mod.ts";
 * import { tutorialTrainSentences } from "./mod.ts";
 *
 * const corpus = await loadCorpus();
 * const result = await train({
 *   trainSentences: await tutorialTrainSentences(corpus.sentences),
 *   config: { epochs: 1, limit: 1000, model: { modelType: "bilstm-crf" } },
 *   out: "runs/quick",
 * });
 * console.log(result.history.valAccuracy);
 * ```
 *
 * @module
 */
export {
  checkRunFolder,
  evaluateRows,
  NonFiniteLossError,
  ResumeMismatchError,
  RunFolderError,
  RunLockedError,
  train,
} from "./train.ts";
export type { TrainOptions, TrainResult } from "./train.ts";
export {
  DEFAULT_TRAIN_CONFIG,
  epochLearningRate,
  modelSettingsOf,
  resolveTrainConfig,
} from "./config.ts";
export type { DistillConfig, ResolvedTrainConfig, TrainConfig } from "./config.ts";
export {
  softTargetsFor,
  TEACHER_TARGETS_FILE,
  TEACHER_TARGETS_META,
  teacherDistributions,
} from "./distill.ts";
export {
  dropSingletons,
  gatherBatch,
  gatherFeatures,
  prepareData,
  tutorialTrainSentences,
} from "./data.ts";
export type { RowFeatures, TrainingData } from "./data.ts";
export { appendEpoch, emptyHistory } from "./history.ts";
export { runEpoch } from "./epoch.ts";
export type { EpochOutcome, EpochPosition, RunEpochOptions } from "./epoch.ts";
export { listenForInterrupt, YIELD_EVERY_MS, yieldToEvents } from "./interrupt.ts";
export type { StopRequest } from "./interrupt.ts";
export type { History } from "./history.ts";
export { createTrainer, DEFAULT_TRAINER_OPTIONS } from "./trainer.ts";
export type {
  BatchMetrics,
  Trainer,
  TrainerOptions,
  TrainerRandomState,
  TrainerState,
} from "./trainer.ts";
export { trimmedLength } from "./batches.ts";
export type { BatchFeatures, LabelledBatch } from "./batches.ts";
export { readPointer, trainingRecord, writeCheckpoint } from "./checkpoint.ts";
export type { CheckpointPointer } from "./checkpoint.ts";
export { formatDifference, resumeRun, settingDifferences } from "./resume.ts";
export type { ResumedRun, SettingDifference } from "./resume.ts";
export { checkFreeSpace, checkpointBytes, prepareRunFolder } from "./run_folder_checks.ts";
export * from "./progress.ts";
export * from "./sparse_adam.ts";
export * from "./runs.ts";
