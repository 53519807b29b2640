"""ccxt's OKX client trading on the paper exchange's OKX account.

Usage: ccxt_okx_account.py BASE_URL, with VAKT_TEST_OKX_KEY, VAKT_TEST_OKX_SECRET and
VAKT_TEST_OKX_PASSPHRASE set. Prints one JSON object with what each call returned; exits 1 with
the error when a call fails unexpectedly. The Swift test (ExchangeSimulatorTests) checks it.
"""
import json
import os
import sys

import ccxt


def client(secret=None, password=None):
    exchange = ccxt.okx({
        "apiKey": os.environ["VAKT_TEST_OKX_KEY"],
        "secret": secret or os.environ["VAKT_TEST_OKX_SECRET"],
        "password": password or os.environ["VAKT_TEST_OKX_PASSPHRASE"],
        "enableRateLimit": False,
        "options": {"fetchMarkets": {"types": ["spot"]}, "createOrder": "privatePostTradeOrder"},
    })
    exchange.urls["api"]["rest"] = sys.argv[1].rstrip("/")
    exchange.has["fetchCurrencies"] = False
    return exchange


def failure(call):
    try:
        call()
        return "accepted"
    except ccxt.BaseError as error:
        return type(error).__name__


def main() -> int:
    exchange = client()
    exchange.load_markets()
    report = {}
    balance = exchange.fetch_balance()
    report["start"] = {"USDT": balance["USDT"]["total"], "BTC": balance["BTC"]["total"]}
    last = exchange.fetch_trades("BTC/USDT", limit=1)[-1]["price"]
    price = float(exchange.price_to_precision("BTC/USDT", last * 0.5))
    resting = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clOrdId": "vaktokx1"})
    order = exchange.fetch_order(resting["id"], "BTC/USDT")
    report["resting"] = {"status": order["status"], "clientOrderId": order["clientOrderId"], "amount": order["amount"]}
    by_client_id = exchange.private_get_trade_order({"instId": "BTC-USDT", "clOrdId": "vaktokx1"})["data"][0]
    report["by_client_id"] = by_client_id["ordId"] == resting["id"]
    report["used_usdt"] = exchange.fetch_balance()["USDT"]["used"] == round(0.001 * price, 8)
    report["duplicate"] = failure(
        lambda: exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clOrdId": "vaktokx1"}))
    exchange.cancel_order(resting["id"], "BTC/USDT")
    report["canceled"] = exchange.fetch_order(resting["id"], "BTC/USDT")["status"]
    report["cancel_again"] = failure(lambda: exchange.cancel_order(resting["id"], "BTC/USDT"))
    taken = exchange.create_order("BTC/USDT", "market", "buy", 0.01, None, {"tgtCcy": "base_ccy", "clOrdId": "vaktokx2"})
    filled = exchange.fetch_order(taken["id"], "BTC/USDT")
    report["market"] = {"status": filled["status"], "filled": filled["filled"], "fee_currency": filled["fee"]["currency"]}
    trades = exchange.fetch_my_trades("BTC/USDT")
    mine = [t for t in trades if t["order"] == taken["id"]]
    report["trades"] = {"count_positive": len(mine) > 0, "amount": round(sum(t["amount"] for t in mine), 8),
                        "fee": round(sum(t["fee"]["cost"] for t in mine), 8)}
    after = exchange.fetch_balance()
    report["btc_after"] = round(after["BTC"]["total"] - 2 - 0.01 + report["trades"]["fee"], 8)
    report["too_big"] = failure(lambda: exchange.create_order("BTC/USDT", "limit", "buy", 10, price))
    report["unknown_order"] = failure(lambda: exchange.fetch_order("999999", "BTC/USDT"))
    report["wrong_secret"] = failure(lambda: client(secret="not-the-secret").fetch_balance())
    report["wrong_passphrase"] = failure(lambda: client(password="not-the-passphrase").fetch_balance())
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # the Swift test shows it
        print(f"{type(error).__name__}: {error}")
        sys.exit(1)
