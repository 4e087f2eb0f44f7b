"""The HTTP endpoints answer loopback and TICKSTOCKPL_HTTP_ALLOW only."""

from __future__ import annotations

import http.client
import ipaddress
import subprocess

import pytest
from tickstockpl.endpoints import LiveState, peer_allowed, serve
from tickstockpl.metrics import Metrics
from tickstockpl.settings import Settings, SettingsError


def _addresses() -> list[str]:
    """This host's non-loopback IPv4 addresses (lab/bootstrap's dockerd adds docker0)."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True).stdout
    found = [line.split()[3].split("/")[0] for line in out.splitlines()]
    return [a for a in found if not ipaddress.ip_address(a).is_loopback]


def _get(host: str, port: int, source: str = "") -> int:
    conn = http.client.HTTPConnection(host, port, timeout=3, source_address=(source, 0) if source else None)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        return -1
    finally:
        conn.close()


@pytest.mark.parametrize("allowed", [False, True])
def test_only_loopback_and_allowed_peers_are_served(allowed: bool) -> None:
    addresses = _addresses()
    assert len(addresses) >= 2, f"the test needs two non-loopback addresses, found {addresses}"
    own, other = addresses[:2]
    allow = (ipaddress.ip_network(f"{own}/32"),) if allowed else ()
    server = serve("0.0.0.0", 0, LiveState(), Metrics(), allow)
    try:
        port = server.server_address[1]
        assert _get("127.0.0.1", port) == 200
        # This host through its own address: served, like loopback.
        assert _get(own, port, source=own) == 200
        # To a second address of ours from the first: the peer is not the local
        # address, as for another host. (Not the other way round: Docker's
        # masquerade rules rewrite sources in its subnets.)
        assert _get(other, port, source=own) == (200 if allowed else -1)
    finally:
        server.shutdown()
        server.server_close()


def test_peer_rules() -> None:
    net = (ipaddress.ip_network("10.1.0.0/16"),)
    assert peer_allowed("127.0.0.1", ()) and peer_allowed("::1", ())
    assert peer_allowed("10.1.2.3", net) and peer_allowed("::ffff:10.1.2.3", net)
    assert not peer_allowed("10.2.0.1", net) and not peer_allowed("", net) and not peer_allowed("junk", net)
    assert peer_allowed("10.9.0.1", (), local="10.9.0.1") and not peer_allowed("10.9.0.1", (), local="10.9.0.2")


def test_allow_setting_is_checked() -> None:
    settings = Settings.from_env({"TICKSTOCKPL_HTTP_ALLOW": "10.0.0.5, fd00::/8"})
    assert [str(n) for n in settings.http_allow] == ["10.0.0.5/32", "fd00::/8"]
    with pytest.raises(SettingsError, match="TICKSTOCKPL_HTTP_ALLOW"):
        Settings.from_env({"TICKSTOCKPL_HTTP_ALLOW": "monitoring.example"})
