"""OpenAI-compatible chat completions over httpx (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

    ProviderProblem              base: why there is no answer, in words a person can act on
     +-- NoProvider              nothing configured (no llm model, or its key's env var is unset)
     +-- ProviderRefused         the base URL points inside the network and local servers are not allowed
     +-- ProviderUnreachable     connection failed or timed out, after the retries
     +-- ProviderFailed          the server answered, but with an error or something unreadable

Base URLs are checked against internal addresses (loopback, private, link-local, reserved) every
time they are used, not only when saved, because a name can resolve elsewhere later. Redirects are
never followed: a 3xx could point the request at one of those addresses.
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


def internal_address(host: str) -> str | None:
    """The first internal address ``host`` is or resolves to; None when all are public (or none resolve)."""
    try:
        candidates = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return None
        candidates = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in candidates:
        if _is_internal(address):
            return str(address)
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


def check_base_url(base_url: str, allow_local: bool, field_name: str = "base_url") -> None:
    """A 422 naming ``field_name`` when ``base_url`` points inside the network and that is not allowed."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{field_name}: {base_url!r} is not an http(s) URL",
            errors=[{"field": field_name, "message": "not an http(s) URL"}],
        )
    if allow_local:
        return
    address = internal_address(parts.hostname)
    if address is not None:
        message = (
            f"{base_url} points at the internal address {address}; an admin can allow local model "
            "servers (PUT /api/v1/ai-assistant/config allow_local_model_servers=true)"
        )
        raise InvalidInput(f"{field_name}: {message}", errors=[{"field": field_name, "message": message}])


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
    try:
        check_base_url(provider.base_url, provider.allow_local)
    except InvalidInput as exc:
        raise ProviderRefused(exc.errors[0]["message"] if exc.errors else exc.detail) from None


_CLIENTS: dict[float, httpx.Client] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(provider: Provider) -> httpx.Client:
    """One pooled client per timeout, shared by every call: building an httpx.Client (its TLS
    context) costs far more than a local model's answer, and pooled connections skip the
    handshake. Clients are thread-safe; redirects are never followed."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(provider.timeout_s)
        if client is None:
            client = _CLIENTS[provider.timeout_s] = httpx.Client(
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
