// gridbot dashboard: plain DOM and inline SVG over the documented /api endpoints.
// Routes (in the URL's hash): #/ overview, #/a/ID/TAB (symbols, positions, history, equity,
// risk, events, settings), #/a/ID/symbol/SYMBOL the ladder. /api/stream says what changed.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const TABS = ['symbols', 'positions', 'history', 'equity', 'risk', 'events', 'settings'];
const live = { prices: {}, connected: false };
let status = [];
let refreshTimer = null;
let historyQuery = { symbol: '', side: '', day: '', page: 1 };
const profileChoice = {};

// ---------- small helpers ----------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'onclick') node.addEventListener('click', v);
    else if (k === 'onchange') node.addEventListener('change', v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') node.textContent = v; else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}
function num(x) { return x === null || x === undefined || x === '' ? null : Number(x); }
function usd(x) {
  const n = num(x);
  return n === null ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
// A price for reading: exact up to the magnitude's useful places (the API keeps every digit).
function px(x) {
  const n = num(x);
  if (n === null) return '–';
  const places = Math.abs(n) >= 1000 ? 2 : Math.abs(n) >= 1 ? 4 : 6;
  return String(+n.toFixed(places));
}
function pct(x, digits = 2) { const n = num(x); return n === null ? '–' : (n * 100).toFixed(digits) + ' %'; }
function signed(x) { const n = num(x); return n === null ? '' : n > 0 ? 'up' : n < 0 ? 'down' : ''; }
function when(iso) { return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '–'; }
function dateOf(ms) { return new Date(ms).toISOString().slice(0, 10); }
function enc(s) { return encodeURIComponent(s); }

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(path + ': ' + msg);
  }
  return r.json();
}

// ---------- actions (token in a header, confirmed in the page) ----------
function confirmBox(text, withReason) {
  return new Promise((resolve) => {
    const reason = withReason ? el('input', { id: 'confirm-reason', placeholder: 'reason (optional)', maxlength: 200 }) : null;
    const close = (ok) => { box.remove(); resolve(ok ? { reason: reason ? reason.value : '' } : null); };
    const box = el('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true' },
      el('div', { class: 'modal-body' },
        el('p', { text }), reason,
        el('div', { class: 'buttons' },
          el('button', { type: 'button', 'data-confirm': 'yes', class: 'danger', onclick: () => close(true) }, 'Confirm'),
          el('button', { type: 'button', 'data-confirm': 'no', onclick: () => close(false) }, 'Cancel'))));
    document.body.append(box);
  });
}

async function act(account, action) {
  const token = document.getElementById('token').value.trim();
  if (!token) { notice('Type the web token (web.token of the bot file) in the header first.', true); return; }
  const text = action === 'stop'
    ? `Emergency stop for ${account}: nothing more is sent until it is resumed. Continue?`
    : `Resume ${account}: lift the emergency stop and re-arm the kill switch?`;
  const answer = await confirmBox(text, action === 'stop');
  if (!answer) return;
  const body = action === 'stop' ? JSON.stringify({ reason: answer.reason || 'dashboard' }) : '';
  const r = await fetch(`/api/accounts/${enc(account)}/${action}`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body,
  });
  let reply = {};
  try { reply = await r.json(); } catch (_) { /* empty */ }
  if (r.ok) notice(`${action === 'stop' ? 'Emergency stop set' : 'Resume requested'} for ${account}.`, false);
  else notice(`${action} refused: ${reply.error || r.status}`, true);
  scheduleRefresh(0);
}

async function recentre(account, symbol, profile) {
  const token = document.getElementById('token').value.trim();
  if (!token) { notice('Type the web token (web.token of the bot file) in the header first.', true); return; }
  const text = `Recentre ${account} ${symbol}${profile ? ' with the ' + profile + ' profile' : ''}: ` +
    'its orders are cancelled, its inventory closed at market and the grid rebuilt around the market. Continue?';
  if (!(await confirmBox(text, false))) return;
  const r = await fetch(`/api/accounts/${enc(account)}/symbols/${enc(symbol)}/recentre`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: profile ? JSON.stringify({ profile }) : '',
  });
  let reply = {};
  try { reply = await r.json(); } catch (_) { /* empty */ }
  if (r.ok) notice(`Recentre requested for ${account} ${symbol}; the bot acts within a second.`, false);
  else notice(`recentre refused: ${reply.error || r.status}`, true);
}

