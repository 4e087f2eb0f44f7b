"""Stream instances 1..N, pub/sub instances from 101."""

from consumer_instances import instances


def test_stream_then_pubsub():
    table = instances([1, 2, 101, 102], [{"tickers": ["AAPL", "MSFT"]}, {}], 9108)
    assert [(t["id"], t["mode"], t["tickers"], t["port"]) for t in table] == [
        (1, "stream", [], 9108),
        (2, "stream", [], 9109),
        (101, "pubsub", ["AAPL", "MSFT"], 9208),
        (102, "pubsub", [], 9209),
    ]
