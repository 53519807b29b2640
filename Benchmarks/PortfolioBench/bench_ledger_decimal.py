"""The anchor for PortfolioBench: the same fills booked by the Python `decimal` reference's
rules (Tests/PortfolioTests/ledger_reference.py's Position, with its contexts), parsed first,
then timed. Prints fills per second and the final equity as JSON.

    python3 bench_ledger_decimal.py OUT_DIR
"""
import json
import os
import sys
import time
from decimal import Decimal, localcontext

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(root, "Tests", "PortfolioTests"))
from ledger_reference import Position, r  # noqa: E402


def main(out):
    steps = []
    cash = Decimal(0)
    with open(os.path.join(out, "fills.txt")) as lines:
        for line in lines:
            parts = line.split()
            if parts[0] == "C":
                cash = Decimal(parts[1])
            elif parts[0] == "M":
                steps.append(("M", parts[1], Decimal(parts[2])))
            else:
                symbol, side, qty, price, commission, asset = parts[1:]
                steps.append(("F", symbol, side == "BUY", Decimal(qty), Decimal(price), Decimal(commission), asset == "BASE"))
    fills = sum(1 for step in steps if step[0] == "F")
    with localcontext() as context:
        context.prec = 200
        started = time.perf_counter()
        positions, marks = {}, {}
        for step in steps:
            if step[0] == "M":
                marks[step[1]] = step[2]
                continue
            _, symbol, buy, qty, price, commission, in_base = step
            position = positions.setdefault(symbol, Position())
            base_fee = commission if in_base else Decimal(0)
            quote_fee = Decimal(0) if in_base else commission
            notional = r(qty * price)
            position.apply((qty if buy else -qty) - base_fee, price)
            position.fees = position.fees + r(base_fee * price) + quote_fee
            cash = cash + (-notional if buy else notional) - quote_fee
            marks[symbol] = price
        equity = cash + sum(r(p.quantity * marks[s]) for s, p in positions.items())
        elapsed = time.perf_counter() - started
    text = format(r(equity), "f").rstrip("0").rstrip(".")
    print(json.dumps({"fills": fills, "seconds": elapsed, "fills_per_second": fills / elapsed, "equity": text}))


if __name__ == "__main__":
    main(sys.argv[1])
