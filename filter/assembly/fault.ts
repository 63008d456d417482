/** Executing a matched rule's fault: the percentage draw and the abort reply. */
import { sendLocalResponse } from "./abi/host";
import { randomBelow } from "./random";
import {
  AbortFault,
  FAULT_HEADER as FAULT_HEADER_NAME,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  RuleFault,
} from "./rules";

/** Request header naming the fault to the upstream, as the abort reply names it to the client. */
export const FAULT_HEADER = String.UTF8.encode(FAULT_HEADER_NAME);
/** Shows up as %RESPONSE_CODE_DETAILS% in Envoy's access log. */
const ABORT_DETAILS = String.UTF8.encode("hfi_fault_abort");

/** Whether this request is in the faulted share; 100% and 0% skip the draw. */
export function isSampled(fault: RuleFault): bool {
  const share = fault.percentageMillionths;
  if (share >= MILLIONTHS_PER_HUNDRED_PERCENT) return true;
  return share != 0 && randomBelow(MILLIONTHS_PER_HUNDRED_PERCENT) < share;
}

/**
 * Answers the current (or effective) stream locally with the abort's status and body, naming the
 * rule in `x-hfi-fault`. Everything sent was encoded when the rule set arrived.
 */
export function injectAbort(abort: AbortFault): void {
  sendLocalResponse(abort.httpStatus, ABORT_DETAILS, abort.body, abort.headerPairs, abort.grpcStatus);
}
