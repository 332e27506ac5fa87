"""A tiny generic contract for the gateway tests."""

from __future__ import annotations

from fabric_shim.contract import BadRequest, Context, Contract, ContractChaincode, transaction

CHAINCODE_NAME = "assets"


class Assets(Contract):
    name = "Assets"

    @transaction
    def put(self, ctx: Context, key: str, value: str) -> str:
        ctx.stub.put_state(key, value.encode())
        ctx.stub.set_event("put", f"{key}={value}".encode())
        return value

    @transaction(evaluate=True)
    def get(self, ctx: Context, key: str) -> str:
        return (ctx.stub.get_state(key) or b"").decode()

    @transaction
    def increment(self, ctx: Context, key: str) -> str:
        value = int(ctx.stub.get_state(key) or b"0") + 1
        ctx.stub.put_state(key, str(value).encode())
        return str(value)

    @transaction
    def put_secret(self, ctx: Context, key: str) -> str:
        secret = ctx.stub.transient.get("secret")
        if secret is None:
            raise BadRequest("transient field 'secret' is missing")
        ctx.stub.put_state(key, secret)
        return f"stored {len(secret)} bytes"

    @transaction
    def refuse(self, ctx: Context) -> None:
        raise BadRequest("refused on purpose")


def new_chaincode() -> ContractChaincode:
    return ContractChaincode(Assets())
