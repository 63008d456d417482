/**
 * Reading `fault.delay`: exactly one of `fixedDelayMs`, `uniform: {minMs, maxMs}` and
 * `lognormal: {p50Ms, p99Ms}`, every bound MIN_DELAY_MS..MAX_DELAY_MS. The log-normal's σ is worked
 * out here, once per rule set, so a request only draws.
 */
import { asObject, JsonObject, JsonValue } from "../json";
import { MatchReader } from "./decode-match";
import { integerIn, NOT_AN_INTEGER, optional } from "./fields";
import { DelayFault, DelayKind, MAX_DELAY_MS, MIN_DELAY_MS } from "./ruleset";

/** The standard normal's 0.99 quantile: ln(p99) = ln(p50) + Z_99·σ. */
const Z_99: f64 = 2.3263478740408408;

export class DelayReader extends MatchReader {
  protected delay(name: string, value: JsonValue): DelayFault | null {
    const obj = asObject(value);
    const fixed = obj != null ? optional(obj, "fixedDelayMs") : null;
    const uniform = obj != null ? optional(obj, "uniform") : null;
    const lognormal = obj != null ? optional(obj, "lognormal") : null;
    const given = (fixed != null ? 1 : 0) + (uniform != null ? 1 : 0) + (lognormal != null ? 1 : 0);
    if (given != 1) {
      this.fail("fault.delay", "one of fixedDelayMs, uniform, lognormal");
      return null;
    }
    if (uniform != null) return this.uniform(name, asObject(uniform));
    if (lognormal != null) return this.lognormal(name, asObject(lognormal));
    const ms = integerIn(fixed, MIN_DELAY_MS, MAX_DELAY_MS);
    if (ms == NOT_AN_INTEGER) return this.outOfRange("fault.delay.fixedDelayMs", MIN_DELAY_MS);
    return new DelayFault(
      DelayKind.Fixed,
      <u32>ms,
      <u32>ms,
      0,
      name,
      String.UTF8.encode(name + ";delay=" + ms.toString()),
    );
  }

  private uniform(name: string, obj: JsonObject | null): DelayFault | null {
    const min = obj != null ? integerIn(obj.get("minMs"), MIN_DELAY_MS, MAX_DELAY_MS) : NOT_AN_INTEGER;
    if (min == NOT_AN_INTEGER) return this.outOfRange("fault.delay.uniform.minMs", MIN_DELAY_MS);
    const max = integerIn(obj!.get("maxMs"), min, MAX_DELAY_MS);
    if (max == NOT_AN_INTEGER) return this.outOfRange("fault.delay.uniform.maxMs", min);
    return new DelayFault(DelayKind.Uniform, <u32>min, <u32>max, 0, name, new ArrayBuffer(0));
  }

  private lognormal(name: string, obj: JsonObject | null): DelayFault | null {
    const p50 = obj != null ? integerIn(obj.get("p50Ms"), MIN_DELAY_MS, MAX_DELAY_MS) : NOT_AN_INTEGER;
    if (p50 == NOT_AN_INTEGER) return this.outOfRange("fault.delay.lognormal.p50Ms", MIN_DELAY_MS);
    const p99 = integerIn(obj!.get("p99Ms"), p50 + 1, MAX_DELAY_MS);
    if (p99 == NOT_AN_INTEGER) return this.outOfRange("fault.delay.lognormal.p99Ms", p50 + 1);
    const sigma = Math.log(<f64>p99 / <f64>p50) / Z_99;
    return new DelayFault(DelayKind.Lognormal, <u32>p50, <u32>p50, sigma, name, new ArrayBuffer(0));
  }

  private outOfRange(field: string, min: i64): DelayFault | null {
    this.fail(field, "an integer " + min.toString() + ".." + MAX_DELAY_MS.toString());
    return null;
  }
}
