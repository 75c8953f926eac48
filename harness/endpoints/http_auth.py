"""HTTP authentication for the server side: Basic (RFC 7617) and Digest (RFC 7616).

An `Authenticator` makes the challenge header values (`WWW-Authenticate` or,
for a proxy, `Proxy-Authenticate`) and checks the matching credentials header.
Digest supports MD5 and SHA-256 (and their `-sess` forms), qop=auth, and the
RFC 2069 form without qop; nonces are the server's own and a correct answer to
an unknown nonce is re-challenged with `stale=true`.

Pure functions and small objects: no sockets, no clock, no spec knowledge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from harness.wire.http import split_target

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class AuthError(ValueError):
    """A credentials header that cannot be parsed; the message says why."""


@dataclass(frozen=True, slots=True)
class AuthResult:
    ok: bool
    user: str | None = None
    reason: str = ""  # why it failed ("no credentials", "wrong password", ...)
    stale: bool = False  # right password, nonce unknown or expired


class Authenticator(Protocol):
    scheme: str
    proxy: bool

    def challenges(self, *, stale: bool = False) -> list[str]:
        """Values for the challenge header (one header line per value)."""

    def verify(self, credentials: str | None, method: str, target: str) -> AuthResult: ...


def challenge_header(proxy: bool) -> str:
    return "Proxy-Authenticate" if proxy else "WWW-Authenticate"


def credentials_header(proxy: bool) -> str:
    return "Proxy-Authorization" if proxy else "Authorization"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_credentials(value: str) -> tuple[str, str | None, dict[str, str]]:
    """(scheme, token68 or None, auth-params) of a credentials header value."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if not scheme:
        raise AuthError("empty credentials")
    rest = rest.strip()
    if not rest:
        return scheme, None, {}
    if "=" not in rest or rest.rstrip("=").find("=") < 0:
        # token68 (Basic): base64 characters, maybe '=' padding at the end only
        return scheme, rest, {}
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = rest.find("=", i)
        if eq < 0:
            raise AuthError(f"auth-param without '=' at offset {i}: {rest[i : i + 30]!r}")
        name = rest[i:eq].strip().lower()
        if not name or any(c in name for c in ' \t,"'):
            raise AuthError(f"invalid auth-param name {name!r}")
        i = eq + 1
        while i < n and rest[i] in " \t":
            i += 1
        if i < n and rest[i] == '"':
            i += 1
            out = []
            while True:
                if i >= n:
                    raise AuthError(f"unterminated quoted string for {name!r}")
                c = rest[i]
                if c == "\\" and i + 1 < n:
                    out.append(rest[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                out.append(c)
                i += 1
            val = "".join(out)
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            val = rest[i:end].strip()
            i = end
        if name in params:
            raise AuthError(f"auth-param {name!r} given twice")
        params[name] = val
    return scheme, None, params


def _origin_form(target: str) -> str:
    """Path and query of a target; clients use it as the Digest uri of absolute-form requests."""
    path, query = split_target(target)
    return f"{path}?{query}" if query else path


class BasicAuth:
    scheme = "Basic"

    def __init__(self, user: str, password: str, *, realm: str = "harness", proxy: bool = False):
        self.user = user
        self.password = password
        self.realm = realm
        self.proxy = proxy

    def challenges(self, *, stale: bool = False) -> list[str]:
        return [f'Basic realm={_quote(self.realm)}, charset="UTF-8"']

    def verify(self, credentials: str | None, method: str, target: str) -> AuthResult:
        if not credentials:
            return AuthResult(False, reason="no credentials")
        try:
            scheme, token, _ = parse_credentials(credentials)
        except AuthError as exc:
            return AuthResult(False, reason=f"unparseable credentials: {exc}")
        if scheme.lower() != "basic" or token is None:
            return AuthResult(False, reason=f"expected Basic credentials, got {scheme!r}")
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            return AuthResult(False, reason=f"Basic token {token[:30]!r} is not valid base64")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        user, colon, password = text.partition(":")
        if not colon:
            return AuthResult(
                False, reason="Basic credentials have no ':' between user and password"
            )
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_pass = hmac.compare_digest(password.encode(), self.password.encode())
        if not ok_user:
            return AuthResult(False, user=user, reason=f"unknown user {user!r}")
        if not ok_pass:
            return AuthResult(False, user=user, reason=f"wrong password for user {user!r}")
        return AuthResult(True, user=user)


def digest_response(
    *,
    algorithm: str,
    user: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The `response` value a client computes (RFC 7616 section 3.4.1)."""
    base = algorithm.upper().removesuffix("-SESS")
    if base not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")

    def h(text: str) -> str:
        return _HASHES[base](text.encode("utf-8")).hexdigest()

    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce or ''}")
    ha2 = h(f"{method}:{uri}")
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return h(f"{ha1}:{nonce}:{ha2}")


class DigestAuth:
    scheme = "Digest"

    def __init__(
        self,
        user: str,
        password: str,
        *,
        realm: str = "harness",
        proxy: bool = False,
        algorithms: tuple[str, ...] = ("MD5",),
        qop: bool = True,
    ) -> None:
        for a in algorithms:
            if a.upper().removesuffix("-SESS") not in _HASHES:
                raise ValueError(f"unsupported digest algorithm {a!r}; use MD5 or SHA-256")
        if not algorithms:
            raise ValueError("DigestAuth needs at least one algorithm")
        self.user = user
        self.password = password
        self.realm = realm
        self.proxy = proxy
        self.algorithms = tuple(algorithms)
        self.qop = qop
        self.opaque = secrets.token_hex(8)
        self._nonces: set[str] = set()
        self._seen_nc: dict[str, int] = {}

    def challenges(self, *, stale: bool = False) -> list[str]:
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        out = []
        for algorithm in self.algorithms:
            parts = [f"realm={_quote(self.realm)}"]
            if self.qop:
                parts.append('qop="auth"')
            parts += [f"algorithm={algorithm}", f"nonce={_quote(nonce)}"]
            parts.append(f"opaque={_quote(self.opaque)}")
            if stale:
                parts.append("stale=true")
            out.append("Digest " + ", ".join(parts))
        return out

    def verify(self, credentials: str | None, method: str, target: str) -> AuthResult:
        if not credentials:
            return AuthResult(False, reason="no credentials")
        try:
            scheme, _, p = parse_credentials(credentials)
        except AuthError as exc:
            return AuthResult(False, reason=f"unparseable credentials: {exc}")
        if scheme.lower() != "digest":
            return AuthResult(False, reason=f"expected Digest credentials, got {scheme!r}")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
        if missing:
            return AuthResult(False, reason=f"Digest credentials lack {', '.join(missing)}")
        user = p["username"]
        algorithm = p.get("algorithm", "MD5")
        if algorithm.upper() not in {a.upper() for a in self.algorithms}:
            return AuthResult(False, user, f"algorithm {algorithm!r} was not offered")
        if p["realm"] != self.realm:
            return AuthResult(False, user, f"realm {p['realm']!r} is not {self.realm!r}")
        if p["uri"] != target and p["uri"] != _origin_form(target):
            return AuthResult(False, user, f"uri {p['uri']!r} differs from the target {target!r}")
        qop = p.get("qop")
        if self.qop and qop != "auth":
            return AuthResult(False, user, f"qop {qop!r} given, 'auth' was offered")
        if qop and ("nc" not in p or "cnonce" not in p):
            return AuthResult(False, user, "qop given without nc and cnonce")
        if not hmac.compare_digest(user.encode(), self.user.encode()):
            return AuthResult(False, user, f"unknown user {user!r}")
        try:
            expected = digest_response(
                algorithm=algorithm,
                user=self.user,
                realm=self.realm,
                password=self.password,
                method=method,
                uri=p["uri"],
                nonce=p["nonce"],
                nc=p.get("nc"),
                cnonce=p.get("cnonce"),
                qop=qop,
            )
        except ValueError as exc:
            return AuthResult(False, user, str(exc))
        if not hmac.compare_digest(expected, p["response"].lower()):
            return AuthResult(False, user, f"wrong password for user {user!r} (digest mismatch)")
        if p["nonce"] not in self._nonces:
            return AuthResult(False, user, "nonce was not issued by this server", stale=True)
        if qop:
            try:
                nc = int(p["nc"], 16)
            except ValueError:
                return AuthResult(False, user, f"nc {p['nc']!r} is not hexadecimal")
            if nc <= self._seen_nc.get(p["nonce"], 0):
                return AuthResult(False, user, f"nonce count {p['nc']} replayed", stale=True)
            self._seen_nc[p["nonce"]] = nc
        return AuthResult(True, user=user)


def make_authenticator(
    scheme: str,
    user: str,
    password: str,
    *,
    proxy: bool = False,
    realm: str = "harness",
    algorithm: str | tuple[str, ...] = "MD5",
) -> BasicAuth | DigestAuth:
    """`make_authenticator("digest", "u", "p", algorithm="SHA-256")`."""
    kind = scheme.lower()
    if kind == "basic":
        return BasicAuth(user, password, realm=realm, proxy=proxy)
    if kind == "digest":
        algorithms = (algorithm,) if isinstance(algorithm, str) else tuple(algorithm)
        return DigestAuth(user, password, realm=realm, proxy=proxy, algorithms=algorithms)
    raise ValueError(f"unknown auth scheme {scheme!r}: use 'basic' or 'digest'")
