/*
 * compstatd dashboard: the admin page, for an agency's admin of the whole
 * agency (docs/API.md, "The admin page's routes").
 *
 * People (create -- showing the one-time set-password link --, disable,
 * enable, reset the password or the second factor), machine tokens (list,
 * revoke), and the agency's language, second-factor rule and own words
 * (what it calls a precinct and its area levels, its categories' names).
 * Everything goes through the dashboard's api() (app.js: the token or the
 * session cookie with its CSRF token); the server decides what is allowed
 * and every change is audited there.
 *
 * Its texts are in ADMIN_STRINGS below, in English and Spanish, in the
 * dashboard's language (window.dashboard.lang).
 */
(function () {
  "use strict";

  var ADMIN_STRINGS = {
    en: {
      adminOpen: "Administration", adminBack: "Back to the dashboard",
      adminHead: "Administration",
      usersHead: "People", tokensHead: "Machine tokens", agencyHead: "The agency",
      categoriesHead: "Categories' names",
      colLogin: "Login", colName: "Name", colRole: "Role", colScope: "Sees", colStatus: "Status",
      colPassword: "Password", colMfa: "Second factor", colLastSignIn: "Last sign-in",
      colActions: "", colId: "Id", colLabel: "Label", colCreated: "Created", colCode: "Code",
      colSpanish: "Spanish", colEnglish: "English",
      wholeAgency: "the whole agency", active: "active", disabled: "disabled",
      revoked: "revoked {when}", set: "set", notSet: "not set", enrolled: "enrolled",
      notEnrolled: "none", never: "never",
      disable: "Disable", enable: "Enable", resetPassword: "Reset password",
      resetMfa: "Reset second factor", revoke: "Revoke",
      confirmDisable: "Disable {login}? Their open sessions end now.",
      confirmResetPassword: "Reset {login}'s password? Their sessions end and a new link is made.",
      confirmResetMfa: "Take away {login}'s second factor? Their sessions end.",
      confirmRevoke: "Revoke token {id} ({label})? Whatever uses it is refused from now on.",
      newUserHead: "A new person", create: "Create",
      precinctsHelp: "Precincts (none chosen: the whole agency)",
      areasHelp: "Or areas (their precincts, as the areas change)",
      linkFor: "Send this link to {name} ({login}): it sets their password once, until {until}.",
      roles: { commander: "commander", supervisor: "supervisor", admin: "admin", dispatch: "dispatch" },
      language: "Language", languageNone: "the browser's", mfaRequired: "Every person signs in with a second factor",
      precinctWord: "What the agency calls a precinct", levelWord: "Area level “{level}”",
      save: "Save", saved: "Saved.", failed: "Not done: {message}",
      noTokens: "No machine tokens.", noUsers: "No people yet."
    },
    es: {
      adminOpen: "Administración", adminBack: "Volver al tablero",
      adminHead: "Administración",
      usersHead: "Personas", tokensHead: "Tokens de sistemas", agencyHead: "La institución",
      categoriesHead: "Nombres de las categorías",
      colLogin: "Usuario", colName: "Nombre", colRole: "Rol", colScope: "Ve", colStatus: "Estado",
      colPassword: "Contraseña", colMfa: "Segundo factor", colLastSignIn: "Último ingreso",
      colActions: "", colId: "Id", colLabel: "Etiqueta", colCreated: "Creado", colCode: "Código",
      colSpanish: "Español", colEnglish: "Inglés",
      wholeAgency: "toda la institución", active: "activo", disabled: "desactivado",
      revoked: "revocado {when}", set: "definida", notSet: "sin definir", enrolled: "configurado",
      notEnrolled: "ninguno", never: "nunca",
      disable: "Desactivar", enable: "Activar", resetPassword: "Restablecer contraseña",
      resetMfa: "Restablecer segundo factor", revoke: "Revocar",
      confirmDisable: "¿Desactivar a {login}? Sus sesiones abiertas terminan ahora.",
      confirmResetPassword: "¿Restablecer la contraseña de {login}? Sus sesiones terminan y se crea un enlace nuevo.",
      confirmResetMfa: "¿Quitar el segundo factor de {login}? Sus sesiones terminan.",
      confirmRevoke: "¿Revocar el token {id} ({label})? Lo que lo use queda rechazado desde ahora.",
      newUserHead: "Una persona nueva", create: "Crear",
      precinctsHelp: "Delegaciones (ninguna elegida: toda la institución)",
      areasHelp: "O áreas (sus delegaciones, según cambien las áreas)",
      linkFor: "Envíe este enlace a {name} ({login}): define su contraseña una vez, hasta el {until}.",
      roles: { commander: "comandante", supervisor: "supervisor", admin: "administrador", dispatch: "despacho" },
      language: "Idioma", languageNone: "el del navegador", mfaRequired: "Toda persona ingresa con un segundo factor",
      precinctWord: "Cómo llama la institución a una delegación", levelWord: "Nivel de área «{level}»",
      save: "Guardar", saved: "Guardado.", failed: "No se hizo: {message}",
      noTokens: "No hay tokens de sistemas.", noUsers: "Todavía no hay personas."
    }
  };

  var D = window.dashboard;
  var LANG = D.lang, STR = ADMIN_STRINGS[LANG] || ADMIN_STRINGS.en;
  /* The keys a table lacks join the dashboard's list (the browser test wants none). */
  Object.keys(ADMIN_STRINGS).forEach(function (l) {
    Object.keys(ADMIN_STRINGS.en).forEach(function (k) {
      if (ADMIN_STRINGS[l][k] === undefined) D.missingStrings.push("admin " + l + ":" + k);
    });
  });
  D.adminStrings = ADMIN_STRINGS;

  var t = window.compstatCommon.translator(STR);
  function $(id) { return document.getElementById(id); }
  var el = D.el, api = D.api;
  var S = {}; /* the agency as read, and its area levels */

  function when(iso) { return iso ? D.fmtDateTime(iso) : t("never"); }
  function scope(x) {
    var parts = (x.precincts || []).concat(x.areas || []);
    return parts.length ? parts.join(", ") : t("wholeAgency");
  }
  function button(text, cls, onClick) {
    var b = el("button", cls || "secondary", text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function table(id, heads) {
    var tb = $(id);
    tb.textContent = "";
    var tr = el("tr");
    heads.forEach(function (h) { tr.appendChild(el("th", null, t(h))); });
    var thead = el("thead");
    thead.appendChild(tr);
    tb.appendChild(thead);
    var body = el("tbody");
    tb.appendChild(body);
    return body;
  }
  function say(id, text, bad) {
    var p = $(id);
    p.textContent = text;
    p.className = bad ? "error" : "note";
  }
  function failed(id) {
    return function (e) { say(id, t("failed", { message: e.message || String(e) }), true); };
  }

  /* ---- people -------------------------------------------------------- */

  function showLink(r) {
    var box = $("admin-link");
    box.hidden = false;
    $("admin-link-text").textContent = t("linkFor", { name: r.user.name, login: r.user.login,
                                                      until: when(r.link_expires_at) });
    $("admin-link-url").value = location.origin + r.set_password_path;
    $("admin-link-url").select();
  }

  function userAction(u, action, confirmKey) {
    if (confirmKey && !window.confirm(t(confirmKey, { login: u.login }))) return;
    api("/v1/users/" + encodeURIComponent(u.login) + "/" + action, { method: "POST" }).then(function (r) {
      if (r.set_password_path) showLink(r);
      say("admin-users-msg", t("saved"));
      loadUsers();
    }).catch(failed("admin-users-msg"));
  }

  function loadUsers() {
    return api("/v1/users").then(function (r) {
      var body = table("admin-users", ["colLogin", "colName", "colRole", "colScope", "colStatus",
                                       "colPassword", "colMfa", "colLastSignIn", "colActions"]);
      if (!r.users.length) body.appendChild(el("tr")).appendChild(el("td", "empty", t("noUsers")));
      r.users.forEach(function (u) {
        var tr = el("tr");
        tr.setAttribute("data-login", u.login);
        [u.login, u.name, STR.roles[u.role] || u.role, scope(u), u.disabled ? t("disabled") : t("active"),
         u.password_set ? t("set") : t("notSet"), u.mfa_enrolled ? t("enrolled") : t("notEnrolled"),
         when(u.last_sign_in)].forEach(function (v, i) {
          tr.appendChild(el("td", i === 4 && u.disabled ? "off" : null, v));
        });
        var td = el("td", "actions");
        var me = D.me && D.me.user && D.me.user.login === u.login;
        if (u.disabled) td.appendChild(button(t("enable"), "act-enable", function () { userAction(u, "enable", null); }));
        else if (!me) td.appendChild(button(t("disable"), "act-disable", function () { userAction(u, "disable", "confirmDisable"); }));
        td.appendChild(button(t("resetPassword"), "act-reset-password", function () {
          userAction(u, "reset-password", "confirmResetPassword");
        }));
        if (u.mfa_enrolled) td.appendChild(button(t("resetMfa"), "act-reset-mfa", function () {
          userAction(u, "reset-mfa", "confirmResetMfa");
        }));
        tr.appendChild(td);
        body.appendChild(tr);
      });
    }).catch(failed("admin-users-msg"));
  }

  function createUser() {
    var picked = function (id) {
      return Array.prototype.filter.call($(id).options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    };
    var precincts = picked("nu-precincts"), areas = picked("nu-areas");
    var body = { login: $("nu-login").value.trim(), name: $("nu-name").value.trim(), role: $("nu-role").value };
    if (precincts.length) body.precincts = precincts;
    if (areas.length) body.areas = areas;
    api("/v1/users", { method: "POST", body: body }).then(function (r) {
      showLink(r);
      $("nu-login").value = $("nu-name").value = "";
      ["nu-precincts", "nu-areas"].forEach(function (id) {
        Array.prototype.forEach.call($(id).options, function (o) { o.selected = false; });
      });
      say("admin-users-msg", t("saved"));
      loadUsers();
    }).catch(failed("admin-users-msg"));
  }

  /* ---- tokens -------------------------------------------------------- */

  function loadTokens() {
    return api("/v1/tokens").then(function (r) {
      var body = table("admin-tokens", ["colId", "colLabel", "colRole", "colScope", "colCreated",
                                        "colStatus", "colActions"]);
      if (!r.tokens.length) body.appendChild(el("tr")).appendChild(el("td", "empty", t("noTokens")));
      r.tokens.forEach(function (k) {
        var tr = el("tr");
        tr.setAttribute("data-token", String(k.id));
        [k.id, k.label || "", STR.roles[k.role] || k.role, scope(k), when(k.created_at),
         k.revoked_at ? t("revoked", { when: when(k.revoked_at) }) : t("active")].forEach(function (v) {
          tr.appendChild(el("td", null, v));
        });
        var td = el("td", "actions");
        if (!k.revoked_at) td.appendChild(button(t("revoke"), "act-revoke", function () {
          if (!window.confirm(t("confirmRevoke", { id: k.id, label: k.label || "" }))) return;
          api("/v1/tokens/" + k.id, { method: "DELETE" }).then(function () {
            say("admin-tokens-msg", t("saved"));
            loadTokens();
          }).catch(failed("admin-tokens-msg"));
        }));
        tr.appendChild(td);
        body.appendChild(tr);
      });
    }).catch(failed("admin-tokens-msg"));
  }

  /* ---- the agency's language, rule and words -------------------------- */

  function namesInputs(prefix, names) {
    var span = el("span", "names");
    ["es", "en"].forEach(function (l) {
      var i = el("input");
      i.id = prefix + "-" + l;
      i.maxLength = 64;
      i.placeholder = l === "es" ? t("colSpanish") : t("colEnglish");
      i.setAttribute("aria-label", i.placeholder);
      i.value = names && names[l] ? names[l] : "";
      span.appendChild(i);
    });
    return span;
  }
  function namesOf(prefix) {
    var o = {};
    ["es", "en"].forEach(function (l) {
      var v = $(prefix + "-" + l).value.trim();
      if (v) o[l] = v;
    });
    return o;
  }

  function loadAgency() {
    var code = D.me.agency.code;
    return Promise.all([api("/v1/agencies/" + encodeURIComponent(code)), api("/v1/areas"),
                        api("/v1/categories")]).then(function (r) {
      var a = r[0], words = a.words || {};
      S.agency = a;
      $("ag-language").value = a.language || "";
      $("ag-mfa").checked = !!a.mfa_required;
      var box = $("ag-words");
      box.textContent = "";
      var row = el("label", "word");
      row.appendChild(el("span", null, t("precinctWord")));
      row.appendChild(namesInputs("w-precinct", words.precinct));
      box.appendChild(row);
      var levels = {};
      (r[1].areas || []).forEach(function (x) { levels[x.level] = true; });
      Object.keys(words.area_levels || {}).forEach(function (l) { levels[l] = true; });
      S.levels = Object.keys(levels).sort();
      S.levels.forEach(function (l, i) {
        var lr = el("label", "word");
        lr.appendChild(el("span", null, t("levelWord", { level: l })));
        lr.appendChild(namesInputs("w-level-" + i, (words.area_levels || {})[l]));
        box.appendChild(lr);
      });
      var body = table("admin-categories", ["colCode", "colSpanish", "colEnglish", "colActions"]);
      (r[2].categories || []).forEach(function (c, i) {
        var tr = el("tr");
        tr.setAttribute("data-category", c.code);
        tr.appendChild(el("td", null, c.code));
        var ins = namesInputs("c-" + i, c.names);
        Array.prototype.slice.call(ins.children).forEach(function (inp) {
          var td = el("td");
          td.appendChild(inp);
          tr.appendChild(td);
        });
        var td = el("td", "actions");
        td.appendChild(button(t("save"), "act-save-category", function () {
          var names = namesOf("c-" + i);
          api("/v1/categories/" + encodeURIComponent(c.code),
              { method: "PUT", body: { names: Object.keys(names).length ? names : null } })
            .then(function () { say("admin-categories-msg", t("saved")); })
            .catch(failed("admin-categories-msg"));
        }));
        tr.appendChild(td);
        body.appendChild(tr);
      });
    }).catch(failed("admin-agency-msg"));
  }
  function saveAgency() {
    var a = S.agency, words = {}, p = namesOf("w-precinct"), levels = {};
    if (Object.keys(p).length) words.precinct = p;
    S.levels.forEach(function (l, i) {
      var n = namesOf("w-level-" + i);
      if (Object.keys(n).length) levels[l] = n;
    });
    if (Object.keys(levels).length) words.area_levels = levels;
    var body = { name: a.name, time_zone: a.time_zone, language: $("ag-language").value || null,
                 mfa_required: $("ag-mfa").checked, words: words };
    api("/v1/agencies/" + encodeURIComponent(a.code), { method: "PUT", body: body }).then(function (r) {
      S.agency = r;
      say("admin-agency-msg", t("saved"));
    }).catch(failed("admin-agency-msg"));
  }

  /* ---- the page -------------------------------------------------------- */

  function fill() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-admin-str]"), function (e) {
      e.textContent = t(e.getAttribute("data-admin-str"));
    });
    var roles = $("nu-role");
    roles.textContent = "";
    ["commander", "supervisor", "admin"].forEach(function (r) {
      var o = el("option", null, STR.roles[r]);
      o.value = r;
      roles.appendChild(o);
    });
    var ps = $("nu-precincts");
    ps.textContent = "";
    Object.keys(D.precinctByCode).sort().forEach(function (c) {
      var p = D.precinctByCode[c];
      var o = el("option", null, (p.name || c) + " · " + c);
      o.value = c;
      ps.appendChild(o);
    });
    /* Areas: the precincts below them, now and as the areas change. */
    var as = $("nu-areas");
    as.textContent = "";
    (D.areas || []).slice().sort(function (a, b) { return a.name.localeCompare(b.name, LANG); }).forEach(function (a) {
      var w = D.words && D.words.area_levels && D.words.area_levels[a.level];
      var o = el("option", null, a.name + " · " + (w && w[LANG] ? w[LANG] : a.level) + " · " + a.code);
      o.value = a.code;
      as.appendChild(o);
    });
    $("nu-areas-label").hidden = !(D.areas && D.areas.length);
    var lang = $("ag-language");
    lang.textContent = "";
    [["", t("languageNone")], ["es", "Español"], ["en", "English"]].forEach(function (x) {
      var o = el("option", null, x[1]);
      o.value = x[0];
      if (x[0]) o.lang = x[0]; /* a language's own name, in it */
      lang.appendChild(o);
    });
  }

  function open(on) {
    $("admin").hidden = !on;
    document.querySelector("#app > main").hidden = on;
    $("admin-open").textContent = on ? t("adminBack") : t("adminOpen");
    if (!on) return;
    fill();
    $("admin-link").hidden = true;
    ["admin-users-msg", "admin-tokens-msg", "admin-agency-msg", "admin-categories-msg"].forEach(function (id) {
      say(id, "");
    });
    loadUsers();
    loadTokens();
    loadAgency();
  }

  /* Only an admin of the whole agency has this page (the server refuses the rest). */
  D.onSignIn = function (me) {
    var show = me.role === "admin" && me.precincts === null && !!me.agency;
    $("admin-open").hidden = !show;
    $("admin-open").textContent = t("adminOpen");
    if (!show) open(false);
  };
  D.onSignOut = function () {
    $("admin").hidden = true;
    $("admin-open").hidden = true;
    document.querySelector("#app > main").hidden = false;
  };

  document.addEventListener("DOMContentLoaded", function () {
    $("admin-open").addEventListener("click", function () { open($("admin").hidden); });
    $("nu-form").addEventListener("submit", function (e) { e.preventDefault(); createUser(); });
    $("ag-form").addEventListener("submit", function (e) { e.preventDefault(); saveAgency(); });
  });
})();
