"""A trading session with ccxt's Binance client against the paper exchange.

Usage: ccxt_session.py BASE_URL   (the API key and secret in VAKT_TEST_API_KEY and
VAKT_TEST_API_SECRET). Prints one JSON object with what each call returned; exits 1 with the
error when a call fails. The Swift test (ExchangeSimulatorTests) checks the figures.
"""
import json
import os
import sys

import ccxt


def main() -> int:
    base = sys.argv[1].rstrip("/") + "/api/v3"
    exchange = ccxt.binance({
        "apiKey": os.environ["VAKT_TEST_API_KEY"],
        "secret": os.environ["VAKT_TEST_API_SECRET"],
        "enableRateLimit": False,
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": False,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    })
    # ccxt builds every URL from urls['api'][<api name>]; the spot ones all point here.
    for name in ("public", "private", "v1", "v3"):
        exchange.urls["api"][name] = base
    report = {}
    markets = exchange.load_markets()
    btc = markets["BTC/USDT"]
    report["markets"] = sorted(markets)
    report["btc_precision"] = {"price": btc["precision"]["price"], "amount": btc["precision"]["amount"]}
    report["btc_min_cost"] = btc["limits"]["cost"]["min"]
    balance = exchange.fetch_balance()
    report["balance_before"] = {"USDT": balance["USDT"]["free"], "BTC": balance["BTC"]["free"]}
    ticker = exchange.fetch_ticker("BTC/USDT")
    report["ticker_last_positive"] = ticker["last"] > 0
    book = exchange.fetch_order_book("BTC/USDT", limit=5)
    report["book_sizes"] = [len(book["bids"]), len(book["asks"])]
    low = exchange.price_to_precision("BTC/USDT", ticker["last"] * 0.5)
    limit = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, float(low))
    report["limit_status"] = limit["status"]
    fetched = exchange.fetch_order(limit["id"], "BTC/USDT")
    report["fetched_same"] = fetched["id"] == limit["id"] and fetched["clientOrderId"] == limit["clientOrderId"]
    report["open_ids"] = [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [limit["id"]]
    canceled = exchange.cancel_order(limit["id"], "BTC/USDT")
    report["canceled_status"] = canceled["status"]
    market = exchange.create_order("BTC/USDT", "market", "buy", 0.002)
    report["market_status"] = market["status"]
    report["market_filled"] = market["filled"]
    report["market_trades"] = len(market["trades"])
    trades = exchange.fetch_my_trades("BTC/USDT")
    report["my_trades"] = len(trades)
    candles = exchange.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    report["ohlcv_width"] = len(candles[0]) if candles else 0
    after = exchange.fetch_balance()
    report["balance_after"] = {"USDT": after["USDT"]["total"], "BTC": after["BTC"]["total"]}
    try:
        exchange.create_order("BTC/USDT", "market", "buy", 50)
        report["insufficient"] = "accepted"
    except ccxt.InsufficientFunds:
        report["insufficient"] = "InsufficientFunds"
    try:
        exchange.fetch_order("999999", "BTC/USDT")
        report["missing_order"] = "found"
    except ccxt.OrderNotFound:
        report["missing_order"] = "OrderNotFound"
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # the test shows what ccxt raised
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
