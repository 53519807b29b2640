"""Python's prometheus_client parser on the same exposition: the anchor of scripts/bench-metrics."""
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
rounds = int(sys.argv[2])
start = time.perf_counter()
for _ in range(rounds):
    samples = sum(len(family.samples) for family in text_string_to_metric_families(text))
seconds = (time.perf_counter() - start) / rounds
print(f"samples {samples}")
print(f"samples_per_second {int(samples / seconds)}")
print(f"megabytes_per_second {len(text.encode()) / seconds / 1e6}")