function notice(text, bad) {
  const n = el('div', { class: 'notice' + (bad ? ' bad' : ''), role: 'status', 'data-notice': '' }, text);
  document.body.append(n);
  setTimeout(() => n.remove(), 6000);
}

// ---------- charts ----------
function lineChart(series, opts = {}) {
  const W = opts.width || 900, H = opts.height || 260, L = 70, R = 12, T = 12, B = 28;
  const all = series.flatMap((s) => s.points);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': opts.label || 'chart' });
  if (all.length < 2) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis', text: 'not enough data yet' }));
    return root;
  }
  let x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  if (opts.zero) { y0 = Math.min(y0, 0); y1 = Math.max(y1, 0); }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 += Math.abs(y1) * 0.01 || 1; y0 -= Math.abs(y0) * 0.01 || 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = y0 + (y1 - y0) * i / 4;
    root.append(svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'grid' }));
    root.append(svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'axis', text: opts.format ? opts.format(v) : v.toFixed(2) }));
  }
  for (let i = 0; i <= 4; i++) {
    const t = x0 + (x1 - x0) * i / 4;
    const label = x1 - x0 < 3 * 86400000 ? new Date(t).toISOString().slice(5, 16).replace('T', ' ') : dateOf(t);
    root.append(svg('text', { x: X(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', class: 'axis', text: label }));
  }
  series.forEach((s, k) => {
    if (!s.points.length) return;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
    root.append(svg('path', { d, class: 'line s' + (k % 6) + (s.cls ? ' ' + s.cls : ''), 'data-series': s.name }));
  });
  if (series.length > 1) {
    series.forEach((s, k) => root.append(svg('text', { x: L + 8 + k * 140, y: T + 12, class: 'legend s' + (k % 6), text: s.name })));
  }
  return root;
}

function midOf(price) {
  if (!price) return null;
  const b = num(price.bid), a = num(price.ask);
  return b !== null && a !== null ? (a + b) / 2 : b !== null ? b : a;
}

// The ladder: every price the grid cares about on one vertical scale, the market across it.
// Each lane (long, short; or the classic grid) has three label columns — levels on the left,
// anchor / average / take-profit / liquidation in the middle, working orders on the right — so
// labels at nearby prices never overprint; a liquidation price far off the scale is written at
// the edge instead of squashing the ladder.
const ROLE = { balance: 'entry', protective: 'protective', take_profit: 'TP', close: 'close', classic_level: '' };
function ladderChart(view) {
  const W = 900, H = 560, T = 22, B = 14;
  const market = midOf(view.price) ?? num(view.journal_mark);
  const marks = [];
  const add = (price, lane, col, cls, label, extra = {}) => {
    if (price !== null && price !== undefined) marks.push({ p: Number(price), lane, col, cls, label, ...extra });
  };
  if (view.classic) {
    for (const l of view.classic.levels) add(l.price, 'classic', 0, 'level' + (l.side ? ' ' + l.side.toLowerCase() : ''), `#${l.index} ${px(l.price)} × ${l.qty}`);
  }
  const far = [];
  for (const leg of view.legs) {
    for (const l of leg.levels) add(l.price, leg.leg, 0, 'level' + (l.filled ? ' filled' : ''), `L${l.level} ${px(l.price)} × ${l.qty}`);
    add(leg.anchor, leg.leg, 1, 'anchor', `anchor ${px(leg.anchor)}`);
    if (num(leg.size)) add(leg.avg_entry, leg.leg, 1, 'avg', `avg ${px(leg.avg_entry)}`);
    add(leg.take_profit_price, leg.leg, 1, 'tp-line', `TP ${px(leg.take_profit_price)}`);
    if (leg.liq_price) far.push({ p: Number(leg.liq_price), lane: leg.leg });
  }
  for (const o of view.orders) {
    if (o.price === null) continue;
    const lane = o.role === 'classic_level' ? 'classic' : o.leg;
    add(o.price, lane, 2, 'order ' + o.role + ' ' + o.side.toLowerCase(), `${ROLE[o.role] ?? o.role} ${o.side} ${px(o.price)} × ${o.qty}`, { order: o.link_id });
  }
  const prices = marks.map((m) => m.p).concat(market !== null ? [market] : []);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'ladder', role: 'img', 'aria-label': `grid ladder of ${view.symbol}` });
  if (!prices.length) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis', text: 'no levels or orders yet' }));
    return root;
  }
  let lo = Math.min(...prices), hi = Math.max(...prices);
  if (hi === lo) { hi *= 1.001; lo *= 0.999; }
  // A liquidation price joins the scale only when it is near the rest.
  const span = hi - lo;
  const edge = [];
  for (const f of far) {
    if (f.p >= lo - span && f.p <= hi + span) add(f.p, f.lane, 1, 'liq', `liq ${px(f.p)}`);
    else edge.push(f);
  }
  for (const m of marks) { lo = Math.min(lo, m.p); hi = Math.max(hi, m.p); }
  const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  const Y = (p) => T + (1 - (p - lo) / (hi - lo)) * (H - T - B);
  const lanes = view.classic ? { classic: [60, 840] } : { long: [20, 440], short: [460, 880] };
  for (const [name, [x1, x2]] of Object.entries(lanes)) {
    root.append(svg('text', { x: (x1 + x2) / 2, y: 13, 'text-anchor': 'middle', class: 'lane-title', text: name === 'classic' ? 'classic grid' : name + ' leg' }));
  }
  for (const f of edge) {
    const [x1, x2] = lanes[f.lane] || lanes.long;
    const up = f.p > hi;
    root.append(svg('text', { x: (x1 + x2) / 2, y: up ? T + 10 : H - 4, 'text-anchor': 'middle', class: 'liq-far', text: `liq ${px(f.p)} ${up ? '↑' : '↓'} off scale` }));
  }
  const lastY = {};
  marks.sort((a, b) => b.p - a.p);
  for (const m of marks) {
    const [x1, x2] = lanes[m.lane] || lanes.long;
    const w = x2 - x1;
    const y = Y(m.p);
    const g = svg('g', m.order ? { class: m.cls, 'data-order': m.order } : { class: m.cls });
    const lineFrom = m.col === 2 ? x1 + w * 0.62 : x1;
    g.append(svg('line', { x1: lineFrom, x2, y1: y, y2: y }));
    const key = m.lane + m.col;
    let ly = y - 3;
    if (lastY[key] !== undefined && ly - lastY[key] < 12) ly = lastY[key] + 12;
    lastY[key] = ly;
    const tx = m.col === 0 ? x1 + 2 : m.col === 1 ? x1 + w * 0.34 : x2 - 2;
    g.append(svg('text', { x: tx, y: ly, 'text-anchor': m.col === 2 ? 'end' : 'start', text: m.label }));
    root.append(g);
  }
  if (market !== null) {
    const y = Y(market);
    const text = `market ${px(market)}${view.price ? '' : ' (last report)'}`;
    const tw = text.length * 7.2 + 10;
    root.append(svg('line', { x1: 0, x2: W, y1: y, y2: y, class: 'market' }));
    root.append(svg('rect', { x: W / 2 - tw / 2, y: y + 2, width: tw, height: 15, rx: 3, class: 'market-bg' }));
    root.append(svg('text', { x: W / 2, y: y + 13.5, 'text-anchor': 'middle', class: 'market-label', 'data-field': 'market', text }));
  }
  return root;
}

