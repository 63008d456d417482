import { defineCommand } from "citty";
import type { ProxyStatus } from "../../../api-types.ts";
import type { HfiClient } from "../../../client/index.ts";
import { type Selector, selects } from "../../../policy/index.ts";
import { clientArgs, namespaceArgs } from "../../common/args.ts";
import { forEachObject } from "../../common/batch.ts";
import { useClient } from "../../common/context.ts";
import { loadPolicyDocuments } from "../../common/documents.ts";
import { CommandError } from "../../common/errors.ts";
import { timeLeft } from "../../common/format/expiry.ts";
import { type WaitTargets, waitArgs, waitForProxies, waitTimeoutMs } from "../../common/wait.ts";

export default defineCommand({
  meta: {
    name: "apply",
    description: "Create or update policies from YAML or JSON (files, a directory, or - for stdin)",
  },
  args: {
    ...clientArgs,
    ...namespaceArgs,
    filename: {
      type: "string",
      alias: "f",
      valueHint: "FILE|DIR|-",
      description:
        "A YAML/JSON file (multi-document allowed), a directory of *.yaml|*.yml|*.json, or - for stdin",
    },
    ...waitArgs,
  },
  async run({ args, rawArgs }) {
    if (!args.filename) throw new CommandError("must specify -f FILE, a directory, or - for stdin");
    if (args._.length > 0)
      throw new CommandError(`unexpected argument "${args._[0]}" (a --wait timeout is --wait=30s)`);
    const timeoutMs = waitTimeoutMs(args.wait, rawArgs);
    // Everything is validated before anything is sent.
    const documents = await loadPolicyDocuments(args.filename);
    const namespace = args.namespace || undefined;
    for (const { policy } of documents) checkNamespace(policy.metadata.namespace, namespace);
    const client = useClient();
    /** The newest revision holding an applied object: what the proxies must reach for --wait. */
    let revision = 0;
    /** The selectors of the applied policies (as they apply), by namespace/name; undefined for none. */
    const selectors = new Map<string, Selector | undefined>();
    await forEachObject(documents, async ({ policy }) => {
      const { name } = policy.metadata;
      const inNamespace = namespace ?? policy.metadata.namespace;
      const before = await client.findPolicy(name, inNamespace);
      const { policy: after, created } = await client.putPolicy(policy, inNamespace);
      selectors.set(`${after.metadata.namespace}/${name}`, after.spec.selector);
      revision = Math.max(revision, Number(after.metadata.resourceVersion));
      const unchanged = before?.metadata.resourceVersion === after.metadata.resourceVersion;
      // Same spec, new resourceVersion: a timed policy applied again, its clock restarted.
      const renewed = !unchanged && before?.metadata.generation === after.metadata.generation;
      const outcome = created ? "created" : unchanged ? "unchanged" : renewed ? "renewed" : "configured";
      const expiresAt = after.status?.expiresAt;
      const expiry = expiresAt ? ` (expires in ${timeLeft(expiresAt, new Date())})` : "";
      console.log(`faultinjectionpolicy.hfi.dev/${name} ${outcome}${expiry}`);
    });
    const targeted = [...selectors.values()].some((s) => s !== undefined);
    if (targeted) await warnUntargeted(client, selectors, timeoutMs !== undefined);
    if (timeoutMs !== undefined && revision > 0) {
      await waitForProxies(client, revision, timeoutMs, targeted ? targetsOf(selectors) : undefined);
    }
  },
});

/** kubectl's rule: a document's own namespace must be the one `--namespace` names, if both are given. */
function checkNamespace(own: string | undefined, flag: string | undefined): void {
  if (own === undefined || flag === undefined || own === flag) return;
  throw new CommandError(
    `the namespace from the provided object "${own}" does not match the namespace "${flag}". You must pass '--namespace=${own}' to perform this operation.`,
  );
}

/** The proxies the applied policies target: those one of their selectors picks (no selector: every proxy). */
function targetsOf(selectors: Map<string, Selector | undefined>): WaitTargets {
  return { select: (proxy) => [...selectors.values()].some((selector) => selects(selector, proxy)) };
}

/**
 * A warning on stderr for each selector that picks no live proxy. The policies are stored already:
 * without --wait (`required` false) a status that cannot be read only means no warning.
 */
async function warnUntargeted(
  client: HfiClient,
  selectors: Map<string, Selector | undefined>,
  required: boolean,
): Promise<void> {
  let live: ProxyStatus[];
  try {
    live = (await client.getProxies()).proxies.filter((proxy) => proxy.live);
  } catch (error) {
    if (required) throw error;
    return;
  }
  for (const [key, selector] of selectors) {
    if (selector !== undefined && !live.some((proxy) => selects(selector, proxy))) {
      console.error(`warning: ${key.slice(key.indexOf("/") + 1)}: its selector targets no live proxy`);
    }
  }
}
