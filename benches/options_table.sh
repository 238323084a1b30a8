#!/usr/bin/env bash
# The exits and grid options, each against the same account without it: `gridbot backtest`
# over the bundled two months of real BTCUSDT and ETHUSDT perpetual minutes (data/), the
# account of config/backtest-example.yaml (BTCUSDT progressive, ETHUSDT classic). Prints one
# markdown row per variant: return, max drawdown, cycles, fills, and each symbol's realised PnL
# net of trading fees (from trades.csv; funding is in the return).
#
#   benches/options_table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gridbot
bin=$PWD/target/release/gridbot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BTC=$PWD/data/binanceusdm_BTCUSDT_1m_2025-05_2025-06.csv.gz
ETH=$PWD/data/binanceusdm_ETHUSDT_1m_2025-05_2025-06.csv.gz

# The account, with BTCUSDT's and ETHUSDT's blocks replaced by $1 and $2.
account() {
  cat <<YAML
account_id: options
tag: op
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
$1
  - symbol: ETHUSDT
    strategy: classic
    leverage: 5
    classic:
      qty_per_level: "0.05"
      progression: arithmetic
$2
risk:
  daily_drawdown_kill: 0.10
backtest:
  balance: 10000
  funding: 0.0001
YAML
}

BTC_BASE='      take_profit: 0.003'
ETH_BASE='      spacing: 0.003
      levels_per_side: 5
      recentre: {max_deviation: 0.01}'

variant() { # name, btc block, eth block
  local name=$1 file="$tmp/$(echo "$1" | tr -c 'a-zA-Z0-9' '_').yaml"
  account "$2" "$3" > "$file"
  "$bin" backtest --config "$file" --data "$BTC" --data "$ETH" --quiet --out "$tmp/out-$(basename "$file" .yaml)" >/dev/null
  python3 - "$name" "$tmp/out-$(basename "$file" .yaml)" <<'PY'
import csv, json, sys
name, out = sys.argv[1], sys.argv[2]
m = json.load(open(f"{out}/result.json"))["metrics"]
net = {}
for t in csv.DictReader(open(f"{out}/trades.csv")):
    net[t["symbol"]] = net.get(t["symbol"], 0.0) + float(t["realised_pnl"] or 0) - float(t["fee"] or 0)
pnl = lambda s: f"{net.get(s, 0.0):+.2f}"
print(f'| {name} | {m["total_return"]*100:+.2f} % | {m["max_drawdown"]["depth"]*100:.2f} % | '
      f'{m["cycles"]["closed"]} | {m["fills"]} | {pnl("BTCUSDT")} | {pnl("ETHUSDT")} |')
PY
}

echo "| variant | return | max drawdown | cycles | fills | BTCUSDT realised − fees | ETHUSDT realised − fees |"
echo "|---|---:|---:|---:|---:|---:|---:|"
variant "baseline (config/backtest-example.yaml)" "$BTC_BASE" "$ETH_BASE"
variant "BTC: take-profit in 3 tranches (30 % +0.2 %, 30 % +0.3 %, 40 % +0.5 %)" \
'      take_profit_tranches:
        - {share: 0.3, distance: 0.002}
        - {share: 0.3, distance: 0.003}
        - {share: 0.4, distance: 0.005}' "$ETH_BASE"
variant "BTC: the same tranches + stop at break-even" \
'      take_profit_tranches:
        - {share: 0.3, distance: 0.002}
        - {share: 0.3, distance: 0.003}
        - {share: 0.4, distance: 0.005}
      break_even_stop: true' "$ETH_BASE"
variant "BTC: funding guard (close a leg in profit 60 min before paying ≥ 0.01 %)" \
"$BTC_BASE
      funding_guard: {close_before_minutes: 60, close_rate: 0.0001}" "$ETH_BASE"
variant "BTC: funding guard (open no cycle paying > 0.005 %: shorts only)" \
"$BTC_BASE
      funding_guard: {max_open_rate: 0.00005}" "$ETH_BASE"
variant "ETH: entry trigger at 2,500" "$BTC_BASE" "$ETH_BASE
      trigger_price: 2500"
variant "ETH: take-profit 2,700 / stop-loss 2,300 by price" "$BTC_BASE" "$ETH_BASE
      take_profit_price: 2700
      stop_loss_price: 2300"
variant "ETH: trailing up to 3,000 / down to 1,500 (instead of recentring)" "$BTC_BASE" "$ETH_BASE
      trailing_up_limit: 3000
      trailing_down_limit: 1500"
variant "ETH: Bollinger range (20 × 1 h, 2 σ, 11 levels)" "$BTC_BASE" \
'      bollinger: {period: 20, k: 2, interval: 1h}
      levels: 11
      recentre: {max_deviation: 0.01}'
