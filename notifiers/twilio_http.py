"""An HTTP client for the twilio library that always has a time-out and can talk to another host.

twilio-python 9.x builds absolute ``https://api.twilio.com/...`` URLs in its ``Domain`` objects, may rewrite
the host for an edge or region (``TWILIO_EDGE`` / ``TWILIO_REGION`` are read from the environment), and then
hands every request, next-page links included, to ``client.http_client.request(method, url, ...)``. That
last step is the robust place to redirect: setting ``client.api.base_url`` breaks as soon as an edge or a
region is set (``get_hostname`` splits ``127.0.0.1:8765`` on dots).

``TwilioHttpClient`` has no time-out by default, and then ``requests`` waits for ever (twilio-python #925 is
the same fault in the async client); its ``timeout`` is one float, used as both the connect and the read
time-out. A read time-out surfaces as ``requests.exceptions.ReadTimeout`` (twilio does not wrap it), a refused
connection as ``requests.exceptions.ConnectionError``; ``requests`` never retries a POST by itself.
"""

import logging
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests import Response
from twilio.http.http_client import TwilioHttpClient

TWILIO_API_BASE_URL = "https://api.twilio.com"

log = logging.getLogger("complaintflow.sms.twilio.http")


class BaseUrlHttpClient(TwilioHttpClient):
    """Send every Twilio API request to ``base_url`` instead of ``*.twilio.com``.

    The path and query are kept; scheme, host and port come from ``base_url`` (a path prefix in it is
    prepended). ``timeout`` (seconds, connect and read) is required: without one a hung server hangs the
    caller for ever. A loopback base URL (a local fake or relay) never goes through an ``HTTP(S)_PROXY``
    taken from the environment.

    The library's own request log prints query parameters at INFO, and a message list is queried by the
    recipient's number: this client logs method and path only, at DEBUG.
    """

    def __init__(self, base_url: str, *, timeout: float, **kwargs: Any) -> None:
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must look like https://host[:port], not {base_url!r}")
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        if self.session is not None and _is_loopback(parts.hostname):
            self.session.trust_env = False

    def rebase(self, url: str) -> str:
        """Return ``url`` with its scheme and host replaced by the base URL's."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        return super().request(
            method,
            self.rebase(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )

    def log_request(self, kwargs: dict[str, Any]) -> None:
        log.debug("Twilio API %s %s", kwargs["method"], urlsplit(kwargs["url"]).path)

    def log_response(self, status_code: int, response: Response) -> None:
        log.debug("Twilio API answered %s", status_code)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
