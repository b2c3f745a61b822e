"""OpenAI-compatible chat completions over httpx (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

    ProviderProblem              base: why there is no answer, in words a person can act on
     +-- NoProvider              nothing configured (no llm model, or its key's env var is unset)
     +-- ProviderRefused         the base URL points inside the network and local servers are not allowed
     +-- ProviderUnreachable     connection failed or timed out, after the retries
     +-- ProviderFailed          the server answered, but with an error or something unreadable

Base URLs are checked against internal addresses (loopback, private, link-local, reserved) when
saved and again on every connection, because a name can resolve elsewhere later. The connection
check is the one that counts: the host is resolved once, every address it gave is checked, and the
socket is opened to a checked address (``CheckedAddresses``), so a DNS answer that changes between
the check and the connect (rebinding) cannot reach an internal server. TLS still verifies, and
sends as SNI, the URL's host name; the Host header is the URL's. Redirects are never followed: a
3xx could point the request at one of those addresses.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from helios.assistants.schemas import BehaviourSettings, CallOutcome, ChatMessage
from helios.core.errors import InvalidInput

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_S = 0.2


class ProviderProblem(Exception):
    outcome: CallOutcome = CallOutcome.error


class NoProvider(ProviderProblem):
    outcome = CallOutcome.no_provider


class ProviderRefused(ProviderProblem):
    outcome = CallOutcome.refused


class ProviderUnreachable(ProviderProblem):
    outcome = CallOutcome.unreachable


class ProviderFailed(ProviderProblem):
    outcome = CallOutcome.error


@dataclass(frozen=True)
class Provider:
    """Where an assistant's model lives and how patiently to call it."""

    model: str  # the registry model, for messages
    base_url: str
    model_name: str
    api_key_env: str | None = None
    default_params: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 30.0
    max_retries: int = 2
    allow_local: bool = False


@dataclass
class Completion:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float


# --- the address check ------------------------------------------------------------------------


def resolve(host: str, port: int | None) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (tests replace this to stage
    a DNS rebinding); a literal IP is itself."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))


def _first_internal(addresses: list[str]) -> str | None:
    return next((a for a in addresses if _is_internal(ipaddress.ip_address(a))), None)


def internal_address(host: str) -> str | None:
    """The first internal address ``host`` is or resolves to; None when all are public (or none resolve)."""
    try:
        return _first_internal(resolve(host, None))
    except (OSError, UnicodeError):
        return None


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _internal_words(where: str, address: str) -> str:
    return (
        f"{where} points at the internal address {address}; an admin can allow local model "
        "servers (PUT /api/v1/ai-assistant/config allow_local_model_servers=true)"
    )


def check_base_url(
    base_url: str, allow_local: bool, field_name: str = "base_url", *, resolve_host: bool = True
) -> None:
    """A 422 naming ``field_name`` when ``base_url`` is not http(s), or points inside the network
    and that is not allowed (``resolve_host=False``: only a literal IP is checked here)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{field_name}: {base_url!r} is not an http(s) URL",
            errors=[{"field": field_name, "message": "not an http(s) URL"}],
        )
    if allow_local:
        return
    if resolve_host:
        address = internal_address(parts.hostname)
    else:
        literal = _literal_ip(parts.hostname)
        address = _first_internal([literal]) if literal else None
    if address is not None:
        message = _internal_words(base_url, address)
        raise InvalidInput(f"{field_name}: {message}", errors=[{"field": field_name, "message": message}])


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class CheckedAddresses(httpcore.NetworkBackend):
    """httpcore's TCP connect, through one resolution that is checked before it is used.

    httpcore hands the URL's host to ``connect_tcp``; this resolves it once, refuses the whole
    connection when any address is internal (unless local servers are allowed), and opens the
    socket to one of exactly those addresses. TLS is layered on the returned stream by httpcore
    with the original host name (SNI and certificate check), so nothing else changes.
    """

    def __init__(self, allow_local: bool) -> None:
        self.allow_local = allow_local
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from None
        internal = None if self.allow_local else _first_internal(addresses)
        if internal is not None:
            raise ProviderRefused(_internal_words(host, internal))
        failure: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return self._system.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("model servers are reached over TCP only")

    def sleep(self, seconds: float) -> None:
        self._system.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool opening sockets through ``CheckedAddresses``
    (httpx builds the pool without a network backend argument; this builds the same pool with one)."""

    def __init__(self, allow_local: bool) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedAddresses(allow_local),
        )


# --- calling ----------------------------------------------------------------------------------


def request_body(
    provider: Provider, messages: list[ChatMessage], settings: BehaviourSettings, stream: bool
) -> dict:
    body: dict[str, Any] = {**provider.default_params}
    body.pop("max_output_tokens", None)  # Helios's own limit, not an OpenAI parameter
    body |= {
        "model": provider.model_name,
        "messages": [m.model_dump() for m in messages],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "top_p": settings.top_p,
        "stream": stream,
    }
    if settings.stop:
        body["stop"] = settings.stop
    if settings.response_format == "json_object":
        body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _headers(provider: Provider) -> dict[str, str]:
    if provider.api_key_env is None:
        return {}
    key = os.environ.get(provider.api_key_env)
    if not key:
        raise NoProvider(
            f"model {provider.model!r} reads its API key from ${provider.api_key_env}, "
            "which is not set on the server"
        )
    return {"Authorization": f"Bearer {key}"}


