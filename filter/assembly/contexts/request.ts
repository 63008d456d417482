import { MapType } from "../abi/enums";
import { getHeader } from "../abi/host";
import { RequestView } from "../matcher";

/**
 * RequestView over the request headers Envoy holds for the current callback. Each value is read
 * from the host at most once per request; one instance is reused for every request of the VM.
 */
export class HostRequest extends RequestView {
  private methodValue: string | null = null;
  private pathValue: string | null = null;
  private readonly names: string[] = [];
  private readonly values: Array<string | null> = [];

  /** Forgets the previous request's values; keeps the arrays' capacity. */
  reset(): HostRequest {
    this.methodValue = null;
    this.pathValue = null;
    this.names.length = 0;
    this.values.length = 0;
    return this;
  }

  method(): string {
    const cached = this.methodValue;
    if (cached != null) return cached;
    const value = getHeader(MapType.HttpRequestHeaders, ":method");
    const method = value != null ? value : "";
    this.methodValue = method;
    return method;
  }

  path(): string {
    const cached = this.pathValue;
    if (cached != null) return cached;
    const value = getHeader(MapType.HttpRequestHeaders, ":path");
    const full = value != null ? value : "";
    const query = full.indexOf("?");
    const path = query >= 0 ? full.substring(0, query) : full;
    this.pathValue = path;
    return path;
  }

  header(name: string): string | null {
    const names = this.names;
    for (let i = 0, n = names.length; i < n; i++) {
      if (unchecked(names[i]) == name) return unchecked(this.values[i]);
    }
    const value = getHeader(MapType.HttpRequestHeaders, name);
    names.push(name);
    this.values.push(value);
    return value;
  }
}
