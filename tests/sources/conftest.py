"""Fixtures of the source tests: a fake clock, HTTP faked at the wire by `responses`, and a Kalshi
signing key."""

from __future__ import annotations

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import FakeClock
from kalshi_support import KEY_ID


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def signing_env(private_key, tmp_path) -> dict[str, str]:
    """The settings that make a KalshiClient sign its requests with `private_key`."""
    path = tmp_path / "kalshi.pem"
    path.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return {"KALSHI_API_KEY_ID": KEY_ID, "KALSHI_PRIVATE_KEY_PATH": str(path)}
