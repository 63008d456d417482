export { lastParseError, MAX_VALUES, parseJson, parseJsonAt } from "./parse";
export { asObject, JsonArray, JsonKind, JsonNumber, JsonObject, JsonString, JsonValue } from "./value";
