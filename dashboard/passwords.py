"""PBKDF2 password hashes for the administrator (no Streamlit: the `hash-password` command uses them too).

Stored form: `pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>`; compared with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 390_000
MIN_ITERATIONS = 1_000  # a stored value with fewer rounds is refused as malformed
MAX_ITERATIONS = 10_000_000  # guards the verifier against a value that would keep it busy for minutes
SALT_BYTES = 16


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form of `password` with a random 16-byte salt (or the given one)."""
    if not password:
        raise ValueError("the password is empty")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash; False for any malformed stored value (never raises)."""
    try:
        algorithm, rounds, salt_hex, hash_hex = stored.strip().split("$")
        iterations = int(rounds)
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except (AttributeError, ValueError):
        return False
    if algorithm != ALGORITHM or not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS or not salt or len(expected) < 16:
        return False
    if not isinstance(password, str):
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(digest, expected)
