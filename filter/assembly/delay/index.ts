export { DelayedRequest, DelayQueue } from "./queue";
