/**
 * Targeted fan-out (bench/README.md, fan-out): 10,000 raw long-polls on the real `dist/hfi serve`,
 * spread over 100 proxy identities (service s0…s99, 100 subscribers each, each polling with the
 * identity of the rule set its service is served), and 1,000 policies, 10 selecting each service.
 * Then one policy PUT for one service at a time: the time from the PUT to the last of that service's
 * 100 subscribers answered (target ≤ 100 ms), the control plane's compile time for the change (from
 * its `config compiled` log line: every policy compiled, then every identity's rule set selected),
 * and that not one subscriber of another service was answered.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HFI_BIN } from "../test/support/paths.ts";
import { putPolicy } from "../test/support/policies.ts";
import { freePort } from "../test/support/ports.ts";
import { spawnLogged, terminate, waitForUrl } from "../test/support/process.ts";
import { CLIENT_ADDRESSES, CONNECT_BATCH, quiet } from "./fanout.ts";
import { Http1Connection, type Http1Response } from "./http1.ts";
import { openFds } from "./machine.ts";
import { type BenchContext, type BenchResult, percentile, valueRow } from "./report.ts";

const SUBSCRIBERS = 10_000;
const IDENTITIES = 100;
const POLICIES = 1_000;
/** PUTs in flight while loading the policies. */
const LOAD_CONCURRENCY = 20;

interface Change {
  service: string;
  /** PUT → the last of the service's subscribers answered (first response byte). */
  wakeMs: number;
  /** PUT → each of its subscribers answered. */
  targetedMs: number[];
  /** From the control plane's log line for the change. */
  compileMs: number;
  identitiesMs: number;
  identitiesChanged: number;
}

interface Subscriber {
  service: string;
  response: Promise<Http1Response>;
  answeredAt: number | null;
}

