/** A small Dockerfile reader: enough to check stages, base images and the instructions of each stage. */

export interface Stage {
  name: string;
  /** The base image with build ARG defaults substituted. */
  from: string;
  instructions: { keyword: string; args: string }[];
}

/** Stages in order; `ARG` defaults declared before the first FROM are substituted into FROM lines. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const value = rest.join(" ");
    const upper = keyword.toUpperCase();
    if (upper === "ARG" && stages.length === 0) {
      const [name = "", def = ""] = value.split("=");
      args.set(name, def);
    } else if (upper === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(value);
      if (!match) throw new Error(`cannot read ${line}`);
      const from = (match[1] ?? "").replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? "");
      stages.push({ name: match[2] ?? String(stages.length), from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args: value });
    }
  }
  return stages;
}

/** `image:tag` or `image@sha256:…` with a tag that is not `latest`. */
export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return !!tag && tag !== "latest";
}

/** The paths a `.dockerignore` of the form `*` then `!path` lines lets into the build context. */
export function allowedPaths(dockerignore: string): string[] {
  const lines = dockerignore
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (lines[0] !== "*" || lines.slice(1).some((l) => !l.startsWith("!"))) {
    throw new Error(".dockerignore must be an allow-list: `*`, then `!path` lines");
  }
  return lines.slice(1).map((l) => l.slice(1));
}
