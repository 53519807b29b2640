"""ccxt's OKX client reading the paper exchange's OKX market endpoints.

Usage: ccxt_okx_market.py BASE_URL. Prints one JSON object with what each call returned; exits
1 with the error when a call fails. The Swift test (ExchangeSimulatorTests) checks the figures.
"""
import json
import sys

import ccxt


def main() -> int:
    exchange = ccxt.okx({"enableRateLimit": False, "options": {"fetchMarkets": {"types": ["spot"]}}})
    exchange.urls["api"]["rest"] = sys.argv[1].rstrip("/")
    report = {}
    markets = exchange.load_markets()
    report["markets"] = sorted(markets)
    report["btc_id"] = markets["BTC/USDT"]["id"]
    report["btc_precision"] = {"price": markets["BTC/USDT"]["precision"]["price"], "amount": markets["BTC/USDT"]["precision"]["amount"]}
    trades = exchange.fetch_trades("BTC/USDT", limit=20)
    report["trades_within_limit"] = 1 <= len(trades) <= 20
    report["trades_oldest_first"] = all(a["timestamp"] <= b["timestamp"] for a, b in zip(trades, trades[1:]))
    report["trades_priced"] = all(t["price"] > 0 and t["amount"] > 0 and t["side"] in ("buy", "sell") for t in trades)
    report["time_positive"] = exchange.fetch_time() > 0
    try:
        exchange.fetch_trades("SOL/USDT")
        report["unknown_symbol"] = "accepted"
    except ccxt.BadSymbol as error:
        report["unknown_symbol"] = type(error).__name__
    try:
        exchange.public_get_market_trades({"instId": "SOL-USDT"})
        report["unknown_instrument"] = "accepted"
    except ccxt.ExchangeError as error:
        report["unknown_instrument"] = type(error).__name__
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # the Swift test shows it
        print(f"{type(error).__name__}: {error}")
        sys.exit(1)