// ---------- pages ----------
function badge(text, cls, field) { return el('span', { class: 'badge ' + cls, 'data-field': field }, text); }

function accountBadges(a) {
  return [
    a.running ? badge('running', 'ok', 'running') : badge('not running', 'warn', 'running'),
    a.emergency_stop ? badge('EMERGENCY STOP', 'bad', 'emergency') : null,
    a.kill_switch ? badge('KILL SWITCH', 'bad', 'kill-switch') : null,
  ];
}

function actions(a) {
  return el('span', { class: 'actions' },
    a.emergency_stop
      ? el('button', { type: 'button', 'data-action': 'resume', onclick: () => act(a.account, 'resume') }, 'Resume')
      : el('button', { type: 'button', class: 'danger', 'data-action': 'stop', onclick: () => act(a.account, 'stop') }, 'Emergency stop'));
}

function figure(label, value, field, cls) {
  return el('div', { class: 'figure' }, el('div', { class: 'label' }, label), el('div', { class: 'value ' + (cls || ''), 'data-field': field }, value));
}

async function overview(main) {
  main.replaceChildren(el('h1', {}, 'Accounts'));
  const grid = el('div', { class: 'cards' });
  for (const a of status) {
    const pnl = a.realised_pnl || {};
    const exposure = a.symbols.reduce((sum, s) => sum + Math.abs(num(s.long.size) || 0) + Math.abs(num(s.short.size) || 0), 0);
    grid.append(el('section', { class: 'card', 'data-account': a.account },
      el('h2', {}, el('a', { href: `#/a/${enc(a.account)}` }, a.account), ' ', accountBadges(a), actions(a)),
      el('div', { class: 'figures' },
        figure('equity', usd(a.wallet && a.wallet.equity), 'equity'),
        figure('PnL today (' + (pnl.day || '–') + ')', usd(pnl.today), 'pnl-today', signed(pnl.today)),
        figure('PnL all time', usd(pnl.total), 'pnl-total', signed(pnl.total)),
        figure('IM rate', a.wallet ? pct(a.wallet.im_rate) : '–', 'im-rate'),
        figure('open size (Σ legs)', exposure ? String(+exposure.toFixed(8)) : '0', 'open-size'),
        figure('fills', String(a.executions), 'fills')),
      el('p', { class: 'muted' }, 'last fill: ', a.last_fill
        ? `${when(a.last_fill.at)} ${a.last_fill.symbol} ${a.last_fill.side} ${a.last_fill.qty} @ ${a.last_fill.price}`
        : 'none yet'),
      a.active_risk.length
        ? el('p', { class: 'risk-active', 'data-field': 'active-risk' }, 'risk: ', a.active_risk.map((r) => `${r.level.replaceAll('_', ' ')} ${r.symbol}${r.leg ? ' ' + r.leg : ''}`).join(', '))
        : el('p', { class: 'muted', 'data-field': 'active-risk' }, 'risk: nothing active'),
      symbolTable(a)));
  }
  main.append(grid);
  main.append(el('h2', {}, 'Equity, last 30 days'));
  const holder = el('div', { id: 'equity-all' }, el('p', { class: 'muted' }, 'loading…'));
  main.append(holder);
  const series = [];
  for (const a of status) {
    try {
      const e = await api(`/api/accounts/${enc(a.account)}/equity?days=30`);
      series.push({ name: a.account, points: e.points.map((p) => [p[0], Number(p[1])]) });
    } catch (err) { series.push({ name: a.account, points: [] }); }
  }
  holder.replaceChildren(lineChart(series, { label: 'equity of every account', format: (v) => usd(v) }));
}