def _guard(provider: Provider) -> None:
    # The URL's shape and a literal internal IP, here; a host name is resolved and checked once,
    # by the connection that uses the answer (CheckedAddresses), never twice.
    try:
        check_base_url(provider.base_url, provider.allow_local, resolve_host=False)
    except InvalidInput as exc:
        raise ProviderRefused(exc.errors[0]["message"] if exc.errors else exc.detail) from None


_CLIENTS: dict[tuple[float, bool], httpx.Client] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(provider: Provider) -> httpx.Client:
    """One pooled client per (timeout, local servers allowed), shared by every call: building an
    httpx.Client (its TLS context) costs far more than a local model's answer, and pooled
    connections skip the handshake. Clients are thread-safe; redirects are never followed."""
    key = (provider.timeout_s, provider.allow_local)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = httpx.Client(
                transport=CheckedTransport(provider.allow_local),
                timeout=httpx.Timeout(provider.timeout_s, connect=min(provider.timeout_s, 10.0)),
                follow_redirects=False,
                trust_env=False,
            )
        return client


def complete(provider: Provider, messages: list[ChatMessage], settings: BehaviourSettings) -> Completion:
    """One chat completion, with retries and backoff on connection errors, 429 and 5xx."""
    _guard(provider)
    headers = _headers(provider)
    body = request_body(provider, messages, settings, stream=False)
    started = time.perf_counter()
    client = _client(provider)
    response = _with_retries(provider, lambda: client.post(_url(provider), json=body, headers=headers))
    payload = _json(provider, response)
    try:
        text = payload["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise ProviderFailed(f"{provider.base_url} answered without choices[0].message.content") from None
    usage = payload.get("usage") or {}
    latency = (time.perf_counter() - started) * 1000
    return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), latency)


def stream(
    provider: Provider, messages: list[ChatMessage], settings: BehaviourSettings
) -> Iterator[str | dict]:
    """Text deltas as they arrive; the last item is a dict with the usage, when the server sends it."""
    _guard(provider)
    headers = _headers(provider)
    body = request_body(provider, messages, settings, stream=True)
    client = _client(provider)
    request = client.build_request("POST", _url(provider), json=body, headers=headers)
    response = _with_retries(provider, lambda: client.send(request, stream=True))
    try:
        _check_status(provider, response)
        usage: dict = {}
        for line in response.iter_lines():
            delta, usage = _stream_line(provider, line, usage)
            if delta:
                yield delta
        yield usage
    except httpx.TimeoutException:
        raise ProviderUnreachable(
            f"{provider.base_url} stopped sending within {provider.timeout_s} s"
        ) from None
    except httpx.TransportError as exc:
        raise ProviderUnreachable(f"{provider.base_url} broke off the stream: {exc}") from None
    finally:
        response.close()


def _stream_line(provider: Provider, line: str, usage: dict) -> tuple[str, dict]:
    if not line.startswith("data:"):
        return "", usage
    data = line[5:].strip()
    if data == "[DONE]":
        return "", usage
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError:
        raise ProviderFailed(f"{provider.base_url} sent a stream chunk that is not JSON") from None
    usage = chunk.get("usage") or usage
    choices = chunk.get("choices") or []
    delta = (choices[0].get("delta") or {}).get("content") if choices else None
    return delta or "", usage


def _url(provider: Provider) -> str:
    return provider.base_url.rstrip("/") + "/chat/completions"


def _with_retries(provider: Provider, send: Any) -> httpx.Response:
    attempt = 0
    while True:
        try:
            response = send()
        except httpx.TimeoutException:
            problem: ProviderProblem = ProviderUnreachable(
                f"{provider.base_url} did not answer within {provider.timeout_s} s"
            )
        except httpx.TransportError as exc:
            problem = ProviderUnreachable(f"could not reach {provider.base_url}: {exc}")
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= provider.max_retries:
                return response
            response.close()
            problem = ProviderFailed(f"{provider.base_url} answered HTTP {response.status_code}")
        if attempt >= provider.max_retries:
            raise problem
        time.sleep(BACKOFF_S * 2**attempt)
        attempt += 1


def _check_status(provider: Provider, response: httpx.Response) -> None:
    if response.is_redirect:
        target = response.headers.get("location", "?")
        raise ProviderFailed(f"{provider.base_url} redirected to {target}; redirects are not followed")
    if response.status_code >= 400:
        response.read()
        raise ProviderFailed(
            f"{provider.base_url} answered HTTP {response.status_code}: {_error_text(response)}"
        )


def _json(provider: Provider, response: httpx.Response) -> dict:
    _check_status(provider, response)
    try:
        payload = response.json()
    except ValueError:
        raise ProviderFailed(f"{provider.base_url} answered with something that is not JSON") from None
    if not isinstance(payload, dict):
        raise ProviderFailed(f"{provider.base_url} answered with JSON that is not an object")
    return payload


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))[:300]
        return str(error)[:300]
    except (ValueError, AttributeError):
        return response.text[:300]
