"""With tickstock_tls on: TLS only, and only for clients that the kit's CA vouches for."""

import pytest
from conftest import CONTRACT, REDIS_PORT, SENTINEL_PORT


@pytest.fixture
def tls_cluster(cluster):
    node = next(iter(cluster.values()))
    if not node.vars.get("tickstock_tls", CONTRACT["tls"]):
        pytest.skip("tickstock_tls is off in this scenario")
    return cluster


def test_tls_settings_are_live(tls_cluster):
    for name, node in tls_cluster.items():
        assert node.redis("CONFIG", "GET", "port").splitlines()[1] == "0", name
        assert node.redis("CONFIG", "GET", "tls-port").splitlines()[1] == str(REDIS_PORT), name
        assert node.redis("CONFIG", "GET", "tls-replication").splitlines()[1] == "yes", name
        info = node.info("replication")
        assert info["role"] == "master" or info["master_link_status"] == "up", (name, info)


def test_plain_text_is_refused(tls_cluster):
    for name, node in tls_cluster.items():
        for port in (REDIS_PORT, SENTINEL_PORT):
            out = node.host.run(f"timeout 5 {node.engine['cli']} -h 127.0.0.1 -p {port} PING")
            assert "PONG" not in out.stdout and "NOAUTH" not in out.stdout, (name, port, out.stdout)


def test_a_client_with_another_ca_is_refused(tls_cluster):
    node = next(iter(tls_cluster.values()))
    make = (
        "set -e; d=$(mktemp -d); cd $d; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=rogue -keyout k.pem -out c.pem 2>/dev/null; echo $d"
    )
    rogue = node.host.check_output(make)
    cli, tls_dir = node.engine["cli"], node.engine["tls_dir"]
    for port in (REDIS_PORT, SENTINEL_PORT):
        # Trusts the rogue CA: the server's certificate does not verify.
        out = node.host.run(f"timeout 5 {cli} --tls --cacert {rogue}/c.pem -h 127.0.0.1 -p {port} PING")
        assert "PONG" not in out.stdout and "NOAUTH" not in out.stdout, (port, out.stdout, out.stderr)
        # Trusts the right CA but shows a certificate the server does not accept.
        out = node.host.run(
            f"timeout 5 {cli} --tls --cacert {tls_dir}/ca.crt --cert {rogue}/c.pem --key {rogue}/k.pem "
            f"-h 127.0.0.1 -p {port} PING"
        )
        assert "PONG" not in out.stdout and "NOAUTH" not in out.stdout, (port, out.stdout, out.stderr)
    node.host.run(f"rm -rf {rogue}")
