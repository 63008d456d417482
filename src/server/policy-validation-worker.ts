/** The worker thread of policy-validation.ts: one request in, its answer out. */
import { answer, type WorkerRequest } from "./policy-validation.ts";

declare const self: Worker;

self.onmessage = ({ data }: MessageEvent<WorkerRequest>) => {
  self.postMessage(answer(data));
};
