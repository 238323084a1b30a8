#!/usr/bin/env bash
# gridbot optimize throughput: 1,000 parameter sets (random search, seed 1) of a BTCUSDT
# progressive account over the 209,430 one-minute candles of
# ../shared/data/binance_BTCUSDT_1m_2020-11_2021-04.csv.gz (read from the shared data directory
# beside the repository; DATA=FILE for another), on 1 thread and on 2. Prints the wall time,
# backtests per second and peak RSS of each, and checks both wrote the same results file.
#
#   benches/optimize_1000.sh            # BUDGET=1000 THREADS="1 2" by default
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-$PWD/../shared/data/binance_BTCUSDT_1m_2020-11_2021-04.csv.gz}
BUDGET=${BUDGET:-1000}
THREADS=${THREADS:-"1 2"}
[ -f "$DATA" ] || { echo "no $DATA (set DATA=FILE)" >&2; exit 2; }
cargo build --release -q -p gridbot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/btc.yaml" <<YAML
account_id: bench
tag: bench
environment: testnet
api_key: \${BYBIT_API_KEY}
api_secret: \${BYBIT_API_SECRET}
symbols:
  - symbol: BTCUSDT
    strategy: progressive
    leverage: 5
    progressive:
      base_qty: "0.002"
      max_levels: 6
      step_scale_factor: 0.25
      take_profit: 0.003
YAML
cat > "$tmp/opt.yaml" <<YAML
account: btc.yaml
data: [$DATA]
vary:
  - field: BTCUSDT.progressive.step_scale_factor
    range: [0.15, 0.4]
  - field: BTCUSDT.progressive.take_profit
    log_range: [0.002, 0.006]
  - field: BTCUSDT.progressive.max_levels
    choice: [5, 6, 7]
objectives:
  - maximise: return
  - minimise: max_drawdown
search: {method: random, seed: 1, budget: $BUDGET}
YAML
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
first=""
for t in $THREADS; do
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$tmp/rss$t" target/release/gridbot optimize --config "$tmp/opt.yaml" \
    --out "$tmp/out$t" --threads "$t" --quiet
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc)
  rate=$(echo "scale=1; $BUDGET / $wall" | bc)
  echo "threads $t: $BUDGET backtests in ${wall%??????} s (${rate}/s), peak RSS $(( $(cat "$tmp/rss$t") / 1024 )) MB"
  if [ -z "$first" ]; then first=$t; else cmp -s "$tmp/out$first/results.jsonl" "$tmp/out$t/results.jsonl" \
    && echo "results.jsonl identical on $first and $t threads" || { echo "results differ between $first and $t threads" >&2; exit 1; }; fi
done
