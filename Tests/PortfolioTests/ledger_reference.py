"""Recomputes a portfolio from the fills PortfolioLedgerTests wrote, with Python's decimal module,
independently of the Swift code, by the rules Position and Ledger document:

- every amount is a Decimal rounded half-even to 18 places where a product or quotient is taken;
- a fill adds (buy) or takes (sell) its quantity, less a fee paid in the base asset, to or from
  the symbol's position; cash moves by -/+ quantity x price, less a fee paid in the quote asset;
- adding to a position (or opening one) adds delta x price to its cost; reducing it by c takes
  away the whole cost when it closes all, otherwise round(round(cost x c) / quantity), and
  realizes c x price - removed; a fill past zero closes all and opens the rest at its price;
- a base-asset fee is valued at the fill's price.

Input lines: "C cash" (opening cash), "F symbol BUY|SELL qty price commission BASE|QUOTE",
"M symbol price" (a market price). Prints, per symbol sorted, "P symbol quantity cost realized
fees", then "T cash realized unrealized fees equity" with every amount as a plain decimal string.
"""
import sys
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

Q = Decimal(1).scaleb(-18)


def r(value):
    return value.quantize(Q, rounding=ROUND_HALF_EVEN)


def text(value):
    value = r(value)
    if value == 0:
        return "0"
    formatted = format(value, "f")
    if "." in formatted:
        formatted = formatted.rstrip("0").rstrip(".")
    return formatted


class Position:
    def __init__(self):
        self.quantity = Decimal(0)
        self.cost = Decimal(0)
        self.realized = Decimal(0)
        self.fees = Decimal(0)

    def apply(self, delta, price):
        if delta == 0:
            return
        if self.quantity == 0 or (self.quantity < 0) == (delta < 0):
            self.cost = r(self.cost + r(delta * price))
            self.quantity += delta
            return
        closing = delta if abs(delta) <= abs(self.quantity) else -self.quantity
        closed = -closing
        if closing == -self.quantity:
            removed = self.cost
        else:
            removed = r(r(self.cost * closed) / self.quantity)
        self.realized = r(self.realized + r(closed * price) - removed)
        self.cost -= removed
        self.quantity += closing
        rest = delta - closing
        if rest != 0:
            self.cost = r(rest * price)
            self.quantity = rest


def main(path):
    positions = {}
    marks = {}
    cash = Decimal(0)
    with localcontext() as context:
        # Exact sums and products of 18-place amounts; quotients to 200 digits, past any tie.
        context.prec = 200
        with open(path) as lines:
            for line in lines:
                parts = line.split()
                if not parts:
                    continue
                if parts[0] == "C":
                    cash = Decimal(parts[1])
                elif parts[0] == "M":
                    marks[parts[1]] = Decimal(parts[2])
                elif parts[0] == "F":
                    symbol, side, qty, price, commission, asset = parts[1:]
                    qty, price, commission = Decimal(qty), Decimal(price), Decimal(commission)
                    position = positions.setdefault(symbol, Position())
                    base_fee = commission if asset == "BASE" else Decimal(0)
                    quote_fee = commission if asset == "QUOTE" else Decimal(0)
                    notional = r(qty * price)
                    signed = qty if side == "BUY" else -qty
                    position.apply(signed - base_fee, price)
                    position.fees = position.fees + r(base_fee * price) + quote_fee
                    cash = cash + (-notional if side == "BUY" else notional) - quote_fee
                    marks[symbol] = price
        realized = unrealized = fees = held = Decimal(0)
        for symbol in sorted(positions):
            position = positions[symbol]
            print("P", symbol, text(position.quantity), text(position.cost), text(position.realized), text(position.fees))
            realized += position.realized
            fees += position.fees
            unrealized += r(position.quantity * marks[symbol]) - position.cost
            held += r(position.quantity * marks[symbol])
        print("T", text(cash), text(realized), text(unrealized), text(fees), text(cash + held))


if __name__ == "__main__":
    main(sys.argv[1])
