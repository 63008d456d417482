import { expect, test } from "bun:test";
import { humanDuration } from "./age.ts";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test("AGE reads like kubectl's: precise when short, coarse when long", () => {
  const cases: [number, string][] = [
    [-5 * s, "<invalid>"],
    [-500, "0s"],
    [0, "0s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [3 * m + 20 * s, "3m20s"],
    [10 * m + 5 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [5 * h + 30 * m, "5h30m"],
    [30 * h, "30h"],
    [3 * d + 4 * h, "3d4h"],
    [8 * d, "8d"],
    [400 * d, "400d"],
    [3 * 365 * d + 10 * d, "3y10d"],
    [9 * 365 * d, "9y"],
  ];
  for (const [ms, age] of cases) expect(humanDuration(ms)).toBe(age);
});
