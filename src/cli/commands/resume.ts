import { defineCommand } from "citty";
import { describeHalt } from "../../store/index.ts";
import { clientArgs } from "../common/args.ts";
import { useClient } from "../common/context.ts";
import { waitArgs, waitForProxies, waitTimeoutMs } from "../common/wait.ts";

export default defineCommand({
  meta: { name: "resume", description: "Lift the halt: policies inject again and may be changed" },
  args: { ...clientArgs, ...waitArgs },
  async run({ args, rawArgs }) {
    const timeoutMs = waitTimeoutMs(args.wait, rawArgs);
    const client = useClient();
    const status = await client.resume();
    if (status.halted || !status.lifted || status.revision === undefined) {
      console.log("not halted");
      return;
    }
    console.log(`resumed (revision ${status.revision}); was halted ${describeHalt(status.lifted)}`);
    if (timeoutMs !== undefined) await waitForProxies(client, status.revision, timeoutMs);
  },
});
