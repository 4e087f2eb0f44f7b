"""Throughput of one stream consumer process over TLS vs plain TCP, same run, same server.

One redis-server listens on a plain port and on a TLS port (a throw-away CA and server
certificate, EC P-256 as the lab's, `tls-auth-clients no`). Each round: FLUSHALL, preload
the ticks over the plain port (not measured), then the Worker consumes them
(consumer_throughput.ours) over one of the two ports; the order alternates from round to
round, so a shared machine's drift falls on both. Prints figures only; no assertions on time.

    python bench/tls_throughput.py [--ticks 200000] [--rounds 3] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

import redis
from _redis import free_port, redis_server
from consumer_throughput import ours, preload

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_certs(d: Path) -> tuple[str, str, str]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key) paths."""
    ca, ca_key, cert, key, csr, ext = (str(d / n) for n in ("ca.crt", "ca.key", "s.crt", "s.key", "s.csr", "s.ext"))
    Path(ext).write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    for cmd in (
        ["req", "-x509", *EC, "-days", "1", "-subj", "/CN=bench CA", "-keyout", ca_key, "-out", ca],
        ["req", *EC, "-subj", "/CN=localhost", "-keyout", key, "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "1",
         "-extfile", ext, "-out", cert],
    ):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    return ca, cert, key


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ticks", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch", type=int, default=1000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        ca, cert, key = make_certs(Path(d))
        tls_port = free_port()
        tls_args = ("--tls-port", str(tls_port), "--tls-cert-file", cert, "--tls-key-file", key,
                    "--tls-ca-cert-file", ca, "--tls-auth-clients", "no")
        with redis_server(*tls_args) as port:
            base = {"REDIS_HOST": "127.0.0.1", "TICKSTOCKPL_HTTP_PORT": "0"}
            envs = {
                "plain": {**base, "REDIS_PORT": str(port)},
                "tls": {**base, "REDIS_PORT": str(tls_port), "REDIS_TLS": "true", "REDIS_TLS_CA_FILE": ca},
            }
            rates: dict[str, list[float]] = {"plain": [], "tls": []}
            admin = redis.Redis(port=port)
            for i in range(a.rounds):
                for kind in ("plain", "tls") if i % 2 == 0 else ("tls", "plain"):
                    admin.flushall()
                    preload(port, a.ticks)
                    rates[kind].append(ours(envs[kind], a.ticks, a.batch))
                    print(f"round {i + 1} {kind}: {rates[kind][-1]:.0f} ticks/s", flush=True)
    plain, tls = statistics.median(rates["plain"]), statistics.median(rates["tls"])
    print(json.dumps({
        "plain_ticks_per_s": round(plain),
        "tls_ticks_per_s": round(tls),
        "ratio_tls_to_plain": round(tls / plain, 2),
        "rounds": a.rounds,
        "ticks": a.ticks,
        "batch": a.batch,
    }))


if __name__ == "__main__":
    main()
