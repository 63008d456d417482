import { MapType } from "../abi/enums";
import { hasHeader, readHeaderPairs, realtimeMs, removeHeader } from "../abi/host";
import { HostBlock } from "../abi/memory";
import { RequestView, Slice } from "../matcher";
import { headerNameBit, loadPadded } from "../rules";

const QUESTION_MARK: u8 = 0x3f;
const COLON: u8 = 0x3a;
const CLOSE_BRACKET: u8 = 0x5d;
const AUTHORITY = String.UTF8.encode(":authority");
/** ":pat" and ":met" as little-endian u32, then the rest of ":path" / ":method". */
const PATH_HEAD: u32 = 0x7461703a;
const METHOD_HEAD: u32 = 0x74656d3a;
const METHOD_TAIL: u32 = 0x646f68; // "hod" at offset 4

/**
 * RequestView over the request headers Envoy holds during on_request_headers (or, built for
 * MapType.HttpResponseHeaders, over the response headers during on_response_headers, for the header
 * conditions of `match.response`). One instance per map serves every stream of the VM: begin() before matching, end() after, which frees what the host handed
 * over. Nothing is copied: values are read where the host wrote them.
 *
 * The whole header map comes from one proxy_get_header_map_pairs call, made the first time a rule
 * needs anything of the request: one crossing and one allocation sized to the whole map — cheaper in
 * Envoy than even two proxy_get_header_map_value calls for `:method` and `:path` — after which
 * `:method`, `:path`, the prefilter words and every value of every header (a repeated header arrives
 * as separate pairs) are served from memory.
 */
export class HostRequest extends RequestView {
  private readonly pairsBlock: HostBlock = new HostBlock();
  private readonly methodSlice: Slice = new Slice();
  private readonly pathSlice: Slice = new Slice();
  private readonly hostSlice: Slice = new Slice();
  private readonly valueSlice: Slice = new Slice();
  /** Offset of each pair's key in pairsBlock; capacity kept across requests. */
  private readonly keyOffsets: u32[] = [];
  private pairCount: i32 = 0;
  private pairsRead: bool = false;
  private nameBits: u64 = 0;
  private clockMs: i64 = -1;

  constructor(private readonly map: MapType = MapType.HttpRequestHeaders) {
    super();
  }

  begin(): HostRequest {
    this.pairsRead = false;
    this.pairCount = 0;
    this.clockMs = -1;
    return this;
  }

  /** Returns the host's block to the allocator. */
  end(): void {
    this.pairsBlock.free();
  }

  method(): Slice {
    if (!this.pairsRead) this.readPairs();
    return this.methodSlice;
  }

  path(): Slice {
    if (!this.pairsRead) this.readPairs();
    return this.pathSlice;
  }

  host(): Slice {
    if (!this.pairsRead) this.readPairs();
    return this.hostSlice;
  }

  pathWord(): u64 {
    const path = this.path();
    return loadPadded(path.ptr, path.len);
  }

  methodWord(): u64 {
    const method = this.method();
    return loadPadded(method.ptr, method.len);
  }

  headerNameBits(): u64 {
    if (!this.pairsRead) this.readPairs();
    return this.nameBits;
  }

  findHeader(name: ArrayBuffer, from: i32): i32 {
    if (!this.pairsRead) this.readPairs();
    const base = this.pairsBlock.ptr;
    const nameLen = <u32>name.byteLength;
    const namePtr = changetype<usize>(name);
    for (let i = from, n = this.pairCount; i < n; i++) {
      if (load<u32>(base + 4 + ((<usize>i) << 3)) != nameLen) continue;
      if (memory.compare(base + unchecked(this.keyOffsets[i]), namePtr, nameLen) == 0) return i;
    }
    return -1;
  }

  headerValue(position: i32): Slice {
    const base = this.pairsBlock.ptr;
    const sizes = base + 4 + ((<usize>position) << 3);
    const slice = this.valueSlice;
    slice.ptr = base + unchecked(this.keyOffsets[position]) + load<u32>(sizes) + 1;
    slice.len = load<u32>(sizes, 4);
    return slice;
  }

