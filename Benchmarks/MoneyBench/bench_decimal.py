"""Python's decimal doing what MoneyBench's FixedDecimal does, on the same pairs."""
import sys
import time
from decimal import Context, Decimal, ROUND_HALF_EVEN, localcontext

pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 200000


def pair(i):
    return (f"{i * 7919 % 1000003}.{i * 104729 % 100000000:08d}", f"{i * 31 % 997 + 1}.{i * 7727 % 100000000:08d}")


values = [(Decimal(a), Decimal(b)) for a, b in map(pair, range(pairs))]
q18, q8, q2 = Decimal(1).scaleb(-18), Decimal(1).scaleb(-8), Decimal(1).scaleb(-2)
with localcontext(Context(prec=60, rounding=ROUND_HALF_EVEN)):
    start = time.perf_counter()
    total = Decimal(0)
    last = Decimal(0)
    for a, b in values:
        product = (a * b).quantize(q18)
        quotient = (a / b).quantize(q8)
        total += product
        last = quotient.quantize(q2)
    elapsed = time.perf_counter() - start
print(f"python_decimal_ops_per_second {int(4 * pairs / elapsed)}")
print(f"python_decimal_checksum {format(total.normalize(), 'f')} {format(last.normalize(), 'f')}")
