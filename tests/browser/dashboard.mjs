// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core, against a running compstatd with real data loaded.
// Run by tests/integration/test_dashboard.py, which starts everything and
// passes (environment):
//   COMPSTATD_URL    the daemon's root URL
//   READ_TOKEN       a commander token (signs in)
//   DISPATCH_TOKEN   a dispatch token (posts the live incident)
//   WEEK             a Sunday (YYYY-MM-DD) with data: the week to look at
//   ARTIFACTS        directory for screenshots
//   CHROMIUM         the browser (default /usr/bin/chromium)
// Checks, each against what the API itself answers: the page loads with no
// console errors, the COMPSTAT table shows /v1/compstat's numbers, the map
// shows /v1/hotspots' cells (number and class of each), and a posted
// incident reaches the live feed and moves the counts without a reload.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const base = process.env.COMPSTATD_URL;
const readToken = process.env.READ_TOKEN;
const dispatchToken = process.env.DISPATCH_TOKEN;
const week = process.env.WEEK;
const artifacts = process.env.ARTIFACTS || ".";
const failures = [];

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

function addDays(d, n) {
  const t = new Date(d + "T00:00:00Z");
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

function pctText(v) {
  return v === null ? "—" : (v > 0 ? "+" : "") + v.toFixed(1) + "%";
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  // Sign in.
  await page.goto(base + "/#week=" + week);
  await page.waitForSelector("#signin-form", { state: "visible" });
  await page.fill("#token", readToken);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#compstat tbody tr");
  await page.waitForFunction(() => document.getElementById("live").textContent === "live");
  await page.waitForFunction(() => window.dashboard.cells !== null);
  await page.waitForSelector("#rt tbody tr");
  await page.evaluate(() => { window.__noReload = true; });

  // The COMPSTAT sheet equals /v1/compstat.
  const cs = await api("/v1/compstat?week_ending=" + week);
  const shown = await page.$$eval("#compstat tbody tr", (rows) => rows.map((tr) => ({
    category: tr.getAttribute("data-category"),
    cells: Array.from(tr.querySelectorAll("td[data-period]")).map((td) => ({
      period: td.getAttribute("data-period"), field: td.getAttribute("data-field"),
      text: td.textContent, flagged: td.classList.contains("z-up") || td.classList.contains("z-down"),
    })),
  })));
  check(shown.length === cs.rows.length, "COMPSTAT: one row per category", [shown.length, cs.rows.length]);
  let mismatches = [];
  for (const row of cs.rows) {
    const tr = shown.find((r) => r.category === row.category);
    if (!tr) { mismatches.push(["missing row", row.category]); continue; }
    for (const period of ["week", "d28", "ytd"]) {
      const v = row[period];
      const want = { current: String(v.current), prior: String(v.prior), pct_change: pctText(v.pct_change) };
      for (const field of Object.keys(want)) {
        const td = tr.cells.find((c) => c.period === period && c.field === field);
        if (!td || td.text !== want[field]) mismatches.push([row.category, period, field, td && td.text, want[field]]);
      }
      const cur = tr.cells.find((c) => c.period === period && c.field === "current");
      if (cur && cur.flagged !== Math.abs(v.z) >= 2) mismatches.push([row.category, period, "z flag", v.z]);
    }
  }
  check(mismatches.length === 0, "COMPSTAT: every number and z flag as /v1/compstat answers", mismatches.slice(0, 5));
  const nonzero = cs.rows.find((r) => r.category === "total").ytd.current;
  check(nonzero > 0, "COMPSTAT: the chosen week has data", nonzero);

  // The map shows /v1/hotspots' cells.
  const to = addDays(week, 1);
  const hs = await api(`/v1/hotspots?method=gi&from=${addDays(to, -28)}&to=${to}&cell_m=200`);
  const byClass = {};
  for (const f of hs.features) byClass[f.properties.class] = (byClass[f.properties.class] || 0) + 1;
  const drawn = await page.$$eval("#map path.cell", (ps) => {
    const o = {};
    for (const p of ps) {
      const c = Array.from(p.classList).find((x) => x.startsWith("cell-")).slice(5);
      o[c] = (o[c] || 0) + 1;
    }
    return o;
  });
  check(hs.features.length > 0, "map: the window has hotspot cells", hs.features.length);
  check(JSON.stringify(Object.entries(drawn).sort()) === JSON.stringify(Object.entries(byClass).sort()),
        "map: the cells drawn, by Gi* class, are /v1/hotspots' cells", { drawn, byClass });
  const precinctsDrawn = await page.$$eval("#map path.precinct", (ps) => ps.length);
  const precincts = await api("/v1/precincts");
  check(precinctsDrawn === precincts.precincts.length, "map: every precinct boundary drawn",
        [precinctsDrawn, precincts.precincts.length]);

  // The response-time table has a row per priority of /v1/response-times.
  const rt = await api(`/v1/response-times?by=priority&from=${addDays(to, -28)}&to=${to}`);
  const rtRows = await page.$$eval("#rt tbody tr[data-priority]", (rs) => rs.length);
  check(rtRows === rt.rows.length && rt.rows.length > 0, "response times: a row per priority", [rtRows, rt.rows.length]);

  // Live: post an incident inside the chosen week; the feed shows it and the
  // counts move, without a reload.
  const weekTotal = async () => page.$eval(
    '#compstat tr[data-category="total"] td[data-period="week"][data-field="current"]',
    (td) => Number(td.textContent));
  const before = await weekTotal();
  const sample = (await api("/v1/incidents?limit=1&from=" + addDays(week, -6) + "&to=" + to)).incidents[0];
  const posted = await api("/v1/incidents", dispatchToken, {
    method: "POST",
    body: JSON.stringify({
      source: "browser-test", external_id: "live-" + Date.now(), offense: sample.offense,
      occurred_at: week + "T18:00:00Z", location: sample.location, address: "Live feed test",
    }),
  });
  await page.waitForSelector(`#feed li[data-id="${posted.id}"]`, { timeout: 10000 });
  check(true, "live feed: the posted incident appeared");
  let after = before;
  try {
    await page.waitForFunction((b) => Number(document.querySelector(
      '#compstat tr[data-category="total"] td[data-period="week"][data-field="current"]').textContent) === b + 1,
      before + 1, { timeout: 10000 });
    after = await weekTotal();
  } catch (e) { after = await weekTotal(); }
  check(after === before + 1, "COMPSTAT: the week's total moved by one without a reload", [before, after]);
  const cs2 = await api("/v1/compstat?week_ending=" + week);
  check(cs2.rows.find((r) => r.category === "total").week.current === after, "COMPSTAT: and equals /v1/compstat again");
  check(await page.evaluate(() => window.__noReload === true), "no reload happened");
  const asOf = await page.$eval("#asof", (e) => e.textContent);
  check(/^data as of /.test(asOf) && !/—/.test(asOf), "data as of shown", asOf);

  await page.waitForTimeout(2500); // the feed's highlight fades
  await page.screenshot({ path: path.join(artifacts, "dashboard.png"), fullPage: true });

  // A tablet.
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, "tablet: nothing wider than the screen");
  await page.screenshot({ path: path.join(artifacts, "dashboard-tablet.png"), fullPage: true });

  // A commander limited to one precinct: only that precinct, and its numbers.
  if (process.env.SCOPED_TOKEN) {
    const scoped = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const sp = await scoped.newPage();
    sp.on("console", (m) => { if (m.type() === "error") consoleErrors.push("scoped: " + m.text()); });
    sp.on("pageerror", (e) => consoleErrors.push("scoped: " + String(e)));
    await sp.goto(base + "/#week=" + week);
    await sp.fill("#token", process.env.SCOPED_TOKEN);
    await sp.click("#signin-form button[type=submit]");
    await sp.waitForSelector("#compstat tbody tr");
    const options = await sp.$$eval("#precinct option", (os) => os.map((o) => o.value));
    check(JSON.stringify(options) === JSON.stringify([process.env.SCOPED_PRECINCT]),
          "scoped token: only its precinct to choose", options);
    const scs = await api("/v1/compstat?week_ending=" + week + "&precinct=" + process.env.SCOPED_PRECINCT,
                          process.env.SCOPED_TOKEN);
    const total = await sp.$eval('#compstat tr[data-category="total"] td[data-period="ytd"][data-field="current"]',
                                 (td) => Number(td.textContent));
    check(total === scs.rows.find((r) => r.category === "total").ytd.current,
          "scoped token: its precinct's COMPSTAT", [total]);
    await sp.waitForFunction(() => document.getElementById("live").textContent === "live");
    await scoped.close();
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
