import { defineCommand } from "citty";
import { allNamespacesArgs, clientArgs, namespaceArgs, outputArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";
import { formatPolicies } from "../../common/format/policies.ts";

export default defineCommand({
  meta: { name: "get", description: "List policies, or show one" },
  args: {
    ...clientArgs,
    ...outputArgs,
    ...namespaceArgs,
    ...allNamespacesArgs,
    name: { type: "positional", required: false, description: "Policy name; every policy when omitted" },
  },
  async run({ args }) {
    if (args._.length > 1) throw new CommandError(`expected at most one NAME, got ${args._.length}`);
    const allNamespaces = args["all-namespaces"] === true;
    if (allNamespaces && args.name !== undefined) {
      throw new CommandError("a resource cannot be retrieved by name across all namespaces");
    }
    const namespace = args.namespace || undefined;
    const client = useClient();
    const { items, revision } = args.name
      ? { items: [await client.getPolicy(args.name, namespace)], revision: undefined }
      : await client.listPolicies({ namespace, allNamespaces });
    const format = args.output;
    if (items.length === 0 && (format === "table" || format === "wide")) {
      console.error(
        namespace && !allNamespaces ? `No resources found in ${namespace} namespace.` : "No resources found",
      );
      return;
    }
    const single = args.name !== undefined;
    const observed =
      format === "wide"
        ? new Map((await client.listObservations()).policies.map((o) => [o.name, o.summary]))
        : undefined;
    process.stdout.write(
      formatPolicies(items, {
        format,
        now: new Date(),
        single,
        revision,
        observed,
        namespaces: allNamespaces,
      }),
    );
  },
});
