"""Decoding of the rich gRPC status (`google.rpc.Status`) Fabric's gateway attaches to errors.

The gateway puts one `gateway.ErrorDetail` per failing peer or orderer into the status details,
sent in the `grpc-status-details-bin` trailer. The googleapis protos are not a dependency, so the
three fields of `google.rpc.Status` are described here, in a private descriptor pool so that nothing
clashes with a `google.rpc` package another library may load.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

STATUS_DETAILS_KEY = "grpc-status-details-bin"

_pool = descriptor_pool.DescriptorPool()
_pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
_file = descriptor_pb2.FileDescriptorProto(
    name="fabric_gateway/rpc_status.proto",
    package="google.rpc",
    syntax="proto3",
    dependency=["google/protobuf/any.proto"],
)
_status = _file.message_type.add(name="Status")
_status.field.add(name="code", number=1, type=5, label=1)  # int32
_status.field.add(name="message", number=2, type=9, label=1)  # string
_status.field.add(name="details", number=3, type=11, label=3, type_name=".google.protobuf.Any")
_pool.Add(_file)

RpcStatus: Any = message_factory.GetMessageClass(_pool.FindMessageTypeByName("google.rpc.Status"))


def status_details(trailing_metadata: Any) -> list[any_pb2.Any]:
    """The `Any` details of the status in `trailing_metadata` (empty when there are none)."""
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = RpcStatus.FromString(value)
            return [any_pb2.Any(type_url=d.type_url, value=d.value) for d in status.details]
    return []
