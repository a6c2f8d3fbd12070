"""Passwords and PINs, hashed with argon2 (pwdlib's current recommendation)."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_HASHER = PasswordHash((Argon2Hasher(),))

#: Verified against when the login is unknown, so that an unknown login costs the same time
#: as a wrong password and the answer's timing tells nobody which logins exist.
_DUMMY_HASH = _HASHER.hash("no such account")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _HASHER.verify(password, _DUMMY_HASH)
        return False
    return _HASHER.verify(password, password_hash)
