"""Server settings never show the TLS private key, however they end up printed or logged."""

from __future__ import annotations

from fabric_shim.config import ServerConfig, TLSConfig


def _key_body(key_pem: bytes) -> str:
    # Any line of the base64 body identifies the key; checking one is enough.
    return key_pem.decode().splitlines()[1]


def test_tls_config_repr_hides_the_private_key(pki) -> None:
    tls = TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem, client_ca_cert=pki.ca.cert_pem)
    config = ServerConfig(address="127.0.0.1:9999", chaincode_id="cc:abc", tls=tls)

    for text in (repr(tls), str(tls), repr(config), str(config)):
        assert _key_body(pki.server.key_pem) not in text
        assert "PRIVATE KEY" not in text
    assert "mutual=True" in repr(tls)


def test_tls_configs_still_compare_by_their_key(pki) -> None:
    one = TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem)
    other = TLSConfig(key=pki.client.key_pem, cert=pki.server.cert_pem)
    assert one == TLSConfig(key=pki.server.key_pem, cert=pki.server.cert_pem)
    assert one != other
