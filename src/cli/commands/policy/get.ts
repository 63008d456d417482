import { defineCommand } from "citty";
import { clientArgs, outputArgs } from "../../common/args.ts";
import { useClient } from "../../common/context.ts";
import { CommandError } from "../../common/errors.ts";
import { formatPolicies } from "../../common/format/policies.ts";

export default defineCommand({
  meta: { name: "get", description: "List policies, or show one" },
  args: {
    ...clientArgs,
    ...outputArgs,
    name: { type: "positional", required: false, description: "Policy name; every policy when omitted" },
  },
  async run({ args }) {
    if (args._.length > 1) throw new CommandError(`expected at most one NAME, got ${args._.length}`);
    const client = useClient();
    const { items, revision } = args.name
      ? { items: [await client.getPolicy(args.name)], revision: undefined }
      : await client.listPolicies();
    const format = args.output;
    if (items.length === 0 && (format === "table" || format === "wide")) {
      console.error("No resources found");
      return;
    }
    const single = args.name !== undefined;
    const observed =
      format === "wide"
        ? new Map((await client.listObservations()).policies.map((o) => [o.name, o.summary]))
        : undefined;
    process.stdout.write(formatPolicies(items, { format, now: new Date(), single, revision, observed }));
  },
});
