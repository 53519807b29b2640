"""The anchor for ForecastBench, in the same run: scikit-learn and numpy doing the same work.

- Training: scikit-learn's LogisticRegression and GradientBoostingClassifier (50 depth-1
  trees, learning rate 0.1: the same boosted stumps) fitted on the same training rows (the
  features Vakt computed), the median of five fits of both.
- Per kline: the same features computed incrementally with numpy over rolling windows of the
  bars, then both fitted models' predict_proba on that one row, as a live engine built on
  them would; p50 and p99 over the live bars.

    bench_sklearn.py OUT_DIR   (reads train.csv, live.csv, bars.csv; prints one JSON line)
"""
import json
import sys
import time

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
train = np.loadtxt(f"{out}/train.csv", delimiter=",")
live = np.loadtxt(f"{out}/live.csv", delimiter=",")
bars = np.loadtxt(f"{out}/bars.csv", delimiter=",")
x_train, y_train = train[:, :-1], train[:, -1]
x_live, y_live = live[:, :-1], live[:, -1]

times = []
for _ in range(5):
    start = time.perf_counter()
    logistic = LogisticRegression(max_iter=300).fit(x_train, y_train)
    boosted = GradientBoostingClassifier(n_estimators=50, max_depth=1, learning_rate=0.1).fit(x_train, y_train)
    times.append((time.perf_counter() - start) * 1000)

accuracy = float(np.mean(((logistic.predict_proba(x_live)[:, 1] + boosted.predict_proba(x_live)[:, 1]) / 2 > 0.5) == y_live))

# The live bars: those whose features the live rows hold (each row labels the bar after it).
highs, lows, closes, volumes = bars[:, 0], bars[:, 1], bars[:, 2], bars[:, 3]


def ema(values, period):
    alpha = 2 / (period + 1)
    value = values[0]
    for sample in values[1:]:
        value += alpha * (sample - value)
    return value


latencies = []
for index in range(len(bars) - len(live) - 1, len(bars)):
    start = time.perf_counter()
    window = closes[index - 26 : index + 1]
    returns = np.diff(np.log(closes[index - 20 : index + 1]))
    volatility = max(returns.std(), 1e-9)
    last20 = closes[index - 19 : index + 1]
    changes = np.diff(np.log(closes[index - 14 : index + 1]))
    gains, losses = changes.clip(min=0).mean(), (-changes).clip(min=0).mean()
    row = np.array(
        [
            np.log(closes[index] / closes[index - 1]),
            np.log(closes[index] / closes[index - 5]),
            np.log(closes[index] / closes[index - 15]),
            volatility,
            (ema(window, 12) - ema(window, 26)) / ema(window, 26) / volatility,
            (closes[index] - last20.mean()) / max(last20.std(), 1e-9),
            (gains - losses) / (gains + losses) if gains + losses > 0 else 0.0,
            np.log((volumes[index] + 1e-12) / (volumes[index - 19 : index + 1].mean() + 1e-12)),
            np.log(highs[index] / lows[index]),
        ]
    ).reshape(1, -1)
    logistic.predict_proba(row)
    boosted.predict_proba(row)
    latencies.append((time.perf_counter() - start) * 1e6)

print(
    json.dumps(
        {
            "training_ms_median": float(np.median(times)),
            "per_kline_us_p50": float(np.percentile(latencies, 50)),
            "per_kline_us_p99": float(np.percentile(latencies, 99)),
            "accuracy": accuracy,
        },
        sort_keys=True,
    )
)
