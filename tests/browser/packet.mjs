// The weekly COMPSTAT packet in a real browser (Debian's chromium, headless,
// playwright-core), printed to PDF. Run by tests/integration/test_dashboard.py
// (test_packet_in_chromium), which passes (environment):
//   COMPSTATD_URL, READ_TOKEN (a commander), WEEK (a Sunday with data),
//   AREA (an area of some precincts), ARTIFACTS (for the PDFs and screenshots)
// Checks: one page per precinct of the area and a summary page, on screen and
// in the PDF printed for A4 and for Letter (its pages counted); every number
// of each page's sheet, response times and workload, and of the summary, as
// the API answers; the packet in Spanish with no English text left; no
// console errors.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { addDays, duration, leftovers } from "./util.mjs";

const base = process.env.COMPSTATD_URL;
const token = process.env.READ_TOKEN;
const week = process.env.WEEK;
const area = process.env.AREA;
const artifacts = process.env.ARTIFACTS || ".";
const failures = [];
const consoleErrors = [];

function check(cond, what, detail) {
  if (!cond) failures.push(what + (detail === undefined ? "" : ": " + JSON.stringify(detail).slice(0, 800)));
  console.log((cond ? "ok   " : "FAIL ") + what);
}
async function api(p) {
  const res = await fetch(base + p, { headers: { Authorization: "Bearer " + token } });
  const body = await res.json();
  if (!res.ok) throw new Error(p + ": " + res.status + " " + JSON.stringify(body));
  return body;
}
const digits = (s) => (s === "—" ? null : Number(s.replace(/[^\d,.-]/g, "").replace(/,/g, "")));
// The pages of a PDF: its page objects ("/Type /Page", not "/Pages").
const pdfPages = (buf) => (buf.toString("latin1").match(/\/Type\s*\/Page(?![s\w])/g) || []).length;

// What the packet shows, page by page: each sheet cell, response-time row
// and workload figure with its field.
async function shown(page) {
  return page.$$eval("section.page", (ps) => ps.map((p) => ({
    precinct: p.dataset.precinct || null, summary: p.dataset.summary !== undefined,
    sheet: Array.from(p.querySelectorAll("table.sheet tbody tr")).map((tr) => ({
      category: tr.dataset.category,
      cells: Array.from(tr.querySelectorAll("td[data-field]")).map((td) => [td.dataset.period, td.dataset.field, td.textContent]),
    })),
    rt: Array.from(p.querySelectorAll("table.rt tbody tr")).map((tr) => [tr.dataset.priority,
      ...Array.from(tr.querySelectorAll("td[data-field]")).map((td) => [td.dataset.field, td.textContent])]),
    workload: Array.from(p.querySelectorAll("table.workload td[data-field]")).map((td) => [td.dataset.field, td.textContent]),
    precincts: Array.from(p.querySelectorAll("table.precincts tbody tr")).map((tr) => [tr.dataset.precinct || "total",
      ...Array.from(tr.querySelectorAll("td[data-field]")).map((td) => [td.dataset.field, td.textContent])]),
  })));
}

