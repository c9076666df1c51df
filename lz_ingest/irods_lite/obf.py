"""De-obfuscating the passwords clients send to set a user's password, as the server's obf.cpp does.

A client scrambles a new password with a key only it and the server know: obfEncodeByKeyV2 (the
logged-in client user's password plus the session signature, the hex of the first 16 bytes of the
connection's challenge) for `modify user NAME password`, after padding it with a fixed string
(db_plugin.cpp decodePw cuts the padding off again). The scrambling is a rotation of each character
over a 77-character wheel by the bytes of a chain of MD5 digests of the key, with "block chaining"
(each rotation also adds the previous scrambled character) in version 2.
"""

from __future__ import annotations

import hashlib
import string

WHEEL = string.digits + string.ascii_uppercase + string.ascii_lowercase + "".join(chr(c) for c in range(33, 48))
V2_PREFIX = "A.ObfV2"
PADDING_MARK = "1gCBizHWbwIYyWLo"  # db_plugin.cpp decodePw: "must match clients"
MAX_PASSWORD_LEN = 50


class PasswordEncodingError(ValueError):
    """The text does not de-obfuscate to a password of an acceptable length."""


def _key_buffer(key: str) -> bytes:
    """The C code copies the key into a zeroed 101-byte buffer and hashes its first 100 bytes."""
    return key.encode("utf-8")[:100].ljust(100, b"\0")


def _ring(key: str) -> bytes:
    """obfDecodeByKey's 61 rotation amounts: md5(key), md5 of that, md5 of both (twice)."""
    first = hashlib.md5(_key_buffer(key)).digest()
    second = hashlib.md5(first).digest()
    third = hashlib.md5(first + second).digest()
    return (first + second + third + third)[:61]


def decode_by_key(text: str, key: str, chaining: bool = False) -> str:
    """obfDecodeByKey: characters off the wheel pass through unchanged (and do not advance the chain)."""
    ring, out, previous = _ring(key), [], 0
    for i, ch in enumerate(text):
        position = WHEEL.find(ch)
        if position < 0:
            out.append(ch)
            continue
        out.append(WHEEL[(position - ring[i % len(ring)] - previous) % len(WHEEL)])
        if chaining:
            previous = ord(ch) & 0xFF
    return "".join(out)


def decode_by_key_v2(text: str, key: str, signature: str) -> str:
    """obfDecodeByKeyV2: the key is the hex MD5 of key[:90] + signature[:100]; falls back to version 1."""
    hashed = hashlib.md5(_key_buffer(key[:90] + signature[:100])).hexdigest()
    decoded = decode_by_key(text, hashed, chaining=True)
    if decoded[1 : len(V2_PREFIX)] != V2_PREFIX[1:]:  # the first character is randomised
        return decode_by_key(text, key)
    return decoded[len(V2_PREFIX) :][:MAX_PASSWORD_LEN]


def new_password(text: str, key: str, signature: str) -> str:
    """The password a client sent for `modify user NAME password` (db_plugin.cpp decodePw + chlModUser)."""
    decoded = decode_by_key_v2(text, key, signature)
    cut = decoded.split(PADDING_MARK, 1)[0]
    if len(cut) > MAX_PASSWORD_LEN - 8 or (len(cut) == len(decoded) and len(cut) > MAX_PASSWORD_LEN - 5):
        raise PasswordEncodingError("password must be between 3 and 42 characters")
    return cut
