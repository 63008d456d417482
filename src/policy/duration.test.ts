import { expect, test } from "bun:test";
import { parseDelay, parsePolicyDuration } from "./duration.ts";

test.each([
  ["1ms", 1],
  ["100ms", 100],
  ["2s", 2_000],
  ["1m30s", 90_000],
  ["1.5s", 1_500],
  [".5s", 500],
  ["0.1s", 100],
  ["1000us", 1],
  ["1000µs", 1],
  ["1000000ns", 1],
  ["500us500us", 1],
  ["1h", 3_600_000],
  ["59m60s", 3_600_000],
  ["1h0m0.000s", 3_600_000],
])("%p is %p ms", (text, ms) => {
  expect(parseDelay(text)).toEqual({ success: true, ms });
});

test.each([
  ["", "must be a duration such as 100ms, 2s or 1m30s"],
  ["2", "must be a duration"],
  ["-1s", "must be a duration"],
  ["1 s", "must be a duration"],
  ["1d", "must be a duration"],
  ["1.s.s", "must be a duration"],
  ["0s", "must be between 1ms and 1h"],
  ["1h1ms", "must be between 1ms and 1h"],
  ["99999999999999999999999h", "must be between 1ms and 1h"],
  ["1500us", "must be a whole number of milliseconds"],
  ["0.0001s", "must be a whole number of milliseconds"],
  [`${"1".repeat(70)}ms`, "must be a duration"],
])("%p: %p", (text, message) => {
  expect(parseDelay(text)).toEqual({ success: false, message: expect.stringContaining(message) });
});

test.each([
  ["1s", 1_000],
  ["30s", 30_000],
  ["10m", 600_000],
  ["1.5m", 90_000],
  ["2h30m", 9_000_000],
  ["168h", 604_800_000],
  ["1000ms", 1_000],
])("policy duration %p is %p ms", (text, ms) => {
  expect(parsePolicyDuration(text)).toEqual({ success: true, ms });
});

test.each([
  ["", "must be a duration such as 30s, 10m or 2h"],
  ["7d", "must be a duration"],
  ["30", "must be a duration"],
  ["1500ms", "must be a whole number of seconds"],
  ["0.5s", "must be a whole number of seconds"],
  ["0s", "must be between 1s and 168h (7 days)"],
  ["168h1s", "must be between 1s and 168h"],
])("policy duration %p: %p", (text, message) => {
  expect(parsePolicyDuration(text)).toEqual({ success: false, message: expect.stringContaining(message) });
});
