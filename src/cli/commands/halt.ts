import { hostname, userInfo } from "node:os";
import { defineCommand } from "citty";
import { describeHalt, type Halt } from "../../store/index.ts";
import { clientArgs } from "../common/args.ts";
import { useClient } from "../common/context.ts";
import { waitArgs, waitForProxies, waitTimeoutMs } from "../common/wait.ts";

export default defineCommand({
  meta: {
    name: "halt",
    description: "Stop every fault on every proxy at once, and refuse policy changes until `hfi resume`",
  },
  args: {
    ...clientArgs,
    ...waitArgs,
    reason: { type: "string", valueHint: "text", description: "Why; shown by `hfi status` and in refusals" },
  },
  async run({ args, rawArgs }) {
    const timeoutMs = waitTimeoutMs(args.wait, rawArgs);
    const client = useClient();
    const { status, created } = await client.halt({ reason: args.reason, by: whoAmI() });
    if (!status.halted) throw new Error("the control plane answered the halt with halted: false");
    const halt: Halt = status;
    console.log(
      created
        ? `halted ${describeHalt(halt)} (revision ${halt.revision}); policy changes are refused until \`hfi resume\``
        : `already halted ${describeHalt(halt)} (revision ${halt.revision})`,
    );
    if (timeoutMs !== undefined) await waitForProxies(client, halt.revision, timeoutMs);
  },
});

/** `user@host`, as the halt's `by`; undefined when the system cannot say. */
function whoAmI(): string | undefined {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return undefined;
  }
}
