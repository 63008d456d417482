/** The worker thread of policy-validation.ts: one document in, its validation out. */
import { type ValidationRequest, validateDocument } from "./policy-validation.ts";

declare const self: Worker;

self.onmessage = ({ data }: MessageEvent<ValidationRequest>) => {
  self.postMessage(validateDocument(data));
};
