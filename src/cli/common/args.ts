import type { ArgDef } from "citty";

export const DEFAULT_CONTROL_PLANE_ADDR = "http://localhost:8080";
export const DEFAULT_TIMEOUT = "30s";

/**
 * Flags of every command that talks to the control plane. They are read once, from the whole
 * command line (context.ts), so they may stand before or after the command name; declaring them on
 * each command lets its parser and its --help know them. No `default` here: a flag must be told
 * apart from its environment variable.
 */
export const clientArgs = {
  "control-plane-addr": {
    type: "string",
    valueHint: "url",
    description: `Control plane address (env HFI_CONTROL_PLANE_ADDR; default ${DEFAULT_CONTROL_PLANE_ADDR})`,
  },
  timeout: {
    type: "string",
    valueHint: "duration",
    description: `Per-request timeout such as 5s or 1m; 0 waits forever (default ${DEFAULT_TIMEOUT})`,
  },
  token: {
    type: "string",
    valueHint: "token",
    description: "Bearer token sent to the control plane (env HFI_TOKEN)",
  },
  debug: {
    type: "boolean",
    description: "Print HTTP requests and stack traces on stderr",
  },
} as const satisfies Record<string, ArgDef>;

export const OUTPUT_FORMATS = ["table", "wide", "yaml", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const outputArgs = {
  output: {
    type: "enum",
    alias: "o",
    options: [...OUTPUT_FORMATS],
    default: "table",
    description: "Output format",
  },
} as const satisfies Record<string, ArgDef>;

/** Which namespace a policy command means, as kubectl's flags say it. */
export const namespaceArgs = {
  namespace: {
    type: "string",
    alias: "n",
    valueHint: "name",
    description: "The namespace of the policies (default: the control plane's own)",
  },
} as const satisfies Record<string, ArgDef>;

export const allNamespacesArgs = {
  "all-namespaces": {
    type: "boolean",
    alias: "A",
    description: "Every namespace's policies (a NAMESPACE column in tables); overrides --namespace",
  },
} as const satisfies Record<string, ArgDef>;
