import type { FleetStatus, HaltStatus, ProxiesStatus, ProxyStatus } from "../../api-types.ts";
import { humanDuration } from "../../cli/common/format/age.ts";
import { hasApplied } from "../../client/propagation.ts";
import { api } from "./api.ts";
import { confirmDialog } from "./dialog.ts";
import { type Child, h, present, table } from "./dom.ts";
import type { Page } from "./page.ts";

/** Proxies report by polling, which the config stream does not carry: their table is read this often. */
const PROXIES_REFRESH_MS = 2000;

/** The halt switch, the control plane's replicas and leader, and the proxies grouped by the service they say they serve. */
export const overviewPage: Page = (main, context) => {
  const haltPanel = h("section", { class: "panel", "aria-labelledby": "halt-title" });
  const replicas = h("section", { "aria-labelledby": "replicas-title" });
  const fleet = h("section", { "aria-labelledby": "fleet-title" });
  main.append(h("h1", { tabindex: -1 }, "Overview"), haltPanel, replicas, fleet);

  // The halt panel is redrawn only when the halt changed, so that a click on its button is never lost.
  let shownHalt = "";
  const refresh = async () => {
    const [halt, status, proxies] = await Promise.all([
      api<HaltStatus>("GET", "/v1/halt"),
      api<FleetStatus>("GET", "/v1/status"),
      api<ProxiesStatus>("GET", "/v1/status/proxies"),
    ]);
    replicas.replaceChildren(...present(renderReplicas(status)));
    if (JSON.stringify(halt) !== shownHalt) {
      shownHalt = JSON.stringify(halt);
      haltPanel.replaceChildren(...present(renderHalt(halt, context.canWrite, refresh, context.announce)));
    }
    // Redrawn every time (last seen moves on); a keyboard user's place in a table is kept.
    const regions = () => [...fleet.querySelectorAll<HTMLElement>(".scroll")];
    const focused = regions().indexOf(document.activeElement as HTMLElement);
    const scrolled = regions().map((region) => region.scrollLeft);
    fleet.replaceChildren(...present(renderFleet(proxies, Date.now())));
    regions().forEach((region, i) => {
      region.scrollLeft = scrolled[i] ?? 0;
      if (i === focused) region.focus({ preventScroll: true });
    });
  };
  const timer = setInterval(() => void refresh().catch(context.failed), PROXIES_REFRESH_MS);
  return { refresh, dispose: () => clearInterval(timer) };
};

function renderHalt(
  halt: HaltStatus,
  canWrite: boolean,
  refresh: () => Promise<void>,
  announce: (message: string) => void,
): Child[] {
  const title = h("h2", { id: "halt-title" }, "Fault injection");
  if (!halt.halted) {
    return [
      title,
      h("p", { class: "state running" }, "Running: policies inject their faults."),
      canWrite &&
        h(
          "button",
          {
            class: "danger big",
            onclick: async () => {
              const reason = await confirmDialog({
                title: "Halt every fault?",
                message:
                  "Every proxy stops injecting faults at once, until the fleet is resumed. Policies are kept.",
                confirm: "Halt all faults",
                reason: true,
              });
              if (reason === undefined) return;
              await api("POST", "/v1/halt", {
                text: JSON.stringify(reason ? { reason } : {}),
                type: "application/json",
              });
              announce("Fleet halted");
              await refresh();
            },
          },
          "Halt all faults",
        ),
    ];
  }
  return [
    title,
    h("p", { class: "state halted" }, "Halted: no proxy injects any fault."),
    h(
      "dl",
      {},
      h("dt", {}, "Reason"),
      h("dd", {}, halt.reason || "none given"),
      h("dt", {}, "By"),
      h("dd", {}, halt.by || "unknown"),
      h("dt", {}, "Since"),
      h("dd", {}, h("time", { datetime: halt.since }, halt.since)),
    ),
    canWrite &&
      h(
        "button",
        {
          class: "big",
          onclick: async () => {
            const confirmed = await confirmDialog({
              title: "Resume fault injection?",
              message: "Every proxy starts injecting the faults its policies ask for again.",
              confirm: "Resume",
            });
            if (confirmed === undefined) return;
            await api("DELETE", "/v1/halt");
            announce("Fleet resumed");
            await refresh();
          },
        },
        "Resume",
      ),
  ];
}

function renderReplicas({ replica, leader, replicas }: FleetStatus): Child[] {
  const leading =
    leader === null
      ? "No leader right now: one is being elected."
      : `Leader: ${leader}${leader === replica ? " (this replica)" : ""}.`;
  return [
    h("h2", { id: "replicas-title" }, "Control plane"),
    h(
      "p",
      { class: "summary" },
      `${replicas.length} ${replicas.length === 1 ? "replica" : "replicas"} live. ${leading} Answering: ${replica}.`,
    ),
    replicas.length > 1 &&
      h(
        "ul",
        { class: "replicas" },
        replicas.map((name) => h("li", {}, name)),
      ),
  ];
}

function renderFleet(status: ProxiesStatus, now: number): Child[] {
  const live = status.proxies.filter((p) => p.live);
  const current = live.filter((p) => hasApplied(p, status.revision, status)).length;
  const groups = new Map<string, ProxyStatus[]>();
  for (const proxy of status.proxies) {
    const key = `${proxy.service || "(no service)"}${proxy.namespace ? ` · ${proxy.namespace}` : ""}`;
    groups.set(key, [...(groups.get(key) ?? []), proxy]);
  }
  return [
    h("h2", { id: "fleet-title" }, "Proxies"),
    h(
      "p",
      { class: "summary" },
      `Revision ${status.revision} (rule set ${status.id}): ${current} of ${live.length} live proxies have it`,
      status.proxies.length > live.length ? `; ${status.proxies.length - live.length} not seen lately` : "",
      ".",
    ),
    status.proxies.length === 0 ? h("p", {}, "No proxy has polled this control plane yet.") : null,
    ...[...groups]
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([service, proxies]) => [
        h("h3", {}, `${service} — ${proxies.length} ${proxies.length === 1 ? "proxy" : "proxies"}`),
        table(
          `Proxies of ${service}`,
          [
            "Node",
            "Worker",
            "Rule set applied",
            "Rule set served",
            "Revision",
            "Last seen",
            "Replica",
            "State",
          ],
          proxies.map((p) => [
            p.node,
            p.worker || "-",
            h("code", {}, p.ruleSetId ?? "<none>"),
            h("code", {}, p.servedId ?? status.id),
            p.revision === null ? "<none>" : String(p.revision),
            `${humanDuration(now - Date.parse(p.lastSeen))} ago`,
            p.replica,
            !p.live ? "gone" : hasApplied(p, status.revision, status) ? "current" : "behind",
          ]),
        ),
      ]),
  ];
}
