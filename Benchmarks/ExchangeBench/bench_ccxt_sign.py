"""ccxt's cost to turn an order into a signed Binance request: create_order_request (amounts
to the market's precision, the client order id) and sign (urlencode, timestamp, HMAC-SHA256),
for the same orders as ExchangeBench's `signing`. Markets come from the paper exchange.

Usage: bench_ccxt_sign.py BASE_URL N
"""
import sys
import time

import ccxt

base = sys.argv[1].rstrip("/") + "/api/v3"
count = int(sys.argv[2])
exchange = ccxt.binance({
    "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    "secret": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
})
for name in ("public", "private", "v1", "v3"):
    exchange.urls["api"][name] = base
exchange.load_markets()

checksum = 0
start = time.perf_counter()
for index in range(count):
    side = "buy" if index % 2 == 0 else "sell"
    amount = (100 + index % 900) / 100000
    price = (6400000 + index % 1000) / 100
    request = exchange.create_order_request("BTC/USDT", "limit", side, amount, price,
                                            {"timeInForce": "IOC", "newClientOrderId": f"bench-{index}"})
    signed = exchange.sign("order", ["private"], "POST", request)
    checksum += len(signed["body"])
elapsed = time.perf_counter() - start
print(f"ccxt_sign_ns_per_request {elapsed / count * 1e9:.0f}")
print(f"ccxt_sign_checksum {checksum}")
