import type { ArgDef, ArgsDef, CommandDef } from "citty";

type AnyCommand = CommandDef<ArgsDef>;

export interface ResolvedCommand {
  cmd: AnyCommand;
  /** Every command from the root to `cmd`. */
  chain: AnyCommand[];
  /** Command names from the root, e.g. ["hfi", "policy", "get"]. */
  path: string[];
  /** The arguments after the last command name. */
  rest: string[];
  /** The first positional argument after a group that names none of its subcommands. */
  unresolved?: string;
}

export const resolve = async <T>(value: T | (() => T | Promise<T>) | Promise<T>): Promise<T> =>
  typeof value === "function" ? (value as () => T | Promise<T>)() : value;

/** Walks subcommands the way citty does, to find which command a command line runs. */
export async function resolveCommand<T extends ArgsDef>(
  command: CommandDef<T>,
  rawArgs: string[],
): Promise<ResolvedCommand> {
  const root = command as unknown as AnyCommand;
  let cmd = root;
  const chain = [root];
  const path = [(await resolve(root.meta))?.name ?? "hfi"];
  let rest = rawArgs;
  for (;;) {
    const subCommands = await resolve(cmd.subCommands);
    if (!subCommands) return { cmd, chain, path, rest };
    const index = firstPositional(rest, (await resolve(cmd.args)) ?? {});
    const name = index === -1 ? undefined : rest[index];
    const sub = name === undefined ? undefined : subCommands[name];
    if (name === undefined || sub === undefined) return { cmd, chain, path, rest, unresolved: name };
    cmd = await resolve(sub);
    chain.push(cmd);
    path.push(name);
    rest = rest.slice(index + 1);
  }
}

function firstPositional(args: string[], def: ArgsDef): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") return -1;
    if (arg.startsWith("-") && arg !== "-") {
      if (!arg.includes("=") && takesValue(arg, def)) i++;
      continue;
    }
    return i;
  }
  return -1;
}

function takesValue(flag: string, def: ArgsDef): boolean {
  const name = flag.replace(/^-{1,2}/, "");
  return Object.entries(def).some(
    ([key, arg]) =>
      (arg.type === "string" || arg.type === "enum") && (key === name || aliasesOf(arg).includes(name)),
  );
}

/**
 * Flags the command does not declare; citty would ignore them silently, kubectl refuses them.
 * `--help`/`-h` are always known.
 */
export function unknownFlags(args: string[], def: ArgsDef): string[] {
  const known = new Set(["help", "h"]);
  for (const [key, arg] of Object.entries(def)) {
    if (arg.type === "positional") continue;
    known.add(key);
    for (const alias of aliasesOf(arg)) known.add(alias);
    if (arg.type === "boolean") known.add(`no-${key}`);
  }
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const long = arg.startsWith("--");
    const name = long ? (arg.slice(2).split("=")[0] ?? "") : arg.slice(1, 2);
    if (!known.has(name)) {
      unknown.push(long ? `--${name}` : `-${name}`);
      continue;
    }
    const attached = long ? arg.includes("=") : arg.length > 2;
    if (!attached && takesValue(name, def)) i++;
  }
  return unknown;
}

function aliasesOf(arg: ArgDef): string[] {
  return "alias" in arg ? [arg.alias ?? []].flat() : [];
}
