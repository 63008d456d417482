import { defineCommand } from "citty";
import { clientArgs } from "../../_args.ts";
import { forEachObject } from "../../_batch.ts";
import { useClient } from "../../_context.ts";
import { loadPolicyDocuments } from "../../_documents.ts";
import { CLIError } from "../../_errors.ts";

export default defineCommand({
  meta: {
    name: "apply",
    description: "Create or update policies from YAML or JSON (files, a directory, or - for stdin)",
  },
  args: {
    ...clientArgs,
    filename: {
      type: "string",
      alias: "f",
      valueHint: "FILE|DIR|-",
      description:
        "A YAML/JSON file (multi-document allowed), a directory of *.yaml|*.yml|*.json, or - for stdin",
    },
  },
  async run({ args }) {
    if (!args.filename) throw new CLIError("must specify -f FILE, a directory, or - for stdin");
    // Everything is validated before anything is sent.
    const documents = await loadPolicyDocuments(args.filename);
    const client = useClient();
    await forEachObject(documents, async ({ policy }) => {
      const { name } = policy.metadata;
      const before = await client.findPolicy(name);
      const { policy: after, created } = await client.putPolicy(policy);
      const unchanged = before?.metadata.resourceVersion === after.metadata.resourceVersion;
      console.log(
        `faultinjectionpolicy.hfi.dev/${name} ${created ? "created" : unchanged ? "unchanged" : "configured"}`,
      );
    });
  },
});