function symbolTable(a) {
  return el('table', { class: 'symbols' },
    el('thead', {}, el('tr', {}, ['symbol', 'grid', 'long', 'short', 'orders (bot / exchange)'].map((h) => el('th', {}, h)))),
    el('tbody', {}, a.symbols.map((s) => el('tr', { 'data-symbol': s.symbol },
      el('td', {}, el('a', { href: `#/a/${enc(a.account)}/symbol/${enc(s.symbol)}` }, s.symbol)),
      el('td', {}, s.generation !== null ? `classic gen ${s.generation}${s.stopped ? ' STOPPED' : ''}` : s.strategy),
      el('td', {}, legText(s.long)), el('td', {}, legText(s.short)),
      el('td', { 'data-field': 'orders' }, `${s.open_orders} / ${s.exchange_open_orders ?? '–'}`)))));
}

function legText(l) {
  if (l.level !== null) return `L${l.level} · ${l.size} @ ${px(l.avg_entry)} · cycle ${l.cycle}`;
  return num(l.size) ? `size ${l.size}` : `flat · cycle ${l.cycle}`;
}

function tabsFor(id, current) {
  return el('nav', { class: 'tabs' }, TABS.map((t) => el('a', { href: `#/a/${enc(id)}/${t}`, class: t === current ? 'on' : '' }, t)));
}

