"""`tickstockpl` command line: consume, publish, health, audit, watch-patterns.

Exit codes: 0 ok (including a SIGTERM drain), 1 unhealthy / audit failed,
2 configuration error (the message names the variable).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence

from tickstockpl import logs
from tickstockpl.connection import Connector
from tickstockpl.settings import Settings, SettingsError
from tickstockpl.signals import Shutdown

log = logging.getLogger("tickstockpl")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tickstockpl", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("consume", help="consume ticks (stream or pubsub, see TICKSTOCKPL_MODE)")

    pub = sub.add_parser("publish", help="send synthetic ticks (drills, load)")
    pub.add_argument("--rate", type=float, default=1000.0, help="ticks per second")
    pub.add_argument("--tickers", default="AAPL,MSFT,GOOGL,AMZN,NVDA")
    stop = pub.add_mutually_exclusive_group()
    stop.add_argument("--duration", type=float, help="seconds to run")
    stop.add_argument("--count", type=int, help="ticks to send")
    pub.add_argument(
        "--publisher-id", default=f"{socket.gethostname()}-{os.getpid()}",
        help="identity stamped on each tick (with a sequence number)",
    )
    pub.add_argument("--summary-json", help="also write the summary to this file")
    pub.add_argument("--seed", type=int, help="random seed for prices and volumes")
    pub.add_argument(
        "--spec-format", action="store_true",
        help="send bare ticks, without publisher/seq (re-sent on failure like the others)",
    )

    sub.add_parser("health", help="ping the master; JSON line; exit 1 if unhealthy")

    aud = sub.add_parser("audit", help="check a publisher run for loss and duplicate patterns")
    aud.add_argument("--summary-json", required=True)
    aud.add_argument("--patterns-log", help="JSON lines written by watch-patterns")
    aud.add_argument("--wait", type=float, default=0.0, help="seconds to wait for consumers to drain")
    aud.add_argument(
        "--min-patterns", type=int, default=1,
        help="with --patterns-log: fail when it holds fewer pattern events (the duplicate check proved nothing)",
    )

    wat = sub.add_parser("watch-patterns", help="write pattern events as JSON lines until SIGTERM")
    wat.add_argument("--out", required=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"tickstockpl: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.setup(settings.log_level)
    try:
        return _run(args, settings)
    except SettingsError as exc:
        print(f"tickstockpl: configuration error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "health":
        from tickstockpl.health import check

        # A health probe must answer quickly, not wait out a failover.
        result = check(Connector(settings, retry_budget=min(2.0, settings.failover_timeout)))
        print(json.dumps(result))
        return 0 if result["redis"] == "healthy" else 1

    shutdown = Shutdown()
    shutdown.install()

    if args.command == "consume":
        return _consume(settings, shutdown)

    if args.command == "publish":
        from tickstockpl.publisher import Publisher

        tickers = [t.strip() for t in args.tickers.split(",") if t.strip()]
        if not tickers or any(t != t.upper() for t in tickers):
            raise SettingsError("--tickers", "give uppercase tickers, comma separated")
        if args.rate <= 0:
            raise SettingsError("--rate", "must be positive")
        # No hidden retries in the client: the publisher counts its own re-sends.
        connector = Connector(settings, retry_budget=0.0)
        publisher = Publisher(
            connector, settings, shutdown, args.publisher_id, tickers, args.rate, args.seed, args.spec_format
        )
        summary = publisher.run(count=args.count, duration=args.duration).to_dict()
        if args.summary_json:
            tmp = args.summary_json + ".tmp"
            with open(tmp, "w") as f:
                json.dump(summary, f)
            os.replace(tmp, args.summary_json)
        brief = {k: v for k, v in summary.items() if k != "unconfirmed_seqs"}
        brief["unconfirmed"] = len(summary["unconfirmed_seqs"])  # type: ignore[arg-type]
        print(json.dumps(brief))
        return 0

    if args.command == "audit":
        from tickstockpl.audit import audit

        verdict = audit(
            Connector(settings), settings.stream, args.summary_json, args.patterns_log, args.wait, args.min_patterns
        )
        print(json.dumps(verdict))
        return 0 if verdict["ok"] else 1

    if args.command == "watch-patterns":
        from tickstockpl.watch import watch_patterns

        return watch_patterns(Connector(settings), shutdown, args.out)
    raise AssertionError(args.command)


def _consume(settings: Settings, shutdown: Shutdown) -> int:
    from tickstockpl.endpoints import LiveState, serve
    from tickstockpl.metrics import Metrics
    from tickstockpl.notify import Notifier
    from tickstockpl.worker import Worker

    metrics = Metrics()
    # The loop beats at least once per block period; give it room for a failover.
    state = LiveState(stall_after_s=settings.failover_timeout + 2 * settings.socket_timeout + 5)
    server = None
    if settings.http_port:
        try:
            server = serve(settings.http_host, settings.http_port, state, metrics, settings.http_allow)
        except OSError as exc:
            raise SettingsError("TICKSTOCKPL_HTTP_PORT", f"cannot listen: {exc}") from None
    connector = Connector(settings)
    notifier = Notifier()
    try:
        return Worker(settings, connector, shutdown, metrics, state, notifier).run()
    finally:
        if server is not None:
            server.shutdown()
        connector.close()


if __name__ == "__main__":
    raise SystemExit(main())
