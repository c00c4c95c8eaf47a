"""Kalshi API-key request signing: RSA-PSS (SHA-256) over `timestamp_ms + METHOD + path`, added as
headers to each request, and loading the PEM key a configured KALSHI_PRIVATE_KEY_PATH names.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from nfl_sync.clock import Clock
from nfl_sync.domain.errors import ConfigError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class KalshiSigner(requests.auth.AuthBase):
    """Adds Kalshi's API-key signature headers to each request, freshly timestamped per attempt.

    The signed message is `timestamp_ms + METHOD + path`, the path taken from the URL root (so it
    includes `/trade-api/v2`) without the query string; the host and body are not signed.
    """

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey, clock: Clock):
        self.key_id = key_id
        self._private_key = private_key
        self.clock = clock

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id!r})"

    def sign(self, timestamp_ms: str, method: str, path: str) -> str:
        """Base64 RSA-PSS (SHA-256, MGF1-SHA-256, salt = digest length) signature of the message."""
        message = f"{timestamp_ms}{method.upper()}{path}".encode()
        signature = self._private_key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return base64.b64encode(signature).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp_ms = str((self.clock.now() - _EPOCH) // _MILLISECOND)
        path = urlsplit(request.url or "").path  # a prepared request always has its URL
        request.headers["KALSHI-ACCESS-KEY"] = self.key_id
        request.headers["KALSHI-ACCESS-TIMESTAMP"] = timestamp_ms
        request.headers["KALSHI-ACCESS-SIGNATURE"] = self.sign(timestamp_ms, request.method or "GET", path)
        return request


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The unencrypted PEM RSA key at `path`; ConfigError (naming the setting, never the key) if not."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"KALSHI_PRIVATE_KEY_PATH: cannot read {path} ({error.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"KALSHI_PRIVATE_KEY_PATH: {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"KALSHI_PRIVATE_KEY_PATH: {path} holds a {type(key).__name__}, Kalshi needs RSA")
    return key