async function accountPage(main, id, tab, symbol) {
  const a = status.find((x) => x.account === id);
  if (!a) { main.replaceChildren(el('p', { class: 'bad' }, `No account ${id}.`)); return; }
  const head = el('h1', { 'data-account': id }, id, ' ', accountBadges(a), actions(a));
  const body = el('div', { id: 'tab' });
  main.replaceChildren(head, tabsFor(id, symbol ? 'symbols' : tab), body);
  const base = `/api/accounts/${enc(id)}`;
  if (symbol) return symbolPage(body, id, symbol);
  if (tab === 'symbols') {
    body.append(symbolTable(a));
    for (const s of a.symbols) {
      const holder = el('section', { class: 'ladder-holder' }, el('h2', {}, s.symbol));
      body.append(holder);
      try { holder.append(ladderSection(await api(`${base}/symbols/${enc(s.symbol)}`), id)); } catch (e) { holder.append(el('p', { class: 'bad' }, e.message)); }
    }
  } else if (tab === 'positions') {
    const rows = await api(`${base}/positions`);
    body.append(rows.length ? table(['symbol', 'leg', 'size', 'avg entry', 'mark', 'value', 'unrealised PnL', 'liq. price', 'as of'],
      rows.map((p) => [p.symbol, p.position_idx === 1 ? 'long' : p.position_idx === 2 ? 'short' : 'one-way', p.size, p.avg_price ?? '–', p.mark_price ?? '–',
        p.position_value !== null ? usd(p.position_value) : '–', usd(p.unrealised_pnl), p.liq_price && num(p.liq_price) ? p.liq_price : '–', when(new Date(p.at_ms).toISOString())]), 'positions')
      : el('p', { class: 'muted' }, 'No position reported yet.'));
  } else if (tab === 'history') {
    await historyPage(body, a, base);
  } else if (tab === 'equity') {
    const e = await api(`${base}/equity`);
    body.append(el('p', {}, `max drawdown ${pct(e.max_drawdown)} over ${e.rows} readings`));
    body.append(lineChart([{ name: 'equity', points: e.points.map((p) => [p[0], Number(p[1])]) }], { label: 'equity', format: (v) => usd(v) }));
    body.append(el('h2', {}, 'Drawdown from the running peak'));
    body.append(lineChart([{ name: 'drawdown', cls: 'dd', points: e.points.map((p) => [p[0], -p[2] * 100]) }], { label: 'drawdown', zero: true, format: (v) => v.toFixed(2) + ' %' }));
  } else if (tab === 'risk') {
    await riskPage(body, base);
  } else if (tab === 'events') {
    const rows = await api(`${base}/events?limit=200`);
    body.append(rows.length ? table(['time (UTC)', 'kind', 'symbol', 'what happened'], rows.map((r) => [when(r.at), r.kind, r.symbol ?? '', r.message]), 'events')
      : el('p', { class: 'muted' }, 'No events yet.'));
  } else if (tab === 'settings') {
    const s = await api(`${base}/settings`);
    body.append(el('p', {}, `file ${s.file} · environment ${s.environment} · ${s.rest_url} · tag ${s.tag} · Telegram alerts ${s.telegram_alerts ? 'on' : 'off'}`));
    for (const sym of s.symbols) body.append(el('pre', { class: 'settings' }, sym));
    body.append(el('h2', {}, 'risk'), el('pre', { class: 'settings' }, s.risk));
  }
}

