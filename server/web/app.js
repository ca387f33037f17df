/*
 * compstatd dashboard: the numbers of the API, drawn, and kept live.
 *
 * Everything shown comes from the API with the token the user signed in
 * with: the COMPSTAT sheet (/v1/compstat), the hotspot map (/v1/hotspots
 * over /v1/precincts?format=geojson), the weekly trend (/v1/cube), the
 * response-time table (/v1/response-times) and the live feed
 * (/v1/stream, read with fetch so the token travels in a header, resumed
 * with Last-Event-ID). Cube events schedule a re-read of the numbers they
 * change, so the page never computes a count of its own.
 */
(function () {
  "use strict";

  var TOKEN_KEY = "compstatd.token";
  var CLASSES = [
    ["hot_99", "#b2182b", "hot 99%"], ["hot_95", "#ef8a62", "hot 95%"],
    ["hot_90", "#fddbc7", "hot 90%"], ["none", "#d9d9d9", "not significant"],
    ["cold_90", "#d1e5f0", "cold 90%"], ["cold_95", "#67a9cf", "cold 95%"],
    ["cold_99", "#2166ac", "cold 99%"]
  ];
  var COLOUR = {};
  CLASSES.forEach(function (c) { COLOUR[c[0]] = c[1]; });
  var LABEL = {
    murder: "Murder", rape: "Rape", robbery: "Robbery", felony_assault: "Felony assault",
    burglary: "Burglary", grand_larceny: "Grand larceny",
    grand_larceny_auto: "Grand larceny auto", total: "Total"
  };

  var S = {
    token: null, me: null, zone: "UTC", precincts: null, offenses: [],
    map: null, boundaries: null, cells: null, fitted: false,
    stream: null, lastEventId: null, feed: [], asOf: 0,
    timers: {}, seq: {}
  };
  window.dashboard = S; /* for the browser tests and the curious */

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  /* ---- API ---------------------------------------------------------- */

  function ApiError(status, body) {
    this.status = status;
    this.message = body && body.error ? body.error.message : "HTTP " + status;
  }

  function api(path) {
    return fetch(path, { headers: { Authorization: "Bearer " + S.token } })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (res.status === 401) signOut("The token was refused (expired or revoked?).");
          if (!res.ok) throw new ApiError(res.status, body);
          return body;
        });
      });
  }

  /* Run fetcher for a panel; a newer call makes older answers stale. */
  function latest(name, promise, apply) {
    var n = (S.seq[name] || 0) + 1;
    S.seq[name] = n;
    return promise.then(function (v) {
      if (S.seq[name] === n) apply(v);
    }).catch(function (e) {
      if (S.seq[name] === n) showError(name + ": " + (e.message || e));
    });
  }

  function showError(msg) {
    var b = $("error");
    b.textContent = msg;
    b.hidden = false;
  }
  function clearError() { $("error").hidden = true; }

  /* ---- dates in the agency's zone ----------------------------------- */

  function localDate(ms) { /* "YYYY-MM-DD" in the agency's zone */
    var parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: S.zone, year: "numeric", month: "2-digit", day: "2-digit"
    }).formatToParts(new Date(ms));
    var o = {};
    parts.forEach(function (p) { o[p.type] = p.value; });
    return o.year + "-" + o.month + "-" + o.day;
  }
  function addDays(date, n) { /* calendar arithmetic on "YYYY-MM-DD" */
    var d = new Date(date + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function dow(date) { return (new Date(date + "T00:00:00Z").getUTCDay() + 6) % 7; } /* Mon 0 */
  function sundayOf(date) { return addDays(date, 6 - dow(date)); }
  function localTime(iso) {
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: S.zone, hour: "2-digit", minute: "2-digit"
    }).format(new Date(iso));
  }
  function today() { return localDate(Date.now()); }
  /* Every panel looks at the week chosen (default: this one): windows end
     with its Sunday, i.e. before the Monday after. */
  function endDate() { return addDays($("week").value || sundayOf(today()), 1); }

  /* ---- filters ------------------------------------------------------ */

  function precinct() { return $("precinct").value; }
  function offenseParam() {
    var v = $("offense").value;
    if (!v) return "";
    var i = v.indexOf(":");
    return "&" + v.slice(0, i) + "=" + encodeURIComponent(v.slice(i + 1));
  }
  function precinctParam() {
    return precinct() ? "&precinct=" + encodeURIComponent(precinct()) : "";
  }

  /* ---- sign in ------------------------------------------------------ */

  function signOut(msg) {
    sessionStorage.removeItem(TOKEN_KEY);
    S.token = null;
    closeStream();
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = msg || "";
  }

  function signIn(token) {
    S.token = token;
    return api("/v1/whoami").then(function (me) {
      if (me.role === "dispatch")
        throw new ApiError(403, { error: { message: "a dispatch token cannot read statistics" } });
      S.me = me;
      S.zone = me.agency && me.agency.time_zone ? me.agency.time_zone : "UTC";
      sessionStorage.setItem(TOKEN_KEY, token);
      $("signin").hidden = true;
      $("app").hidden = false;
      $("agency-name").textContent = me.agency ? me.agency.name + " (" + me.agency.code + ")" : "";
      return Promise.all([api("/v1/precincts?format=geojson"), api("/v1/offenses")]);
    }).then(function (r) {
      S.boundaries = r[0];
      S.offenses = r[1].offenses || [];
      fillSelectors();
      initMap();
      refreshAll();
      openStream(false);
    }).catch(function (e) {
      if (S.token) signOut(e.message || String(e));
    });
  }

  function fillSelectors() {
    var sel = $("precinct");
    sel.textContent = "";
    if (S.me.precincts === null) sel.appendChild(option("", "All precincts"));
    var codes = S.boundaries.features.map(function (f) { return f.properties.code; }).sort();
    codes.forEach(function (c) { sel.appendChild(option(c, c)); });
    var off = $("offense");
    off.textContent = "";
    off.appendChild(option("", "All offenses"));
    var cats = {};
    S.offenses.forEach(function (o) { cats[o.category] = true; });
    var g1 = el("optgroup");
    g1.label = "Categories";
    Object.keys(cats).sort().forEach(function (c) {
      g1.appendChild(option("category:" + c, LABEL[c] || c));
    });
    var g2 = el("optgroup");
    g2.label = "Offenses";
    S.offenses.slice().sort(function (a, b) { return a.code < b.code ? -1 : 1; })
      .forEach(function (o) { g2.appendChild(option("offense:" + o.code, o.code + " " + o.name)); });
    off.appendChild(g1);
    off.appendChild(g2);
    $("week").value = sundayOf(today());
    /* #week=YYYY-MM-DD&precinct=..&offense=..&window=..&cell=.. (bookmarks) */
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (/^\d{4}-\d{2}-\d{2}$/.test(h.get("week") || "")) $("week").value = sundayOf(h.get("week"));
    ["precinct", "offense", "window", "cell"].forEach(function (k) {
      var v = h.get(k), sel = $(k);
      if (v !== null && Array.prototype.some.call(sel.options, function (o) { return o.value === v; }))
        sel.value = v;
    });
  }

  function saveHash() {
    var h = new URLSearchParams();
    h.set("week", $("week").value);
    ["precinct", "offense", "window", "cell"].forEach(function (k) {
      if ($(k).value) h.set(k, $(k).value);
    });
    history.replaceState(null, "", "#" + h.toString());
  }

  function option(value, text) {
    var o = el("option", null, text);
    o.value = value;
    return o;
  }

  /* ---- refreshing --------------------------------------------------- */

  function refreshAll() {
    clearError();
    saveHash();
    loadCompstat();
    loadTrend();
    loadResponseTimes();
    loadHotspots();
  }

  /* Cube events: re-read what they change, at most every delay ms. */
  function soon(name, fn, delay) {
    if (S.timers[name]) return;
    S.timers[name] = setTimeout(function () { S.timers[name] = null; fn(); }, delay);
  }

  function noteAsOf(iso) {
    if (!iso) return;
    var ms = Date.parse(iso);
    if (ms > S.asOf) {
      S.asOf = ms;
      $("asof").textContent = "data as of " + new Intl.DateTimeFormat("en-GB", {
        timeZone: S.zone, dateStyle: "medium", timeStyle: "medium"
      }).format(new Date(ms));
      $("asof").setAttribute("data-as-of", iso);
    }
  }

  /* ---- COMPSTAT sheet ----------------------------------------------- */

  function loadCompstat() {
    var q = "/v1/compstat?week_ending=" + encodeURIComponent($("week").value || sundayOf(today())) +
      precinctParam();
    return latest("compstat", api(q), drawCompstat);
  }

  function drawCompstat(c) {
    var t = $("compstat");
    t.textContent = "";
    var year = Number(c.week_ending.slice(0, 4));
    var thead = el("thead");
    var h1 = el("tr");
    h1.appendChild(el("th"));
    [["week", "Week to date"], ["d28", "28 days"], ["ytd", "Year to date"]].forEach(function (p) {
      var th = el("th", "sep", p[1]);
      th.colSpan = 3;
      h1.appendChild(th);
    });
    var h2 = el("tr");
    h2.appendChild(el("th", null, "Category"));
    for (var i = 0; i < 3; i++) {
      h2.appendChild(el("th", "sep", year));
      h2.appendChild(el("th", null, year - 1));
      h2.appendChild(el("th", null, "% chg"));
    }
    thead.appendChild(h1);
    thead.appendChild(h2);
    t.appendChild(thead);
    var tb = el("tbody");
    c.rows.forEach(function (row) {
      var tr = el("tr", row.category === "total" ? "total" : null);
      tr.setAttribute("data-category", row.category);
      tr.appendChild(el("td", null, LABEL[row.category] || row.category));
      ["week", "d28", "ytd"].forEach(function (p) {
        var v = row[p];
        var flag = v.z >= 2 ? "z-up" : v.z <= -2 ? "z-down" : "";
        var cur = el("td", "sep " + flag, v.current);
        cur.setAttribute("data-period", p);
        cur.setAttribute("data-field", "current");
        cur.title = "z = " + v.z;
        var pri = el("td", null, v.prior);
        pri.setAttribute("data-period", p);
        pri.setAttribute("data-field", "prior");
        var pct = el("td", flag, v.pct_change === null ? "—" :
          (v.pct_change > 0 ? "+" : "") + v.pct_change.toFixed(1) + "%");
        pct.setAttribute("data-period", p);
        pct.setAttribute("data-field", "pct_change");
        tr.appendChild(cur);
        tr.appendChild(pri);
        tr.appendChild(pct);
      });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    $("compstat-caption").textContent = (c.precinct || "all precincts") + ", week ending " +
      c.week_ending;
    noteAsOf(c.as_of);
  }

  /* ---- trend -------------------------------------------------------- */

  function loadTrend() {
    var end = endDate(); /* the Monday after the chosen week */
    var start = addDays(end, -7 * 52);
    var priorStart = addDays(start, -7 * 52);
    var base = "/v1/cube?granularity=week" + precinctParam() + offenseParam();
    var p = Promise.all([
      api(base + "&from=" + start + "&to=" + end),
      api(base + "&from=" + priorStart + "&to=" + start)
    ]);
    return latest("trend", p, function (r) { drawTrend(r[0], r[1], start); });
  }

  function weekly(cube, start) {
    var counts = new Array(52).fill(0);
    cube.cells.forEach(function (c) {
      var d = c.bucket.slice(0, 10);
      var i = Math.round((Date.parse(d + "T00:00:00Z") - Date.parse(start + "T00:00:00Z")) /
        (7 * 86400000));
      if (i >= 0 && i < 52) counts[i] += c.count;
    });
    return counts;
  }

  function drawTrend(cur, prior, start) {
    var svg = $("trend");
    var ns = "http://www.w3.org/2000/svg";
    svg.textContent = "";
    var a = weekly(cur, start);
    var b = weekly(prior, addDays(start, -7 * 52));
    S.trend = a;
    var max = Math.max(1, Math.max.apply(null, a), Math.max.apply(null, b));
    var W = 640, H = 220, L = 36, R = 8, T = 8, B = 22;
    function x(i) { return L + (W - L - R) * i / 51; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    [0, 0.5, 1].forEach(function (f) {
      var g = document.createElementNS(ns, "line");
      g.setAttribute("class", "grid");
      g.setAttribute("x1", L); g.setAttribute("x2", W - R);
      g.setAttribute("y1", y(max * f)); g.setAttribute("y2", y(max * f));
      svg.appendChild(g);
      var t = document.createElementNS(ns, "text");
      t.setAttribute("x", 2); t.setAttribute("y", y(max * f) + 4);
      t.textContent = Math.round(max * f);
      svg.appendChild(t);
    });
    [0, 13, 26, 39, 51].forEach(function (i) {
      var t = document.createElementNS(ns, "text");
      t.setAttribute("x", x(i)); t.setAttribute("y", H - 4);
      t.setAttribute("text-anchor", i === 0 ? "start" : i === 51 ? "end" : "middle");
      t.textContent = addDays(start, 7 * i).slice(5);
      svg.appendChild(t);
    });
    [[b, "prior"], [a, "this"]].forEach(function (s) {
      var path = document.createElementNS(ns, "polyline");
      path.setAttribute("class", s[1]);
      path.setAttribute("points", s[0].map(function (v, i) {
        return x(i).toFixed(1) + "," + y(v).toFixed(1);
      }).join(" "));
      svg.appendChild(path);
    });
    var total = a.reduce(function (s, v) { return s + v; }, 0);
    $("trend-caption").textContent = total + " in 52 weeks, " + a[51] + " this week";
    noteAsOf(cur.as_of);
  }

  /* ---- response times ----------------------------------------------- */

  function mmss(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    var m = Math.floor(s / 60);
    return m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") :
      m + ":" + String(s % 60).padStart(2, "0");
  }

  function loadResponseTimes() {
    var to = endDate();
    var q = "/v1/response-times?by=priority&from=" + addDays(to, -28) + "&to=" + to +
      precinctParam();
    return latest("rt", api(q), drawResponseTimes);
  }

  function drawResponseTimes(r) {
    var t = $("rt");
    t.textContent = "";
    var head = el("tr");
    ["Priority", "Calls", "Queue p50", "Response p50", "Response p90", "Travel p50",
      "On scene p50"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    var thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    var tb = el("tbody");
    r.rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-priority", row.priority === null ? "none" : row.priority);
      tr.appendChild(el("td", null, row.priority === null ? "none" : row.priority));
      tr.appendChild(el("td", null, row.incidents !== undefined ? row.incidents : row.response.n));
      var cells = [["queue", "p50"], ["response", "p50"], ["response", "p90"],
        ["travel", "p50"], ["on_scene", "p50"]];
      cells.forEach(function (c) {
        var td = el("td", null, mmss(row[c[0]][c[1]]));
        td.setAttribute("data-interval", c[0]);
        td.setAttribute("data-stat", c[1]);
        td.title = row[c[0]][c[1]] === null ? "no data" : row[c[0]][c[1]] + " s (n " +
          row[c[0]].n + ")";
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
    if (!r.rows.length) {
      var tr = el("tr");
      var td = el("td", null, "No calls with lifecycle times in these 28 days.");
      td.colSpan = 7;
      tr.appendChild(td);
      tb.appendChild(tr);
    }
    t.appendChild(tb);
  }

  /* ---- map ---------------------------------------------------------- */

  function initMap() {
    if (!S.map) {
      S.map = L.map("map", { zoomSnap: 0.25, attributionControl: true });
      api("/dashboard/config.json").catch(function () { return {}; }).then(function (cfg) {
        if (cfg && cfg.tile_url)
          L.tileLayer(cfg.tile_url, { attribution: cfg.tile_attribution || "", maxZoom: 19 })
            .addTo(S.map);
      });
      var legend = $("legend");
      CLASSES.forEach(function (c) {
        var li = el("li");
        var sw = el("i");
        sw.style.background = c[1];
        li.appendChild(sw);
        li.appendChild(document.createTextNode(c[2]));
        legend.appendChild(li);
      });
    }
    if (S.boundaryLayer) S.boundaryLayer.remove();
    S.boundaryLayer = L.geoJSON(S.boundaries, {
      style: { color: "#1b2330", weight: 1.5, fill: false, className: "precinct" },
      onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.code, { sticky: true }); }
    }).addTo(S.map);
    fitMap();
  }

  function fitMap() {
    var layer = S.boundaryLayer, bounds = null;
    layer.eachLayer(function (l) {
      if (!precinct() || l.feature.properties.code === precinct()) {
        bounds = bounds ? bounds.extend(l.getBounds()) : L.latLngBounds(l.getBounds().getSouthWest(),
          l.getBounds().getNorthEast());
      }
    });
    if (bounds && bounds.isValid()) S.map.fitBounds(bounds, { padding: [8, 8] });
    else S.map.setView([0, 0], 2);
  }

  function loadHotspots() {
    var days = Number($("window").value);
    var to = endDate();
    var q = "/v1/hotspots?method=gi&from=" + addDays(to, -days) + "&to=" + to + "&cell_m=" +
      $("cell").value + precinctParam() + offenseParam();
    return latest("hotspots", api(q), drawHotspots);
  }

  function drawHotspots(fc) {
    if (S.cellLayer) S.cellLayer.remove();
    S.cells = fc;
    S.cellLayer = L.geoJSON(fc, {
      style: function (f) {
        var cls = f.properties.class || "none";
        return { className: "cell cell-" + cls, fillColor: COLOUR[cls] || COLOUR.none,
          fillOpacity: cls === "none" ? 0.35 : 0.75, color: "#555", weight: 0.3 };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindTooltip(p.count + " incidents" + (p.z !== undefined ? ", z = " +
          Number(p.z).toFixed(2) + " (" + p.class + ")" : ""));
      }
    }).addTo(S.map);
    S.boundaryLayer.bringToFront();
    var hot = fc.features.filter(function (f) { return /^hot/.test(f.properties.class); }).length;
    $("map-caption").textContent = $("window").value + " days, " + fc.features.length +
      " cells, " + hot + " hot";
  }

  /* ---- live feed (Server-Sent Events over fetch) -------------------- */

  function setLive(on) {
    var b = $("live");
    b.textContent = on ? "live" : "offline";
    b.className = on ? "live on" : "live";
  }

  function closeStream() {
    if (S.stream) S.stream.abort();
    S.stream = null;
    setLive(false);
  }

  function openStream(resume) {
    closeStream();
    if (!S.token) return;
    var ctrl = new AbortController();
    S.stream = ctrl;
    var headers = { Authorization: "Bearer " + S.token, Accept: "text/event-stream" };
    if (resume && S.lastEventId) headers["Last-Event-ID"] = S.lastEventId;
    var url = "/v1/stream" + (precinct() ? "?precinct=" + encodeURIComponent(precinct()) : "");
    fetch(url, { headers: headers, signal: ctrl.signal }).then(function (res) {
      if (res.status === 401) { signOut("The token was refused."); return; }
      if (!res.ok || !res.body) throw new Error("stream: HTTP " + res.status);
      var reader = res.body.getReader();
      var dec = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) throw new Error("stream ended");
          buf += dec.decode(r.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            onBlock(block);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (S.stream !== ctrl) return; /* closed on purpose */
      setLive(false);
      setTimeout(function () { if (S.stream === ctrl) openStream(true); }, 2000);
    });
  }

  function onBlock(block) {
    var type = "message", data = [], id = null;
    block.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === ":") return;
      var k = line.indexOf(":");
      var key = k < 0 ? line : line.slice(0, k);
      var v = k < 0 ? "" : line.slice(k + 1).replace(/^ /, "");
      if (key === "data") data.push(v);
      else if (key === "event") type = v;
      else if (key === "id") id = v;
    });
    if (id !== null) S.lastEventId = id;
    if (!data.length) return;
    var d = JSON.parse(data.join("\n"));
    if (type === "ready") {
      setLive(true);
      noteAsOf(d.as_of);
      if (!d.resumed) {
        if (S.streamedOnce) refreshAll(); /* missed events: read everything again */
        S.streamedOnce = true;
      }
    } else if (type === "incident") {
      addToFeed(d);
      noteAsOf(d.incident.updated_at);
    } else if (type === "cube") {
      noteAsOf(d.as_of);
      soon("numbers", function () { loadCompstat(); loadTrend(); }, 300);
      soon("map", loadHotspots, 2000);
    }
  }

  function addToFeed(ev) {
    var inc = ev.incident;
    var list = $("feed");
    var old = list.querySelector('li[data-id="' + inc.id + '"]');
    var li = el("li", "new");
    li.setAttribute("data-id", inc.id);
    li.appendChild(el("span", "time", localTime(inc.occurred_at || inc.received_at ||
      inc.updated_at)));
    li.appendChild(el("span", "what", inc.offense + (inc.category ? " · " + inc.category : "") +
      (ev.change === "updated" ? " (updated, " + inc.status + ")" : "")));
    li.appendChild(el("span", "precinct", inc.precinct || "no precinct"));
    li.appendChild(el("span", "where", inc.address || (inc.location ? inc.location.lat.toFixed(4) +
      ", " + inc.location.lon.toFixed(4) : "")));
    if (old) old.remove();
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 100) list.removeChild(list.lastChild);
  }

  /* ---- wiring ------------------------------------------------------- */

  document.addEventListener("DOMContentLoaded", function () {
    $("signin-form").addEventListener("submit", function (e) {
      e.preventDefault();
      $("signin-error").textContent = "";
      signIn($("token").value.trim());
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    $("precinct").addEventListener("change", function () {
      $("feed").textContent = "";
      fitMap();
      refreshAll();
      S.lastEventId = null;
      openStream(false);
    });
    $("week").addEventListener("change", function () {
      var v = $("week").value;
      if (!v) $("week").value = sundayOf(today());
      else if (dow(v) !== 6) $("week").value = sundayOf(v);
      refreshAll();
    });
    $("offense").addEventListener("change", function () { saveHash(); loadTrend(); loadHotspots(); });
    $("window").addEventListener("change", function () { saveHash(); loadHotspots(); });
    $("cell").addEventListener("change", function () { saveHash(); loadHotspots(); });
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        if (S.map) { S.map.invalidateSize(); fitMap(); }
      }, 150);
    });
    var saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
    else $("signin").hidden = false;
  });
})();