function sheetBad(cs, pageSheet) {
  const bad = [];
  for (const row of cs.rows) {
    const tr = pageSheet.find((r) => r.category === row.category);
    if (!tr) { bad.push(["row", row.category]); continue; }
    for (const [period, field, text] of tr.cells) {
      const v = row[period];
      const held = cs.periods[period].prior_data !== false;
      const want = field === "current" ? v.current : field === "prior" ? (held ? v.prior : null) :
        field === "pct_change" ? (held ? v.pct_change : null) : field === "z" ? (held ? v.z : null) :
        field === "rate" ? v.rate : v.rate_annual;
      const got = field === "prior" && !held ? null : digits(text);
      if (got !== want && !(want !== null && got !== null && Math.abs(got - want) < 1e-9))
        bad.push([row.category, period, field, text, want]);
    }
  }
  return bad;
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium" });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: "en-US" });
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(base + "/");
  await page.waitForSelector("#signin-form", { state: "visible" });
  await page.click("#use-token");
  await page.fill("#token", token);
  await page.click("#signin-submit");
  await page.waitForSelector("#compstat tbody tr");
  const href = await page.getAttribute("#packet-link", "href");
  check(/^\/packet\.html#week=\d{4}-\d\d-\d\d/.test(href), "the dashboard links its packet", href);
  await page.goto(base + "/packet.html#week=" + week + "&area=" + area + "&paper=a4");
  await page.waitForFunction(() => window.packet && window.packet.ready, null, { timeout: 120000 });
  const ar = await api("/v1/areas/" + area);
  const want = ar.all_precincts.length + 1;
  const pages = await shown(page);
  check(pages.length === want && pages.filter((p) => p.summary).length === 1 && pages[pages.length - 1].summary,
        "a page per precinct of the area, then the summary", [pages.length, want]);
  check(JSON.stringify(pages.filter((p) => !p.summary).map((p) => p.precinct).sort()) === JSON.stringify(ar.all_precincts.slice().sort()),
        "the area's precincts, each once", pages.map((p) => p.precinct));
  // Every number as the API answers.
  const end = addDays(week, 1), d28 = addDays(end, -28);
  for (const p of pages.filter((x) => !x.summary)) {
    const q = "&precinct=" + p.precinct;
    const cs = await api("/v1/compstat?week_ending=" + week + q);
    const bad = sheetBad(cs, p.sheet);
    check(bad.length === 0, p.precinct + ": the sheet (counts, % change, z, rates) as /v1/compstat", bad.slice(0, 5));
    const rt = await api("/v1/response-times?by=priority&from=" + d28 + "&to=" + end + q);
    const rtBad = [];
    for (const row of rt.rows) {
      const tr = p.rt.find((r) => r[0] === (row.priority === null ? "none" : String(row.priority)));
      const f = tr ? Object.fromEntries(tr.slice(1)) : {};
      if (!tr || digits(f.calls) !== (row.incidents !== undefined ? row.incidents : row.response.n) ||
          f.response_p50 !== duration(row.response.p50) || f.response_p90 !== duration(row.response.p90))
        rtBad.push([row.priority, f, row.response]);
    }
    check(rtBad.length === 0 && p.rt.length === rt.rows.length, p.precinct + ": response times p50/p90 by priority as /v1/response-times", rtBad.slice(0, 3));
    const wl = await api("/v1/reports/workload?by=precinct&from=" + d28 + "&to=" + end + q);
    const w = Object.fromEntries(p.workload);
    check(wl.rows.length === 1 && digits(w.incidents) === wl.rows[0].incidents && digits(w.tours) === wl.rows[0].tours,
          p.precinct + ": workload against staffing as /v1/reports/workload", [w, wl.rows[0]]);
  }
  const summary = pages[pages.length - 1];
  const acs = await api("/v1/compstat?week_ending=" + week + "&area=" + area);
  const sb = sheetBad(acs, summary.sheet);
  check(sb.length === 0, "summary: the area's sheet as /v1/compstat?area=", sb.slice(0, 5));
  const totals = Object.fromEntries(summary.precincts.map((r) => [r[0], Object.fromEntries(r.slice(1))]));
  const sumBad = [];
  for (const p of ar.all_precincts) {
    const cs = await api("/v1/compstat?week_ending=" + week + "&precinct=" + p);
    const tot = cs.rows.find((r) => r.category === "total");
    if (!totals[p] || digits(totals[p].ytd) !== tot.ytd.current || digits(totals[p].week) !== tot.week.current) sumBad.push([p, totals[p], tot.ytd.current]);
  }
  const atot = acs.rows.find((r) => r.category === "total");
  check(sumBad.length === 0 && digits(totals.total.ytd) === atot.ytd.current,
        "summary: each precinct's totals and the area's", sumBad);
  check(await page.$$eval("section.page svg polyline.this", (l) => l.length) === want - 1, "a 52-week trend on each precinct's page");
  check(await page.$$eval("section.page svg path.precinct", (l) => l.length) === want - 1, "a map on each precinct's page");
  check(await page.$$eval("section.page .asof", (l) => l.every((x) => /data as of \d/.test(x.textContent))), "\"data as of\" on every page");
  await page.screenshot({ path: path.join(artifacts, "packet.png"), fullPage: true });
  // Printed: A4, then Letter; a sheet of paper per page.
  const a4 = await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
  fs.writeFileSync(path.join(artifacts, "packet-a4.pdf"), a4);
  check(pdfPages(a4) === want, "printed on A4: a sheet per precinct and the summary", [pdfPages(a4), want]);
  await page.selectOption("#paper", "letter");
  await page.waitForFunction(() => window.packet.ready && document.body.classList.contains("letter"), null, { timeout: 120000 });
  const css = await page.textContent("#page-size");
  check(/size: letter/.test(css), "Letter: the page size follows", css);
  const letter = await page.pdf({ format: "Letter", printBackground: true, preferCSSPageSize: true });
  fs.writeFileSync(path.join(artifacts, "packet-letter.pdf"), letter);
  check(pdfPages(letter) === want, "printed on Letter: a sheet per precinct and the summary", [pdfPages(letter), want]);
  // The whole agency: every precinct the reader sees, and the agency's summary.
  await page.goto(base + "/packet.html#week=" + week + "&paper=a4");
  await page.reload();
  await page.waitForFunction(() => window.packet && window.packet.ready, null, { timeout: 180000 });
  const all = (await api("/v1/precincts")).precincts.length;
  const whole = await shown(page);
  const agencySheet = await api("/v1/compstat?week_ending=" + week);
  check(whole.length === all + 1 && sheetBad(agencySheet, whole[whole.length - 1].sheet).length === 0,
        "the whole agency: a page per precinct and the agency's sheet", [whole.length, all + 1]);
  // Not signed in: said, with the way to the dashboard, and no page.
  {
    const anon = await browser.newContext();
    const ap = await anon.newPage();
    ap.on("pageerror", (e) => consoleErrors.push("anon: " + String(e)));
    await ap.goto(base + "/packet.html#week=" + week);
    await ap.waitForSelector("#error", { state: "visible" });
    check(/Sign in on the dashboard/.test(await ap.textContent("#error")) &&
          await ap.$$eval("section.page", (p) => p.length) === 0, "not signed in: said, and nothing drawn");
    await anon.close();
  }
  // In Spanish: every text, none of the English left.
  await page.goto(base + "/packet.html#week=" + week + "&area=" + area + "&paper=a4&lang=es");
  await page.reload();
  await page.waitForFunction(() => window.packet && window.packet.ready && window.packet.lang === "es", null, { timeout: 120000 });
  const es = await page.evaluate(() => ({ missing: window.packet.missingStrings, html: document.documentElement.lang }));
  es.bad = await page.evaluate(leftovers, { other: "en", from: "packet" });
  check(es.missing.length === 0 && es.html === "es", "every text of the packet in English and Spanish", es.missing);
  check(es.bad.length === 0, "español: no English text in the packet", es.bad);
  const esPdf = await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
  fs.writeFileSync(path.join(artifacts, "packet-a4-es.pdf"), esPdf);
  check(pdfPages(esPdf) === want, "printed in Spanish: the same pages", pdfPages(esPdf));
  await ctx.close();
} finally {
  await browser.close();
}
check(consoleErrors.length === 0, "no console errors", consoleErrors);
if (failures.length) {
  console.error(failures.length + " failed:\n" + failures.join("\n"));
  process.exit(1);
}
console.log("all passed");
