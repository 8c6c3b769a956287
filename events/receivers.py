"""Where webhooks may go: the rules on a receiver's URL, and the one POST that
reaches it.

A URL is checked when an endpoint is saved, and the address its host
resolves to is checked again at every delivery, then the request is made to
that very address (the host name still goes in `Host` and in TLS's SNI and
certificate check): a name that resolved to a public address when it was
saved and to a private one later (DNS rebinding) is refused, and there is no
second lookup between the check and the connection to slip past."""

import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

MAX_ANSWER_BYTES = 1024


class ReceiverRefused(Exception):
    """The URL or the address it resolves to is not allowed."""


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> None:
    """The rules of an endpoint's URL; an IP literal is checked at once, a
    name is checked on what it resolves to at each delivery (it may not
    resolve from here today)."""
    parts = urlsplit(url)
    allowed = {"https"} if settings.WEBHOOK_REQUIRE_HTTPS else {"https", "http"}
    if parts.scheme not in allowed:
        raise ReceiverRefused(f"The URL must use {' or '.join(sorted(allowed))}.")
    if not parts.hostname:
        raise ReceiverRefused("The URL has no host.")
    if parts.username or parts.password:
        raise ReceiverRefused("The URL must not carry credentials.")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.rstrip(".").lower() == "localhost" or parts.hostname.endswith(
            ".localhost"
        ):
            _check_address(ipaddress.ip_address("127.0.0.1"))
        return
    _check_address(address)


def _check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        raise ReceiverRefused(
            f"{address} is a private, loopback, link-local or reserved address: receivers "
            "must be on the public internet."
        )


def resolve(host: str, port: int) -> str:
    """The first address `host` resolves to, after checking every one of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ReceiverRefused(f"{host} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        _check_address(address)
    return str(addresses[0])


def _new_pools() -> urllib3.PoolManager:
    """One kept-alive connection per receiver address (and TLS name) and
    worker process: a worker sends its deliveries one at a time, and a new
    TCP (and TLS) connection per delivery cost more than the POST itself.
    Pools are keyed by the address `resolve` checked, never by the name."""
    return urllib3.PoolManager(num_pools=POOLS, maxsize=1, block=False)


# Receivers kept connected per process; the least recently used is closed past it.
POOLS = 100
_pools = _new_pools()


def _forget_pools_after_fork() -> None:
    """A forked worker opens its own connections: never the parent's sockets."""
    global _pools
    _pools = _new_pools()


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` once, over the process's kept-alive connection to
    its address: no redirect followed, no retry here, at most
    WEBHOOK_TIMEOUT_SECONDS for connecting and for the answer."""
    started = time.monotonic()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        check_url(url)
        address = resolve(parts.hostname, port)
    except ReceiverRefused as exc:
        return Answer(None, str(exc), _ms_since(started))
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    pool = _pools.connection_from_host(
        address,
        port,
        parts.scheme,
        pool_kwargs={"server_hostname": parts.hostname, "assert_hostname": parts.hostname}
        if parts.scheme == "https"
        else None,
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
            redirect=False,
            retries=False,
            timeout=timeout,
            preload_content=False,
        )
        response.read(MAX_ANSWER_BYTES)
        if not response.isclosed():
            response.close()  # a longer answer than we read: not worth reading to reuse
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return Answer(None, _describe(exc), _ms_since(started))
    if 200 <= response.status < 300:
        return Answer(response.status, "", _ms_since(started))
    return Answer(response.status, f"HTTP {response.status}", _ms_since(started))


def _describe(exc: Exception) -> str:
    # urllib3 files a refused connection under its timeouts too.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return f"could not connect: {exc}"[:500]
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return f"timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s"
    return f"{exc.__class__.__name__}: {exc}"[:500]


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
