export { createEventLog, type EventLog, type EventType, type HfiEvent, recordStoreEvents } from "./events.ts";
export {
  type ExperimentRequest,
  MAX_BASELINE_MS,
  MAX_EXPERIMENT_MS,
  MAX_EXPERIMENT_POLICIES,
  MAX_EXPERIMENT_POLICY_NAME,
  parseExperimentRequest,
  STOP_METRICS,
  type StopCondition,
} from "./request.ts";
export {
  createExperiments,
  EXPERIMENT_STATES,
  type Experiment,
  type ExperimentResults,
  type ExperimentState,
  type Experiments,
  type PhaseResult,
} from "./runner.ts";
