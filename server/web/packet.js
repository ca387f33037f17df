/*
 * compstatd: the weekly COMPSTAT packet (docs/API.md, "The weekly packet").
 *
 * /packet.html#week=YYYY-MM-DD&area=CODE|precinct=CODE&paper=a4|letter&lang=es|en
 *
 * One page per precinct of the area (or of everything the reader sees) --
 * the sheet with rates and z, the 52-week trend against the year before,
 * the map of the 28 days' hotspots, response-time p50/p90 by priority,
 * workload against staffing, "data as of" -- then a summary page for the
 * area; printed with the browser (A4 or Letter). Every number is the API's,
 * read with the dashboard's credentials (its token in this tab's
 * sessionStorage, or the session cookie); the server decides what the
 * reader may see, and its refusals are shown as such.
 *
 * Every text is in STRINGS below, in English and Spanish (the same keys).
 */
(function () {
  "use strict";

  var STRINGS = {
    en: {
      back: "← Dashboard", weekEnding: "Week ending", geography: "Area", paper: "Paper",
      letter: "Letter", language: "Language", print: "Print",
      wholeAgency: "The whole agency", loading: "Reading {n} of {total}…", ready: "{n} pages, ready to print",
      signIn: "Sign in on the dashboard first (this page uses its sign-in).",
      title: "COMPSTAT packet", summaryTitle: "Summary",
      pageOf: "Week ending {date}", dataAsOf: "data as of {when}",
      sheetHead: "COMPSTAT sheet", trendHead: "Incidents by week: the 52 weeks to {date} and the year before",
      mapHead: "Hotspots, 28 days to {date}", rtHead: "Response times, 28 days (by priority)",
      workloadHead: "Workload against staffing, 28 days", precinctsHead: "The precincts",
      category: "Category", week: "Week", d28: "28 days", ytd: "Year to date",
      cur: "Now", prior: "Year before", pct: "% chg", z: "z", rate: "Rate", rateAnnual: "Per year",
      rateNote: "Rates per 100,000 inhabitants; \u201cper year\u201d: the year to date's rate over a whole year. " +
        "Bold red / blue: a significant rise / fall ({test}, p < {alpha}); z = 2(\u221anow \u2212 \u221abefore).",
      rateNone: "no population: no rate",
      trendThis: "these 52 weeks", trendPrior: "the 52 weeks a year before",
      trendPriorNone: "no data is held for the year before",
      mapNone: "No incident with a location in these 28 days: nothing to map (the data may have no coordinates).",
      mapLegend: "hot spot (90 to 99 % confidence) / cold spot; cells of {m} m",
      priority: "Priority", calls: "Calls", responseP50: "Response p50", responseP90: "Response p90",
      queueP50: "Queue p50", travelP50: "Travel p50", none: "none",
      rtEmpty: "No calls with lifecycle times in these 28 days.",
      wlCalls: "Calls handled", wlCommitted: "Time committed", wlTours: "Tours rostered",
      wlOfficerTours: "Officer tours", wlPerTour: "Calls per tour", wlPerOfficer: "Calls per officer tour",
      wlNoRoster: "No roster is held for these 28 days: staffing cannot be compared.",
      precinct: "Precinct", total: "Total",
      noData: "no data", forbidden: "Not shown: {message}",
      categories: {
        murder: "Murder", rape: "Rape", robbery: "Robbery", felony_assault: "Felony assault",
        burglary: "Burglary", grand_larceny: "Grand larceny", grand_larceny_auto: "Grand larceny auto",
        other: "Other", total: "Total"
      },
      months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
      dayFmt: "{d} {mon} {y}", timeFmt: "{d} {mon} {y} {hh}:{mm}",
      testName: "exact conditional binomial test of the two counts, two-sided"
    },
    es: {
      back: "← Tablero", weekEnding: "Semana que termina", geography: "Área", paper: "Papel",
      letter: "Carta", language: "Idioma", print: "Imprimir",
      wholeAgency: "Toda la institución", loading: "Leyendo {n} de {total}…", ready: "{n} páginas, listas para imprimir",
      signIn: "Ingrese primero en el tablero (esta página usa su ingreso).",
      title: "Informe COMPSTAT", summaryTitle: "Resumen",
      pageOf: "Semana que termina el {date}", dataAsOf: "datos al {when}",
      sheetHead: "Hoja COMPSTAT", trendHead: "Incidentes por semana: las 52 semanas al {date} y el año anterior",
      mapHead: "Puntos calientes, 28 días al {date}", rtHead: "Tiempos de respuesta, 28 días (por prioridad)",
      workloadHead: "Carga de trabajo frente a la dotación, 28 días", precinctsHead: "Las delegaciones",
      category: "Categoría", week: "Semana", d28: "28 días", ytd: "Año a la fecha",
      cur: "Ahora", prior: "Año anterior", pct: "% var.", z: "z", rate: "Tasa", rateAnnual: "Por año",
      rateNote: "Tasas por 100.000 habitantes; «por año»: la tasa del año a la fecha llevada a un año entero. " +
        "Rojo / azul en negrita: un alza / baja significativa ({test}, p < {alpha}); z = 2(\u221aahora \u2212 \u221aantes).",
      rateNone: "sin población: sin tasa",
      trendThis: "estas 52 semanas", trendPrior: "las 52 semanas un año antes",
      trendPriorNone: "no hay datos del año anterior",
      mapNone: "Ningún incidente con ubicación en estos 28 días: nada que mapear (los datos pueden no tener coordenadas).",
      mapLegend: "punto caliente (90 a 99 % de confianza) / punto frío; celdas de {m} m",
      priority: "Prioridad", calls: "Llamadas", responseP50: "Respuesta p50", responseP90: "Respuesta p90",
      queueP50: "Espera p50", travelP50: "Traslado p50", none: "ninguna",
      rtEmpty: "No hay llamadas con tiempos en estos 28 días.",
      wlCalls: "Llamadas atendidas", wlCommitted: "Tiempo comprometido", wlTours: "Turnos programados",
      wlOfficerTours: "Turnos de oficiales", wlPerTour: "Llamadas por turno", wlPerOfficer: "Llamadas por turno de oficial",
      wlNoRoster: "No hay rol de turnos de estos 28 días: no se puede comparar con la dotación.",
      precinct: "Delegación", total: "Total",
      noData: "sin datos", forbidden: "No se muestra: {message}",
      categories: {
        murder: "Homicidio", rape: "Violación", robbery: "Robo", felony_assault: "Agresión grave",
        burglary: "Robo en vivienda", grand_larceny: "Hurto mayor", grand_larceny_auto: "Robo de vehículo",
        other: "Otros", total: "Total"
      },
      months: ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
      dayFmt: "{d} {mon} {y}", timeFmt: "{d} {mon} {y} {hh}:{mm}",
      testName: "prueba binomial condicional exacta de los dos conteos, bilateral"
    }
  };

  var LANG_KEY = "compstatd.lang", AGENCY_LANG_KEY = "compstatd.agencyLang", TOKEN_KEY = "compstatd.token";
  function stored(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  var hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  /* #lang, else the person's pick, else the agency's, else the browser's. */
  var LANG = (function () {
    var asked = hash.get("lang") || stored(LANG_KEY) || stored(AGENCY_LANG_KEY);
    if (asked && STRINGS[asked]) return asked;
    var prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < prefs.length; i++) {
      var l = String(prefs[i]).toLowerCase().split("-")[0];
      if (STRINGS[l]) return l;
    }
    return "en";
  })();
  var STR = STRINGS[LANG];
  var P = window.packet = { lang: LANG, strings: STRINGS, missingStrings: [], ready: false, pages: [] };
  Object.keys(STRINGS).forEach(function (l) {
    Object.keys(STRINGS.en).forEach(function (k) {
      if (STRINGS[l][k] === undefined) P.missingStrings.push(l + ":" + k);
    });
  });

  var C = window.compstatCommon; /* common.js */
  var t = C.translator(STR);
  function $(id) { return document.getElementById(id); }
  var el = C.el;
  var NUM_LOCALE = String(navigator.language || "").toLowerCase().split("-")[0] === LANG ? navigator.language : LANG;
  function num(n, digits) {
    if (n === null || n === undefined) return "—";
    return new Intl.NumberFormat(NUM_LOCALE, digits === undefined ? {} :
      { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
  }
  function pct(v) { return v === null || v === undefined ? "—" : (v > 0 ? "+" : "") + num(v, 1) + (LANG === "es" ? " %" : "%"); }
  var pad2 = C.pad2, duration = C.duration, addDays = C.addDays, dow = C.dow;
  function fmtDay(date) {
    return t("dayFmt", { d: Number(date.slice(8, 10)), mon: STR.months[Number(date.slice(5, 7)) - 1], y: date.slice(0, 4) });
  }
  var ZONE = "UTC";
  function fmtTime(iso) {
    if (!iso) return "—";
    var o = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).forEach(function (p) {
      o[p.type] = p.value;
    });
    return t("timeFmt", { d: Number(o.day), mon: STR.months[Number(o.month) - 1], y: o.year, hh: o.hour, mm: o.minute });
  }
  function localToday() {
    var o = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric" })
      .formatToParts(new Date()).forEach(function (p) { o[p.type] = p.value; });
    return o.year + "-" + pad2(o.month) + "-" + pad2(o.day);
  }

  /* ---- API: the dashboard's credentials ------------------------------ */

  function ApiError(status, body) {
    this.status = status;
    this.message = body && body.error ? body.error.message : "HTTP " + status;
  }
  function api(path) {
    var tok = sessionStorage.getItem(TOKEN_KEY), headers = {};
    if (tok) headers.Authorization = "Bearer " + tok;
    return fetch(path, { headers: headers, credentials: "same-origin" }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (!res.ok) throw new ApiError(res.status, body);
        return body;
      });
    });
  }

  var ME = null, WORDS = {}, CATNAMES = {}, BOUND = {}, AREAS = [];

  function precinctWord() {
    var w = WORDS.precinct && WORDS.precinct[LANG];
    return w || t("precinct");
  }
  function categoryLabel(c) {
    var own = CATNAMES[c];
    if (own && (own[LANG] || own.en || own.es)) return own[LANG] || own.en || own.es;
    if (STR.categories[c]) return STR.categories[c];
    var s = String(c).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  function precinctName(code) {
    var b = BOUND[code];
    return b && b.properties.name ? b.properties.name + " (" + code + ")" : code;
  }

  /* ---- the sheet --------------------------------------------------- */

  function sheetTable(cs) {
    var tbl = el("table", "sheet");
    var h1 = el("tr"), h2 = el("tr");
    h1.appendChild(el("th"));
    h2.appendChild(el("th", null, t("category")));
    [["week", 4], ["d28", 4], ["ytd", 6]].forEach(function (p) {
      var th = el("th", "sep", t(p[0]));
      th.colSpan = p[1];
      h1.appendChild(th);
      var cols = ["cur", "prior", "pct", "z"].concat(p[0] === "ytd" ? ["rate", "rateAnnual"] : []);
      cols.forEach(function (c, i) { h2.appendChild(el("th", i === 0 ? "sep" : null, t(c))); });
    });
    var thead = el("thead");
    thead.appendChild(h1);
    thead.appendChild(h2);
    tbl.appendChild(thead);
    var tb = el("tbody");
    cs.rows.forEach(function (row) {
      var tr = el("tr", row.category === "total" ? "total" : null);
      tr.setAttribute("data-category", row.category);
      tr.appendChild(el("td", null, row.names && row.names[LANG] ? row.names[LANG] : categoryLabel(row.category)));
      ["week", "d28", "ytd"].forEach(function (p) {
        var v = row[p], held = cs.periods[p].prior_data !== false;
        var flag = held && v.significant ? (v.current > v.prior ? "sig-up" : v.current < v.prior ? "sig-down" : "") : "";
        var cells = [[num(v.current), "current", "sep " + flag], [held ? num(v.prior) : t("noData"), "prior"],
                     [held ? pct(v.pct_change) : "—", "pct_change", flag], [held ? num(v.z, 2) : "—", "z"]];
        if (p === "ytd") cells.push([num(v.rate, 2), "rate"], [num(v.rate_annual, 2), "rate_annual"]);
        cells.forEach(function (c) {
          var td = el("td", c[2] || null, c[0]);
          td.setAttribute("data-period", p);
          td.setAttribute("data-field", c[1]);
          tr.appendChild(td);
        });
      });
      tb.appendChild(tr);
    });
    tbl.appendChild(tb);
    return tbl;
  }

  /* ---- the trend (an SVG: it prints) -------------------------------- */

  var weekly = C.weekly;

  var SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function trendSvg(a, b, priorHeld, start) {
    var W = 640, H = 170, L = 34, R = 6, T = 6, B = 18;
    var svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    var max = Math.max(2, Math.max.apply(null, a), priorHeld ? Math.max.apply(null, b) : 0);
    max += max % 2;
    function x(i) { return L + (W - L - R) * i / 51; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    [0, 0.5, 1].forEach(function (f) {
      svg.appendChild(svgEl("line", { "class": "grid", x1: L, x2: W - R, y1: y(max * f), y2: y(max * f) }));
      svg.appendChild(svgEl("text", { x: 2, y: y(max * f) + 3 }, num(Math.round(max * f))));
    });
    [0, 13, 26, 39, 51].forEach(function (i) {
      var d = addDays(start, 7 * i);
      svg.appendChild(svgEl("text", { x: x(i), y: H - 3, "text-anchor": i === 0 ? "start" : i === 51 ? "end" : "middle" },
        Number(d.slice(8, 10)) + " " + STR.months[Number(d.slice(5, 7)) - 1]));
    });
    (priorHeld ? [[b, "prior"], [a, "this"]] : [[a, "this"]]).forEach(function (s) {
      svg.appendChild(svgEl("polyline", { "class": s[1], points: s[0].map(function (v, i) {
        return x(i).toFixed(1) + "," + y(v).toFixed(1);
      }).join(" ") }));
    });
    return svg;
  }

  /* ---- the map (an SVG of the precinct and its hotspot cells) ------- */

  var CLASS_COLOUR = { hot_99: "#b2182b", hot_95: "#ef8a62", hot_90: "#fddbc7", none: "#e6e6e6",
                       cold_90: "#d1e5f0", cold_95: "#67a9cf", cold_99: "#2166ac" };

  function mapSvg(feature, cells) {
    var W = 320, H = 240;
    var bb = feature.bbox || [0, 0, 1, 1];
    var lat0 = (bb[1] + bb[3]) / 2 * Math.PI / 180, k = Math.cos(lat0);
    var w = (bb[2] - bb[0]) * k || 1e-6, h = (bb[3] - bb[1]) || 1e-6;
    var s = Math.min((W - 8) / w, (H - 8) / h);
    function pt(c) { return (4 + (c[0] - bb[0]) * k * s).toFixed(1) + "," + (H - 4 - (c[1] - bb[1]) * s).toFixed(1); }
    function rings(geom) {
      var polys = geom.type === "Polygon" ? [geom.coordinates] : geom.type === "MultiPolygon" ? geom.coordinates : [];
      return polys.map(function (p) {
        return p.map(function (r) { return "M" + r.map(pt).join("L") + "Z"; }).join(" ");
      }).join(" ");
    }
    var svg = svgEl("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    if (feature.geometry) svg.appendChild(svgEl("path", { "class": "precinct", d: rings(feature.geometry) }));
    (cells.features || []).forEach(function (f) {
      var c = f.properties["class"] || "none";
      if (c === "none") return;
      svg.appendChild(svgEl("path", { d: rings(f.geometry), fill: CLASS_COLOUR[c], stroke: "none",
                                       "data-class": c }));
    });
    if (feature.geometry) svg.appendChild(svgEl("path", { d: rings(feature.geometry), fill: "none",
                                                           stroke: "#1b2330", "stroke-width": 1 }));
    return svg;
  }

  /* ---- a page ------------------------------------------------------ */

  function header(page, title, asOf) {
    var hd = el("header");
    var left = el("div");
    left.appendChild(el("h1", null, title));
    left.appendChild(el("div", "meta-left", (ME.agency ? ME.agency.name : "") + " · " + t("title")));
    hd.appendChild(left);
    var right = el("div", "meta");
    right.appendChild(el("div", null, t("pageOf", { date: fmtDay(page.week) })));
    var asof = el("div", "asof", t("dataAsOf", { when: fmtTime(asOf) }));
    right.appendChild(asof);
    hd.appendChild(right);
    return hd;
  }

  function refused(box, e) {
    box.appendChild(el("p", "note", t("forbidden", { message: e.message || String(e) })));
  }

  function windows(week) {
    var end = addDays(week, 1);
    return { end: end, start: addDays(end, -7 * 52), priorStart: addDays(end, -7 * 104), d28: addDays(end, -28) };
  }

  function precinctPage(code, week) {
    var w = windows(week), pq = "&precinct=" + encodeURIComponent(code);
    var base = "/v1/cube?granularity=week" + pq;
    var soft = function (p) { return p.catch(function (e) { return { error: e }; }); };
    return Promise.all([
      api("/v1/compstat?week_ending=" + week + pq),
      api(base + "&from=" + w.start + "&to=" + w.end),
      api(base + "&from=" + w.priorStart + "&to=" + w.start),
      api("/v1/cube?from=" + w.priorStart + "&to=" + w.start),
      soft(api("/v1/hotspots?method=gi&fdr=true&cell_m=200&from=" + w.d28 + "&to=" + w.end + pq)),
      soft(api("/v1/response-times?by=priority&from=" + w.d28 + "&to=" + w.end + pq)),
      soft(api("/v1/reports/workload?by=precinct&from=" + w.d28 + "&to=" + w.end + pq))
    ]).then(function (r) {
      var cs = r[0], page = el("section", "page");
      page.setAttribute("data-precinct", code);
      page.appendChild(header({ week: week }, precinctName(code), cs.as_of));
      page.appendChild(el("h2", null, t("sheetHead")));
      page.appendChild(sheetTable(cs));
      page.appendChild(el("p", "note", t("rateNote", { test: STR.testName, alpha: cs.test ? cs.test.alpha : 0.05 }) +
        (cs.rows.some(function (x) { return x.ytd.rate === null; }) ? " " + t("rateNone") + "." : "")));
      page.appendChild(el("h2", null, t("trendHead", { date: fmtDay(week) })));
      var a = weekly(r[1], w.start), b = weekly(r[2], w.priorStart), held = r[3].total > 0;
      page.appendChild(trendSvg(a, b, held, w.start));
      var key = el("p", "note");
      key.appendChild(el("span", "key"));
      key.appendChild(document.createTextNode(" " + t("trendThis") + "  "));
      if (held) key.appendChild(el("span", "key prior"));
      key.appendChild(document.createTextNode(" " + (held ? t("trendPrior") : t("trendPriorNone"))));
      page.appendChild(key);
      var two = el("div", "two");
      var left = el("div"), right = el("div");
      left.appendChild(el("h2", null, t("mapHead", { date: fmtDay(week) })));
      if (r[4].error) refused(left, r[4].error);
      else {
        left.appendChild(mapSvg(BOUND[code] || {}, r[4]));
        var hasCells = (r[4].features || []).some(function (f) { return f.properties.count > 0; });
        if (!hasCells) left.appendChild(el("p", "note", t("mapNone")));
        else {
          var lg = el("ul", "legend");
          ["hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99"].forEach(function (c) {
            var li = el("li");
            var i = el("i");
            i.style.background = CLASS_COLOUR[c];
            li.appendChild(i);
            lg.appendChild(li);
          });
          left.appendChild(lg);
          left.appendChild(el("p", "note", t("mapLegend", { m: 200 })));
        }
      }
      right.appendChild(el("h2", null, t("rtHead")));
      if (r[5].error) refused(right, r[5].error);
      else right.appendChild(rtTable(r[5]));
      right.appendChild(el("h2", null, t("workloadHead")));
      if (r[6].error) refused(right, r[6].error);
      else right.appendChild(workloadBlock(r[6]));
      two.appendChild(left);
      two.appendChild(right);
      page.appendChild(two);
      P.pages.push({ precinct: code, compstat: cs, rt: r[5].error ? null : r[5], workload: r[6].error ? null : r[6] });
      return page;
    });
  }

  function rtTable(rt) {
    if (!rt.rows.length) return el("p", "note", t("rtEmpty"));
    var tbl = el("table", "rt");
    var h = el("tr");
    ["priority", "calls", "responseP50", "responseP90", "queueP50", "travelP50"].forEach(function (k) {
      h.appendChild(el("th", null, t(k)));
    });
    var thead = el("thead");
    thead.appendChild(h);
    tbl.appendChild(thead);
    var tb = el("tbody");
    rt.rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-priority", row.priority === null ? "none" : String(row.priority));
      [[row.priority === null ? t("none") : row.priority, "priority"],
       [num(row.incidents !== undefined ? row.incidents : row.response.n), "calls"],
       [duration(row.response.p50), "response_p50"], [duration(row.response.p90), "response_p90"],
       [duration(row.queue.p50), "queue_p50"], [duration(row.travel.p50), "travel_p50"]].forEach(function (c) {
        var td = el("td", null, c[0]);
        td.setAttribute("data-field", c[1]);
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
    tbl.appendChild(tb);
    return tbl;
  }

  function workloadBlock(wl) {
    var row = (wl.rows || [])[0];
    var box = el("div");
    if (!row) { box.appendChild(el("p", "note", t("wlNoRoster"))); return box; }
    var tbl = el("table", "workload");
    var tb = el("tbody");
    [["wlCalls", num(row.incidents), "incidents"], ["wlCommitted", duration(row.committed_s), "committed_s"],
     ["wlTours", num(row.tours), "tours"], ["wlOfficerTours", num(row.officer_tours), "officer_tours"],
     ["wlPerTour", num(row.calls_per_tour, 2), "calls_per_tour"],
     ["wlPerOfficer", num(row.calls_per_officer_tour, 2), "calls_per_officer_tour"]].forEach(function (c) {
      var tr = el("tr");
      tr.appendChild(el("td", null, t(c[0])));
      var td = el("td", null, c[1]);
      td.setAttribute("data-field", c[2]);
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    tbl.appendChild(tb);
    box.appendChild(tbl);
    if (!row.tours) box.appendChild(el("p", "note", t("wlNoRoster")));
    return box;
  }

  function summaryPage(week, area, codes) {
    var q = area ? "&area=" + encodeURIComponent(area.code) : "";
    return api("/v1/compstat?week_ending=" + week + q).then(function (cs) {
      var page = el("section", "page summary");
      page.setAttribute("data-summary", area ? area.code : "");
      page.appendChild(header({ week: week }, t("summaryTitle") + " · " + (area ? area.name : t("wholeAgency")), cs.as_of));
      page.appendChild(el("h2", null, t("sheetHead")));
      page.appendChild(sheetTable(cs));
      page.appendChild(el("p", "note", t("rateNote", { test: STR.testName, alpha: cs.test ? cs.test.alpha : 0.05 })));
      page.appendChild(el("h2", null, t("precinctsHead")));
      var tbl = el("table", "precincts");
      var h = el("tr");
      [precinctWord(), t("week"), t("d28"), t("ytd"), t("rate"), t("rateAnnual")].forEach(function (k, i) {
        h.appendChild(el("th", i ? "sep" : null, k));
      });
      var thead = el("thead");
      thead.appendChild(h);
      tbl.appendChild(thead);
      var tb = el("tbody");
      P.pages.forEach(function (pg) {
        var tot = pg.compstat.rows.filter(function (r) { return r.category === "total"; })[0];
        var tr = el("tr");
        tr.setAttribute("data-precinct", pg.precinct);
        [[precinctName(pg.precinct)], [num(tot.week.current), "week"], [num(tot.d28.current), "d28"],
         [num(tot.ytd.current), "ytd"], [num(tot.ytd.rate, 2), "rate"], [num(tot.ytd.rate_annual, 2), "rate_annual"]]
          .forEach(function (c, i) {
            var td = el("td", i ? "sep" : null, c[0]);
            if (c[1]) td.setAttribute("data-field", c[1]);
            tr.appendChild(td);
          });
        tb.appendChild(tr);
      });
      var tot = cs.rows.filter(function (r) { return r.category === "total"; })[0];
      var tr = el("tr", "total");
      [[area ? area.name : t("wholeAgency")], [num(tot.week.current), "week"], [num(tot.d28.current), "d28"],
       [num(tot.ytd.current), "ytd"], [num(tot.ytd.rate, 2), "rate"], [num(tot.ytd.rate_annual, 2), "rate_annual"]]
        .forEach(function (c, i) {
          var td = el("td", i ? "sep" : null, c[0]);
          if (c[1]) td.setAttribute("data-field", c[1]);
          tr.appendChild(td);
        });
      tb.appendChild(tr);
      tbl.appendChild(tb);
      page.appendChild(tbl);
      P.summary = cs;
      return page;
    }).catch(function (e) {
      /* A reader limited to some precincts may not read the area's sheet:
         its pages stand, and the summary says why it is not there. */
      var page = el("section", "page summary");
      page.setAttribute("data-summary", area ? area.code : "");
      var hd = el("header");
      hd.appendChild(el("h1", null, t("summaryTitle") + " · " + (area ? area.name : t("wholeAgency"))));
      page.appendChild(hd);
      refused(page, e);
      P.summary = null;
      return page;
    });
  }

  /* ---- the packet -------------------------------------------------- */

  function setPaper(paper) {
    $("page-size").textContent = "@page { size: " + (paper === "letter" ? "letter" : "A4") + "; margin: 12mm; }";
    document.body.classList.toggle("letter", paper === "letter");
  }

  function chosen() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    return { week: h.get("week"), area: h.get("area"), precinct: h.get("precinct"),
             paper: h.get("paper") === "letter" ? "letter" : "a4" };
  }

  function saveHash(c) {
    var h = new URLSearchParams();
    h.set("week", c.week);
    if (c.area) h.set("area", c.area);
    if (c.precinct) h.set("precinct", c.precinct);
    h.set("paper", c.paper);
    if (new URLSearchParams(location.hash.replace(/^#/, "")).get("lang")) h.set("lang", LANG);
    history.replaceState(null, "", "#" + h.toString());
  }

  function build() {
    var c = chosen();
    if (!c.week || dow(c.week) !== 6) c.week = addDays(addDays(localToday(), 6 - dow(localToday())), -7);
    $("week").value = c.week;
    $("paper").value = c.paper;
    setPaper(c.paper);
    var area = c.area ? AREAS.filter(function (a) { return a.code === c.area; })[0] : null;
    $("area").value = area ? "area:" + area.code : c.precinct ? "precinct:" + c.precinct : "";
    saveHash(c);
    var visible = Object.keys(BOUND);
    var codes = area ? (area.all_precincts || []).filter(function (p) { return BOUND[p]; }) :
      c.precinct ? [c.precinct] : visible;
    codes.sort(function (a, b) { return precinctName(a).localeCompare(precinctName(b), LANG, { numeric: true }); });
    var pages = $("pages");
    pages.textContent = "";
    P.pages = [];
    P.ready = false;
    var seq = (P.seq || 0) + 1;
    P.seq = seq;
    var chain = Promise.resolve();
    codes.forEach(function (code, i) {
      chain = chain.then(function () {
        if (P.seq !== seq) return null;
        $("status").textContent = t("loading", { n: i + 1, total: codes.length + 1 });
        return precinctPage(code, c.week).then(function (pg) { if (P.seq === seq) pages.appendChild(pg); });
      });
    });
    return chain.then(function () {
      if (P.seq !== seq) return null;
      if (c.precinct && !area) return null; /* one precinct: its page is the packet */
      return summaryPage(c.week, area, codes).then(function (pg) { if (P.seq === seq) pages.appendChild(pg); });
    }).then(function () {
      if (P.seq !== seq) return;
      $("status").textContent = t("ready", { n: pages.children.length });
      P.ready = true;
    }).catch(function (e) {
      $("error").hidden = false;
      $("error").textContent = e.status === 401 ? t("signIn") : t("forbidden", { message: e.message || String(e) });
      $("status").textContent = "";
    });
  }

  function fillAreas() {
    var sel = $("area");
    sel.textContent = "";
    var o = el("option", null, t("wholeAgency"));
    o.value = "";
    sel.appendChild(o);
    AREAS.slice().sort(function (a, b) { return a.name.localeCompare(b.name, LANG); }).forEach(function (a) {
      var w = WORDS.area_levels && WORDS.area_levels[a.level] && WORDS.area_levels[a.level][LANG];
      var opt = el("option", null, a.name + " · " + (w || a.level));
      opt.value = "area:" + a.code;
      sel.appendChild(opt);
    });
    Object.keys(BOUND).sort().forEach(function (code) {
      var opt = el("option", null, precinctWord() + ": " + precinctName(code));
      opt.value = "precinct:" + code;
      sel.appendChild(opt);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.lang = LANG;
    Array.prototype.forEach.call(document.querySelectorAll("[data-str]"), function (e) {
      e.textContent = t(e.getAttribute("data-str"));
    });
    $("lang").value = LANG;
    $("lang").addEventListener("change", function () {
      try { localStorage.setItem(LANG_KEY, $("lang").value); } catch (e) { /* private mode */ }
      var h = new URLSearchParams(location.hash.replace(/^#/, ""));
      h.set("lang", $("lang").value);
      location.hash = h.toString();
      location.reload();
    });
    function changed() {
      var v = $("area").value, h = new URLSearchParams(location.hash.replace(/^#/, ""));
      h.delete("area");
      h.delete("precinct");
      if (v.indexOf("area:") === 0) h.set("area", v.slice(5));
      if (v.indexOf("precinct:") === 0) h.set("precinct", v.slice(9));
      h.set("week", $("week").value);
      h.set("paper", $("paper").value);
      history.replaceState(null, "", "#" + h.toString());
      build();
    }
    $("area").addEventListener("change", changed);
    $("week").addEventListener("change", changed);
    $("paper").addEventListener("change", function () { setPaper($("paper").value); changed(); });
    $("print").addEventListener("click", function () { window.print(); });
    api("/v1/whoami").then(function (me) {
      ME = me;
      ZONE = me.agency && me.agency.time_zone ? me.agency.time_zone : "UTC";
      WORDS = me.agency && me.agency.words ? me.agency.words : {};
      var lang = me.agency && me.agency.language;
      if (lang && STRINGS[lang] && !hash.get("lang") && !stored(LANG_KEY) && lang !== LANG) {
        try { localStorage.setItem(AGENCY_LANG_KEY, lang); } catch (e) { /* private mode */ }
        location.reload();
        return null;
      }
      return Promise.all([api("/v1/precincts?format=geojson"), api("/v1/areas").catch(function () { return { areas: [] }; }),
                          api("/v1/categories").catch(function () { return { categories: [] }; })]);
    }).then(function (r) {
      if (!r) return;
      r[0].features.forEach(function (f) { BOUND[f.properties.code] = f; });
      AREAS = r[1].areas || [];
      (r[2].categories || []).forEach(function (c) { if (c.names) CATNAMES[c.code] = c.names; });
      fillAreas();
      build();
    }).catch(function (e) {
      $("error").hidden = false;
      $("error").textContent = e.status === 401 ? t("signIn") : e.message || String(e);
    });
  });
})();
