import { parseArgs } from "citty";
import { createClient, type HfiClient } from "../../client/index.ts";
import { clientArgs, DEFAULT_CONTROL_PLANE_ADDR, DEFAULT_TIMEOUT } from "./args.ts";
import { parseDuration } from "./duration.ts";
import { CommandError } from "./errors.ts";

export interface GlobalOptions {
  baseUrl: string;
  timeoutMs: number;
  token: string | undefined;
  debug: boolean;
}

/** Flag, then environment, then default; from anywhere on the command line. */
export function resolveGlobalOptions(
  rawArgs: string[],
  env: Record<string, string | undefined> = process.env,
): GlobalOptions {
  const args = parseArgs<typeof clientArgs>(rawArgs, clientArgs);
  const address = args["control-plane-addr"] || env.HFI_CONTROL_PLANE_ADDR || DEFAULT_CONTROL_PLANE_ADDR;
  const timeout = args.timeout ?? DEFAULT_TIMEOUT;
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === undefined) {
    throw new CommandError(`invalid --timeout "${timeout}": expected a duration such as 30s, 1m or 500ms`);
  }
  return {
    baseUrl: parseAddress(address),
    timeoutMs,
    token: args.token || env.HFI_TOKEN || undefined,
    debug: args.debug === true,
  };
}

/** `host:port` alone means http://host:port, as kubectl's --server does. */
function parseAddress(address: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
    return url.href.replace(/\/+$/, "");
  } catch {
    throw new CommandError(
      `invalid --control-plane-addr "${address}": expected a URL such as ${DEFAULT_CONTROL_PLANE_ADDR}`,
    );
  }
}

export function isDebug(rawArgs: string[] = process.argv.slice(2)): boolean {
  return parseArgs<typeof clientArgs>(rawArgs, clientArgs).debug === true;
}

let client: HfiClient | undefined;

/** The one API client of this process, from the global flags. */
export function useClient(): HfiClient {
  if (client) return client;
  const { baseUrl, timeoutMs, token, debug } = resolveGlobalOptions(process.argv.slice(2));
  client = createClient({
    baseUrl,
    timeoutMs,
    token,
    trace: debug ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  return client;
}
