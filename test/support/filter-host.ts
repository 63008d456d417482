/** The filter in the TypeScript proxy-wasm host: the compiled module, golden fixtures, a host with rules loaded. */
import { expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { compileFilter } from "../../src/build-filter/index.ts";
import type { Rule, RuleSet } from "../../src/ruleset/format.ts";
import { type HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { FILTER_WASM, ROOT } from "./paths.ts";

export const WASM = new Uint8Array(readFileSync(FILTER_WASM));

let strictWasm: Promise<Uint8Array> | undefined;

/**
 * The filter's strict twin, compiled from filter/ on first use (a debug build, quicker to compile):
 * its decoder also rejects RuleSet members it does not read. Never released.
 */
export function strictFilterWasm(): Promise<Uint8Array> {
  strictWasm ??= compileFilter({ debug: true, baseDir: join(ROOT, "filter"), strictDecode: true });
  return strictWasm;
}

/** Every golden RuleSet fixture's file name. */
export function fixtureNames(): string[] {
  return readdirSync(join(ROOT, "test/fixtures/rulesets"))
    .filter((name) => name.endsWith(".ruleset.json"))
    .sort();
}

export const CONFIG = {
  cluster: "hfi_control_plane",
  authority: "cp.test:8080",
  pollWaitSeconds: 25,
};

/**
 * Observations off: with them on, the root's timer also fires once per report interval
 * (test/filter/observations.test.ts); a test that watches the timer for polls and delays alone
 * turns them off.
 */
export const WITHOUT_OBSERVATIONS = { config: { ...CONFIG, reportIntervalMs: 0 } };

/** A golden RuleSet fixture: its text as served, and parsed. */
export function fixture(name: string): { text: string; ruleSet: RuleSet } {
  const text = readFileSync(join(ROOT, "test/fixtures/rulesets", name), "utf8");
  return { text, ruleSet: JSON.parse(text) };
}

export function ruleNamed(ruleSet: RuleSet, name: string): Rule {
  const rule = ruleSet.rules.find((r) => r.name === name);
  if (!rule) throw new Error(`fixture has no rule ${name}`);
  return rule;
}

export async function startedHost(
  config: Record<string, unknown> = CONFIG,
  randomSeed?: number,
  properties?: Record<string, string | Record<string, string>>,
  wasm: Uint8Array = WASM,
): Promise<ProxyWasmHost> {
  const host = await ProxyWasmHost.load(wasm, {
    pluginConfig: JSON.stringify(config),
    randomSeed,
    properties,
  });
  expect(host.start()).toBe(true);
  return host;
}

/** Runs ticks until the filter has a poll in flight and returns it. */
export function nextPoll(host: ProxyWasmHost, maxTicks = 500) {
  for (let i = 0; i < maxTicks && host.httpCalls.length === 0; i++) {
    host.advance(host.tickPeriodMs || 10);
    host.tick();
  }
  const call = host.httpCalls[0];
  if (!call) throw new Error("the filter did not poll the control plane");
  return call;
}

/** A started host that has received `ruleSet` from its first poll (and polls again). */
export async function hostWithRules(
  ruleSet: string,
  options: { randomSeed?: number; config?: Record<string, unknown>; wasm?: Uint8Array } = {},
): Promise<ProxyWasmHost> {
  const host = await startedHost(options.config ?? CONFIG, options.randomSeed, undefined, options.wasm);
  host.respond(nextPoll(host).token, { status: 200, body: ruleSet });
  return host;
}

/** Answers the poll in flight with `body` (a new RuleSet, or anything else). */
export function pushRules(host: ProxyWasmHost, body: string, headers: HeaderPairs = []): void {
  const poll = host.httpCalls[0];
  if (!poll) throw new Error("no poll in flight");
  host.respond(poll.token, { status: 200, body, headers });
}

export const header = (pairs: HeaderPairs, name: string) => pairs.find(([k]) => k === name)?.[1];

/** A poll's `:path` without the subscriber identity (`&node=…&worker=…`, tested on its own). */
export const pollPath = (call: { headers: HeaderPairs }) =>
  (header(call.headers, ":path") ?? "").replace(/&node=[^&]*&worker=[0-9a-f]{16}$/, "");

export const req = (method: string, path: string, extra: HeaderPairs = []): HeaderPairs => [
  [":method", method],
  [":path", path],
  [":authority", "app"],
  [":scheme", "http"],
  ...extra,
];