  /**
   * Takes every `name` header (lower-case UTF-8) off the request, before matching is over (end()).
   * Removing is the costly part (Envoy then matches the route again), so it happens only when the
   * header is there: looked up in the pairs when matching read them, else with one read-only
   * value lookup, which costs less than reading the pairs.
   */
  strip(name: ArrayBuffer): void {
    if (this.pairsRead) {
      const bit = headerNameBit(changetype<usize>(name), <usize>name.byteLength);
      if ((this.nameBits & bit) == 0 || this.findHeader(name, 0) < 0) return;
    } else if (!hasHeader(MapType.HttpRequestHeaders, name)) {
      return;
    }
    removeHeader(MapType.HttpRequestHeaders, name);
  }

  realtimeMs(): i64 {
    if (this.clockMs < 0) this.clockMs = realtimeMs();
    return this.clockMs;
  }

  /**
   * Indexes the pairs map: each key's offset, the first `:method`, `:authority` (without its port) and `:path` (this one without its
   * query string), the header-name bits. A map that does not add up (never seen from Envoy) reads as
   * empty from the first pair that does not fit.
   */
  private readPairs(): void {
    this.pairsRead = true;
    this.nameBits = 0;
    const method = this.methodSlice;
    const path = this.pathSlice;
    method.ptr = 0;
    method.len = 0;
    path.ptr = 0;
    path.len = 0;
    const host = this.hostSlice;
    host.ptr = 0;
    host.len = 0;
    const block = this.pairsBlock;
    if (!readHeaderPairs(this.map, block) || block.len < 4) return;
    const base = block.ptr;
    const count = <u64>load<u32>(base);
    const end = <u64>block.len;
    let offset = 4 + count * 8;
    if (offset > end) return;
    const offsets = this.keyOffsets;
    offsets.length = 0;
    let bits: u64 = 0;
    let methodFound = false;
    let pathFound = false;
    let hostFound = false;
    for (let i: u64 = 0; i < count; i++) {
      const sizes = base + 4 + <usize>(i << 3);
      const keyLen = <usize>load<u32>(sizes);
      const valueLen = <usize>load<u32>(sizes, 4);
      const next = offset + <u64>keyLen + <u64>valueLen + 2;
      if (next > end) break;
      const key = base + <usize>offset;
      offsets.push(<u32>offset);
      this.pairCount = <i32>i + 1;
      bits |= headerNameBit(key, keyLen);
      if (keyLen >= 5 && load<u8>(key) == COLON) {
        const value = key + keyLen + 1;
        if (keyLen == 5 && !pathFound && load<u32>(key) == PATH_HEAD && load<u8>(key, 4) == 0x68) {
          pathFound = true;
          let len: usize = 0;
          while (len < valueLen && load<u8>(value + len) != QUESTION_MARK) len++;
          path.ptr = value;
          path.len = len;
        } else if (keyLen == 10 && !hostFound && memory.compare(key, changetype<usize>(AUTHORITY), 10) == 0) {
          hostFound = true;
          host.ptr = value;
          host.len = hostLength(value, valueLen);
        } else if (
          keyLen == 7 &&
          !methodFound &&
          load<u32>(key) == METHOD_HEAD &&
          (load<u32>(key, 4) & 0xffffff) == METHOD_TAIL
        ) {
          methodFound = true;
          method.ptr = value;
          method.len = valueLen;
        }
      }
      offset = next;
    }
    this.nameBits = bits;
  }
}

/** Length of the host in an authority: up to its port's `:`, or to the `]` of an IP literal. */
function hostLength(authority: usize, len: usize): usize {
  if (len > 0 && load<u8>(authority) == 0x5b) {
    for (let i: usize = 1; i < len; i++) if (load<u8>(authority + i) == CLOSE_BRACKET) return i + 1;
    return len;
  }
  for (let i: usize = 0; i < len; i++) if (load<u8>(authority + i) == COLON) return i;
  return len;
}
