// The payments dashboard (`GET /__x402/dashboard`): one self-contained page that charts revenue, volume,
// success rate and latency over time from the tracking store. The page itself holds no data; its script
// reads the admin key from the URL fragment (`#key=…`, never sent to the server) or a form, and calls the
// admin API (`/__x402/stats`, `/__x402/series`) with it. Inline SVG, no third-party code; the script runs
// under a per-response CSP nonce.

/** The page, with `nonce` as its script's CSP nonce. */
export function dashboardPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>x402-edge payments</title>
<style nonce="${nonce}">
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 12px; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 10px 14px; min-width: 120px; }
.card b { display: block; font-size: 18px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 10px; }
figcaption { font-weight: 600; margin-bottom: 6px; }
svg { width: 100%; height: 160px; }
#error { color: #b00; }
form { margin: 12px 0; }
</style>
</head>
<body>
<h1>x402-edge payments</h1>
<form id="login" hidden><label>Admin key <input id="key" type="password" autocomplete="off"></label> <button>Show</button></form>
<div>Range: <select id="range"><option value="3600000">last hour</option><option value="86400000" selected>last 24 hours</option><option value="604800000">last 7 days</option><option value="2592000000">last 30 days</option></select></div>
<p id="error" role="alert"></p>
<div class="summary" id="summary"></div>
<div class="charts">
<figure><figcaption>Revenue (base units, settled)</figcaption><svg id="chart-revenue" data-chart="revenue" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></figure>
<figure><figcaption>Volume (paid requests)</figcaption><svg id="chart-volume" data-chart="volume" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></figure>
<figure><figcaption>Success rate (settled / paid requests)</figcaption><svg id="chart-success" data-chart="success" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></figure>
<figure><figcaption>Mean settle latency (ms)</figcaption><svg id="chart-latency" data-chart="latency" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></figure>
</div>
<script nonce="${nonce}">
(() => {
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let key = new URLSearchParams(location.hash.slice(1)).get('key') || sessionStorage.getItem('x402-admin-key') || '';
  const api = async (path) => {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + key } });
    if (!res.ok) throw new Error(res.status === 401 ? 'wrong admin key' : path + ' answered ' + res.status);
    return res.json();
  };
  const el = (name, attrs, text) => {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const card = (label, value) => {
    const div = document.createElement('div');
    div.className = 'card';
    div.dataset.metric = label;
    const b = document.createElement('b');
    b.textContent = value;
    div.append(b, document.createTextNode(label));
    return div;
  };
  // Bars for counts, a polyline for rates and latencies; a value of null is a gap.
  function chart(svg, values, kind) {
    svg.replaceChildren();
    const known = values.filter((v) => v !== null);
    const max = kind === 'rate' ? 1 : Math.max(1, ...known);
    const w = 400 / Math.max(1, values.length);
    svg.append(el('text', { x: 2, y: 12, 'font-size': 10, fill: '#666' }, kind === 'rate' ? '100%' : String(Math.round(max))));
    if (kind === 'bars') {
      values.forEach((v, i) => {
        if (!v) return;
        const h = (v / max) * 140;
        svg.append(el('rect', { x: i * w + 1, y: 160 - h, width: Math.max(1, w - 2), height: h, fill: '#3b82f6', 'data-value': v }));
      });
      return;
    }
    const points = values.map((v, i) => (v === null ? null : [i * w + w / 2, 160 - (v / max) * 140])).filter(Boolean);
    if (points.length) svg.append(el('polyline', { points: points.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' '), fill: 'none', stroke: '#10b981', 'stroke-width': 2, 'data-points': points.length }));
    // A dot per bucket with data: a lone bucket is visible too.
    for (const [x, y] of points) svg.append(el('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 3, fill: '#10b981' }));
  }
  async function show() {
    $('error').textContent = '';
    const to = Date.now();
    const from = to - Number($('range').value);
    try {
      const [stats, series] = await Promise.all([api('/__x402/stats?from=' + from + '&to=' + to), api('/__x402/series?from=' + from + '&to=' + to + '&buckets=48')]);
      sessionStorage.setItem('x402-admin-key', key);
      $('login').hidden = true;
      const pct = stats.successRate === null ? '–' : (stats.successRate * 100).toFixed(1) + '%';
      $('summary').replaceChildren(
        card('paid requests', stats.count),
        card('settled', stats.settled),
        card('success rate', pct),
        card('settle p50 / p95 ms', (stats.latencyMs.settle.p50 ?? '–') + ' / ' + (stats.latencyMs.settle.p95 ?? '–')),
        ...stats.revenue.map((r) => card('revenue ' + r.network + ' ' + r.asset, r.amount)),
      );
      const first = stats.revenue[0];
      const revenueOf = (b) => (first ? Number(b.revenue.filter((r) => r.network === first.network && r.asset === first.asset).reduce((s, r) => s + BigInt(r.amount), 0n)) : 0);
      chart($('chart-revenue'), series.buckets.map(revenueOf), 'bars');
      chart($('chart-volume'), series.buckets.map((b) => b.count), 'bars');
      chart($('chart-success'), series.buckets.map((b) => b.successRate), 'rate');
      chart($('chart-latency'), series.buckets.map((b) => b.settleMsAvg), 'line');
      document.body.dataset.rendered = 'true';
    } catch (e) {
      $('error').textContent = e.message;
      $('login').hidden = false;
    }
  }
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    key = $('key').value;
    show();
  });
  $('range').addEventListener('change', show);
  if (key) show();
  else $('login').hidden = false;
})();
</script>
</body>
</html>
`;
}
