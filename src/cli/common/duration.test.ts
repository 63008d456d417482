import { expect, test } from "bun:test";
import { parseDuration } from "./duration.ts";

test("Go-style durations and bare seconds; anything else is undefined", () => {
  expect(parseDuration("30s")).toBe(30_000);
  expect(parseDuration("1m30s")).toBe(90_000);
  expect(parseDuration("500ms")).toBe(500);
  expect(parseDuration("1.5s")).toBe(1500);
  expect(parseDuration("2h")).toBe(7_200_000);
  expect(parseDuration("10")).toBe(10_000);
  expect(parseDuration("0")).toBe(0);
  for (const bad of ["", "s", "soon", "-1s", "1d", "1 s", "1s2"]) expect(parseDuration(bad)).toBeUndefined();
});
