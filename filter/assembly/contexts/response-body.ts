/**
 * Response bodies a response fault changes, in proxy_on_response_body: replaced chunk by chunk, or
 * buffered to their end and merge-patched. Only streams registered here are touched; every other
 * stream's chunk goes on at once, after one map-size check.
 */
import { BufferType, DataAction } from "../abi/enums";
import { getBuffer, setBuffer } from "../abi/host";
import { JsonValue, mergePatch, parseJson, serializeJson } from "../json";
import { Metrics } from "../metrics";

export const CONTENT_LENGTH = String.UTF8.encode("content-length");
const NOTHING = new ArrayBuffer(0);

/** What the next chunk of a replaced body becomes: the rule's body for the first, nothing after. */
const replacements = new Map<u32, ArrayBuffer>();
/** The merge patch of each stream whose body is buffered to be patched. */
const patches = new Map<u32, JsonValue>();

/** Stream `contextId`'s body becomes `body` (its headers say so already). */
export function replaceBody(contextId: u32, body: ArrayBuffer): void {
  replacements.set(contextId, body);
}

/** Stream `contextId`'s body is buffered to its end and `patch` applied, if it is JSON. */
export function patchBody(contextId: u32, patch: JsonValue): void {
  patches.set(contextId, patch);
}

/**
 * A chunk of stream `contextId`'s response body, `size` bytes buffered with it. A replaced body's
 * first chunk becomes the rule's body and every later one nothing, so nothing of the upstream's is
 * buffered. A patched body is buffered (StopIterationAndBuffer) to its end, then parsed, patched and
 * written back; past `maxPatchBodyBytes`, or when it is not JSON, it goes on untouched, counted.
 */
export function onBodyChunk(
  contextId: u32,
  size: usize,
  endOfStream: bool,
  maxPatchBodyBytes: u32,
  metrics: Metrics | null,
): DataAction {
  if (replacements.size > 0 && replacements.has(contextId)) {
    setBuffer(BufferType.HttpResponseBody, 0, size, replacements.get(contextId));
    if (endOfStream) replacements.delete(contextId);
    else replacements.set(contextId, NOTHING);
    return DataAction.Continue;
  }
  if (patches.size == 0 || !patches.has(contextId)) return DataAction.Continue;
  if (size > <usize>maxPatchBodyBytes) {
    patches.delete(contextId);
    if (metrics != null) metrics.patchSkippedOversize();
    return DataAction.Continue;
  }
  if (!endOfStream) return DataAction.StopIterationAndBuffer;
  const patch = patches.get(contextId);
  patches.delete(contextId);
  const bytes = getBuffer(BufferType.HttpResponseBody, size);
  const document = bytes != null ? parseJson(bytes) : null;
  if (document == null) {
    if (metrics != null) metrics.patchSkippedInvalid();
    return DataAction.Continue;
  }
  setBuffer(BufferType.HttpResponseBody, 0, size, serializeJson(mergePatch(document, patch)));
  return DataAction.Continue;
}

/** Stream `contextId` is over: a replacement or patch it did not finish goes. */
export function forgetBody(contextId: u32): void {
  if (replacements.size > 0) replacements.delete(contextId);
  if (patches.size > 0) patches.delete(contextId);
}
