/**
 * Envoy configurations for the data-plane and footprint benchmarks: listeners that answer every
 * request with a `direct_response` (no upstream), each with its own HTTP filter chain in front of
 * the router, plus a cluster for the RuleSet stub the hfi filters long-poll.
 */

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};
export const STUB_CLUSTER = "bench_stub";

// biome-ignore lint/suspicious/noExplicitAny: an Envoy config is a free-form tree
type Json = any;

export interface ListenerSpec {
  /** Also the listener's stat_prefix. */
  name: string;
  port: number;
  /** HTTP filters before the router. */
  filters: Json[];
}

/** Envoy's native fault filter. `headers` restricts it to requests carrying them (B: never). */
export function nativeFault(fault: {
  abortStatus?: number;
  delayMs?: number;
  headers?: { name: string; exact: string }[];
}): Json {
  const hundred = { numerator: 100, denominator: "HUNDRED" };
  return {
    name: "envoy.filters.http.fault",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      ...(fault.abortStatus !== undefined && {
        abort: { http_status: fault.abortStatus, percentage: hundred },
      }),
      ...(fault.delayMs !== undefined && {
        delay: { fixed_delay: `${fault.delayMs / 1000}s`, percentage: hundred },
      }),
      ...(fault.headers && {
        headers: fault.headers.map((h) => ({ name: h.name, string_match: { exact: h.exact } })),
      }),
    },
  };
}

/**
 * Envoy's buffer filter: holds a request until its whole body is in. A `direct_response` sent before
 * the body is read closes the HTTP/1 connection (checked: one connection per request for a 1 KiB
 * POST), so a listener that receives bodies needs it before the router to measure requests, not
 * connections.
 */
export function bufferFilter(maxRequestBytes: number): Json {
  return {
    name: "envoy.filters.http.buffer",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
      max_request_bytes: maxRequestBytes,
    },
  };
}

/**
 * A proxy-wasm filter. `vmId` decides VM sharing: filters with the same vm_id and code share one VM
 * per thread (each plugin still gets its own root context there).
 */
export function wasmFilter(options: {
  name: string;
  vmId: string;
  wasmFile: string;
  configuration: string;
}): Json {
  return {
    name: "envoy.filters.http.wasm",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
      config: {
        name: options.name,
        root_id: "hfi",
        failure_policy: "FAIL_OPEN",
        // As every shipped configuration: request bodies reach the filter while it holds the headers.
        allow_on_headers_stop_iteration: true,
        configuration: {
          "@type": "type.googleapis.com/google.protobuf.StringValue",
          value: options.configuration,
        },
        vm_config: {
          vm_id: options.vmId,
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { filename: options.wasmFile } },
        },
      },
    },
  };
}

/** The hfi filter polling the stub; `authority` picks its RuleSet there. */
export function hfiFilter(options: {
  authority: string;
  wasmFile: string;
  vmId?: string;
  /** 0 turns the filter's observations off; default: HFI_BENCH_REPORT_INTERVAL_MS, else the filter's own. */
  reportIntervalMs?: number;
}): Json {
  const reportIntervalMs =
    options.reportIntervalMs ??
    (process.env.HFI_BENCH_REPORT_INTERVAL_MS === undefined
      ? undefined
      : Number(process.env.HFI_BENCH_REPORT_INTERVAL_MS));
  return wasmFilter({
    name: `hfi-${options.authority}`,
    vmId: options.vmId ?? `hfi-${options.authority}`,
    wasmFile: options.wasmFile,
    configuration: JSON.stringify({
      cluster: STUB_CLUSTER,
      bodyMatching: true,
      authority: options.authority,
      pollWaitSeconds: 60,
      ...(reportIntervalMs !== undefined && { reportIntervalMs }),
    }),
  });
}

function listener(spec: ListenerSpec): Json {
  return {
    name: spec.name,
    address: { socket_address: { address: "127.0.0.1", port_value: spec.port } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: spec.name,
              codec_type: "HTTP1",
              // As every shipped config (deploy/envoy/envoy.yaml), so the cost is measured with them.
              normalize_path: true,
              merge_slashes: true,
              route_config: {
                name: spec.name,
                virtual_hosts: [
                  {
                    name: "bench",
                    domains: ["*"],
                    routes: [
                      {
                        match: { prefix: "/" },
                        direct_response: { status: 200, body: { inline_string: "ok\n" } },
                      },
                    ],
                  },
                ],
              },
              http_filters: [...spec.filters, ROUTER],
            },
          },
        ],
      },
    ],
  };
}

export function envoyConfig(options: {
  adminPort: number;
  stubPort: number;
  listeners: ListenerSpec[];
}): Json {
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: options.adminPort } } },
    static_resources: {
      listeners: options.listeners.map(listener),
      clusters: [
        {
          name: STUB_CLUSTER,
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: STUB_CLUSTER,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: { socket_address: { address: "127.0.0.1", port_value: options.stubPort } },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}

export function envoyArgs(envoyBin: string, configFile: string, concurrency: number): string[] {
  return [
    envoyBin,
    "-c",
    configFile,
    "--concurrency",
    String(concurrency),
    "--disable-hot-restart",
    "--log-level",
    "warn",
  ];
}
