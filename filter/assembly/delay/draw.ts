import { randomBelow, randomNormal } from "../random";
import { DelayFault, DelayKind, MAX_DELAY_MS, MIN_DELAY_MS } from "../rules";

/**
 * This request's delay in whole milliseconds: the fixed one, or a draw from the rule's distribution,
 * rounded and kept within MIN_DELAY_MS..MAX_DELAY_MS (a log-normal's tail has no end).
 */
export function drawDelayMs(delay: DelayFault): u32 {
  if (delay.kind == DelayKind.Fixed) return delay.ms;
  if (delay.kind == DelayKind.Uniform) return delay.ms + randomBelow(delay.maxMs - delay.ms + 1);
  const ms = Math.round(<f64>delay.ms * Math.exp(delay.sigma * randomNormal()));
  return <u32>Math.min(Math.max(ms, <f64>MIN_DELAY_MS), <f64>MAX_DELAY_MS);
}
