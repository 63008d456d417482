import { MapType } from "../abi/enums";
import { readHeaderPairs, readHeaderValue, realtimeMs } from "../abi/host";
import { HostBlock } from "../abi/memory";
import { RequestView, Slice } from "../matcher";

const METHOD_KEY = String.UTF8.encode(":method");
const PATH_KEY = String.UTF8.encode(":path");
const QUESTION_MARK: u8 = 0x3f;

/**
 * RequestView over the request headers Envoy holds during on_request_headers. One instance serves
 * every request of the VM: begin() before matching, end() after, which frees what the host handed
 * over. Nothing is copied: values are read where the host wrote them.
 *
 * `:method` and `:path` come from proxy_get_header_map_value (Envoy keeps them inline: a cheap
 * lookup). Other headers come from one proxy_get_header_map_pairs call, made the first time a rule
 * reaches a header condition: it costs one crossing and one allocation sized to the whole map, but
 * sees every value of a repeated header (…_value returns only the first) and then serves any number
 * of header conditions from memory.
 */
export class HostRequest extends RequestView {
  private readonly methodBlock: HostBlock = new HostBlock();
  private readonly pathBlock: HostBlock = new HostBlock();
  private readonly pairsBlock: HostBlock = new HostBlock();
  private readonly methodSlice: Slice = new Slice();
  private readonly pathSlice: Slice = new Slice();
  private readonly valueSlice: Slice = new Slice();
  /** Offset of each pair's key in pairsBlock; capacity kept across requests. */
  private readonly keyOffsets: u32[] = [];
  private pairCount: i32 = 0;
  private methodRead: bool = false;
  private pathRead: bool = false;
  private pairsRead: bool = false;
  private clockMs: i64 = -1;

  begin(): HostRequest {
    this.methodRead = false;
    this.pathRead = false;
    this.pairsRead = false;
    this.pairCount = 0;
    this.clockMs = -1;
    return this;
  }

  /** Returns the host's blocks to the allocator. */
  end(): void {
    this.methodBlock.free();
    this.pathBlock.free();
    this.pairsBlock.free();
  }

  method(): Slice {
    if (!this.methodRead) {
      this.methodRead = true;
      const block = this.methodBlock;
      if (!readHeaderValue(MapType.HttpRequestHeaders, METHOD_KEY, block)) block.free();
      this.methodSlice.ptr = block.ptr;
      this.methodSlice.len = block.len;
    }
    return this.methodSlice;
  }

  path(): Slice {
    if (!this.pathRead) {
      this.pathRead = true;
      const block = this.pathBlock;
      if (!readHeaderValue(MapType.HttpRequestHeaders, PATH_KEY, block)) block.free();
      let len: usize = 0;
      while (len < block.len && load<u8>(block.ptr + len) != QUESTION_MARK) len++;
      this.pathSlice.ptr = block.ptr;
      this.pathSlice.len = len;
    }
    return this.pathSlice;
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

  realtimeMs(): i64 {
    if (this.clockMs < 0) this.clockMs = realtimeMs();
    return this.clockMs;
  }

  /** Indexes the pairs map; a map that does not add up (never seen from Envoy) reads as empty. */
  private readPairs(): void {
    this.pairsRead = true;
    const block = this.pairsBlock;
    if (!readHeaderPairs(MapType.HttpRequestHeaders, block) || block.len < 4) return;
    const count = <u64>load<u32>(block.ptr);
    const end = <u64>block.len;
    let offset = 4 + count * 8;
    if (offset > end) return;
    const offsets = this.keyOffsets;
    offsets.length = 0;
    for (let i: u64 = 0; i < count; i++) {
      const sizes = block.ptr + 4 + <usize>(i << 3);
      offsets.push(<u32>offset);
      offset += <u64>load<u32>(sizes) + <u64>load<u32>(sizes, 4) + 2;
      if (offset > end) return;
    }
    this.pairCount = <i32>count;
  }
}
