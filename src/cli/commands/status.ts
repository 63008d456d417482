import { defineCommand } from "citty";
import { stringify } from "yaml";
import { hasApplied } from "../../client/index.ts";
import { describeHalt } from "../../store/index.ts";
import { clientArgs, outputArgs } from "../common/args.ts";
import { useClient } from "../common/context.ts";
import { humanDuration } from "../common/format/age.ts";
import { renderTable } from "../common/format/table.ts";

export default defineCommand({
  meta: {
    name: "status",
    description:
      "The revision served, how many proxies have applied it, whether the fleet is halted, and its leader",
  },
  args: {
    ...clientArgs,
    ...outputArgs,
    service: {
      type: "string",
      valueHint: "name",
      description: "Only the proxies that say they serve this service",
    },
  },
  async run({ args }) {
    const client = useClient();
    const [all, halt, fleet] = await Promise.all([client.getProxies(), client.getHalt(), client.getStatus()]);
    const proxies =
      args.service === undefined
        ? all
        : { ...all, proxies: all.proxies.filter((p) => p.service === args.service) };
    const { replica, leader, replicas } = fleet;
    if (args.output === "json" || args.output === "yaml") {
      const value = { ...proxies, halt, replica, leader, replicas };
      process.stdout.write(args.output === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value));
      return;
    }
    const { revision } = proxies;
    const live = proxies.proxies.filter((p) => p.live);
    const current = live.filter((p) => hasApplied(p, revision, proxies)).length;
    const stale = proxies.proxies.length - live.length;
    const halted = halt.halted ? `yes (${describeHalt(halt)})` : "no";
    const staleNote = stale > 0 ? ` (${stale} not seen lately)` : "";
    console.log(
      `revision ${revision}: ${current}/${live.length} proxies${staleNote}, halted: ${halted}, ` +
        `leader: ${leader ?? "none (electing)"}, replicas: ${replicas.length}`,
    );
    if (args.output !== "wide" || proxies.proxies.length === 0) return;
    const now = Date.now();
    const rows = proxies.proxies.map((p) => [
      p.node,
      p.worker || "-",
      p.service || "-",
      p.namespace || "-",
      p.revision === null ? "<none>" : String(p.revision),
      humanDuration(now - Date.parse(p.lastSeen)),
      p.polling ? "yes" : "no",
      p.live ? "yes" : "no",
      p.replica,
    ]);
    console.log(
      renderTable(
        ["NODE", "WORKER", "SERVICE", "NAMESPACE", "REVISION", "LAST-SEEN", "POLLING", "LIVE", "REPLICA"],
        rows,
      ),
    );
  },
});
