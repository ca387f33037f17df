// What the browser tests (dashboard.mjs, accounts.mjs, packet.mjs) share.

// Calendar arithmetic on "YYYY-MM-DD".
export function addDays(d, n) {
  const t = new Date(d + "T00:00:00Z");
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

// One duration format: m:ss below an hour, h:mm:ss from an hour on.
export function duration(s) {
  if (s === null || s === undefined) return "—";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const ss = String(sec).padStart(2, "0");
  return h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
}

// The texts on screen of the other language. Run in the page:
// page.evaluate(leftovers, { other: "en", from: "dashboard" | "packet" }).
// Every visible text node, tooltip, label and option (a language's own name,
// marked lang=, aside) against the other language's strings (the dashboard's
// and its admin page's, or the packet's) that differ from this language's.
export function leftovers({ other, from }) {
  const D = from === "packet" ? window.packet : window.dashboard;
  const cur = D.lang;
  const tables = [D.strings, D.adminStrings].filter(Boolean);
  const theirs = [], mine = [];
  const walk = (a, b, key) => {
    if (typeof a === "string") theirs.push([key, a, b]);
    else if (a && typeof a === "object") Object.keys(a).forEach((k) => walk(a[k], b && b[k], key + "." + k));
  };
  const collect = (b) => {
    if (typeof b === "string") mine.push(b);
    else if (b && typeof b === "object") Object.values(b).forEach(collect);
  };
  tables.forEach((T) => { walk(T[other], T[cur], ""); collect(T[cur]); });
  const mineText = mine.join("\n");
  const shown = (e) => e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden" &&
    (e.closest("[lang]") || document.documentElement).getAttribute("lang") === document.documentElement.lang;
  let text = "";
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const e = w.currentNode.parentElement;
    if (e && e.tagName !== "OPTION" && e.tagName !== "SCRIPT" && shown(e)) text += w.currentNode.textContent + "\n";
  }
  document.querySelectorAll("[title],[aria-label],[placeholder]").forEach((e) => {
    if (shown(e)) text += [e.title, e.getAttribute("aria-label"), e.placeholder].join("\n") + "\n";
  });
  document.querySelectorAll("select").forEach((s) => {
    if (shown(s)) Array.from(s.options).forEach((o) => { if (!o.lang || o.lang === document.documentElement.lang) text += o.textContent + "\n"; });
  });
  const bad = [];
  for (const [key, a, b] of theirs) {
    if (a === b) continue;
    for (const f of a.split(/\{\w+\}/).map((x) => x.trim())) {
      if (f.length < 4 || mineText.includes(f)) continue;
      const re = new RegExp("(^|[^\\p{L}])" + f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "($|[^\\p{L}])", "u");
      if (re.test(text)) bad.push(key + ": " + f);
    }
  }
  return bad;
}
