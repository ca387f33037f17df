/*
 * compstatd's pages: what the dashboard (app.js, admin.js) and the weekly
 * packet (packet.js) share, loaded before them as window.compstatCommon.
 * No I/O and no state: texts, elements, dates and the weekly series.
 */
(function () {
  "use strict";

  /* t("key", {name: value}) of a table of strings: {name} filled in. */
  function translator(table) {
    return function t(key, vars) {
      var s = table[key];
      if (s === undefined) s = key;
      return String(s).replace(/\{(\w+)\}/g, function (m, k) {
        return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
      });
    };
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function pad2(n) { return String(n).padStart(2, "0"); }

  /* Calendar arithmetic on "YYYY-MM-DD"; the day of the week, Monday 0. */
  function addDays(date, n) {
    var d = new Date(date + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  function dow(date) { return (new Date(date + "T00:00:00Z").getUTCDay() + 6) % 7; }

  /* Seconds as m:ss, or h:mm:ss from an hour on; "—" for none. */
  function duration(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h > 0 ? h + ":" + pad2(m) + ":" + pad2(sec) : m + ":" + pad2(sec);
  }

  /* The 52 weekly counts of a /v1/cube?granularity=week answer from start (a Monday). */
  function weekly(cube, start) {
    var counts = new Array(52).fill(0);
    cube.cells.forEach(function (c) {
      var i = Math.round((Date.parse(c.bucket.slice(0, 10) + "T00:00:00Z") - Date.parse(start + "T00:00:00Z")) /
        (7 * 86400000));
      if (i >= 0 && i < 52) counts[i] += c.count;
    });
    return counts;
  }

  window.compstatCommon = { translator: translator, el: el, pad2: pad2, addDays: addDays, dow: dow,
                            duration: duration, weekly: weekly };
})();
