#!/usr/bin/env python3
"""Reference values for gridbot-grid's volatility math, computed with pandas.

Run from the repository root (needs pandas):

    python3 -m venv .venv && .venv/bin/pip install pandas
    .venv/bin/python crates/gridbot-grid/tests/golden/make_golden.py

It writes crates/gridbot-grid/tests/golden/volatility.json, which is committed; the Rust test
`golden_pandas` compares every value to 1e-12 relative. The formulas are the reference
system's:

    true_range = max(high - low, |high - prev_close|, |low - prev_close|)   (first row: high - low)
    atr_pct    = true_range / close
    ema        = atr_pct.ewm(span=N, adjust=True).mean()    and adjust=False
    wilder     = Wilder's ATR(N): SMA of the first N true ranges, then (prev*(N-1) + tr) / N
    base_step  = ema[-1] * sqrt(horizon_days) * step_scale_factor   (horizon 1, scale 1 here)
"""
import json
import math
import os
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
FILES = {
    "BTCUSDT": "data/binance_BTCUSDT_1d_2017-08_2026-01.csv.gz",
    "ETHUSDT": "data/binance_ETHUSDT_1d_2020-09_2026-01.csv.gz",
}
WINDOW = 240
SPANS = [10, 14]


def windows(n):
    """Three windows: the start, the middle and the end of the file."""
    mid = (n - WINDOW) // 2
    return [(0, WINDOW), (mid, mid + WINDOW), (n - WINDOW, n)]


def wilder(tr, n):
    out = []
    atr = sum(tr[:n]) / n
    out.append(atr)
    for x in tr[n:]:
        atr = (atr * (n - 1) + x) / n
        out.append(atr)
    return out


def main():
    cases = []
    for symbol, rel in FILES.items():
        df = pd.read_csv(os.path.join(ROOT, rel), float_precision="round_trip")
        for start, end in windows(len(df)):
            w = df.iloc[start:end].reset_index(drop=True)
            prev_close = w["close"].shift(1)
            tr = pd.concat(
                [w["high"] - w["low"], (w["high"] - prev_close).abs(), (w["low"] - prev_close).abs()], axis=1
            ).max(axis=1)
            atr_pct = tr / w["close"]
            case = {
                "symbol": symbol,
                "file": rel,
                "start": start,
                "end": end,
                "first_open_time_ms": int(w["open_time_ms"].iloc[0]),
                "true_range": tr.tolist(),
                "atr_pct": atr_pct.tolist(),
                "spans": [],
            }
            for span in SPANS:
                ema_adj = atr_pct.ewm(span=span, adjust=True).mean()
                ema_rec = atr_pct.ewm(span=span, adjust=False).mean()
                case["spans"].append(
                    {
                        "span": span,
                        "ema_adjust_true": ema_adj.tolist(),
                        "ema_adjust_false": ema_rec.tolist(),
                        "wilder_atr": wilder(tr.tolist(), span),
                        "base_step": float(ema_adj.iloc[-1]) * math.sqrt(1.0) * 1.0,
                    }
                )
            cases.append(case)
    out = {
        "generator": "crates/gridbot-grid/tests/golden/make_golden.py",
        "pandas_version": pd.__version__,
        "python_version": sys.version.split()[0],
        "cases": cases,
    }
    path = os.path.join(HERE, "volatility.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