export async function fanoutTargeted(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 2 : 5;
  const dir = mkdtempSync(join(tmpdir(), "hfi-bench-fanout-targeted-"));
  const port = await freePort();
  const logFile = join(dir, "hfi.log");
  const hfi = spawnLogged(
    [
      "bash",
      "-c",
      `ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
      HFI_BIN,
      "serve",
      "--listen",
      `127.0.0.1:${port}`,
    ],
    logFile,
  );
  const base = `http://127.0.0.1:${port}`;
  const connections: Http1Connection[] = [];
  try {
    await waitForUrl(`${base}/healthz`, hfi);
    const services = Array.from({ length: IDENTITIES }, (_, i) => `s${i}`);
    for (let i = 0; i < POLICIES; i += LOAD_CONCURRENCY) {
      await Promise.all(
        Array.from({ length: Math.min(LOAD_CONCURRENCY, POLICIES - i) }, (_, j) => {
          const n = i + j;
          return putPolicy(base, `p${n}`, {
            selector: { service: services[n % IDENTITIES] },
            match: { path: { prefix: `/p${n}` } },
            fault: { abort: { httpStatus: 503 } },
          }).then((res) => res.arrayBuffer());
        }),
      );
    }
    // What each identity is served now: its subscribers poll holding it, as filters do.
    const held = new Map<string, { revision: number; id: string }>();
    for (const service of services) {
      const res = await fetch(`${base}/v1/config?service=${service}`);
      const { revision } = (await res.json()) as { revision: number };
      held.set(service, { revision, id: (res.headers.get("etag") ?? "").replace(/^W\/"|"$/g, "") });
    }

    const subscribers: Subscriber[] = [];
    for (let i = 0; i < SUBSCRIBERS; i += CONNECT_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(CONNECT_BATCH, SUBSCRIBERS - i) }, (_, j) =>
          Http1Connection.connect({
            host: "127.0.0.1",
            port,
            localAddress: `127.0.0.${1 + ((i + j) % CLIENT_ADDRESSES)}`,
          }),
        ),
      );
      for (const [j, connection] of batch.entries()) {
        const n = i + j;
        const service = services[n % IDENTITIES] ?? "";
        const { revision, id } = held.get(service) ?? { revision: 0, id: "" };
        connections.push(connection);
        const subscriber: Subscriber = {
          service,
          answeredAt: null,
          response: connection.request(
            `/v1/config?after=${revision}&id=${id}&wait=60&node=n${n}&worker=0&service=${service}`,
          ),
        };
        subscriber.response.then(
          (r) => {
            subscriber.answeredAt = r.firstByteAt;
          },
          () => {},
        );
        subscribers.push(subscriber);
      }
    }
    const deadline = Date.now() + 60_000;
    while (openFds(hfi.proc.pid) < SUBSCRIBERS && Date.now() < deadline) await Bun.sleep(50);
    await quiet(hfi.proc.pid);

    const changes: Change[] = [];
    for (let round = 0; round < rounds; round++) {
      const service = services[7 + round] ?? "";
      const targeted = subscribers.filter((s) => s.service === service);
      const start = performance.now();
      const put = await putPolicy(base, `change-${round}`, {
        selector: { service },
        match: { path: { prefix: "/change" } },
        fault: { abort: { httpStatus: 503 } },
      });
      if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
      const answers = await Promise.all(targeted.map((s) => s.response));
      const statuses = new Set(answers.map((r) => r.status));
      if (statuses.size !== 1 || !statuses.has(200)) throw new Error(`answers: ${[...statuses]}`);
      const targetedMs = answers.map((r) => r.firstByteAt - start);
      const logged = compiledLines(logFile).at(-1);
      changes.push({
        service,
        wakeMs: Math.max(...targetedMs),
        targetedMs,
        compileMs: logged?.compileMs ?? Number.NaN,
        identitiesMs: logged?.identitiesMs ?? Number.NaN,
        identitiesChanged: logged?.identitiesChanged ?? Number.NaN,
      });
      await quiet(hfi.proc.pid);
    }
    // Give any wrongly woken subscriber time to show.
    await Bun.sleep(1000);
    const changedServices = new Set(changes.map((c) => c.service));
    const untargeted = subscribers.filter((s) => !changedServices.has(s.service));
    const wronglyWoken = untargeted.filter((s) => s.answeredAt !== null).length;
    const wakes = changes.map((c) => c.wakeMs);
    const compiles = changes.map((c) => c.compileMs + c.identitiesMs);
    return {
      params: {
        subscribers: SUBSCRIBERS,
        identities: IDENTITIES,
        policies: POLICIES,
        rounds,
        quick: ctx.quick,
      },
      commands: [`${HFI_BIN} serve --listen 127.0.0.1:${port} (ulimit -n raised to the hard limit)`],
      samples: { changes, untargeted: untargeted.length, wronglyWoken },
      rows: [
        valueRow(
          "one-service change: its 100 subscribers all answered (PUT → last)",
          percentile(wakes, 50),
          "ms",
          { op: "<=", bound: 100 },
          `median of ${rounds} changes, max ${Math.max(...wakes).toFixed(1)} ms; 10,000 subscribers, 100 identities, 1,000 policies`,
        ),
        valueRow(
          "compile per change (1,000 policies, then 100 identities' rule sets)",
          percentile(compiles, 50),
          "ms",
          undefined,
          `policies ${percentile(
            changes.map((c) => c.compileMs),
            50,
          ).toFixed(2)} ms + identities ${percentile(
            changes.map((c) => c.identitiesMs),
            50,
          ).toFixed(
            2,
          )} ms; identities changed per change: ${[...new Set(changes.map((c) => c.identitiesChanged))].join(", ")}`,
        ),
        valueRow(
          "untargeted subscribers answered",
          wronglyWoken,
          "",
          { op: "<=", bound: 0 },
          `of ${untargeted.length}, over ${rounds} changes and 1 s after`,
        ),
      ],
      notes: [
        "Subscribers are raw HTTP/1.1 connections from the bench process (Bun, node:net), each holding a long-poll with the identity of its service's rule set, as the filter sends it; the server is the real dist/hfi serve with the memory store, on the same 2 cores.",
        "Compile time comes from the server's own `config compiled` log line: compileMs (every policy to its rule) plus identitiesMs (each cached identity's rule set selected, serialized and hashed).",
      ],
    };
  } finally {
    for (const c of connections) c.close();
    await terminate(hfi.proc);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface CompiledLine {
  compileMs: number;
  identitiesMs: number;
  identitiesChanged: number;
}

function compiledLines(file: string): CompiledLine[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.includes('"config compiled"'))
    .map((line) => JSON.parse(line) as CompiledLine);
}
