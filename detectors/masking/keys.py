"""Masking keys: a :class:`Keyring` maps key ids to secret bytes and names the ``current`` one.

Keyed methods (``hash``, ``tokenize``) use the current key and record its id in the decision, so
that after a rotation (a new ``current``) old tokens still detokenize with the key they were made
with. Keys come from the caller (settings hold them as secrets); they are never logged, and the
``repr`` shows key ids only.

Each method gets its own sub-key derived from the master key (HMAC-SHA256 of the purpose), so a
hash and a token of the same value under the same key share nothing.

>>> ring = Keyring({"k1": b"0123456789abcdef-first", "k2": "0123456789abcdef-second"}, current="k2")
>>> ring
Keyring(current='k2', ids=['k1', 'k2'])
>>> ring.current, len(ring.derive("hash")), ring.derive("hash") != ring.derive("hash", "k1")
('k2', 32, True)
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["Keyring", "MIN_KEY_BYTES", "UnknownKey"]

#: Shorter keys are refused: a short HMAC key makes pseudonyms brute-forceable.
MIN_KEY_BYTES = 16


class UnknownKey(KeyError):
    """A key id that the keyring does not hold (the message names the id, never a key)."""


def _secret_bytes(value: Any) -> bytes:
    # Accept pydantic's SecretStr / SecretBytes by duck typing: detectors import no settings.
    getter = getattr(value, "get_secret_value", None)
    if callable(getter):
        value = getter()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a key must be bytes or str, not {type(value).__name__}")


class Keyring:
    """Key ids → secret bytes, with one ``current`` id used for new hashes and tokens.

    ``keys`` values may be ``bytes``, ``str`` (UTF-8) or objects with ``get_secret_value()``.
    Raises ``ValueError`` for an empty ring, a short key or an unknown ``current``.
    """

    __slots__ = ("_keys", "_current", "_derived")

    def __init__(self, keys: Mapping[str, Any], current: str | None = None):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        parsed: dict[str, bytes] = {}
        for kid, value in keys.items():
            raw = _secret_bytes(value)
            if len(raw) < MIN_KEY_BYTES:
                raise ValueError(f"key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
            parsed[str(kid)] = raw
        if current is None:
            if len(parsed) != 1:
                raise ValueError("name the current key when the keyring holds several")
            current = next(iter(parsed))
        if current not in parsed:
            raise ValueError(f"current key {current!r} is not in the keyring")
        self._keys = parsed
        self._current = current
        self._derived: dict[tuple[str, str], bytes] = {}

    @classmethod
    def ephemeral(cls, key_id: str = "ephemeral") -> Keyring:
        """A random key for tests and local runs: pseudonyms differ after every restart and
        across workers, so production passes its own keys."""
        return cls({key_id: os.urandom(32)}, key_id)

    @property
    def current(self) -> str:
        return self._current

    @property
    def ids(self) -> list[str]:
        return sorted(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __repr__(self) -> str:
        return f"Keyring(current={self._current!r}, ids={self.ids!r})"

    __str__ = __repr__

    def __reduce__(self):  # pickling would copy the secrets somewhere we do not control
        raise TypeError("a Keyring is not picklable")

    def resolve(self, key_id: str | None = None) -> str:
        """``key_id`` if held (``None`` = the current id); raises :class:`UnknownKey`."""
        kid = self._current if key_id is None else key_id
        if kid not in self._keys:
            raise UnknownKey(f"no key {kid!r} in the keyring")
        return kid

    def derive(self, purpose: str, key_id: str | None = None) -> bytes:
        """The sub-key of ``key_id`` (default: current) for one purpose (``"hash"``, ``"fpe"``)."""
        kid = self.resolve(key_id)
        k = (kid, purpose)
        sub = self._derived.get(k)
        if sub is None:
            sub = self._derived[k] = hmac.new(
                self._keys[kid], b"parasol/masking/" + purpose.encode(), hashlib.sha256
            ).digest()
        return sub
