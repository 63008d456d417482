import type { StoreClock } from "../../src/store/index.ts";

/** A store clock that moves only when told: `advance` runs every timer that comes due, in order. */
export interface ManualClock extends StoreClock {
  advance(ms: number): void;
}

export function createManualClock(startMs = Date.parse("2026-01-01T00:00:00.000Z")): ManualClock {
  let nowMs = startMs;
  let nextId = 0;
  const timers = new Map<number, { dueMs: number; fn: () => void }>();
  return {
    now: () => new Date(nowMs),
    after(ms, fn) {
      const id = nextId++;
      timers.set(id, { dueMs: nowMs + ms, fn });
      return () => {
        timers.delete(id);
      };
    },
    advance(ms) {
      const target = nowMs + ms;
      for (;;) {
        let next: [number, { dueMs: number; fn: () => void }] | undefined;
        for (const entry of timers)
          if (entry[1].dueMs <= target && (!next || entry[1].dueMs < next[1].dueMs)) next = entry;
        if (!next) break;
        timers.delete(next[0]);
        nowMs = next[1].dueMs;
        next[1].fn();
      }
      nowMs = target;
    },
  };
}
