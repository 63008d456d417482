import { type ArgsDef, type CommandDef, renderUsage, runCommand } from "citty";
import { colorEnabled, plain, red } from "./common/color.ts";
import { isDebug } from "./common/context.ts";
import { describeError, exitCodeOf, isUsageError } from "./common/errors.ts";
import { type ResolvedCommand, resolve, resolveCommand, unknownFlags } from "./common/resolve.ts";

/**
 * Runs the command line and returns the exit code. This is the only place that catches: every
 * error is printed here, kubectl-style, on stderr, with a stack trace only under --debug.
 */
export async function runCli<T extends ArgsDef>(
  command: CommandDef<T>,
  rawArgs = process.argv.slice(2),
): Promise<number> {
  const root = command as unknown as CommandDef<ArgsDef>;
  let resolved: ResolvedCommand | undefined;
  try {
    resolved = await resolveCommand(root, rawArgs);
    if (rawArgs.includes("--help") || rawArgs.includes("-h")) return await printUsage(resolved, 0);
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      console.log((await resolve(root.meta))?.version);
      return 0;
    }
    // A group without a subcommand shows what it offers, as kubectl does.
    if (resolved.cmd.subCommands && !resolved.cmd.run && resolved.unresolved === undefined) {
      return await printUsage(resolved, 0);
    }
    const declared = Object.assign({}, ...(await Promise.all(resolved.chain.map((c) => resolve(c.args)))));
    const [unknown] = unknownFlags(rawArgs, declared);
    if (unknown) throw usageError(`unknown flag: ${unknown}`);
    await runCommand(root, { rawArgs });
    return 0;
  } catch (err) {
    return report(err, resolved, rawArgs);
  }
}

/** Shaped like citty's own usage errors, so that they are reported the same way. */
function usageError(message: string): Error {
  return Object.assign(new Error(message), { name: "CLIError", code: "EARG" });
}

async function printUsage({ cmd, path }: ResolvedCommand, code: number): Promise<number> {
  const parent = path.length > 1 ? { meta: { name: path.slice(0, -1).join(" ") } } : undefined;
  const usage = await renderUsage(cmd, parent);
  const text = plain(usage, colorEnabled(process.stdout)).replace(/[ \t]+$/gm, "");
  process.stdout.write(`${text}\n`);
  return code;
}

function report(err: unknown, resolved: ResolvedCommand | undefined, rawArgs: string[]): number {
  const color = colorEnabled(process.stderr);
  const command = (resolved?.path ?? ["hfi"]).join(" ");
  const lines = describeError(err).map((line) =>
    plain(line, false).replace(
      /^error: Unknown command (.*)$/,
      `error: unknown command "$1" for "${command}"`,
    ),
  );
  if (isUsageError(err)) lines.push(`Run '${command} --help' for usage.`);
  process.stderr.write(`${lines.map((line) => paintHeadline(line, color)).join("\n")}\n`);
  if (isDebug(rawArgs) && err instanceof Error && err.stack) process.stderr.write(`\n${err.stack}\n`);
  return exitCodeOf(err);
}

/** `error:` and `Error from server (Reason):` in red; the rest as it is. */
function paintHeadline(line: string, color: boolean): string {
  const match = /^(error|Error from server \([^)]*\)):/.exec(line);
  return match?.[1] ? red(match[1], color) + line.slice(match[1].length) : line;
}
