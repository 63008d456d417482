import { randomBelow } from "../random";

const BASE_MS: u32 = 200;
const CAP_MS: u32 = 30_000;

/**
 * Exponential backoff with full jitter: uniform in [1, min(30 s, 200 ms · 2^(failures−1))] ms.
 * Never 0, because a tick period of 0 means "off".
 */
export function backoffMs(failures: u32): u32 {
  const shift = min(max(failures, 1) - 1, 8); // 200 ms · 2^8 is already past the cap
  return 1 + randomBelow(min(CAP_MS, BASE_MS << shift));
}
