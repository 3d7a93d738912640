"""What a base URL must look like, wherever it comes from (`[target] base_url`,
`ANTHROPIC_BASE_URL`, `--base-url`): one check, so all three are refused alike.

A base URL is `http://` or `https://`, a host (a name, an IPv4 address or a bracketed IPv6
address) and an optional valid port and path prefix; no user name or password (they would be
written to the run's manifest), no query or fragment, no whitespace, and no trailing `/v1`
(the client adds `/v1/messages` itself). Problems are sentences that never repeat a password.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

EXAMPLE = "https://api.anthropic.com"


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL, or None when it can."""
    shown = shown_url(url)
    if not url or any(c.isspace() for c in url):
        return f"{shown!r} is not a URL; give one like {EXAMPLE}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError as exc:
        return f"{shown!r} is not a valid URL ({exc}); give one like {EXAMPLE}"
    return _parts_problem(parts, shown)


def _parts_problem(parts: SplitResult, shown: str) -> str | None:
    if parts.scheme not in ("http", "https"):
        return f"{shown!r} is not an http:// or https:// URL; give one like {EXAMPLE}"
    if not parts.hostname:
        return f"{shown!r} has no host; give one like {EXAMPLE}"
    if parts.username is not None or parts.password is not None:
        return (
            f"{shown!r} holds a user name or password; beta-runner records the base URL in "
            "every run's manifest, so give it without them (the API key goes in the variable "
            "named by [target] api_key_env)"
        )
    if parts.query or parts.fragment:
        return f"{shown!r} has a query or fragment; give the server's address only"
    if parts.path.rstrip("/").endswith("/v1"):
        bare = shown.rstrip("/").removesuffix("/v1")
        return f"{shown!r} ends in /v1, but beta-runner adds /v1/messages itself; use {bare!r}"
    return None


def normalised(url: str) -> str:
    """A valid base URL without its trailing slashes."""
    return url.rstrip("/")


def shown_url(url: str) -> str:
    """`url` fit to print: a password in it replaced by `***`."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, userinfo = head.partition("://")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{tail}"
