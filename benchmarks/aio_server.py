"""The transport experiment: the chaincode server on a `grpc.aio` stream loop instead of grpcio's sync server.

The same `fabric_shim.handler.Handler` runs the protocol and the chaincode on its worker threads; only
the stream's two ends move to an asyncio event loop on its own thread: messages read by the loop are
queued to whichever thread reads the stream for the handler, and messages sent by any thread are
handed to the loop, which writes them. `benchmarks.bench_transport` measures it against
`fabric_shim.server.ChaincodeServer` (plaintext, one stream), which stays the shim's server unless
this one is faster.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator

import grpc
from fabric_protos.peer import chaincode_shim_pb2
from fabric_shim.chaincode import Chaincode
from fabric_shim.config import ServerConfig
from fabric_shim.handler import Handler

Message = chaincode_shim_pb2.ChaincodeMessage
_END = object()


class AioChaincodeServer:
    """Serves `chaincode` to peers from a `grpc.aio` server (plaintext only: an experiment)."""

    def __init__(self, chaincode: Chaincode, config: ServerConfig) -> None:
        self.config = config
        self._chaincode = chaincode
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chaincode-aio", daemon=True)
        self._server: grpc.aio.Server | None = None
        self.port = 0

    def __enter__(self) -> AioChaincodeServer:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(0), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> int:
        size = self.config.max_message_size
        server = grpc.aio.server(
            options=[("grpc.max_send_message_length", size), ("grpc.max_receive_message_length", size)]
        )
        method = grpc.stream_stream_rpc_method_handler(
            self._connect,
            request_deserializer=Message.FromString,
            response_serializer=Message.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("protos.Chaincode", {"Connect": method}),)
        )
        port = server.add_insecure_port(self.config.address)
        await server.start()
        self._server = server
        return port

    async def _connect(
        self, requests: AsyncIterator[chaincode_shim_pb2.ChaincodeMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[chaincode_shim_pb2.ChaincodeMessage]:
        loop = asyncio.get_running_loop()
        outbound: asyncio.Queue[chaincode_shim_pb2.ChaincodeMessage | None] = asyncio.Queue()
        inbound: queue.SimpleQueue[object] = queue.SimpleQueue()

        def send(message: chaincode_shim_pb2.ChaincodeMessage | None) -> None:
            loop.call_soon_threadsafe(outbound.put_nowait, message)

        handler = Handler(
            self._chaincode,
            self.config.chaincode_id,
            send,
            max_concurrent_transactions=self.config.max_concurrent_transactions,
        )

        def serve() -> None:
            try:
                handler.serve(iter(inbound.get, _END))  # type: ignore[arg-type]
            finally:
                handler.end_stream()

        async def read() -> None:
            try:
                async for message in requests:
                    inbound.put(message)
            finally:
                inbound.put(_END)

        handler.start()
        reader = loop.create_task(read())
        server_thread = threading.Thread(target=serve, name="chaincode-aio-stream", daemon=True)
        server_thread.start()
        try:
            while (message := await outbound.get()) is not None:
                yield message
        finally:
            reader.cancel()
            handler.close()
