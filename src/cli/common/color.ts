import { stripVTControlCharacters } from "node:util";

interface Stream {
  isTTY?: boolean;
}

/** https://no-color.org: NO_COLOR (non-empty) wins, then FORCE_COLOR, then "is it a terminal". */
export function colorEnabled(stream: Stream): boolean {
  const { NO_COLOR, FORCE_COLOR, TERM } = process.env;
  if (NO_COLOR) return false;
  if (FORCE_COLOR !== undefined && FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && TERM !== "dumb";
}

export function red(text: string, color: boolean): string {
  return color ? `\u001b[31m${text}\u001b[39m` : text;
}

/** citty colours its help and messages on its own terms; this makes them follow ours. */
export function plain(text: string, color: boolean): string {
  return color ? text : stripVTControlCharacters(text);
}
