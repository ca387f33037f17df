// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core, against a running compstatd with real data loaded.
// Run by tests/integration/test_dashboard.py, which starts everything and
// passes (environment):
//   COMPSTATD_URL    the daemon's root URL
//   READ_TOKEN       a commander token (signs in)
//   DISPATCH_TOKEN   a dispatch token (posts the live incidents)
//   WEEK             a Sunday (YYYY-MM-DD) with data: the week to look at
//   SCOPED_TOKEN     a commander token limited to SCOPED_PRECINCT
//   OTHER_PRECINCT   a precinct SCOPED_TOKEN may not see (its bookmark)
//   ARTIFACTS        directory for screenshots
//   CHROMIUM         the browser (default /usr/bin/chromium)
// Checks, each against what the API itself answers: the page loads with no
// console errors; the COMPSTAT table shows /v1/compstat's numbers, highlights
// only the changes its test finds significant (never a "—", never against a
// prior period the data does not reach) and says "no data" there; the map
// shows /v1/hotspots' cells with the false-discovery-rate correction on by
// default and off with its toggle; tooltips read as English; the offense
// filter moves the sheet, the trend and the map and every panel's caption
// says what it shows; response times refresh on live events, in one
// duration format with n; the feed shows local dates and offense names; the
// week picker steps Sunday to Sunday; empty panels say so; a bookmark naming
// a precinct the token may not see says so; a posted incident reaches the
// live feed and moves the counts without a reload.
import { chromium } from "playwright-core";
import path from "node:path";
import { addDays, duration } from "./util.mjs";

const base = process.env.COMPSTATD_URL;
const readToken = process.env.READ_TOKEN;
const dispatchToken = process.env.DISPATCH_TOKEN;
const week = process.env.WEEK;
const artifacts = process.env.ARTIFACTS || ".";
const failures = [];

// The token sign-in (machines, scripts, this test): the form asks for a login
// and password first; its link switches to a token.
async function tokenSignIn(page, tok) {
  await page.waitForSelector("#signin-form", { state: "visible" });
  if (!(await page.isVisible("#token"))) await page.click("#use-token");
  await page.fill("#token", tok);
  await page.click("#signin-form button[type=submit]");
}

