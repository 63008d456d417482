export { drawDelayMs } from "./draw";
export { DelayedRequest, DelayQueue } from "./queue";
