"""Recomputes the operations FixedDecimalPropertyTests wrote with Python's decimal module and
reports every disagreement. Independent of the Swift code: amounts are Decimals, results are
computed by decimal's own arithmetic, rounding and quantize.

Input lines: OP A B SCALE MODE RESULT, where A, B and RESULT are FixedDecimal units (the value
times 10^18), RESULT may be "overflow" or "divzero", and OP is one of add sub mul div round
tick cmp print (for print, RESULT is the text). Prints "checked N mismatches M" last.
"""
import sys
from decimal import (Context, Decimal, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN,
                     ROUND_HALF_UP, ROUND_UP, localcontext)

MODES = {"halfEven": ROUND_HALF_EVEN, "halfUp": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP,
         "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING}
MAX_UNITS = 2**127 - 1
ONE = Decimal(10) ** 18


def amount(units):
    return Decimal(int(units)).scaleb(-18)


def units_or_overflow(value):
    units = value * ONE
    assert units == units.to_integral_value(), value  # every result here has at most 18 places
    units = int(units)
    return "overflow" if abs(units) > MAX_UNITS else str(units)


def quotient(a, b):
    # 200 significant digits, truncated: a quotient of two amounts with at most 39 digits each
    # either terminates within them or has no run of more than 40 zeros, so truncating at 200
    # never turns a value into a tie or an exact result at 18 places that it is not.
    with localcontext(Context(prec=200, rounding=ROUND_DOWN)):
        return a / b


def expected(op, a, b, scale, mode):
    with localcontext(Context(prec=200)):
        if op == "add":
            return units_or_overflow(amount(a) + amount(b))
        if op == "sub":
            return units_or_overflow(amount(a) - amount(b))
        if op == "mul":
            exact = amount(a) * amount(b)
            return units_or_overflow(exact.quantize(Decimal(1).scaleb(-scale), rounding=MODES[mode]))
        if op == "div":
            if int(b) == 0:
                return "divzero"
            return units_or_overflow(quotient(amount(a), amount(b)).quantize(Decimal(1).scaleb(-scale), rounding=MODES[mode]))
        if op == "round":
            return units_or_overflow(amount(a).quantize(Decimal(1).scaleb(-scale), rounding=MODES[mode]))
        if op == "tick":
            step = amount(b)
            multiples = quotient(amount(a), step).quantize(Decimal(1), rounding=MODES[mode])
            return units_or_overflow(multiples * step)
        if op == "cmp":
            difference = int(a) - int(b)
            return str((difference > 0) - (difference < 0))
        if op == "print":
            return format(amount(a).normalize(), "f")
    raise ValueError(op)


def main():
    checked = mismatches = 0
    with open(sys.argv[1]) as lines:
        for line in lines:
            op, a, b, scale, mode, result = line.split()
            want = expected(op, a, b, int(scale), mode)
            checked += 1
            if want != result:
                mismatches += 1
                if mismatches <= 20:
                    print(f"mismatch: {op} a={a} b={b} scale={scale} mode={mode} swift={result} python={want}")
    print(f"checked {checked} mismatches {mismatches}")


main()
