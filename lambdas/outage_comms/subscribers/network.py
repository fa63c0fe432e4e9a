"""Who is asking, for abuse limits: the client's network, not its exact address.

An IPv6 client is given a whole /64 (RFC 6177, and every mobile and home network does it) and can
pick a fresh address from it for every request, so limits and "one answer per client" keyed by the
full address count one client 2^64 times. :func:`client_network` keys an IPv6 source by its /64
and an IPv4 source by its address (an IPv4-mapped IPv6 address is its IPv4 address). Anything
that is not an IP address (a test's ``"unknown"``, a phone number) is returned as it is.

:func:`wider_network` is the next level up for a second, looser limit: the /48 a site is usually
given for IPv6, the /24 for IPv4.
"""

from __future__ import annotations

import ipaddress


def _parse(source: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(source.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_network(source: str) -> str:
    """``2001:db8:1:2::/64`` for any address of that /64; ``198.51.100.7`` for an IPv4 source."""
    address = _parse(source)
    if address is None:
        return source
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def wider_network(source: str) -> str:
    """The /48 of an IPv6 source, the /24 of an IPv4 one (for a looser, second limit)."""
    address = _parse(source)
    if address is None:
        return source
    prefix = 24 if isinstance(address, ipaddress.IPv4Address) else 48
    return str(ipaddress.ip_network((address, prefix), strict=False))