function table(headers, rows, name) {
  return el('table', { 'data-table': name },
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

function ladderSection(v, id) {
  const facts = [];
  if (v.plan) facts.push(`plan locked ${when(v.plan.locked_at)} · base step ${pct(v.plan.base_step, 3)} · take-profit ${pct(v.plan.take_profit, 3)} · max level ${v.plan.max_level}`);
  for (const l of v.legs) {
    facts.push(`${l.leg}: cycle ${l.cycle} · ${l.level !== null ? 'level ' + l.level + ' of ' + l.max_level : 'flat'} · size ${l.size}` +
      (l.avg_entry ? ` · avg ${px(l.avg_entry)}` : '') + (l.take_profit_price ? ` · TP ${px(l.take_profit_price)}` : '') +
      (l.take_profit_distance !== null ? ` (${pct(l.take_profit_distance)} away)` : '') +
      (l.liq_price ? ` · liq ${px(l.liq_price)}` : '') +
      (l.level_up_budget !== null ? ` · level-ups ${l.level_ups_in_window}/${l.level_up_budget} in window` : '') + (l.tp_safety ? ' · TP SAFETY' : ''));
  }
  if (v.classic) facts.push(`classic generation ${v.classic.generation} built ${when(v.classic.built_at)} around ${v.classic.reference_price} · realised ${usd(v.classic.realised_pnl)} · fees ${usd(v.classic.fees)}${v.classic.stopped ? ' · STOPPED: ' + v.classic.stopped : ''}`);
  let controls = null;
  if (v.classic) {
    const key = id + '/' + v.symbol;
    const profile = el('select', { 'data-field': 'profile', onchange: (e) => { profileChoice[key] = e.target.value; } },
      [['', 'keep the layout'], ['conservative', 'conservative'], ['normal', 'normal'], ['aggressive', 'aggressive']].map(([value, label]) => el('option', { value }, label)));
    profile.value = profileChoice[key] || '';
    controls = el('span', { class: 'actions' }, profile, ' ',
      el('button', { type: 'button', 'data-action': 'recentre', onclick: () => recentre(id, v.symbol, profile.value) }, 'Recentre'));
  }
  return el('div', { class: 'ladder-view', 'data-ladder': v.symbol },
    el('p', {}, el('a', { href: `#/a/${enc(id)}/symbol/${enc(v.symbol)}` }, 'open'), ' ', facts.map((f) => el('span', { class: 'fact' }, f)), controls),
    el('div', { class: 'ladder-wrap' }, ladderChart(v)),
    table(['order', 'leg', 'role', 'level', 'side', 'price', 'qty'], v.orders.map((o) => [o.link_id, o.leg, o.role.replace('_', ' '), o.level, o.side, o.price ?? 'market', o.qty]), 'orders'));
}

async function symbolPage(body, id, symbol) {
  const v = await api(`/api/accounts/${enc(id)}/symbols/${enc(symbol)}`);
  body.replaceChildren(el('h2', {}, symbol), ladderSection(v, id));
}

async function historyPage(body, a, base) {
  const q = historyQuery;
  const params = new URLSearchParams({ page: q.page, per_page: 50 });
  for (const k of ['symbol', 'side', 'day']) if (q[k]) params.set(k, q[k]);
  const filterParams = new URLSearchParams(params); filterParams.delete('page'); filterParams.delete('per_page');
  const data = await api(`${base}/trades?${params}`);
  const pick = (name, options) => el('select', { 'data-filter': name, onchange: (e) => { q[name] = e.target.value; q.page = 1; render(); } },
    options.map(([v, label]) => { const o = el('option', { value: v }, label); if (q[name] === v) o.selected = true; return o; }));
  const day = el('input', { type: 'date', value: q.day, 'data-filter': 'day', onchange: (e) => { q.day = e.target.value; q.page = 1; render(); } });
  const pages = Math.max(1, Math.ceil(data.total / data.per_page));
  body.append(el('div', { class: 'filters' },
    pick('symbol', [['', 'all symbols'], ...a.symbols.map((s) => [s.symbol, s.symbol])]),
    pick('side', [['', 'both sides'], ['Buy', 'Buy'], ['Sell', 'Sell']]), day,
    el('a', { href: `${base}/trades.csv?${filterParams}`, download: '', 'data-download': 'csv' }, 'download CSV'),
    el('span', { class: 'muted' }, ` ${data.total} fills · page ${data.page} of ${pages} `),
    el('button', { type: 'button', disabled: q.page <= 1, onclick: () => { q.page -= 1; render(); } }, '‹ newer'),
    el('button', { type: 'button', disabled: q.page >= pages, onclick: () => { q.page += 1; render(); } }, 'older ›')));
  body.append(table(['time (UTC)', 'symbol', 'side', 'type', 'price', 'qty', 'fee', 'realised PnL', 'order'],
    data.rows.map((r) => [when(new Date(r.exec_ms).toISOString()), r.symbol, r.side, r.exec_type + (r.is_maker ? ' (maker)' : ''), r.price, r.qty, r.fee, r.realised_pnl ?? '', r.order_link_id]), 'trades'));
}

async function riskPage(body, base) {
  const r = await api(`${base}/risk`);
  const p = r.params || {};
  const hours = (ms) => (ms / 3600000).toFixed(0) + ' h';
  const active = (level) => r.active.filter((x) => x.level === level).map((x) => `${x.symbol}${x.leg ? ' ' + x.leg : ''}`).join(', ');
  const rows = [
    ['L1 IM-rate block', `IM rate ≥ ${pct(p.im_rate_block, 0)}`, r.im_rate !== null ? 'IM rate ' + pct(r.im_rate) : '–', active('im_rate_block')],
    ['L2 high IM rate in profit', `IM rate ≥ ${pct(p.im_rate_close_in_profit, 0)}`, '', active('high_im_in_profit')],
    ['L3 trailing stop', `arms at ${pct(p.trailing_activation)}, closes after ${pct(p.trailing_pullback, 0)} pull-back`, '', active('trailing_stop')],
    ['L4 position value limit', `${pct(p.position_value_limit, 0)} of the risk limit`, '', active('position_value_limit')],
    ['L5 stuck at max level', `${hours(p.max_level_timeout_ms)} at the last level`, r.legs.filter((l) => l.at_max_level_since_ms).map((l) => `${l.symbol} ${l.leg} since ${when(new Date(l.at_max_level_since_ms).toISOString())}`).join(', '), active('stuck_at_max_level')],
    ['L6 both legs in profit', `each leg > ${p.both_in_profit_min_pnl} USDT`, '', active('both_legs_in_profit')],
    ['L7 TP safety', `enter below ${p.tp_safety_enter}× coverage, leave above ${p.tp_safety_leave}×`, r.legs.filter((l) => l.tp_safety).map((l) => `${l.symbol} ${l.leg}`).join(', '), active('tp_safety')],
    ['L8 TP-safety block', 'protective orders blocked in TP safety', '', active('tp_safety_block')],
    ['L9 level-up budget', `${pct(p.level_up_budget_fraction, 0)} of max levels per ${hours(p.level_up_window_ms)}`, r.legs.filter((l) => l.level_ups_in_window).map((l) => `${l.symbol} ${l.leg}: ${l.level_ups_in_window}`).join(', '), active('level_up_budget')],
    ['L10 emergency stop', 'the EMERGENCY_STOP file', r.emergency_stop ? 'ON' : 'off', r.emergency_stop ? 'ON' : ''],
    ['daily kill switch', `equity ${pct(p.daily_drawdown_kill, 0)} below the day's peak`, r.kill_switch ? `TRIPPED at ${when(new Date(r.kill_switch.at_ms).toISOString())}` : `day peak ${r.day_peak_equity !== null ? usd(r.day_peak_equity) : '–'}`, r.kill_switch ? 'TRIPPED' : ''],
    ['exposure cap', `Σ position value ≤ ${p.max_exposure}× equity`, '', active('exposure_cap')],
  ];
  body.append(el('table', { 'data-table': 'risk' },
    el('thead', {}, el('tr', {}, ['level', 'threshold', 'state', 'in force'].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows.map((row) => el('tr', { class: row[3] ? 'in-force' : '' }, row.map((c) => el('td', {}, c)))))));
}

// ---------- routing and refresh ----------
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'a' && parts[1]) {
    if (parts[2] === 'symbol' && parts[3]) return { account: parts[1], tab: 'symbols', symbol: parts[3] };
    return { account: parts[1], tab: TABS.includes(parts[2]) ? parts[2] : 'symbols' };
  }
  return { account: null };
}

let rendering = false, again = false;
async function render() {
  if (rendering) { again = true; return; }
  rendering = true;
  const main = document.getElementById('main');
  try {
    status = await api('/api/status');
    const nav = document.getElementById('accounts-nav');
    nav.replaceChildren(...status.map((a) => el('a', { href: `#/a/${enc(a.account)}`, class: a.emergency_stop ? 'bad' : '' }, a.account)));
    const r = route();
    const scroll = window.scrollY;
    if (r.account) await accountPage(main, r.account, r.tab, r.symbol); else await overview(main);
    window.scrollTo(0, scroll);
    document.body.dataset.rendered = String(Date.now());
  } catch (e) {
    main.replaceChildren(el('p', { class: 'bad', 'data-error': '' }, e.message));
  } finally {
    rendering = false;
    if (again) { again = false; render(); }
  }
}

function scheduleRefresh(delay = 150) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(render, delay);
}

function connect() {
  const link = document.getElementById('link');
  const source = new EventSource('/api/stream');
  const set = (state, text) => { link.dataset.state = state; link.textContent = text; };
  source.addEventListener('open', () => set('live', 'live'));
  source.addEventListener('error', () => set('down', 'reconnecting…'));
  source.addEventListener('hello', () => { set('live', 'live'); scheduleRefresh(0); });
  source.addEventListener('change', () => scheduleRefresh());
  source.addEventListener('prices', (e) => {
    try {
      for (const [account, prices] of JSON.parse(e.data)) live.prices[account] = prices;
    } catch (_) { return; }
    const r = route();
    if (r.account && r.tab === 'symbols') scheduleRefresh(300);
  });
}

window.addEventListener('hashchange', () => { historyQuery = { symbol: '', side: '', day: '', page: 1 }; render(); });
document.addEventListener('DOMContentLoaded', () => { render(); connect(); });
