import { defineCommand } from "citty";
import { clientArgs } from "../../common/args.ts";
import { forEachObject } from "../../common/batch.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";

export default defineCommand({
  meta: { name: "delete", description: "Delete the named policies, or all of them with --all" },
  args: {
    ...clientArgs,
    name: { type: "positional", required: false, description: "Policy name(s)" },
    all: { type: "boolean", description: "Delete every policy" },
  },
  async run({ args }) {
    const client = useClient();
    if (args.all && args._.length > 0) throw new CommandError("give policy names or --all, not both");
    if (!args.all && args._.length === 0)
      throw new CommandError("give the name of a policy to delete, or --all");
    const names = args.all ? (await client.listPolicies()).items.map((p) => p.metadata.name) : args._;
    if (names.length === 0) console.error("No resources found");
    await forEachObject(names, async (name) => {
      await client.deletePolicy(name);
      console.log(`faultinjectionpolicy.hfi.dev/${name} deleted`);
    });
  },
});
