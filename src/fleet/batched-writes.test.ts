import { expect, test } from "bun:test";
import { batchedWrites } from "./batched-writes.ts";

test("a burst of schedules is one write; none runs after close", async () => {
  let writes = 0;
  let wrote: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    wrote = resolve;
  });
  const batch = batchedWrites(
    async () => {
      batch.started();
      writes++;
      wrote();
    },
    { minIntervalMs: 60_000, gatherMs: 5 },
  );
  expect(batch.lastStartedMs).toBe(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < 10; i++) batch.schedule();
  await first;
  expect(writes).toBe(1);
  expect(batch.lastStartedMs).toBeGreaterThan(0);
  // Within minIntervalMs of the last write, a schedule waits; close cancels it.
  batch.schedule();
  await batch.close();
  batch.schedule();
  await Bun.sleep(20);
  expect(writes).toBe(1);
});
