import { stringify } from "yaml";
import { humanDuration } from "../../cli/common/format/age.ts";
import { describeFault, describeMatch, type PolicyView } from "../../cli/common/format/describe-policy.ts";
import { timeLeft } from "../../cli/common/format/expiry.ts";
import { describeSelector } from "../../policy/selector.ts";
import type { PolicyList, StoredPolicy } from "../../store/index.ts";
import { api } from "./api.ts";
import { confirmDialog } from "./dialog.ts";
import { h, present, table } from "./dom.ts";
import type { Page } from "./page.ts";

/** Timed policies count down on screen; the list is read again only when the config stream says so. */
const TICK_MS = 1000;

/** The `hfi policy get -o wide` columns, each name leading to the policy. */
export const policiesPage: Page = (main, context) => {
  const body = h("div");
  main.append(
    ...present([
      h("h1", { tabindex: -1 }, "Policies"),
      context.canWrite && h("p", {}, h("a", { href: "#/apply", class: "button" }, "Apply a policy")),
      body,
    ]),
  );
  let policies: StoredPolicy[] = [];
  const render = () => body.replaceChildren(renderList(policies, new Date()));
  const refresh = async () => {
    policies = (await api<PolicyList>("GET", "/v1/policies")).items;
    render();
  };
  const timer = setInterval(() => policies.some((p) => p.status?.expiresAt) && render(), TICK_MS);
  return { refresh, dispose: () => clearInterval(timer) };
};

function renderList(policies: StoredPolicy[], now: Date): Node {
  if (policies.length === 0) return h("p", {}, "No policies.");
  const expires = policies.some((p) => p.status?.expiresAt !== undefined);
  const header = ["Name", "Priority", "Matches", "Faults", "Age", ...(expires ? ["Expires"] : [])];
  header.push("Generation", "Resource version", "Created", "Selector");
  const rows = policies.map((policy) => {
    const p: PolicyView = policy;
    const { name, generation, resourceVersion, creationTimestamp } = p.metadata;
    return [
      h("a", { href: `#/policies/${encodeURIComponent(name)}` }, name),
      String(p.spec.priority ?? 0),
      h("code", {}, describeMatch(p.spec.match)),
      describeFault(p.spec.fault) + (p.spec.mode === "dryRun" ? " (dry run)" : ""),
      creationTimestamp ? humanDuration(now.getTime() - Date.parse(creationTimestamp)) : "<unknown>",
      ...(expires ? [timeLeft(p.status?.expiresAt, now)] : []),
      String(generation ?? "<none>"),
      resourceVersion ?? "<none>",
      creationTimestamp ?? "<none>",
      describeSelector(p.spec.selector),
    ];
  });
  return table(`${policies.length} policies`, header, rows);
}

/** One policy as YAML, as `hfi policy get NAME -o yaml` prints it; edit and delete for writers. */
export const policyPage: Page = (main, context, name) => {
  const body = h("div");
  main.append(h("h1", { tabindex: -1 }, `Policy ${name}`), body);
  let policy: StoredPolicy | undefined;
  const left = h("p", { class: "summary" });
  const tick = () => {
    const expiresAt = policy?.status?.expiresAt;
    left.textContent = expiresAt
      ? `Time left: ${timeLeft(expiresAt, new Date())} (expires ${expiresAt})`
      : "";
  };
  const refresh = async () => {
    policy = await api<StoredPolicy>("GET", `/v1/policies/${encodeURIComponent(name)}`);
    tick();
    body.replaceChildren(
      ...present([
        left,
        context.canWrite
          ? h(
              "div",
              { class: "actions" },
              h("a", { href: `#/apply/${encodeURIComponent(name)}`, class: "button" }, "Edit"),
              h(
                "button",
                {
                  class: "danger",
                  onclick: async () => {
                    const confirmed = await confirmDialog({
                      title: `Delete policy ${name}?`,
                      message: "Its faults stop on every proxy as soon as they have the new rules.",
                      confirm: "Delete",
                    });
                    if (confirmed === undefined) return;
                    await api("DELETE", `/v1/policies/${encodeURIComponent(name)}`);
                    context.announce(`Policy ${name} deleted`);
                    context.navigate("#/policies");
                  },
                },
                "Delete",
              ),
            )
          : null,
        h("pre", { class: "yaml", tabindex: 0, "aria-label": `Policy ${name} as YAML` }, stringify(policy)),
      ]),
    );
  };
  const timer = setInterval(tick, TICK_MS);
  return { refresh, dispose: () => clearInterval(timer) };
};
