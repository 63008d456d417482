import { defineCommand } from "citty";
import { allNamespacesArgs, clientArgs, namespaceArgs } from "../../common/args.ts";
import { forEachObject } from "../../common/batch.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";

export default defineCommand({
  meta: { name: "delete", description: "Delete the named policies, or all of them with --all" },
  args: {
    ...clientArgs,
    ...namespaceArgs,
    ...allNamespacesArgs,
    name: { type: "positional", required: false, description: "Policy name(s)" },
    all: {
      type: "boolean",
      description: "Delete every policy of the namespace (of every namespace with -A)",
    },
  },
  async run({ args }) {
    const client = useClient();
    if (args.all && args._.length > 0) throw new CommandError("give policy names or --all, not both");
    if (!args.all && args._.length === 0)
      throw new CommandError("give the name of a policy to delete, or --all");
    const allNamespaces = args["all-namespaces"] === true;
    if (allNamespaces && !args.all) {
      throw new CommandError("a resource cannot be retrieved by name across all namespaces");
    }
    const namespace = args.namespace || undefined;
    const targets = args.all
      ? (await client.listPolicies({ namespace, allNamespaces })).items.map((p) => p.metadata)
      : args._.map((name) => ({ name, namespace }));
    if (targets.length === 0) {
      console.error(
        namespace && !allNamespaces ? `No resources found in ${namespace} namespace.` : "No resources found",
      );
    }
    await forEachObject(targets, async (target) => {
      await client.deletePolicy(target.name, target.namespace);
      console.log(`faultinjectionpolicy.hfi.dev/${target.name} deleted`);
    });
  },
});
