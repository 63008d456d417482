export { lastParseError, MAX_VALUES, parseJson, parseJsonAt } from "./parse";
export { firstUnreadMember, forgetReads, STRICT_DECODE } from "./strict";
export {
  asObject,
  JsonArray,
  JsonBool,
  JsonKind,
  JsonNumber,
  JsonObject,
  JsonString,
  JsonValue,
} from "./value";
