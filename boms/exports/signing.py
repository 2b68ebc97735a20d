"""The export signing key: Ed25519 (RFC 8032, pure: the signature is over the file's bytes).

``settings.EXPORT_SIGNING_KEY`` (from ``EXPORT_SIGNING_KEY`` or ``EXPORT_SIGNING_KEY_FILE``) holds a
PEM private key (PKCS#8, ``-----BEGIN PRIVATE KEY-----``, as ``openssl genpkey -algorithm ed25519``
writes it) or the raw 32-byte seed in base64. Without it, in development, a key is generated once
into ``settings.EXPORT_SIGNING_KEY_DEVELOPMENT_FILE`` (``$DATA_DIR/export_signing_key.pem``, the way
the development secret key is); in production there is no fallback and an export fails with
``SigningKeyMissing`` naming the variable.

A signature is 64 raw bytes, stored beside the file as ``<name>.sig``. It verifies with
``openssl pkeyutl -verify -pubin -inkey export-signing-key.pem -rawin -in FILE -sigfile FILE.sig``.
"""

import base64
import binascii
import mmap
import os
from functools import lru_cache
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from core.files import create_once


class SigningKeyMissing(RuntimeError):
    """No signing key is configured (production has no generated fallback)."""


class SigningKeyInvalid(ValueError):
    """The configured key is not an Ed25519 private key in PEM or base64."""


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A PEM (PKCS#8) Ed25519 private key, or its 32-byte seed in base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyInvalid(f"EXPORT_SIGNING_KEY: not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyInvalid(f"EXPORT_SIGNING_KEY: an Ed25519 key is needed, got {type(key).__name__}")
        return key
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyInvalid("EXPORT_SIGNING_KEY: neither a PEM key nor base64") from None
    if len(seed) != 32:
        raise SigningKeyInvalid(f"EXPORT_SIGNING_KEY: a raw Ed25519 key is 32 bytes, this one is {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def development_key(path: Path) -> str:
    """The development key kept in ``path`` (PEM), created on first use (``core.files.create_once``:
    concurrent first uses agree on one key)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return create_once(path, pem)


@lru_cache(maxsize=4)
def _key_from(configured: str, development_file: str) -> Ed25519PrivateKey:
    if configured:
        return parse_private_key(configured)
    if development_file:
        return parse_private_key(development_key(Path(development_file)))
    raise SigningKeyMissing(
        "no export signing key: set EXPORT_SIGNING_KEY or EXPORT_SIGNING_KEY_FILE (an Ed25519 private key, "
        "PEM or base64), required when REGISTRY_ENV=production"
    )


def private_key() -> Ed25519PrivateKey:
    """The configured key (read once per value of the settings)."""
    development = settings.EXPORT_SIGNING_KEY_DEVELOPMENT_FILE
    return _key_from(settings.EXPORT_SIGNING_KEY, str(development) if development else "")


def public_key_pem() -> str:
    """The public half, as PEM (SubjectPublicKeyInfo), for verifiers."""
    return (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_file(file: IO[bytes]) -> bytes:
    """The signature of the whole of ``file`` (a real file: it is mapped, not read into memory)."""
    key = private_key()
    file.flush()
    if os.fstat(file.fileno()).st_size == 0:
        return key.sign(b"")
    with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        return key.sign(mapped)  # type: ignore[arg-type]  # any buffer is accepted
