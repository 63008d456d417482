import type { ArgDef } from "citty";
import type { ProxyStatus } from "../../api-types.ts";
import { type HfiClient, type ProxyFilter, waitForPropagation } from "../../client/index.ts";
import { parseDuration } from "./duration.ts";
import { CommandError } from "./errors.ts";
import { humanDuration } from "./format/age.ts";

export const DEFAULT_WAIT = "60s";

/**
 * `--wait[=TIMEOUT]`. A boolean for citty, so that `--wait -f x` does not take `-f` as its value;
 * the timeout is read from the raw `--wait=…` by waitTimeoutMs.
 */
export const waitArgs = {
  wait: {
    type: "boolean",
    description: `Return once every live proxy the change targets has applied it; --wait=TIMEOUT (default ${DEFAULT_WAIT}) bounds it`,
  },
} as const satisfies Record<string, ArgDef>;

/** The wait's timeout in ms, or undefined without --wait. */
export function waitTimeoutMs(wait: boolean | undefined, rawArgs: string[]): number | undefined {
  if (!wait) return undefined;
  const given = rawArgs.findLast((arg) => arg.startsWith("--wait="))?.slice("--wait=".length);
  const text = given === undefined || /^(?:true|)$/.test(given) ? DEFAULT_WAIT : given;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new CommandError(`invalid --wait "${text}": expected a timeout such as 30s or 2m`);
  }
  return ms;
}

/** Which proxies to wait for: those `select` picks ("targeted proxies"), or every one. */
export interface WaitTargets {
  select: ProxyFilter;
}

/**
 * Waits until every live proxy polling the control plane (or every targeted one) has applied
 * `revision`, then says how long it took (stdout). Past the timeout it fails, naming each proxy that
 * has not. With no live proxy (no live targeted one) it fails too: nothing confirmed the change, and
 * a runbook's `hfi halt --wait` must not pass then.
 */
export async function waitForProxies(
  client: HfiClient,
  revision: number,
  timeoutMs: number,
  targets?: WaitTargets,
): Promise<void> {
  const result = await waitForPropagation(client, revision, { timeoutMs, targets: targets?.select });
  const total = result.live.length;
  const proxies = targets ? "targeted proxies" : "proxies";
  if (total === 0) {
    const none = targets ? "no live proxy is targeted" : `no proxy is polling ${client.baseUrl}`;
    throw new CommandError(
      `${none}, so none has confirmed revision ${revision} (the change itself is made)`,
      "Unavailable",
    );
  }
  const took = seconds(result.elapsedMs);
  if (result.done) {
    console.log(`revision ${revision} applied by ${total}/${total} ${proxies} in ${took}`);
    return;
  }
  const applied = total - result.laggards.length;
  throw new CommandError(
    `timed out after ${took}: revision ${revision} applied by ${applied}/${total} ${proxies}; not by:`,
    "Unavailable",
    // "Last seen" is measured from now, after the wait: a proxy seen during it is seconds ago, not in the future.
    result.laggards.map((proxy) => describeLaggard(proxy, new Date())),
  );
}

function describeLaggard(proxy: ProxyStatus, now: Date): string {
  const at = proxy.revision === null ? "no config yet" : `at revision ${proxy.revision}`;
  const seen = humanDuration(now.getTime() - Date.parse(proxy.lastSeen));
  const polling = proxy.polling ? ", polling" : "";
  return `${proxy.node}/${proxy.worker || "-"}: ${at}, last seen ${seen} ago${polling}, via replica ${proxy.replica}`;
}

/** `0.42s`, `12.3s`: how long the wait took. */
function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(1)}s`;
}
