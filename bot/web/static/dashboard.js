/* Plumbline dashboard: draws api/dashboard (relative, so it works under a proxy sub-path) with plotly.js, polls /api/status and redraws when data lands. */
(function () {
  "use strict";
  var boot = JSON.parse(document.getElementById("boot").textContent);
  var W = boot.words;
  var state = { range: boot.range, lang: boot.lang, version: null, data: null };
  var COLORS = {
    band: "rgba(120,144,156,0.18)", sofr: "#1565c0", p99: "rgba(21,101,192,0.12)", p75: "rgba(21,101,192,0.22)",
    effr: "#ef6c00", iorb: "#6a1b9a", breach: "#d50000", am: "#00897b", pm: "#80cbc4", spread: "#1565c0",
    rrp: "#5d4037", tga: "#2e7d32", target: "#9e9e9e", reserves: "#283593", net: "#1565c0", assets: "#78909c"
  };
  // Which stored series each chart's CSV links offer.
  var CSV = {
    corridor: ["sofr", "sofr_p1", "sofr_p25", "sofr_p75", "sofr_p99", "effr", "iorb", "fed_lower", "fed_upper"],
    spread: ["srf", "srf_rate"], rrp: ["rrp"], tga: ["tga"], reserves: ["reserves"],
    liquidity: ["net_liquidity", "fed_assets", "tga", "rrp"]
  };
  window.plumbline = { drawn: {}, renders: 0, version: null, ready: false };

  function w(key, values) {
    var text = W[key] || key;
    if (values) Object.keys(values).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function fmt(value, unit) {
    if (value === null || value === undefined) return "\u2014";
    if (unit === "percent") return value.toFixed(2) + "%";
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + "B";
  }
  function line(series, name, color, extra) {
    var trace = { type: "scatter", mode: "lines", x: series.x, y: series.y, name: name,
      line: { color: color, width: 2 } };
    Object.keys(extra || {}).forEach(function (k) { trace[k] = extra[k]; });
    return trace;
  }
  function layout(axis, extra) {
    var base = {
      margin: { l: 56, r: 16, t: 8, b: 36 }, hovermode: "x unified", showlegend: true,
      legend: { orientation: "h", y: -0.18, font: { size: 11 } }, paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)", font: { family: "system-ui, sans-serif", size: 12 },
      xaxis: { type: "date", gridcolor: "#eceff1" }, yaxis: { title: { text: axis }, gridcolor: "#eceff1", zeroline: false }
    };
    Object.keys(extra || {}).forEach(function (k) { base[k] = extra[k]; });
    return base;
  }
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
  // Axis ticks and hover dates in the page's language: a plotly locale made of the catalog's month names
  // and date formats (English is plotly's own).
  if (boot.lang !== "en" && window.Plotly && window.Plotly.register) {
    window.Plotly.register({
      moduleType: "locale", name: boot.lang, dictionary: {},
      format: {
        months: boot.months, shortMonths: boot.months, year: W["web.date.year"], month: W["web.date.month"],
        dayMonth: W["web.date.day_month"], dayMonthYear: W["web.date.day_month_year"]
      }
    });
    CONFIG.locale = boot.lang;
  }
  var DAY_MS = 86400000;
  var PCT = { hovertemplate: "%{y:.2f}%" };
  var BN = { hovertemplate: "$%{y:,.1f}B" };

  function figures(d) {
    var s = d.series;
    var band = [
      line(s.fed_lower, w("web.trace.band_low"), "rgba(0,0,0,0)", { hovertemplate: "%{y:.2f}%", showlegend: false }),
      line(s.fed_upper, w("web.trace.band_high"), "rgba(0,0,0,0)",
        { fill: "tonexty", fillcolor: COLORS.band, hovertemplate: "%{y:.2f}%" }),
      line(s.sofr_p1, "p1", "rgba(0,0,0,0)", { showlegend: false, hoverinfo: "skip" }),
      line(s.sofr_p99, w("web.trace.p1_p99"), "rgba(0,0,0,0)", { fill: "tonexty", fillcolor: COLORS.p99, hoverinfo: "skip" }),
      line(s.sofr_p25, "p25", "rgba(0,0,0,0)", { showlegend: false, hoverinfo: "skip" }),
      line(s.sofr_p75, w("web.trace.p25_p75"), "rgba(0,0,0,0)", { fill: "tonexty", fillcolor: COLORS.p75, hoverinfo: "skip" }),
      line(s.iorb, w("web.trace.iorb"), COLORS.iorb, { line: { color: COLORS.iorb, width: 1.5, dash: "dot" }, hovertemplate: PCT.hovertemplate }),
      line(s.effr, w("web.trace.effr"), COLORS.effr, { line: { color: COLORS.effr, width: 1.5 }, hovertemplate: PCT.hovertemplate }),
      line(s.sofr, w("web.trace.sofr"), COLORS.sofr, PCT),
      { type: "scatter", mode: "markers", x: d.breaches.x, y: d.breaches.y, name: w("web.trace.breach"),
        customdata: d.breaches.gap, marker: { color: COLORS.breach, size: 8, symbol: "circle" },
        hovertemplate: "%{y:.2f}% (+%{customdata:.0f} bp)" }
    ];
    return {
      corridor: { traces: band, layout: layout(w("web.axis.percent")) },
      spread: {
        traces: [
          { type: "bar", x: d.srf.AM.x, y: d.srf.AM.y, name: w("web.trace.srf_am"), yaxis: "y2", width: 0.8 * DAY_MS,
            marker: { color: COLORS.am }, hovertemplate: BN.hovertemplate },
          { type: "bar", x: d.srf.PM.x, y: d.srf.PM.y, name: w("web.trace.srf_pm"), yaxis: "y2", width: 0.8 * DAY_MS,
            marker: { color: COLORS.pm }, hovertemplate: BN.hovertemplate },
          line(d.spread, w("web.trace.spread"), COLORS.spread, { hovertemplate: "%{y:.1f} bp" })
        ],
        layout: layout(w("web.axis.bp"), {
          barmode: "stack",
          margin: { l: 56, r: 56, t: 8, b: 36 },
          yaxis2: { title: { text: w("web.axis.billions") }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, tickmode: "auto", nticks: 5 },
          shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 0, y1: 0, line: { color: COLORS.breach, width: 1, dash: "dash" } }]
        })
      },
      rrp: { traces: [line(s.rrp, w("web.trace.rrp"), COLORS.rrp, BN)], layout: layout(w("web.axis.billions")) },
      tga: {
        traces: [line(s.tga, w("web.trace.tga"), COLORS.tga, BN),
          { type: "scatter", mode: "lines", name: w("web.trace.tga_target"), hoverinfo: "skip",
            x: s.tga.x.length ? [s.tga.x[0], s.tga.x[s.tga.x.length - 1]] : [], y: s.tga.x.length ? [d.tga_target, d.tga_target] : [],
            line: { color: COLORS.target, width: 1.5, dash: "dash" } }],
        layout: layout(w("web.axis.billions"))
      },
      reserves: { traces: [line(s.reserves, w("web.trace.reserves"), COLORS.reserves, BN)], layout: layout(w("web.axis.billions")) },
      liquidity: {
        traces: [
          line(s.fed_assets, w("web.trace.fed_assets"), COLORS.assets, BN),
          line(s.net_liquidity, w("web.trace.net_liquidity"), COLORS.net, BN),
          line(s.tga, w("web.trace.tga"), COLORS.tga, { line: { color: COLORS.tga, width: 1.5 }, hovertemplate: BN.hovertemplate }),
          line(s.rrp, w("web.trace.rrp"), COLORS.rrp, { line: { color: COLORS.rrp, width: 1.5 }, hovertemplate: BN.hovertemplate })
        ],
        layout: layout(w("web.axis.billions"))
      }
    };
  }

  function csvLinks(name, d) {
    var holder = document.querySelector('.csv[data-chart="' + name + '"]');
    holder.textContent = "";
    CSV[name].forEach(function (id) {
      var a = el("a", "csv-link", w("web.csv") + " " + id);
      a.href = "api/series/" + id + ".csv" + (d.since ? "?since=" + d.since : "");
      a.setAttribute("download", "plumbline-" + id + ".csv");
      holder.appendChild(a);
    });
  }

  function drawCharts(d) {
    var figs = figures(d);
    Object.keys(figs).forEach(function (name) {
      var node = document.getElementById("chart-" + name);
      var points = figs[name].traces.reduce(function (n, tr) { return n + (tr.x ? tr.x.length : 0); }, 0);
      var card = document.getElementById("card-" + name);
      var empty = card.querySelector(".empty-note");
      card.classList.toggle("empty", points === 0);
      if (points === 0) {
        // Nothing stored in this range (e.g. ON RRP before 2013): say so instead of drawing blank axes.
        window.Plotly.purge(node);
        if (!empty) card.appendChild(el("p", "empty-note", w("web.no_data")));
      } else {
        if (empty) empty.remove();
        window.Plotly.react(node, figs[name].traces, figs[name].layout, CONFIG);
      }
      window.plumbline.drawn[name] = points;
      csvLinks(name, d);
    });
  }

  function drawStatus(st) {
    var strip = document.getElementById("status-series");
    strip.textContent = "";
    st.series.forEach(function (row) {
      var cell = el("div", "cell " + row.state);
      cell.setAttribute("data-series", row.series);
      cell.appendChild(el("span", "name", row.name));
      cell.appendChild(el("span", "value", row.shown || fmt(row.value, row.unit)));
      cell.appendChild(el("span", "date", row.date || ""));
      cell.appendChild(el("span", "state", w("web.status." + row.state)));
      strip.appendChild(cell);
    });
    var sources = document.getElementById("status-sources");
    sources.textContent = "";
    sources.appendChild(el("span", "label", w("web.status.sources")));
    st.sources.forEach(function (src) {
      var text = src.state === "never" ? w("web.source.never")
        : src.state === "ok" ? w("web.source.ok", { when: src.last_fetch })
          : w("web.source.failing", { failures: src.failures, when: src.last_ok || "\u2014" });
      var item = el("span", "source " + src.state);
      item.appendChild(el("b", null, src.label));
      item.appendChild(document.createTextNode(" " + text));
      sources.appendChild(item);
    });
  }

  function drawEpisodes(ep) {
    var open = document.getElementById("episodes-list");
    open.textContent = "";
    if (!ep.open.length) open.appendChild(el("li", "none", w("web.episodes.none")));
    ep.open.forEach(function (e) { open.appendChild(el("li", "open " + e.rule, e.text)); });
    var alerts = document.getElementById("alerts-list");
    alerts.textContent = "";
    if (!ep.alerts.length) alerts.appendChild(el("li", "none", w("web.alerts.none")));
    ep.alerts.forEach(function (a) {
      var li = el("li", "alert " + a.level);
      li.appendChild(el("span", "tag", w("web.rule." + a.rule)));
      li.appendChild(el("span", "when", a.date));
      li.appendChild(el("span", "title", a.title));
      alerts.appendChild(li);
    });
  }

  function setLive(ok, version) {
    var live = document.getElementById("live");
    live.textContent = ok ? w("web.live") + " \u00b7 " + w("web.updated", { time: new Date().toISOString().slice(11, 16) + " UTC" }) : w("web.offline");
    live.className = "live " + (ok ? "ok" : "down");
    if (version) live.setAttribute("data-version", version);
  }

  function links() {
    var query = "?range=" + state.range + "&lang=" + state.lang;
    document.getElementById("permalink").href = query;
    var other = state.lang === "zh-TW" ? "en" : "zh-TW";
    document.getElementById("lang-toggle").href = "?range=" + state.range + "&lang=" + other;
    Array.prototype.forEach.call(document.querySelectorAll("button.range"), function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-range") === state.range));
    });
    if (window.location.search !== query) window.history.replaceState(null, "", query);
  }

  function load() {
    var url = "api/dashboard?range=" + encodeURIComponent(state.range) + "&lang=" + encodeURIComponent(state.lang);
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (d) {
        state.data = d;
        state.version = d.version;
        drawCharts(d);
        drawStatus(d.status);
        drawEpisodes(d.episodes);
        setLive(true, d.version);
        window.plumbline.version = d.version;
        window.plumbline.renders += 1;
        window.plumbline.ready = true;
      })
      .catch(function () { setLive(false); });
  }

  function poll() {
    fetch("api/status?lang=" + encodeURIComponent(state.lang), { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (st) {
        if (st.version !== state.version) return load();
        drawStatus(st);
        setLive(true, st.version);
      })
      .catch(function () { setLive(false); })
      .then(function () { window.setTimeout(poll, refreshMs()); });
  }

  // ?refresh=N (1-60 s) polls faster than the default; read once, before the address is rewritten.
  var asked = parseFloat(new URLSearchParams(window.location.search).get("refresh") || "");
  var REFRESH_MS = (isFinite(asked) && asked >= 1 ? Math.min(asked, 60) : boot.refresh) * 1000;
  function refreshMs() { return REFRESH_MS; }

  Array.prototype.forEach.call(document.querySelectorAll("button.range"), function (b) {
    b.addEventListener("click", function () {
      state.range = b.getAttribute("data-range");
      links();
      load();
    });
  });
  links();
  load().then(function () { window.setTimeout(poll, refreshMs()); });
})();
