"""The request and response bodies of the API (they make the OpenAPI document's schemas)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from seocho.operations import TRANSACTIONS, transaction

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["M-0001"])]
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$", examples=["gym"])]
Amount = Annotated[int, Field(ge=1, le=1_000_000_000)]
# What the service hands out is as long as the transaction is (two endorsements, the read/write set);
# what it takes in is a signature (a DER ECDSA signature is at most 72 bytes for P-256, 104 for P-384).
Base64Out = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
SignatureBase64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=256)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- residents: the operations they sign -------------------------------------------------------------


class Signed(Strict):
    """An operation a resident signs: its fields are the transaction's arguments, by name (the order
    and the encoding come from the transaction's declaration in `seocho.operations`)."""

    name: str

    def call(self) -> tuple[str, list[str]]:
        values = self.model_dump(exclude={"name"})
        return self.name, transaction(self.name).arguments(values)


class Pay(Signed):
    name: Literal["pay"]
    member_id: Id
    institution_id: Id
    price_krw: Amount
    coins: Amount
    service_code: Code
    request_id: Id


class Donate(Signed):
    name: Literal["donate"]
    member_id: Id
    charity_id: Id
    coins: Amount
    request_id: Id


class PayRequest(Signed):
    name: Literal["pay_request"]
    institution_id: Id
    request_id: Id
    member_id: Id


class GetBalance(Signed):
    name: Literal["get_balance"]
    member_id: Id


class GetHistory(Signed):
    name: Literal["get_member_history"]
    member_id: Id
    page_size: Annotated[int, Field(ge=1, le=100)] = 20
    bookmark: Annotated[str, Field(max_length=1024)] = ""


class GetPaymentRequest(Signed):
    name: Literal["get_payment_request"]
    institution_id: Id
    request_id: Id


class GetDonationReceipt(Signed):
    name: Literal["get_donation_receipt"]
    tx_id: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


Operation = Annotated[
    Pay | Donate | PayRequest | GetBalance | GetHistory | GetPaymentRequest | GetDonationReceipt,
    Field(discriminator="name"),
]
QUERIES = frozenset(t.name for t in TRANSACTIONS if t.kind == "evaluate")


class ProposalRequest(Strict):
    """An operation and the certificate of the resident who will sign it."""

    msp_id: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["SeochoDistrictMSP"])
    ]
    certificate: Annotated[str, Field(max_length=8192, description="The resident's X.509 certificate, PEM")]
    operation: Operation


class ToSign(BaseModel):
    transaction_id: str
    kind: Literal["query", "transaction"]
    to_sign: Base64Out = Field(
        description="Base64 of the bytes to sign: ECDSA P-256 with SHA-256, DER, low S"
    )
    next: str = Field(description="Where to POST the signature")


class Signature(Strict):
    signature: SignatureBase64 = Field(
        description="Base64 of the DER ECDSA-SHA256 signature (low S) of `to_sign`"
    )


class SignedProposalRequest(Strict):
    """A proposal the app built and the resident signed (Fabric's `Proposal` message, serialised)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"proposal": "CpgHCm8IAxoMCO2A", "signature": "MEUCIQDx"}]},
    )
    proposal: Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=16_384)] = Field(
        description="Base64 of the serialised Proposal: the channel and chaincode of"
        " `GET /v1/proposal-target`, the resident's certificate as creator, one of its `transactions`"
        " with its arguments"
    )
    signature: SignatureBase64 = Field(
        description="Base64 of the DER ECDSA-SHA256 signature (low S) of the proposal's bytes"
    )


class ProposalTarget(BaseModel):
    """What a proposal built by the app must name."""

    channel: str = Field(examples=["seocho"])
    chaincode: str = Field(examples=["seocho"])
    transactions: list[str] = Field(
        description="The transactions a resident may send as a signed proposal", examples=[["donate", "pay"]]
    )


class Endorsement(BaseModel):
    transaction_id: str
    to_sign: Base64Out = Field(
        description="Base64 of the transaction envelope's payload, to sign the same way"
    )
    result: Any = Field(description="The chaincode's answer, as endorsed (it applies once committed)")
    next: str


class Evaluation(BaseModel):
    transaction_id: str
    result: Any


class TransactionOutcome(BaseModel):
    transaction_id: str
    status: Literal["committed", "not_committed", "unknown"]
    validation_code: str | None = None
    block_number: int | None = None
    result: Any = None


# -- terminals ----------------------------------------------------------------------------------------


class EarnRequest(Strict):
    member_id: Id
    activity: Code
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    evidence_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="salted SHA-256, hex")]
    request_id: Id
    lane: Annotated[int, Field(ge=0, le=63)] | None = None


class PaymentRequestCreate(Strict):
    request_id: Id
    price_krw: Amount
    coins: Amount
    service_code: Code
    expires_at: Annotated[str, Field(max_length=64, examples=["2026-12-31T23:59:00+09:00"])]


class EnrolmentRequest(Strict):
    """The registrar's one-time secret and the certificate request the resident's browser made."""

    msp_id: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["SeochoDistrictMSP"])
    ]
    enrollment_id: Annotated[str, Field(pattern=r"^[A-Z]{1,4}-[0-9]{1,12}$", examples=["S-0042"])]
    secret: Annotated[str, Field(min_length=1, max_length=256)]
    csr: Annotated[str, Field(max_length=8192, description="PKCS#10 request, PEM, CN = the member id")]


class EnrolmentResult(BaseModel):
    msp_id: str
    certificate: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    chaincode_status: int | None = None
    transaction_id: str | None = None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
