export { parseJson } from "./parse";
export { asObject, JsonArray, JsonKind, JsonNumber, JsonObject, JsonString, JsonValue } from "./value";
