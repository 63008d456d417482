/** A parsed document written back as JSON text (compact, members in document order). */
import { JsonArray, JsonBool, JsonKind, JsonNumber, JsonObject, JsonString, JsonValue } from "./value";

const HEX = "0123456789abcdef";
/** Integers below this magnitude are written as integers; anything else in the shortest form. */
const EXACT_INTEGER: f64 = 9007199254740992;

/** `value` as UTF-8 JSON bytes. */
export function serializeJson(value: JsonValue): ArrayBuffer {
  const parts: string[] = [];
  write(value, parts);
  return String.UTF8.encode(parts.join(""));
}

function write(value: JsonValue, parts: string[]): void {
  switch (value.kind) {
    case JsonKind.Null:
      parts.push("null");
      break;
    case JsonKind.Bool:
      parts.push(changetype<JsonBool>(value).value ? "true" : "false");
      break;
    case JsonKind.Number:
      parts.push(numberText(changetype<JsonNumber>(value).value));
      break;
    case JsonKind.String:
      writeString(changetype<JsonString>(value).value, parts);
      break;
    case JsonKind.Array: {
      const array = changetype<JsonArray>(value);
      parts.push("[");
      for (let i = 0, n = array.length; i < n; i++) {
        if (i > 0) parts.push(",");
        write(array.at(i), parts);
      }
      parts.push("]");
      break;
    }
    default: {
      const object = changetype<JsonObject>(value);
      parts.push("{");
      for (let i = 0, n = object.keys.length; i < n; i++) {
        if (i > 0) parts.push(",");
        writeString(unchecked(object.keys[i]), parts);
        parts.push(":");
        write(unchecked(object.values[i]), parts);
      }
      parts.push("}");
    }
  }
}

function numberText(x: f64): string {
  if (Math.floor(x) == x && Math.abs(x) < EXACT_INTEGER) return (<i64>x).toString();
  return x.toString();
}

/** A JSON string: `"` and `\` escaped, control characters as \uXXXX (\n, \r, \t by name). */
function writeString(s: string, parts: string[]): void {
  parts.push('"');
  let from = 0;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    if (i > from) parts.push(s.substring(from, i));
    from = i + 1;
    if (c == 0x22) parts.push('\\"');
    else if (c == 0x5c) parts.push("\\\\");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else parts.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
  }
  if (s.length > from) parts.push(s.substring(from));
  parts.push('"');
}
