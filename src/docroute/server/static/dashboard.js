// docroute dashboard: polls /api/docroute/stats and /api/docroute/decisions, draws on <canvas>.
// No library, no network beyond this server. Exposes window.docrouteDashboard for tests.
"use strict";

(function () {
  const COLORS = ["#3b6fd8", "#14a37f", "#d97706", "#9b59b6", "#c2362b", "#0e7490", "#7c8796"];
  const POLL_MS = 2000;
  const state = { stats: null, decisions: [], renders: 0, errors: 0 };
  window.docrouteDashboard = state;

  const $ = (id) => document.getElementById(id);
  const fmtMs = (v) => (v === null || v === undefined) ? "-"
    : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v >= 10 ? v.toFixed(0) + " ms" : v.toFixed(1) + " ms";
  const fmtNum = (v, d) => (v === null || v === undefined) ? "-" : Number(v).toFixed(d);
  const pct = (v) => (100 * (v || 0)).toFixed(1) + "%";

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value === null || value === undefined ? "-" : String(value);
    if (cls) el.className = cls;
    return el;
  }

  // A canvas sized for the screen's pixel ratio; returns its context and CSS size.
  function surface(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300, h = canvas.clientHeight || 150;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx, w, h };
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function axes(ctx, w, h, pad, max, unit, startLabel) {
    ctx.strokeStyle = "#e4e7ec";
    ctx.fillStyle = "#667085";
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + (h - pad.t - pad.b) * (1 - i / 4);
      ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
      const v = max * i / 4;
      ctx.fillText((v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) + unit, 2, y + 4);
    }
    ctx.fillText(startLabel, pad.l, h - 4);
    ctx.fillText("now", w - pad.r - 22, h - 4);
  }

  // Lines (and optional bars) over the time buckets of series.
  function timeChart(canvas, lines, bars, unit, bucketLabel) {
    const { ctx, w, h } = surface(canvas);
    const pad = { l: 52, r: 8, t: 8, b: 18 };
    const all = lines.concat(bars).flatMap((s) => s.values.filter((v) => v !== null));
    const max = niceMax(Math.max(0, ...all));
    axes(ctx, w, h, pad, max, unit, bucketLabel);
    const n = Math.max(1, (lines[0] || bars[0]).values.length);
    const x = (i) => pad.l + (w - pad.l - pad.r) * (n === 1 ? 0.5 : i / (n - 1));
    const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
    let drawn = 0;
    const barW = Math.max(1, (w - pad.l - pad.r) / n / (bars.length + 1));
    bars.forEach((s, k) => {
      ctx.fillStyle = s.color;
      s.values.forEach((v, i) => {
        if (v) { ctx.fillRect(x(i) - barW + k * barW, y(v), barW, y(0) - y(v)); drawn++; }
      });
    });
    for (const s of lines) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
      let open = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { open = false; return; }
        if (open) ctx.lineTo(x(i), y(v)); else ctx.moveTo(x(i), y(v));
        open = true;
        if (v) drawn++;
      });
      ctx.stroke();
      ctx.fillStyle = s.color;
      s.values.forEach((v, i) => { if (v) { ctx.beginPath(); ctx.arc(x(i), y(v), 2, 0, 7); ctx.fill(); } });
    }
    canvas.dataset.points = String(drawn);
  }

  function donut(canvas, legend, models) {
    const { ctx, w, h } = surface(canvas);
    legend.replaceChildren();
    const total = models.reduce((a, m) => a + m.requests, 0);
    const r = Math.min(w, h) / 2 - 8, cx = w / 2, cy = h / 2;
    if (!total) {
      ctx.strokeStyle = "#e4e7ec"; ctx.lineWidth = 14;
      ctx.beginPath(); ctx.arc(cx, cy, r - 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = "#667085"; ctx.fillText("no answers yet", cx - 38, cy + 4);
      canvas.dataset.points = "0";
      return;
    }
    let angle = -Math.PI / 2;
    models.forEach((m, i) => {
      const part = 2 * Math.PI * m.requests / total;
      ctx.fillStyle = COLORS[i % COLORS.length];
      ctx.beginPath(); ctx.moveTo(cx, cy); ctx.arc(cx, cy, r, angle, angle + part); ctx.fill();
      angle += part;
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = COLORS[i % COLORS.length];
      item.append(swatch, `${m.model}: ${m.requests} (${pct(m.share)})`);
      legend.append(item);
    });
    ctx.fillStyle = "#fff"; ctx.beginPath(); ctx.arc(cx, cy, r * 0.55, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = "#1d2330"; ctx.font = "600 15px system-ui, sans-serif";
    const label = String(total);
    ctx.fillText(label, cx - ctx.measureText(label).width / 2, cy + 5);
    canvas.dataset.points = String(models.length);
  }

  function percentileBars(canvas, latency, ttft) {
    const { ctx, w, h } = surface(canvas);
    const pad = { l: 52, r: 8, t: 8, b: 18 };
    const names = ["p50", "p95", "p99"];
    const values = names.flatMap((p) => [latency[p], ttft[p]]).filter((v) => v !== null);
    const max = niceMax(Math.max(0, ...values));
    axes(ctx, w, h, pad, max, "", "");
    const group = (w - pad.l - pad.r) / names.length, bw = group / 3;
    const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
    let drawn = 0;
    names.forEach((p, i) => {
      [[latency[p], "#3b6fd8"], [ttft[p], "#14a37f"]].forEach(([v, color], k) => {
        if (v === null || v === undefined) return;
        ctx.fillStyle = color;
        ctx.fillRect(pad.l + i * group + (k + 0.5) * bw, y(v), bw * 0.9, y(0) - y(v));
        drawn++;
      });
      ctx.fillStyle = "#667085";
      ctx.fillText(p, pad.l + i * group + group / 2 - 8, h - 4);
    });
    canvas.dataset.points = String(drawn);
  }

  function tiles(s) {
    $("uptime").textContent = `up ${Math.round(s.uptime_s)} s, ${s.total_requests} requests`;
    $("t-rate").textContent = fmtNum(s.rate_per_s, 2);
    $("t-requests").textContent = String(s.requests);
    $("t-requests-sub").textContent = `${s.in_flight} in flight, window ${s.window_s / 60} min`;
    $("t-p50").textContent = fmtMs(s.latency_ms.p50);
    $("t-p50-sub").textContent =
      `TTFT p50 ${fmtMs(s.ttft_ms.p50)}, gateway's own p50 ${fmtMs(s.overhead_ms.p50)}`;
    $("t-p99").textContent = fmtMs(s.latency_ms.p99);
    $("t-p99-sub").textContent = `p95 ${fmtMs(s.latency_ms.p95)}`;
    $("t-fallbacks").textContent = String(s.fallbacks.count);
    $("t-fallbacks-sub").textContent = s.fallbacks.pairs.length
      ? s.fallbacks.pairs.map((p) => `${p.from} -> ${p.to}: ${p.count}`).join(", ")
      : `rate ${pct(s.fallbacks.rate)}`;
    $("t-errors").textContent = String(s.errors);
    $("t-errors-sub").textContent = Object.entries(s.outcomes)
      .filter(([k]) => k !== "ok" && k !== "fallback").map(([k, n]) => `${k}: ${n}`).join(", ") || "none";
  }

  function decisionsTable(rows) {
    const body = $("decisions");
    body.replaceChildren();
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = text("td", "no requests yet", "empty"); td.colSpan = 10;
      tr.append(td); body.append(tr); return;
    }
    for (const d of rows) {
      const tr = document.createElement("tr");
      const kind = d.outcome === "ok" ? "" : d.outcome === "fallback" ? "fallback" : "error";
      const attempts = (d.attempts || []).map((a) => `${a.model}: ${a.outcome}`).join(" -> ");
      const why = document.createElement("td");
      const reasons = d.reasons || [];
      if (reasons.length) {
        const details = document.createElement("details");
        details.append(text("summary", reasons[0]));
        const list = document.createElement("ul");
        reasons.slice(1).forEach((r) => list.append(text("li", r)));
        if (d.error) list.append(text("li", "error: " + d.error));
        details.append(list);
        why.append(details);
      } else {
        why.textContent = d.error || "-";
      }
      tr.append(
        text("td", new Date(d.ts * 1000).toLocaleTimeString()),
        text("td", d.api + (d.stream ? " (stream)" : "")),
        text("td", d.requested),
        text("td", d.policy),
        text("td", d.model),
        (() => { const td = document.createElement("td"); td.append(text("span", d.outcome, "badge " + kind)); return td; })(),
        text("td", fmtMs(d.latency_ms), "num"),
        text("td", d.n_ctx, "num"),
        text("td", attempts),
        why,
      );
      body.append(tr);
    }
  }

  function render() {
    const s = state.stats;
    if (!s) return;
    tiles(s);
    const ser = s.series;
    const span = `-${Math.round(ser.bucket_s * ser.rate_per_s.length / 60)} min`;
    timeChart($("c-rate"), [{ values: ser.rate_per_s, color: "#3b6fd8" }],
      [{ values: ser.fallbacks, color: "#d97706" }, { values: ser.errors, color: "#c2362b" }],
      "", span);
    timeChart($("c-latency"), [{ values: ser.latency_p50_ms, color: "#3b6fd8" },
      { values: ser.latency_p95_ms, color: "#9b59b6" }], [], "", span);
    donut($("c-share"), $("share-legend"), s.models);
    percentileBars($("c-pct"), s.latency_ms, s.ttft_ms);
    decisionsTable(state.decisions);
    state.renders++;
    document.body.dataset.state = "ready";
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  async function poll() {
    const windowS = $("window").value;
    try {
      const [stats, decisions] = await Promise.all([
        getJSON(`/api/docroute/stats?window=${windowS}`),
        getJSON("/api/docroute/decisions?limit=25"),
      ]);
      state.stats = stats;
      state.decisions = decisions.decisions;
      $("status").textContent = "live";
      $("status").className = "";
      render();
    } catch (err) {
      state.errors++;
      $("status").textContent = "cannot reach the gateway: " + err.message;
      $("status").className = "down";
    }
  }

  $("window").addEventListener("change", poll);
  window.addEventListener("resize", render);
  poll();
  setInterval(poll, POLL_MS);
})();
