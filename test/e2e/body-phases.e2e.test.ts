/**
 * What the test host models of bodies, checked against the real Envoy 1.40 with the host's probe
 * module (test/proxy-wasm-host/probe/body-probe.ts: pauses request headers until a tick it never
 * sets here, buffers bodies to their end, logs each body callback, rewrites what it buffered):
 * - by default (`allow_on_headers_stop_iteration` off) the filter's PAUSE stops body callbacks too:
 *   no on_request_body arrives, the request waits;
 * - with it on, on_request_body arrives while the headers are held, sized by everything buffered so
 *   far, and its Continue releases the headers; a response body buffered to its end is rewritten.
 * Requires scripts/setup.sh (Envoy).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeWasm } from "../proxy-wasm-host/probe/compile.ts";
import { ENVOY_BIN } from "../support/paths.ts";
import { freePorts } from "../support/ports.ts";
import { type Spawned, spawnLogged, terminate, waitForUrl } from "../support/process.ts";

let envoy: Spawned | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (envoy) await terminate(envoy.proc);
  if (dir) rmSync(dir, { recursive: true, force: true });
  envoy = dir = undefined;
});

/** Envoy with the probe in front of a direct response; the listener's URL and the probe's log lines. */
async function envoyWithProbe(allowOnHeadersStopIteration: boolean) {
  dir = mkdtempSync(join(tmpdir(), "hfi-probe-"));
  const wasm = join(dir, "probe.wasm");
  writeFileSync(wasm, await probeWasm());
  const [port, admin] = await freePorts(2);
  const config = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
    static_resources: {
      listeners: [
        {
          address: { socket_address: { address: "127.0.0.1", port_value: port } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type":
                      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "probe",
                    route_config: {
                      virtual_hosts: [
                        {
                          name: "all",
                          domains: ["*"],
                          routes: [
                            {
                              match: { prefix: "/" },
                              direct_response: { status: 200, body: { inline_string: "reached the router" } },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: "envoy.filters.http.wasm",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                          config: {
                            allow_on_headers_stop_iteration: allowOnHeadersStopIteration,
                            vm_config: {
                              runtime: "envoy.wasm.runtime.v8",
                              code: { local: { filename: wasm } },
                            },
                          },
                        },
                      },
                      {
                        name: "envoy.filters.http.router",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
                        },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
  const configPath = join(dir, "envoy.json");
  writeFileSync(configPath, JSON.stringify(config));
  const log = join(dir, "envoy.log");
  envoy = spawnLogged(
    [ENVOY_BIN, "-c", configPath, "--disable-hot-restart", "--concurrency", "1", "-l", "info"],
    log,
  );
  await waitForUrl(`http://127.0.0.1:${admin}/ready`, envoy);
  const probeLog = () =>
    readFileSync(log, "utf8")
      .split("\n")
      .flatMap((line) => /wasm log: ((?:request|response) \d+ \d)$/.exec(line)?.[1] ?? []);
  return { url: `http://127.0.0.1:${port}/x`, probeLog };
}

const post = (url: string, signal?: AbortSignal) =>
  fetch(url, { method: "POST", body: "hello body", headers: { "content-type": "text/plain" }, signal });

describe("request and response bodies in real Envoy", () => {
  test("by default a paused request gets no body callback and waits", async () => {
    const { url, probeLog } = await envoyWithProbe(false);
    const outcome = await post(url, AbortSignal.timeout(1_500)).then(
      (r) => `status ${r.status}`,
      () => "still waiting",
    );
    expect(outcome).toBe("still waiting");
    expect(probeLog()).toEqual([]);
  }, 30_000);

  test("with allow_on_headers_stop_iteration the body arrives while the headers are held; its Continue releases them", async () => {
    const { url, probeLog } = await envoyWithProbe(true);
    const res = await post(url, AbortSignal.timeout(5_000));
    expect([res.status, await res.text()]).toEqual([200, "<reached the router>"]);
    // The 10-byte body, then its end: each call sees all that is buffered so far.
    expect(probeLog()).toEqual(["request 10 0", "request 10 1", "response 18 1"]);
  }, 30_000);
});
