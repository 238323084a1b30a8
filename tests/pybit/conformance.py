#!/usr/bin/env python3
"""pybit (the reference third-party Bybit client, from PyPI) against gridbot-sim on loopback.

Usage: conformance.py BASE_URL API_KEY API_SECRET
Prints one JSON line per check ({"check": name, "ok": bool, "detail": ...}) and exits 1 if any
check failed. Pointing pybit at a local URL follows ../shared/BYBIT-V5.md §8.1-8.2.
"""
import json
import sys
import threading
import time

import requests
import pybit.unified_trading as ut
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

BASE, KEY, SECRET = sys.argv[1:4]
WS_BASE = BASE.replace("http://", "ws://")
results = []


def check(name, ok, detail=""):
    results.append(name)
    print(json.dumps({"check": name, "ok": bool(ok), "detail": str(detail)[:300]}), flush=True)
    return ok


def expect_code(name, code, fn):
    try:
        fn()
        check(name, False, "no error raised")
    except InvalidRequestError as e:
        check(name, e.status_code == code, f"retCode {e.status_code}: {e.message}")


def session(secret=SECRET):
    s = HTTP(api_key=KEY, api_secret=secret, testnet=False, max_retries=1, retry_delay=0)
    s.endpoint = BASE
    return s


s = session()
r = s.get_server_time()
check("server_time", r["retCode"] == 0 and abs(int(r["result"]["timeSecond"]) - time.time()) < 5, r["result"])
r = s.get_instruments_info(category="linear", symbol="BTCUSDT")
f = r["result"]["list"][0]
check("instruments", f["priceFilter"]["tickSize"] == "0.10" and f["lotSizeFilter"]["qtyStep"] == "0.001", f["priceFilter"])
r = s.get_tickers(category="linear", symbol="BTCUSDT")
last = float(r["result"]["list"][0]["lastPrice"])
check("tickers", last > 0, last)
r = s.get_kline(category="linear", symbol="BTCUSDT", interval="1", limit=2)
rows = r["result"]["list"]
check("klines", len(rows) == 2 and int(rows[0][0]) > int(rows[1][0]), rows)
r = s.get_wallet_balance(accountType="UNIFIED")
check("wallet", float(r["result"]["list"][0]["totalEquity"]) > 0, r["result"]["list"][0]["totalEquity"])
r = s.set_leverage(category="linear", symbol="BTCUSDT", buyLeverage="5", sellLeverage="5")
check("set_leverage", r["retCode"] == 0, r)
r = s.switch_position_mode(category="linear", symbol="BTCUSDT", mode=3)
check("hedge_mode", r["retCode"] == 0, r)

price = str(round(last * 0.9, 1))
r = s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001", price=price,
                  timeInForce="PostOnly", orderLinkId="py-po-1", positionIdx=1)
oid = r["result"]["orderId"]
r = s.get_open_orders(category="linear", symbol="BTCUSDT")
check("post_only_listed", any(o["orderId"] == oid and o["orderStatus"] == "New" for o in r["result"]["list"]), r["result"]["list"])
r = s.cancel_order(category="linear", symbol="BTCUSDT", orderId=oid)
check("cancel", r["result"]["orderId"] == oid, r)
r = s.get_order_history(category="linear", symbol="BTCUSDT")
check("history", any(o["orderId"] == oid and o["orderStatus"] == "Cancelled" for o in r["result"]["list"]), len(r["result"]["list"]))

s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01", positionIdx=1, orderLinkId="py-mkt-1")
r = s.get_positions(category="linear", symbol="BTCUSDT")
long_leg = [p for p in r["result"]["list"] if p["positionIdx"] == 1]
check("position_opened", long_leg and long_leg[0]["size"] == "0.01" and long_leg[0]["side"] == "Buy", long_leg)
r = s.get_executions(category="linear", symbol="BTCUSDT")
check("executions", any(e["orderLinkId"] == "py-mkt-1" for e in r["result"]["list"]), len(r["result"]["list"]))

# WebSocket: monkeypatch the URL templates before constructing (BYBIT-V5.md §8.2)
ut.PUBLIC_WSS = WS_BASE + "/v5/public/{CHANNEL_TYPE}"
ut.PRIVATE_WSS = WS_BASE + "/v5/private"
got_order = threading.Event()


def on_order(msg):
    if any(o.get("orderLinkId") == "py-ws-1" for o in msg.get("data", [])):
        got_order.set()


private = ut.WebSocket(testnet=False, channel_type="private", api_key=KEY, api_secret=SECRET)
private.order_stream(callback=on_order)
time.sleep(0.5)
placed = time.time()
s.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001", price=price,
              timeInForce="PostOnly", orderLinkId="py-ws-1", positionIdx=1)
check("private_order_event_within_5s", got_order.wait(5), f"{time.time() - placed:.3f}s")

got_book = threading.Event()
book = {}


def on_book(msg):
    data = msg.get("data", {})
    if data.get("b") and data.get("a"):
        book.update(bid=data["b"][0][0], ask=data["a"][0][0])
        got_book.set()


public = ut.WebSocket(testnet=False, channel_type="linear")
public.orderbook_stream(depth=50, symbol="BTCUSDT", callback=on_book)
check("orderbook_snapshot", got_book.wait(5) and float(book["bid"]) < float(book["ask"]), book)

# negative cases
expect_code("wrong_secret_10004", 10004, lambda: session("wrongSecret").get_wallet_balance(accountType="UNIFIED"))
stale = int(time.time() * 1000) - 60_000
query = "accountType=UNIFIED"
sign = s._auth(payload=query, recv_window=5000, timestamp=stale)
reply = requests.get(f"{BASE}/v5/account/wallet-balance?{query}", headers={
    "X-BAPI-API-KEY": KEY, "X-BAPI-SIGN": sign, "X-BAPI-SIGN-TYPE": "2", "X-BAPI-TIMESTAMP": str(stale), "X-BAPI-RECV-WINDOW": "5000"}, timeout=5).json()
check("stale_timestamp_10002", reply["retCode"] == 10002, reply["retMsg"])
expect_code("unknown_order_cancel_110001", 110001, lambda: s.cancel_order(category="linear", symbol="BTCUSDT", orderId="424242"))
expect_code("duplicate_order_link_id_110072", 110072, lambda: s.place_order(
    category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001", price=price,
    timeInForce="PostOnly", orderLinkId="py-ws-1", positionIdx=1))

private.exit()
public.exit()
sys.exit(0)
