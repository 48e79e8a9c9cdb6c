"""Where outgoing webhooks may go: http(s) to public internet addresses only, checked twice.

A customer chooses a webhook's URL and our worker makes the request from inside our network, so a
URL naming 169.254.169.254, 10.0.0.5 or localhost would let a customer reach our own services
(SSRF). The URL is checked when a channel is saved (a field message, nothing stored) and again at
every delivery. Checking the name is not enough: it can resolve to a public address when saved and
to a private one a minute later (DNS rebinding), or differently for the check and the connection.
So a delivery resolves the name once, checks every address it got, and connects to a checked
address itself, sending the name in the Host header and as TLS SNI (the certificate is still
verified against the name). Redirects are never followed, and environment proxies are ignored.

`HAPPA_WEBHOOK_ALLOW_PRIVATE` lifts the address rule (not the scheme and credentials rules) for
development and for tests that post to a loopback receiver.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

ALLOWED_SCHEMES = ("http", "https")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python's `is_private` lumps together with others; these get the plain word "private".
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                          "fc00::/7")
)
# IPv6 forms that carry an IPv4 address a gateway would connect to (NAT64's well-known prefix).
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")
PUBLIC_ONLY = "webhooks may only go to public internet addresses"


class RefusedDestination(Exception):
    """The URL may never be posted to: wrong scheme, credentials, or a non-public address."""


class UnresolvedHost(Exception):
    """The host name does not resolve (now); at delivery this is retried like a network error."""


@dataclass(frozen=True)
class Destination:
    """A checked target: connect to `url` (the address); send `host_header`, `server_name`."""

    url: str
    host_header: str
    server_name: str
    address: str


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form stands for (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64_NETWORK:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_class(address: IPAddress) -> str | None:
    """Why an address is off limits ("loopback", "private", …), or None for a public address."""
    address = _embedded_ipv4(address)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:  # 169.254.0.0/16 holds the cloud metadata service
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "private"
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    # is_global is False for the remaining special-purpose ranges (shared 100.64/10,
    # documentation, benchmarking, 240/4 …): none of them is a customer's public receiver.
    if address.is_reserved or address.is_private or site_local or not address.is_global:
        return "reserved"
    return None


def _split(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL; refuses other schemes and credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = httpx.URL(url).raw_host.decode("ascii")  # IDNA-encoded, IPv6 without brackets
    except (ValueError, httpx.InvalidURL) as error:
        raise RefusedDestination(f"The URL is not valid: {error}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise RefusedDestination("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise RefusedDestination(
            "Leave the user name and password out of the URL: they would show in the channel list "
            "and logs. The X-Happa-Signature header authenticates each request."
        )
    if not host:
        raise RefusedDestination("The URL has no host.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnresolvedHost(f"The host {host} does not resolve ({error}).") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnresolvedHost(f"The host {host} does not resolve.")
    return addresses


def check_webhook_url(url: str, *, allow_private: bool | None = None) -> Destination:
    """Resolve the URL's host once and check every address; return where to connect.

    Raises RefusedDestination (never send) or UnresolvedHost (maybe later).
    """
    if allow_private is None:
        allow_private = settings.HAPPA_WEBHOOK_ALLOW_PRIVATE
    _, host, port = _split(url)
    addresses = _resolve(host, port)
    if not allow_private:
        # Every address, not just the first: a name with one public and one private address
        # would otherwise pass the check and be connected to the private one by a resolver later.
        for address in addresses:
            refused = address_class(address)
            if refused is None:
                continue
            article = "an" if refused[0] in "aeiou" else "a"
            where = f"{host} is" if _is_literal(host) else f"{host} resolves to {address},"
            raise RefusedDestination(f"{where} {article} {refused} address: {PUBLIC_ONLY}.")
    original = httpx.URL(url)
    # One address only (no fallback across them); IPv4 first, as many worker networks have no
    # IPv6 egress.
    chosen = next((address for address in addresses if address.version == 4), addresses[0])
    return Destination(
        url=str(original.copy_with(host=str(chosen))),
        host_header=original.netloc.decode("ascii"),
        server_name=host,
        address=str(chosen),
    )


def validate_webhook_url(url: str) -> None:
    """Model-field validator: the same check, as a message on the webhook URL field."""
    try:
        check_webhook_url(url)
    except RefusedDestination as error:
        raise ValidationError(str(error), code="refused_destination") from None
    except UnresolvedHost as error:
        raise ValidationError(str(error), code="unresolved_host") from None
