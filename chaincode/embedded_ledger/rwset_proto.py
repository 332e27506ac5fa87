"""A `ReadWriteSet` as Fabric's peer puts it in a `ChaincodeAction.results`: a `TxReadWriteSet` protobuf.

Per namespace, sorted as the peer sorts them: public reads with their versions, range-query reads, writes,
metadata writes; private data only as hashes (`collection_hashed_rwset`), since the private values
never go into a transaction.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from embedded_ledger.rwset import Height, ReadWriteSet


def _version(height: Height | None) -> kv_rwset_pb2.Version | None:
    return None if height is None else kv_rwset_pb2.Version(block_num=height.block_num, tx_num=height.tx_num)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tx_read_write_set(rwset: ReadWriteSet) -> rwset_pb2.TxReadWriteSet:
    public: dict[str, kv_rwset_pb2.KVRWSet] = defaultdict(kv_rwset_pb2.KVRWSet)
    hashed: dict[str, dict[str, kv_rwset_pb2.HashedRWSet]] = defaultdict(
        lambda: defaultdict(kv_rwset_pb2.HashedRWSet)
    )
    for state_key in sorted(rwset.reads):
        version = _version(rwset.reads[state_key])
        if state_key.collection:
            hashed[state_key.namespace][state_key.collection].hashed_reads.append(
                kv_rwset_pb2.KVReadHash(key_hash=_sha256(state_key.key.encode()), version=version)
            )
        else:
            public[state_key.namespace].reads.append(kv_rwset_pb2.KVRead(key=state_key.key, version=version))
    for scan in rwset.range_queries:
        if scan.collection:
            continue  # Fabric records no range-query info for private data
        reads = [kv_rwset_pb2.KVRead(key=key, version=_version(height)) for key, height in scan.results]
        public[scan.namespace].range_queries_info.append(
            kv_rwset_pb2.RangeQueryInfo(
                start_key=scan.start_key,
                end_key=scan.end_key,
                itr_exhausted=scan.exhausted,
                raw_reads=kv_rwset_pb2.QueryReads(kv_reads=reads),
            )
        )
    for state_key in sorted(rwset.writes):
        write = rwset.writes[state_key]
        if state_key.collection:
            hashed[state_key.namespace][state_key.collection].hashed_writes.append(
                kv_rwset_pb2.KVWriteHash(
                    key_hash=_sha256(state_key.key.encode()),
                    is_delete=write.is_delete,
                    value_hash=b"" if write.value is None else _sha256(write.value),
                    is_purge=write.purge,
                )
            )
        else:
            public[state_key.namespace].writes.append(
                kv_rwset_pb2.KVWrite(key=state_key.key, is_delete=write.is_delete, value=write.value or b"")
            )
    for state_key in sorted(rwset.metadata_writes):
        entries = [
            kv_rwset_pb2.KVMetadataEntry(name=name, value=value)
            for name, value in sorted(rwset.metadata_writes[state_key].items())
        ]
        if not state_key.collection:
            public[state_key.namespace].metadata_writes.append(
                kv_rwset_pb2.KVMetadataWrite(key=state_key.key, entries=entries)
            )
    result = rwset_pb2.TxReadWriteSet(data_model=rwset_pb2.TxReadWriteSet.KV)
    for namespace in sorted(set(public) | set(hashed)):
        collections = [
            rwset_pb2.CollectionHashedReadWriteSet(
                collection_name=name, hashed_rwset=hashed[namespace][name].SerializeToString()
            )
            for name in sorted(hashed[namespace])
        ]
        result.ns_rwset.append(
            rwset_pb2.NsReadWriteSet(
                namespace=namespace,
                rwset=public[namespace].SerializeToString(),
                collection_hashed_rwset=collections,
            )
        )
    return result
