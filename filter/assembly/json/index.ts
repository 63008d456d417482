export { lastParseError, MAX_VALUES, parseJson, parseJsonAt } from "./parse";
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