function check(cond, what, detail) {
  if (!cond) failures.push(what + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
  console.log((cond ? "ok   " : "FAIL ") + what);
}

async function api(p, token = readToken, init = {}) {
  const res = await fetch(base + p, {
    ...init,
    headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(p + ": " + res.status + " " + JSON.stringify(body));
  return body;
}

// Numbers as the page writes them in English (Intl, en-US: 1,234).
const num = (n) => new Intl.NumberFormat("en-US").format(n);

function pctText(v) {
  return v === null ? "—" : (v > 0 ? "+" : "") + v.toFixed(1) + "%";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function localParts(iso, zone) {
  const o = {};
  for (const p of new Intl.DateTimeFormat("en-GB", {
    timeZone: zone, year: "numeric", month: "numeric", day: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso))) o[p.type] = p.value;
  return { date: `${Number(o.day)} ${MONTHS[Number(o.month) - 1]} ${o.year}`, time: `${o.hour}:${o.minute}` };
}

// Resolves to true when fn(arg) holds in the page within timeout ms.
async function holds(page, fn, arg, timeout = 10000) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
    return true;
  } catch (e) {
    return false;
  }
}

// Resolves to fn()'s last value once it is truthy, or after timeout ms.
async function eventually(fn, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function text(page, sel) {
  return page.evaluate((s) => { const e = document.querySelector(s); return e ? e.textContent : null; }, sel);
}

async function visibleText(page, sel) {
  return page.evaluate((s) => {
    const e = document.querySelector(s);
    return e && e.offsetParent !== null ? e.textContent : null;
  }, sel);
}

// What the sheet shows, cell by cell.
async function sheet(page) {
  return page.$$eval("#compstat tbody tr", (rows) => rows.map((tr) => ({
    category: tr.getAttribute("data-category"),
    cells: Array.from(tr.querySelectorAll("td[data-period]")).map((td) => ({
      period: td.getAttribute("data-period"), field: td.getAttribute("data-field"),
      text: td.textContent,
      up: td.classList.contains("sig-up") || td.classList.contains("z-up"),
      down: td.classList.contains("sig-down") || td.classList.contains("z-down"),
    })),
  })));
}

// Mismatches between the sheet shown and a /v1/compstat answer: numbers,
// "no data" where the prior period holds nothing, and highlights exactly
// on the significant changes against a prior period with data (never on a "—").
function sheetMismatches(shown, cs) {
  const out = [];
  if (shown.length !== cs.rows.length) out.push(["rows", shown.map((r) => r.category), cs.rows.map((r) => r.category)]);
  for (const row of cs.rows) {
    const tr = shown.find((r) => r.category === row.category);
    if (!tr) { out.push(["missing row", row.category]); continue; }
    for (const period of ["week", "d28", "ytd"]) {
      const v = row[period];
      const held = cs.periods[period].prior_data !== false;
      const want = { current: num(v.current), prior: held ? num(v.prior) : "no data", pct_change: pctText(v.pct_change) };
      for (const field of Object.keys(want)) {
        const td = tr.cells.find((c) => c.period === period && c.field === field);
        if (!td || td.text !== want[field]) { out.push([row.category, period, field, td && td.text, want[field]]); continue; }
        const flag = held && v.significant && (field === "current" || v.pct_change !== null);
        const wantUp = flag && v.current > v.prior, wantDown = flag && v.current < v.prior;
        if (field !== "prior" && (td.up !== wantUp || td.down !== wantDown))
          out.push([row.category, period, field, "highlight", { up: td.up, down: td.down }, { z: v.z, p: v.p, significant: v.significant, held }]);
        if (field === "prior" && (td.up || td.down)) out.push([row.category, period, "prior highlighted"]);
      }
    }
  }
  return out;
}

function hotspotClasses(fc) {
  const o = {};
  for (const f of fc.features) o[f.properties.class] = (o[f.properties.class] || 0) + 1;
  return JSON.stringify(Object.entries(o).sort());
}
async function drawnClasses(page) {
  return JSON.stringify(Object.entries(await page.$$eval("#map path.cell", (ps) => {
    const o = {};
    for (const p of ps) {
      const c = Array.from(p.classList).find((x) => x.startsWith("cell-")).slice(5);
      o[c] = (o[c] || 0) + 1;
    }
    return o;
  })).sort());
}

// Resolves to true once the map draws these classes (hotspotClasses' form).
async function drawsClasses(page, want) {
  return holds(page, (w) => {
    const o = {};
    for (const p of document.querySelectorAll("#map path.cell")) {
      const c = Array.from(p.classList).find((x) => x.startsWith("cell-")).slice(5);
      o[c] = (o[c] || 0) + 1;
    }
    return JSON.stringify(Object.entries(o).sort()) === w;
  }, want, 5000);
}

const CLASS_TEXT = {
  hot_99: "Hot spot, 99 % confidence", hot_95: "Hot spot, 95 % confidence", hot_90: "Hot spot, 90 % confidence",
  cold_99: "Cold spot, 99 % confidence", cold_95: "Cold spot, 95 % confidence", cold_90: "Cold spot, 90 % confidence",
  none: "Not significant",
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  const me = await api("/v1/whoami");
  const zone = me.agency.time_zone;
  const offenses = (await api("/v1/offenses")).offenses;
  const precincts = (await api("/v1/precincts")).precincts;
  const to = addDays(week, 1);

  // Sign in.
  await page.goto(base + "/#week=" + week);
  await page.waitForSelector("#signin-form", { state: "visible" });
  await tokenSignIn(page, readToken);
  await page.waitForSelector("#compstat tbody tr");
  await page.waitForFunction(() => document.getElementById("live").textContent === "live");
  await page.waitForFunction(() => window.dashboard.cells !== null);
  await page.waitForSelector("#rt tbody tr");
  await page.evaluate(() => { window.__noReload = true; });

  // The COMPSTAT sheet equals /v1/compstat; with the demo's one year, every
  // prior period says "no data" and nothing is highlighted against it.
  const cs = await api("/v1/compstat?week_ending=" + week);
  const mism = sheetMismatches(await sheet(page), cs);
  check(mism.length === 0, "COMPSTAT: every number as /v1/compstat answers, \"no data\" where the prior period holds none, highlights only where significant", mism.slice(0, 5));
  check(["week", "d28", "ytd"].every((p) => cs.periods[p].prior_data === false),
        "COMPSTAT: the demo holds no incident in any prior period (prior_data false)", cs.periods);
  const nonzero = cs.rows.find((r) => r.category === "total").ytd.current;
  check(nonzero > 0, "COMPSTAT: the chosen week has data", nonzero);
  const heads = await page.$$eval("#compstat thead tr:first-child th", (ths) => ths.map((t) => t.textContent));
  check(heads.includes("Week") && !heads.includes("Week to date"),
        "COMPSTAT: a finished week is headed \"Week\", not \"Week to date\"", heads);
  const legend = await text(page, "#compstat-panel .note");
  check(legend !== null && legend.includes(cs.test.name) && legend.includes("p < " + cs.test.alpha),
        "COMPSTAT: the legend names the test and its level", legend);

  // Captions: what each panel shows.
  const captions = await page.evaluate(() => Object.fromEntries(["compstat", "map", "trend", "rt", "feed"].map(
    (k) => [k, (document.getElementById(k + "-caption") || {}).textContent || null])));
  check(Object.values(captions).every((c) => c && c.includes("all precincts")) &&
        ["compstat", "map", "trend", "feed"].every((k) => captions[k].includes("all offenses")) &&
        captions.rt.includes("all calls") && captions.map.includes("28 days") && captions.rt.includes("28 days") &&
        captions.trend.includes("52 weeks"),
        "captions: every panel names its window, precinct and offense filter (response times: all calls)", captions);

  // "data as of" names the zone.
  const asOf = await text(page, "#asof");
  const abbr = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" })
    .formatToParts(new Date()).find((p) => p.type === "timeZoneName").value;
  const abbrs = new Set([abbr, "CST", "CDT"].filter((a) => zone === "America/Chicago" || a === abbr));
  check(/^data as of /.test(asOf) && !/—/.test(asOf) &&
        ([...abbrs].some((a) => asOf.endsWith(" " + a)) || /UTC[+-]\d{1,2}(:\d\d)?$/.test(asOf)),
        "data as of shown with its zone", asOf);

  // The precinct selector shows names, the code beside; the offenses are
  // grouped by category and sorted by name.
  const popts = await page.$$eval("#precinct option", (os) => os.map((o) => [o.value, o.textContent]));
  const named = popts.filter(([v]) => v).every(([v, t]) => {
    const p = precincts.find((x) => x.code === v);
    return p && t.includes(p.name) && t.includes(p.code);
  });
  check(named && popts.length === precincts.length + 1, "precinct selector: names, with the code as secondary", popts.slice(0, 3));
  const groups = await page.$$eval("#offense optgroup", (gs) => gs.map((g) => ({
    label: g.label, options: Array.from(g.querySelectorAll("option")).map((o) => [o.value, o.textContent]),
  })));
  const byCode = Object.fromEntries(offenses.map((o) => [o.code, o]));
  let grouping = [];
  const seen = new Set();
  for (const g of groups) {
    const offs = g.options.filter(([v]) => v.startsWith("offense:"));
    const cats = new Set(offs.map(([v]) => (byCode[v.slice(8)] || {}).category));
    if (cats.size !== 1) grouping.push(["group of several categories", g.label, [...cats]]);
    if (!g.options.length || g.options[0][0] !== "category:" + [...cats][0]) grouping.push(["group does not open with its category", g.label]);
    const names = offs.map(([v]) => (byCode[v.slice(8)] || {}).name);
    const sorted = names.slice().sort((a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" }));
    if (JSON.stringify(names) !== JSON.stringify(sorted)) grouping.push(["not sorted by name", g.label, names.slice(0, 4)]);
    for (const [v, t] of offs) {
      if (!byCode[v.slice(8)] || !t.includes(byCode[v.slice(8)].name)) grouping.push(["option text", v, t]);
      seen.add(v.slice(8));
    }
  }
  check(groups.length > 1 && grouping.length === 0 && seen.size === offenses.length,
        "offense selector: one group per category, offenses sorted by name, each once", grouping.slice(0, 4));

  // The week picker steps Sunday to Sunday.
  const picker = await page.$eval("#week", (i) => {
    const v = i.value, valid = i.validity.valid, min = i.min, step = i.step;
    let up = null;
    try { i.stepUp(); up = i.value; } catch (e) { up = String(e); }
    i.value = v;
    return { v, valid, min, step, up };
  });
  check(picker.valid && picker.step === "7" && picker.min !== "" &&
        new Date(picker.min + "T00:00:00Z").getUTCDay() === 0 && picker.up === addDays(week, 7),
        "week picker: a Sunday is valid and a step is a week (min a Sunday, step 7)", picker);

  // The map shows /v1/hotspots' cells, corrected for the false discovery rate by default.
  const hsFdr = await api(`/v1/hotspots?method=gi&from=${addDays(to, -28)}&to=${to}&cell_m=200&fdr=true`);
  const hsRaw = await api(`/v1/hotspots?method=gi&from=${addDays(to, -28)}&to=${to}&cell_m=200`);
  check(hsFdr.features.length > 0, "map: the window has hotspot cells", hsFdr.features.length);
  check(hotspotClasses(hsFdr) !== hotspotClasses(hsRaw), "map: FDR changes the classes in this window (the check can tell)");
  check(await page.evaluate(() => { const b = document.getElementById("fdr"); return !!b && b.checked; }),
        "map: the FDR toggle is there and on by default");
  check(await drawnClasses(page) === hotspotClasses(hsFdr), "map: the cells drawn, by Gi* class, are /v1/hotspots?fdr=true's",
        { drawn: await drawnClasses(page), api: hotspotClasses(hsFdr) });
  const precinctsDrawn = await page.$$eval("#map path.precinct", (ps) => ps.length);
  check(precinctsDrawn === precincts.length, "map: every precinct boundary drawn", [precinctsDrawn, precincts.length]);
  // Tooltips: singular and plural, class names a person reads.
  const tips = await page.evaluate(() => {
    const out = [];
    window.dashboard.cellLayer.eachLayer((l) => out.push([l.feature.properties.count, l.feature.properties.class,
      String(l.getTooltip().getContent())]));
    const pre = [];
    window.dashboard.boundaryLayer.eachLayer((l) => pre.push([l.feature.properties.code, String(l.getTooltip().getContent())]));
    return { out, pre };
  });
  const badTips = tips.out.filter(([n, cls, t]) => {
    const want = n + (n === 1 ? " incident" : " incidents");
    return !t.startsWith(want) || /[a-z]/i.test(t.charAt(want.length)) || !t.includes(CLASS_TEXT[cls]) || /_\d/.test(t);
  });
  check(tips.out.some(([n]) => n === 1) && badTips.length === 0,
        "map: cell tooltips say \"1 incident\" / \"n incidents\" and the class in words", badTips.slice(0, 3));
  check(tips.pre.every(([code, t]) => t.includes(precincts.find((p) => p.code === code).name)),
        "map: precinct tooltips name the precinct", tips.pre.slice(0, 2));
  // And a real pointer on a cell shows it.
  const cellBox = await page.evaluate(() => {
    let box = null;
    window.dashboard.cellLayer.eachLayer((l) => {
      const r = l.getElement().getBoundingClientRect();
      if (!box || r.width * r.height > box.width * box.height) box = { x: r.x, y: r.y, width: r.width, height: r.height };
    });
    return box;
  });
  await page.mouse.move(cellBox.x + cellBox.width / 2, cellBox.y + cellBox.height / 2);
  const shownTip = (await holds(page, () => !!document.querySelector(".leaflet-tooltip"), null, 3000))
    ? await text(page, ".leaflet-tooltip") : null;
  check(shownTip !== null && /^\d+ incidents?\b/.test(shownTip) && !/_\d/.test(shownTip), "map: hovering a cell shows its tooltip", shownTip);
  await page.mouse.move(5, 5);

  // Response times: a row per priority of /v1/response-times, one duration
  // format, n beside each interval.
  const rtQuery = `/v1/response-times?by=priority&from=${addDays(to, -28)}&to=${to}`;
  async function rtMismatches(rt) {
    const shownRt = await page.$$eval("#rt tbody tr[data-priority]", (rs) => rs.map((tr) => ({
      priority: tr.getAttribute("data-priority"),
      calls: (tr.querySelector("td[data-field=calls]") || {}).textContent,
      cells: Array.from(tr.querySelectorAll("td[data-interval]")).map((td) => [td.getAttribute("data-interval"),
        td.getAttribute("data-stat"), td.textContent]),
    })));
    const out = [];
    if (shownRt.length !== rt.rows.length) out.push(["rows", shownRt.length, rt.rows.length]);
    for (const row of rt.rows) {
      const tr = shownRt.find((r) => r.priority === String(row.priority === null ? "none" : row.priority));
      if (!tr) { out.push(["missing", row.priority]); continue; }
      if (tr.calls !== num(row.incidents)) out.push([row.priority, "calls", tr.calls, row.incidents]);
      for (const [iv, stats] of [["queue", ["p50"]], ["response", ["p50", "p90"]], ["travel", ["p50"]], ["on_scene", ["p50"]]]) {
        for (const st of [...stats, "n"]) {
          const td = tr.cells.find((c) => c[0] === iv && c[1] === st);
          const want = st === "n" ? num(row[iv].n) : duration(row[iv][st]);
          if (!td || td[2] !== want) out.push([row.priority, iv, st, td && td[2], want]);
        }
      }
    }
    return out;
  }
  const rt = await api(rtQuery);
  check(rt.rows.some((r) => r.response.p90 >= 3600) && rt.rows.some((r) => r.response.p50 < 3600),
        "response times: the window has durations under and over an hour (the check can tell)");
  const rtBad = await rtMismatches(rt);
  check(rtBad.length === 0, "response times: /v1/response-times' rows, m:ss / h:mm:ss, n shown", rtBad.slice(0, 4));

  // Empty feed says so.
  check(await visibleText(page, "#feed-empty") === "No live incidents yet", "live feed: says when it is empty");

  // Live: post an incident inside the chosen week, with lifecycle times; the
  // feed shows it (local date and time, offense name), the counts and the
  // response times move, without a reload.
  const weekTotal = async () => page.$eval(
    '#compstat tr[data-category="total"] td[data-period="week"][data-field="current"]',
    (td) => Number(td.textContent.replace(/\D/g, "")));
  const rtCalls = async (p) => page.evaluate((p) => {
    const td = document.querySelector(`#rt tr[data-priority="${p}"] td[data-field=calls]`) ||
      document.querySelectorAll(`#rt tr[data-priority="${p}"] td`)[1];
    return td ? Number(td.textContent.replace(/\D/g, "")) : null;
  }, p);
  const livePriority = rt.rows[0].priority;
  const before = await weekTotal();
  const callsBefore = await rtCalls(livePriority);
  const sample = (await api("/v1/incidents?limit=1&from=" + addDays(week, -6) + "&to=" + to)).incidents[0];
  const posted = await api("/v1/incidents", dispatchToken, {
    method: "POST",
    body: JSON.stringify({
      source: "browser-test", external_id: "live-" + Date.now(), offense: sample.offense, priority: livePriority,
      occurred_at: week + "T18:00:00Z", received_at: week + "T18:01:00Z", dispatched_at: week + "T18:04:30Z",
      on_scene_at: week + "T18:20:00Z", location: sample.location, address: "Live feed test",
    }),
  });
  await page.waitForSelector(`#feed li[data-id="${posted.id}"]`, { timeout: 10000 });
  check(true, "live feed: the posted incident appeared");
  check(await visibleText(page, "#feed-empty") === null, "live feed: the empty message goes");
  const item = await page.$eval(`#feed li[data-id="${posted.id}"]`, (li) => ({
    time: (li.querySelector(".time") || {}).textContent, what: (li.querySelector(".what") || {}).textContent,
  }));
  const lp = localParts(posted.occurred_at, zone);
  check(item.time.includes(lp.date) && item.time.includes(lp.time),
        "live feed: the local date and time of the incident", [item.time, lp]);
  check(item.what.includes(byCode[sample.offense].name), "live feed: the offense's name", [item.what, byCode[sample.offense].name]);
  await holds(page, (b) => Number(document.querySelector(
    '#compstat tr[data-category="total"] td[data-period="week"][data-field="current"]').textContent.replace(/\D/g, "")) === b + 1, before);
  const after = await weekTotal();
  check(after === before + 1, "COMPSTAT: the week's total moved by one without a reload", [before, after]);
  const cs2 = await api("/v1/compstat?week_ending=" + week);
  check(cs2.rows.find((r) => r.category === "total").week.current === after, "COMPSTAT: and equals /v1/compstat again");
  const rtMoved = await holds(page, (a) => {
    const td = document.querySelector(`#rt tr[data-priority="${a.p}"] td[data-field=calls]`);
    return td && Number(td.textContent.replace(/\D/g, "")) === a.n + 1;
  }, { p: String(livePriority), n: callsBefore });
  check(rtMoved, "response times: the posted call counted without a reload", [callsBefore, await rtCalls(livePriority)]);
  const rtBad2 = await rtMismatches(await api(rtQuery));
  check(rtBad2.length === 0, "response times: and equal /v1/response-times again", rtBad2.slice(0, 4));
  check(await page.evaluate(() => window.__noReload === true), "no reload happened");

  // The trend says when the year before holds no data at all.
  const priorStart = addDays(to, -7 * 104), trendStart = addDays(to, -7 * 52);
  const priorAll = await api(`/v1/cube?from=${priorStart}&to=${trendStart}`);
  check(priorAll.total === 0, "trend: the demo holds nothing in the 52 weeks a year before", priorAll.total);
  check(await page.$$eval("#trend polyline.prior", (ps) => ps.length) === 0 &&
        /no data/.test(await text(page, "#trend-panel .note")),
        "trend: no zero line for a year without data, and the legend says so", await text(page, "#trend-panel .note"));

  await page.waitForTimeout(2200); // the feed's highlight fades
  await page.screenshot({ path: path.join(artifacts, "dashboard.png"), fullPage: true });

  // A tablet.
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, "tablet: nothing wider than the screen");
  await page.screenshot({ path: path.join(artifacts, "dashboard-tablet.png"), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 1000 });

  // The offense filter moves the sheet, the trend and the map, and the captions say so.
  const robbery = offenses.filter((o) => o.category === "robbery").sort((a, b) => a.name < b.name ? -1 : 1)[0];
  for (const [value, q, label] of [["category:robbery", "category=robbery", "Robbery"],
                                   ["offense:" + robbery.code, "offense=" + encodeURIComponent(robbery.code), robbery.name]]) {
    const csF = await api(`/v1/compstat?week_ending=${week}&${q}`);
    const picked = await page.evaluate((v) => {
      const s = document.getElementById("offense");
      if (!Array.from(s.options).some((o) => o.value === v)) return false;
      s.value = v;
      s.dispatchEvent(new Event("change"));
      return true;
    }, value);
    let m = null;
    await eventually(async () => (m = sheetMismatches(await sheet(page), csF)).length === 0);
    check(picked && m.length === 0, `offense filter ${value}: the sheet is /v1/compstat?${q}`, m.slice(0, 3));
    const trendWant = await api(`/v1/cube?granularity=week&from=${trendStart}&to=${to}&${q}`);
    await holds(page, (n) => (window.dashboard.trend || []).reduce((s, v) => s + v, 0) === n, trendWant.total, 5000);
    check(await page.evaluate(() => (window.dashboard.trend || []).reduce((s, v) => s + v, 0)) === trendWant.total,
          `offense filter ${value}: the trend is /v1/cube's`);
    const hsF = await api(`/v1/hotspots?method=gi&from=${addDays(to, -28)}&to=${to}&cell_m=200&fdr=true&${q}`);
    check(await drawsClasses(page, hotspotClasses(hsF)), `offense filter ${value}: the map is /v1/hotspots'`);
    const capF = await page.evaluate(() => Object.fromEntries(["compstat", "map", "trend", "rt"].map(
      (k) => [k, (document.getElementById(k + "-caption") || {}).textContent || null])));
    check(["compstat", "map", "trend"].every((k) => capF[k] && capF[k].includes(label)) &&
          capF.rt && capF.rt.includes("all calls") && !capF.rt.includes(label),
          `offense filter ${value}: the captions name it (response times: all calls)`, capF);
  }
  await page.evaluate(() => {
    const s = document.getElementById("offense");
    s.value = "";
    s.dispatchEvent(new Event("change"));
  });
  await holds(page, (n) => document.querySelectorAll("#compstat tbody tr").length === n, cs.rows.length, 5000);

  // The FDR toggle: off gives the uncorrected classes, on again the corrected ones.
  if (await page.$("#fdr")) {
    const hq = `/v1/hotspots?method=gi&from=${addDays(to, -28)}&to=${to}&cell_m=200`;
    const [nowFdr, nowRaw] = [await api(hq + "&fdr=true"), await api(hq)]; // the live incident is in them
    await page.click("#fdr");
    const off = await drawsClasses(page, hotspotClasses(nowRaw));
    check(off && /fdr=0/.test(await page.evaluate(() => location.hash)), "map: FDR off shows /v1/hotspots' uncorrected classes (and the URL keeps it)");
    await page.click("#fdr");
    check(await drawsClasses(page, hotspotClasses(nowFdr)), "map: FDR on again");
  } else {
    check(false, "map: FDR toggle");
  }

  // Previous / next week; the current (unfinished) week is "Week to date";
  // an empty map says so.
  if (await page.$("#week-next") && await page.$("#week-prev")) {
    await page.click("#week-next");
    const nextOk = await holds(page, (w) => document.getElementById("compstat").getAttribute("data-week-ending") === w,
      addDays(week, 7), 5000);
    const next = await page.$eval("#week", (i) => i.value);
    check(nextOk && next === addDays(week, 7) && (await page.evaluate(() => location.hash)).includes("week=" + addDays(week, 7)),
          "week picker: next week", next);
    await page.click("#week-prev");
    await holds(page, (w) => document.getElementById("compstat").getAttribute("data-week-ending") === w, week, 5000);
    check(await page.$eval("#week", (i) => i.value) === week, "week picker: previous week");
  } else {
    check(false, "week picker: previous and next week buttons");
  }
  // The arrow keys step a week, whichever part of the date has the focus.
  await page.focus("#week");
  const keyed = [];
  for (const [key, want] of [["ArrowDown", addDays(week, -7)], ["ArrowRight", null], ["ArrowUp", week],
                             ["ArrowRight", null], ["ArrowUp", addDays(week, 7)], ["ArrowDown", week]]) {
    await page.keyboard.press(key);
    if (!want) continue;
    await holds(page, (w) => document.getElementById("compstat").getAttribute("data-week-ending") === w, want, 3000);
    keyed.push([key, await page.$eval("#week", (i) => i.value), want]);
  }
  check(keyed.every(([, got, want]) => got === want), "week picker: arrow keys step a week", keyed);
  const nowSunday = (() => { // the agency's current week's Sunday
    const o = {};
    for (const p of new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date())) o[p.type] = p.value;
    const d = o.year + "-" + o.month + "-" + o.day;
    return addDays(d, (7 - new Date(d + "T00:00:00Z").getUTCDay()) % 7);
  })();
  await page.evaluate((d) => {
    const i = document.getElementById("week");
    i.value = d;
    i.dispatchEvent(new Event("change"));
  }, nowSunday);
  await holds(page, (w) => document.getElementById("compstat").getAttribute("data-week-ending") === w, nowSunday, 5000);
  const hsNow = await api(`/v1/hotspots?method=gi&from=${addDays(nowSunday, -27)}&to=${addDays(nowSunday, 1)}&cell_m=200&fdr=true`);
  const curHeads = await page.$$eval("#compstat thead tr:first-child th", (ths) => ths.map((t) => t.textContent));
  check(curHeads.includes("Week to date"), "COMPSTAT: the current week is \"Week to date\"", curHeads);
  const emptyShown = hsNow.features.length === 0 && await holds(page,
    () => { const e = document.getElementById("map-empty"); return !!e && e.offsetParent !== null; }, null, 5000);
  check(emptyShown && await text(page, "#map-empty") === "No incidents in this window",
        "map: an empty window says so", hsNow.features.length);
  await page.evaluate((d) => {
    const i = document.getElementById("week");
    i.value = d;
    i.dispatchEvent(new Event("change"));
  }, week);
  await holds(page, (w) => document.getElementById("compstat").getAttribute("data-week-ending") === w, week, 5000);
  await holds(page, () => { const e = document.getElementById("map-empty"); return !e || e.offsetParent === null; }, null, 5000);

  // A year before: post incidents into the same week of the year before
  // (unlocated, so the map is unchanged); the sheet re-reads itself, compares,
  // and highlights only what the test finds significant.
  const other = offenses.filter((o) => o.category === "other").sort((a, b) => a.code < b.code ? -1 : 1)[0];
  const felony = offenses.filter((o) => o.category === "felony_assault").sort((a, b) => a.code < b.code ? -1 : 1)[0];
  const priorWeek = cs.periods.week.prior[1]; // the same dates a year earlier
  const batch = [];
  const stamp = Date.now();
  const mk = (o, n, tag) => {
    for (let i = 0; i < n; i++)
      batch.push({ source: "browser-test", external_id: `prior-${tag}-${stamp}-${i}`, offense: o.code,
                   precinct: precincts[i % precincts.length].code,
                   occurred_at: `${addDays(priorWeek, -(i % 7))}T${String(10 + (i % 12)).padStart(2, "0")}:00:00Z` });
  };
  mk(robbery, 20, "r");
  mk(other, 60, "o");
  mk(felony, 25, "f");
  const res = await api("/v1/incidents", dispatchToken, { method: "POST", body: JSON.stringify(batch) });
  check(res.accepted === batch.length, "the year before: posted", res.accepted);
  const csP = await api("/v1/compstat?week_ending=" + week);
  const compared = await holds(page, () => {
    const td = document.querySelector('#compstat tr[data-category="total"] td[data-period="week"][data-field="prior"]');
    return td && td.textContent !== "no data" && td.textContent !== "0";
  }, null, 10000);
  let mP = null;
  await eventually(async () => (mP = sheetMismatches(await sheet(page), csP)).length === 0);
  check(compared && mP.length === 0, "COMPSTAT: with a year before, highlights exactly where the test is significant", mP.slice(0, 5));
  const cellsP = csP.rows.flatMap((r) => ["week", "d28", "ytd"].map((p) => r[p]));
  check(cellsP.some((v) => v.significant && v.current > v.prior) && cellsP.some((v) => v.significant && v.current < v.prior) &&
        cellsP.some((v) => !v.significant && Math.abs(v.z) >= 2),
        "COMPSTAT: the week has significant rises and falls and a |z| >= 2 that is not significant (the check can tell)");
  const lateItem = await page.$eval(`#feed li[data-id]`, (li) => (li.querySelector(".time") || {}).textContent);
  check(lateItem && lateItem.includes(String(Number(week.slice(0, 4)) - 1)),
        "live feed: a late report from a year before shows its year", lateItem);
  check(await holds(page, () => document.querySelectorAll("#trend polyline.prior").length === 1, null, 5000),
        "trend: the year before drawn once it holds data");
  await page.waitForTimeout(2200);
  await page.screenshot({ path: path.join(artifacts, "dashboard-prior-year.png"), fullPage: true });

  // Drill-down: a count opens exactly the incidents it counts (same number,
  // same filters, CSV of exactly those); the rate map colours precincts by
  // their rate per 100,000 in classes, with a legend.
  {
    const dp = await context.newPage();
    dp.on("console", (m) => { if (m.type() === "error") consoleErrors.push("drill: " + m.text()); });
    dp.on("pageerror", (e) => consoleErrors.push("drill: " + String(e)));
    await dp.goto(base + "/#week=" + week);
    await tokenSignIn(dp, readToken);
    await dp.waitForSelector("#compstat tbody tr");
    await dp.waitForFunction(() => window.dashboard.cells !== null);
    // All of a list's pages, and its rows.
    const drilled = async () => {
      await dp.waitForSelector("#drill[open]");
      await dp.waitForFunction(() => document.getElementById("drill-shown").textContent !== "");
      while (await dp.isVisible("#drill-more")) {
        const n = await dp.$$eval("#drill-table tbody tr", (rs) => rs.length);
        await dp.click("#drill-more");
        await dp.waitForFunction((k) => document.querySelectorAll("#drill-table tbody tr").length > k, n);
      }
      return dp.$$eval("#drill-table tbody tr", (rs) => rs.length);
    };
    const closeDrill = async () => { await dp.click("#drill-close"); await dp.waitForSelector("#drill", { state: "hidden" }); };
    const cs = await api("/v1/compstat?week_ending=" + week);
    // The smallest non-zero count of a category in the week and in 28 days.
    const picks = [];
    for (const period of ["week", "d28"]) {
      const rows = cs.rows.filter((r) => r.category !== "total" && r[period].current > 0);
      rows.sort((a, b) => a[period].current - b[period].current);
      if (rows.length) picks.push([rows[0].category, period, rows[0][period].current]);
    }
    check(picks.length === 2, "drill-down: counts to click", picks);
    for (const [category, period, count] of picks) {
      await dp.click(`#compstat tr[data-category="${category}"] td[data-period="${period}"][data-field="current"]`);
      const rows = await drilled();
      check(rows === count, `drill-down: ${category} ${period}: the rows listed are the count clicked`, [rows, count]);
      const title = await dp.textContent("#drill-title");
      check(title.includes(num(count)), "drill-down: the title says the count", title);
      const [download] = await Promise.all([dp.waitForEvent("download"), dp.click("#drill-csv")]);
      const file = path.join(artifacts, "drill-" + category + "-" + period + ".csv");
      await download.saveAs(file);
      const lines = (await import("node:fs")).readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
      check(lines.length - 1 === count, "drill-down: the CSV holds exactly those rows (and a header)", [lines.length - 1, count]);
      await closeDrill();
    }
    // A map cell: the smallest.
    const cell = await dp.evaluate(() => {
      let best = null;
      window.dashboard.cellLayer.eachLayer((l) => {
        const c = l.feature.properties.count;
        if (c > 0 && (!best || c < best.feature.properties.count)) best = l;
      });
      if (!best) return null;
      best.fire("click");
      return best.feature.properties.count;
    });
    check(cell > 0, "drill-down: a map cell to click", cell);
    const cr = await drilled();
    check(cr === cell, "drill-down: a map cell lists its count", [cr, cell]);
    await closeDrill();
    // The trend's last week, under the smallest category's filter.
    const cat = picks[1][0];
    await dp.selectOption("#offense", "category:" + cat);
    await dp.waitForFunction(() => (window.dashboard.trend || []).length === 52);
    const trendCube = await api(`/v1/cube?granularity=week&category=${cat}&from=${addDays(to, -7)}&to=${to}`);
    await dp.waitForTimeout(500);
    await dp.click('#trend rect.hit[data-week="51"]');
    const wk = await drilled();
    check(wk === trendCube.total, "drill-down: the trend's week lists its count", [wk, trendCube.total]);
    await closeDrill();
    await dp.selectOption("#offense", "");
    // The filter's map may have been the rates by itself (its incidents
    // without points); all offenses have points: the hotspots again.
    await dp.waitForFunction(() => document.getElementById("mapmode").value === "hotspots" &&
                                   window.dashboard.cells !== null);
    // The rate map: each precinct's rate per 100,000 from /v1/cube, its class
    // never below a precinct of a lower rate, one without a population grey.
    await dp.selectOption("#mapmode", "rate");
    await dp.waitForFunction(() => window.dashboard.choro && window.dashboard.cells === null &&
                                   !/[?&](offense|category)=/.test(window.dashboard.choro.query));
    const days = Number(await dp.inputValue("#window"));
    const rc = await api(`/v1/cube?by=precinct&rates=true&from=${addDays(to, -days)}&to=${to}`);
    const shown = await dp.evaluate(() => window.dashboard.choro.values);
    const bad = [];
    for (const p of precincts) {
      const c = rc.cells.find((x) => x.precinct === p.code);
      const want = c ? c.rate_per_100k : (p.population ? 0 : null);
      if (!shown[p.code] || shown[p.code].value !== want) bad.push([p.code, shown[p.code], want]);
    }
    check(bad.length === 0, "rate map: every precinct's rate as /v1/cube answers", bad);
    const ranked = Object.values(shown).filter((v) => v.value !== null).sort((a, b) => a.value - b.value);
    check(ranked.every((v, i) => i === 0 || v.klass >= ranked[i - 1].klass) && ranked[ranked.length - 1].klass > 0,
          "rate map: classes rise with the rate", ranked);
    const grey = Object.entries(shown).filter(([, v]) => v.value === null).map(([k]) => k);
    check(grey.length === 1 && await dp.isVisible("#legend li.choro-nopop"),
          "rate map: the precinct without a population has no rate, and the legend says so", grey);
    const classes = await dp.$$eval("#legend li.choro-class", (ls) => ls.length);
    check(classes >= 3 && classes <= 5, "rate map: a legend in classes", classes);
    await dp.screenshot({ path: path.join(artifacts, "dashboard-rate-map.png"), fullPage: true });
    // By area: a precinct of an area has its area's rate (/v1/cube by=area),
    // the others are "in no zona"; an area opens its own incidents.
    await dp.selectOption("#maplevel", "zona");
    await dp.waitForFunction(() => window.dashboard.choro && /by=area/.test(window.dashboard.choro.query));
    const ac = await api(`/v1/cube?by=area&area_level=zona&rates=true&from=${addDays(to, -days)}&to=${to}`);
    const zona = (await api("/v1/areas")).areas.filter((a) => a.level === "zona");
    const byArea = await dp.evaluate(() => window.dashboard.choro.values);
    const areaBad = [];
    for (const p of precincts) {
      const a = zona.find((z) => z.all_precincts.includes(p.code));
      const c = a && ac.cells.find((x) => x.area === a.code);
      const want = a ? (c ? c.rate_per_100k : 0) : null;
      if (!byArea[p.code] || byArea[p.code].value !== want || (!a && byArea[p.code].klass !== -2)) areaBad.push([p.code, byArea[p.code], want]);
    }
    check(areaBad.length === 0 && zona.length > 0, "rate map by area: each precinct with its area's rate, the others in none", areaBad);
    check(await dp.isVisible("#legend li.choro-noarea"), "rate map by area: the legend names the precincts in no area");
    const centro = ac.cells.find((x) => x.area === zona[0].code);
    await dp.evaluate((code) => {
      window.dashboard.choroLayer.eachLayer((l) => { if (l.feature.properties.code === code) l.fire("click"); });
    }, zona[0].all_precincts[0]);
    const al = await drilled();
    check(al === (centro ? centro.count : 0), "rate map by area: an area lists its count", [al, centro && centro.count]);
    await closeDrill();
    await dp.close();
  }

  // A commander limited to one precinct: only that precinct, and its
  // numbers; a bookmark naming another precinct says so.
  if (process.env.SCOPED_TOKEN) {
    const scoped = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const sp = await scoped.newPage();
    sp.on("console", (m) => { if (m.type() === "error") consoleErrors.push("scoped: " + m.text()); });
    sp.on("pageerror", (e) => consoleErrors.push("scoped: " + String(e)));
    const otherPrecinct = process.env.OTHER_PRECINCT;
    await sp.goto(base + "/#week=" + week + "&precinct=" + otherPrecinct);
    await tokenSignIn(sp, process.env.SCOPED_TOKEN);
    await sp.waitForSelector("#compstat tbody tr");
    const options = await sp.$$eval("#precinct option", (os) => os.map((o) => o.value));
    check(JSON.stringify(options) === JSON.stringify([process.env.SCOPED_PRECINCT]),
          "scoped token: only its precinct to choose", options);
    const scs = await api("/v1/compstat?week_ending=" + week + "&precinct=" + process.env.SCOPED_PRECINCT,
                          process.env.SCOPED_TOKEN);
    const total = await sp.$eval('#compstat tr[data-category="total"] td[data-period="ytd"][data-field="current"]',
                                 (td) => Number(td.textContent.replace(/\D/g, "")));
    check(total === scs.rows.find((r) => r.category === "total").ytd.current,
          "scoped token: its precinct's COMPSTAT", [total]);
    const notice = await visibleText(sp, "#notice");
    check(notice !== null && notice.includes(otherPrecinct) && notice.includes(process.env.SCOPED_PRECINCT),
          "scoped token: a bookmark naming a precinct it may not see says so", notice);
    await sp.waitForFunction(() => document.getElementById("live").textContent === "live");
    await scoped.close();
  }

  // Spanish: a browser that prefers Spanish gets the page in Spanish, every
  // key of the English table has its Spanish text, and the selector switches.
  {
    const esCtx = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: "es-CR" });
    const ep = await esCtx.newPage();
    ep.on("console", (m) => { if (m.type() === "error") consoleErrors.push("es: " + m.text()); });
    ep.on("pageerror", (e) => consoleErrors.push("es: " + String(e)));
    await ep.goto(base + "/#week=" + week);
    await ep.waitForSelector("#signin-form", { state: "visible" });
    check(await text(ep, "#signin-form button[type=submit]") === "Ingresar", "español: the sign-in page");
    await tokenSignIn(ep, readToken);
    await ep.waitForSelector("#compstat tbody tr");
    await ep.waitForFunction(() => window.dashboard.cells !== null);
    const st = await ep.evaluate(() => ({ lang: window.dashboard.lang, missing: window.dashboard.missingStrings,
                                          html: document.documentElement.lang }));
    check(st.lang === "es" && st.html === "es", "español: chosen from the browser's language", st);
    check(st.missing.length === 0, "every text exists in English and Spanish", st.missing);
    check(await text(ep, "#trend-panel h2 span") === "Incidentes por semana" &&
          await text(ep, "#rt-panel h2 span") === "Tiempos de respuesta",
          "español: panel headings");
    const heads = await ep.$$eval("#compstat thead th", (ths) => ths.map((th) => th.textContent));
    check(heads.includes("Categoría") && heads.some((h) => h === "Semana" || h === "Semana en curso"),
          "español: the sheet's headings", heads);
    const legend = await text(ep, "#compstat-legend");
    check(legend.includes("prueba binomial condicional exacta"), "español: the legend names the test", legend);
    const robbery = await ep.$eval('#compstat tr[data-category="robbery"] td', (td) => td.textContent);
    check(robbery === "Robo", "español: category names", robbery);
    await ep.waitForTimeout(1500);
    await ep.screenshot({ path: path.join(artifacts, "dashboard-es.png"), fullPage: true });
    await ep.selectOption("#lang", "en");
    await ep.waitForSelector("#compstat tbody tr");
    check(await holds(ep, () => document.querySelector("#trend-panel h2 span").textContent === "Incidents by week"),
          "the language selector switches to English");
    check((await ep.evaluate(() => location.hash)).includes("lang=en"), "and keeps it in the URL");
    await esCtx.close();
  }

  check(consoleErrors.length === 0, "no console errors", consoleErrors);
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(failures.length + " failed:\n" + failures.join("\n"));
  process.exit(1);
}
console.log("all passed");
