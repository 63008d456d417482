import { expect, test } from "bun:test";
import { withPeerTotals } from "./fleet-sum.ts";
import { createObservationLedger, emptyObservation, type PolicyObservation } from "./ledger.ts";
import { LATENCY_BUCKETS } from "./report.ts";

function totals(
  name: string,
  matched: number,
  statuses: Record<string, number>,
  at: string,
): PolicyObservation {
  return { ...emptyObservation(name), matched, aborts: matched, statuses, updatedAt: at };
}

test("reads sum this replica's ledger and every peer's totals; reports count in the own ledger only", () => {
  const own = createObservationLedger(() => new Date("2026-12-03T00:00:01.000Z"));
  const peers = [
    new Map([["a", totals("a", 5, { "503": 5 }, "2026-12-03T00:00:05.000Z")]]),
    new Map([
      ["a", totals("a", 2, { "200": 2 }, "2026-12-03T00:00:02.000Z")],
      ["b", totals("b", 1, { "200": 1 }, "2026-12-03T00:00:03.000Z")],
    ]),
  ];
  const fleet = withPeerTotals(own, () => peers);
  const report = {
    seq: 1,
    policies: [
      {
        ...totals("a", 3, { "200": 3 }, ""),
        latencyBuckets: Array.from({ length: LATENCY_BUCKETS }, () => 0),
      },
    ],
  };
  expect(fleet.record("envoy-1", "0", report)).toBe(true);
  expect(fleet.record("envoy-1", "0", report)).toBe(false);
  expect(own.get("a")?.matched).toBe(3);

  expect(fleet.get("a")).toMatchObject({
    matched: 10,
    aborts: 10,
    statuses: { "200": 5, "503": 5 },
    updatedAt: "2026-12-03T00:00:05.000Z",
  });
  expect(fleet.get("b")).toMatchObject({ matched: 1, statuses: { "200": 1 } });
  expect(fleet.get("c")).toBeUndefined();
  expect(fleet.list().map((o) => [o.name, o.matched])).toEqual([
    ["a", 10],
    ["b", 1],
  ]);
  // The peers' totals are read, never changed.
  expect(peers[0]?.get("a")?.matched).toBe(5);
});
