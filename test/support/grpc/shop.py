"""A real gRPC server and client (Python grpcio, no generated code: raw bytes), for the end-to-end
test of gRPC aborts through Envoy.

  shop.py serve              serves shop.Inventory/Get and shop.Quota/Take on a free loopback port,
                             prints the port, runs until killed; each answers "ok:<request>" and
                             prints "served <method>", so a test sees what reached it.
  shop.py call TARGET METHOD calls METHOD (e.g. /shop.Inventory/Get) at TARGET (host:port) once and
                             prints what the client saw as JSON: code, details, metadata, response.
"""

import json
import sys
from concurrent import futures

import grpc


def serve() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    def handler(method: str) -> grpc.RpcMethodHandler:
        def answer(request: bytes, _context: grpc.ServicerContext) -> bytes:
            print(f"served {method}", flush=True)
            return b"ok:" + request

        return grpc.unary_unary_rpc_method_handler(answer)
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler("shop.Inventory", {"Get": handler("/shop.Inventory/Get")}),
            grpc.method_handlers_generic_handler("shop.Quota", {"Take": handler("/shop.Quota/Take")}),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


def call(target: str, method: str) -> None:
    with grpc.insecure_channel(target) as channel:
        rpc = channel.unary_unary(method)
        try:
            response, outcome = rpc.with_call(b"ping", timeout=10)
            seen = {
                "code": outcome.code().name,
                "details": outcome.details(),
                "response": response.decode(),
                "initial": dict(outcome.initial_metadata()),
                "trailing": dict(outcome.trailing_metadata()),
            }
        except grpc.RpcError as error:
            seen = {
                "code": error.code().name,
                "details": error.details(),
                "initial": dict(error.initial_metadata() or ()),
                "trailing": dict(error.trailing_metadata() or ()),
            }
    print(json.dumps(seen))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        call(sys.argv[2], sys.argv[3])
