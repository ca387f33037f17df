/*
 * compstatd dashboard: the numbers of the API, drawn, and kept live.
 *
 * Everything shown comes from the API with the token the user signed in
 * with: the COMPSTAT sheet (/v1/compstat), the hotspot map (/v1/hotspots
 * over /v1/precincts?format=geojson), the weekly trend (/v1/cube), the
 * response-time table (/v1/response-times) and the live feed
 * (/v1/stream, read with fetch so the token travels in a header, resumed
 * with Last-Event-ID). Stream events schedule a re-read of the numbers they
 * change, so the page never computes a count of its own.
 *
 * Every text a person reads is in STRINGS below, in English and Spanish
 * (another language is one more table of the same keys). index.html marks its texts with data-str*
 * attributes naming keys of the table.
 */
(function () {
  "use strict";

  /* ---- strings -------------------------------------------------------- */

  var STRINGS = {
    en: {
      /* index.html */
      signinLead: "COMPSTAT dashboard. Sign in with your login and password.",
      tokenLead: "COMPSTAT dashboard. Sign in with an API token (commander, supervisor or admin).",
      token: "Token", signIn: "Sign in", signOut: "Sign out",
      /* people signing in (sign-in, set-password and second-factor pages) */
      login: "Login", password: "Password",
      otpLabel: "Code from your authenticator app (or a recovery code)",
      useToken: "Sign in with an API token instead",
      usePassword: "Sign in with your login and password instead",
      setpwLead: "Choose your password.",
      setpwRule: "At least 12 characters; not your login or your name. A phrase of several words is " +
        "easy to remember and hard to guess.",
      newPassword: "New password", repeatPassword: "Repeat it", setPassword: "Set password",
      setpwMismatch: "The two passwords differ.",
      setpwDone: "Your password is set. Sign in with it.",
      setpwLink: "This link has been used, has expired or was replaced by a newer one: ask your " +
        "administrator for a new one.",
      enrolHead: "Second factor",
      enrolLead: "Scan this code with an authenticator app (or type the key), then enter the code it shows.",
      enrolRequired: "Your agency requires a second factor: set it up to continue.",
      enrolKey: "Key", enrolCode: "Code", enrolConfirm: "Confirm", enrolLater: "Not now",
      recoveryLead: "Your recovery codes: each signs you in once if you lose your phone. Keep them " +
        "somewhere safe; they are not shown again.",
      recoveryDone: "I have kept them: continue",
      mfaOpen: "Second factor", mfaDone: "The second factor is set up: it is asked at every sign-in.",
      wrongLogin: "Wrong login or password.",
      otpNeeded: "Enter the code from your authenticator app.",
      otpWrong: "That code is wrong or was already used.",
      slowDown: "Too many failed attempts: try again in {s} s.",
      sessionExpired: "Your session has ended (unused for too long, open too long in all, or ended by an " +
        "administrator). Sign in again.",
      signedOutRefused: "You have been signed out: your account was disabled or reset, or your session ended.",
      idleOut: "Signed out after {min} minutes without activity.",
      weakPassword: "This password does not meet the rule: at least 12 characters, not your login or your name.",
      precinct: "Precinct", weekEnding: "Week ending", offense: "Offense", hotspots: "Hotspots",
      cell: "Cell", days7: "7 days", days28: "28 days", days90: "90 days", days365: "365 days",
      prevWeek: "Previous week", nextWeek: "Next week",
      fdr: "FDR",
      fdrTitle: "Correct the hotspot classes for testing many cells at once " +
        "(Benjamini–Hochberg false discovery rate)",
      liveTitle: "live feed", live: "live", offline: "offline", dismiss: "Dismiss",
      hotspotsHead: "Hotspots", trendHead: "Incidents by week", rtHead: "Response times",
      feedHead: "Live feed",
      trendThis: "the 52 weeks to the chosen week",
      trendPrior: "the 52 weeks a year before",
      trendPriorNone: "· no line for the 52 weeks a year before: no data is held for them (the data " +
        "does not reach back that far)",
      rtNote: "Durations as m:ss, or h:mm:ss from an hour on. p50 is the median, p90 the 90th " +
        "percentile; n counts the calls holding both times of the interval. Priority 0 is the most urgent.",
      mapEmpty: "No incidents in this window",
      mapNoPoints: "The window counts {incidents}, none with a location in these cells: nothing to " +
        "map (the data may have no coordinates)",
      feedEmpty: "No live incidents yet",
      /* app.js */
      dataAsOf: "data as of {when}",
      asOfNone: "data as of —",
      allPrecincts: "All precincts", allPrecinctsLower: "all precincts",
      allOffenses: "All offenses", allOffensesLower: "all offenses", allCalls: "all calls",
      allOfCategory: "{category}: all offenses",
      precinctName: "{name} · {code}",
      offenseName: "{name} ({code})",
      precinctCaption: "{name} ({code})",
      week: "Week", weekToDate: "Week to date", d28: "28 days", ytd: "Year to date",
      category: "Category", pctChg: "% chg", noData: "no data",
      noDataTitle: "No incident at all is held for {from} to {to}: the data does not reach back " +
        "that far, so nothing is compared.",
      periodTitle: "{from} to {to}, against {pfrom} to {pto}",
      zTitle: "z = {z}, p = {p}: {verdict}",
      significant: "significant", notSignificant: "not significant",
      noComparison: "no data a year earlier, nothing compared",
      pBelow: "< 0.0001",
      compstatCaption: "{precinct} · week ending {date} · {filter}",
      compstatLegend: "Prior: the same dates a year earlier. {up} / {down}: a significant rise / fall " +
        "({test}, p < {alpha}); z and p in each count's tooltip.",
      boldRed: "Bold red", boldBlue: "bold blue",
      compstatLegendNoData: " “no data”: the agency holds no incident at all in those dates a year " +
        "earlier (the data does not reach back that far), so nothing is compared or highlighted.",
      mapCaption: "{days} days to {date} · {precinct} · {filter} · {cells}, {hot} hot",
      fdrOn: "Classes corrected for testing many cells at once: Benjamini–Hochberg false discovery " +
        "rate (99 %: 1 %, 95 %: 5 %, 90 %: 10 %). Untick FDR for the uncorrected classes.",
      fdrOff: "Classes not corrected for testing many cells at once: among thousands of cells some " +
        "are flagged by chance. Tick FDR for the Benjamini–Hochberg correction.",
      trendCaption: "52 weeks to {date} · {precinct} · {filter}: {total}, {last} in the last week",
      rtCaption: "28 days to {date} · {precinct} · {calls} (response times have no offense filter) · by priority",
      feedCaption: "{precinct} · {filter} · newest first, times in {zone}",
      priority: "Priority", calls: "Calls", queue: "Queue", response: "Response", travel: "Travel",
      onScene: "On scene", none: "none", noDataShort: "no data",
      rtTitle: "{stat} {value} (mean {mean}, max {max}, n {n})",
      rtEmpty: "No calls with lifecycle times in these 28 days.",
      updated: "updated, {status}", noPrecinct: "no precinct",
      noticePrecinct: "This link names precinct {code}, which this sign-in may not see (or which does " +
        "not exist). Showing {shown} instead.",
      noticeOffense: "This link names the offense filter {code}, which does not exist here. " +
        "Showing {shown} instead.",
      tokenRefused: "The token was refused (expired or revoked?).",
      noDispatch: "a dispatch token cannot read statistics",
      incidents: { one: "{n} incident", other: "{n} incidents" },
      cells: { one: "{n} cell", other: "{n} cells" },
      cellTip: "{incidents} — {klass} (z = {z})",
      months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
      weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
      dayFmt: "{d} {mon} {y}",
      dateTimeFmt: "{wd} {d} {mon} {y} {hh}:{mm}",
      asOfFmt: "{d} {mon} {y}, {hh}:{mm}:{ss} {zone}",
      classes: {
        hot_99: "Hot spot, 99 % confidence", hot_95: "Hot spot, 95 % confidence",
        hot_90: "Hot spot, 90 % confidence", none: "Not significant",
        cold_90: "Cold spot, 90 % confidence", cold_95: "Cold spot, 95 % confidence",
        cold_99: "Cold spot, 99 % confidence"
      },
      categories: {
        murder: "Murder", rape: "Rape", robbery: "Robbery", felony_assault: "Felony assault",
        burglary: "Burglary", grand_larceny: "Grand larceny",
        grand_larceny_auto: "Grand larceny auto", other: "Other", total: "Total"
      },
      language: "Language",
      testName: "exact conditional binomial test of the two counts, two-sided",
      /* drill-down and rate maps */
      packetOpen: "Packet", packetTitle: "The weekly COMPSTAT packet, to print (a page per precinct)",
      drillTitle: "The incidents behind {count}",
      drillCaption: "{what} · {from} to {to} · {precinct} · {filter}",
      drillWeek: "the week of {date}", drillCell: "a map cell", drillPrior: "{period}, a year earlier",
      drillArea: "{name}",
      drillMore: "More", drillCsv: "Download CSV", drillShown: "{shown} of {n} shown",
      drillLoading: "Loading…",
      drillForbidden: "What is shared with you here is counts only: the incidents behind a count are not shown.",
      drillOpen: "Click to list these incidents",
      colWhen: "When", colOffense: "Offense", colPrecinct: "Precinct", colAddress: "Address",
      colStatus: "Status",
      statuses: { open: "open", dispatched: "dispatched", en_route: "en route", on_scene: "on scene",
                  cleared: "cleared", unfounded: "unfounded", cancelled: "cancelled" },
      unassigned: "unassigned",
      mapMode: "Map", modeHotspots: "Hotspots", modeCount: "Count", modeRate: "Rate per 100,000",
      mapBy: "By", byPrecinct: "precinct",
      noPopulation: "no population (no rate)", choroNone: "none in the window",
      choroTip: "{name}: {count}, population {pop}, {rate} per 100,000",
      choroTipNoPop: "{name}: {count} (no population: no rate)",
      choroCaption: "{days} days to {date} · {filter} · {what}",
      choroArea: "each precinct coloured with its {level}",
      choroClass: "{from} – {to}",
      choroNoArea: "{name}: in no {level}", choroNoAreaKey: "in no {level}",
    },
    es: {
      /* index.html */
      signinLead: "Tablero COMPSTAT. Ingrese con su usuario y contraseña.",
      tokenLead: "Tablero COMPSTAT. Ingrese con un token de la API (comandante, supervisor o administrador).",
      token: "Token", signIn: "Ingresar", signOut: "Salir",
      /* personas que ingresan (ingreso, contraseña y segundo factor) */
      login: "Usuario", password: "Contraseña",
      otpLabel: "Código de su aplicación autenticadora (o un código de recuperación)",
      useToken: "Ingresar con un token de la API",
      usePassword: "Ingresar con usuario y contraseña",
      setpwLead: "Elija su contraseña.",
      setpwRule: "Al menos 12 caracteres; que no sea su usuario ni su nombre. Una frase de varias palabras " +
        "es fácil de recordar y difícil de adivinar.",
      newPassword: "Contraseña nueva", repeatPassword: "Repítala", setPassword: "Guardar contraseña",
      setpwMismatch: "Las dos contraseñas no coinciden.",
      setpwDone: "Su contraseña quedó guardada. Ingrese con ella.",
      setpwLink: "Este enlace ya se usó, venció o fue reemplazado por uno más nuevo: pida uno nuevo a " +
        "su administrador.",
      enrolHead: "Segundo factor",
      enrolLead: "Escanee este código con una aplicación autenticadora (o escriba la clave) y luego " +
        "ingrese el código que muestra.",
      enrolRequired: "Su institución exige un segundo factor: configúrelo para continuar.",
      enrolKey: "Clave", enrolCode: "Código", enrolConfirm: "Confirmar", enrolLater: "Ahora no",
      recoveryLead: "Sus códigos de recuperación: cada uno le permite ingresar una vez si pierde el " +
        "teléfono. Guárdelos en un lugar seguro; no se muestran de nuevo.",
      recoveryDone: "Ya los guardé: continuar",
      mfaOpen: "Segundo factor", mfaDone: "El segundo factor quedó configurado: se pide en cada ingreso.",
      wrongLogin: "Usuario o contraseña incorrectos.",
      otpNeeded: "Ingrese el código de su aplicación autenticadora.",
      otpWrong: "El código es incorrecto o ya se usó.",
      slowDown: "Demasiados intentos fallidos: intente de nuevo en {s} s.",
      sessionExpired: "Su sesión terminó (sin uso por mucho tiempo, abierta demasiado tiempo o cerrada por " +
        "un administrador). Ingrese de nuevo.",
      signedOutRefused: "Se cerró su sesión: su cuenta fue desactivada o restablecida, o la sesión terminó.",
      idleOut: "Sesión cerrada tras {min} minutos sin actividad.",
      weakPassword: "La contraseña no cumple la regla: al menos 12 caracteres, que no sea su usuario ni su nombre.",
      precinct: "Delegación", weekEnding: "Semana que termina", offense: "Delito", hotspots: "Puntos calientes",
      cell: "Celda", days7: "7 días", days28: "28 días", days90: "90 días", days365: "365 días",
      prevWeek: "Semana anterior", nextWeek: "Semana siguiente",
      fdr: "FDR",
      fdrTitle: "Corregir las clases de puntos calientes por probar muchas celdas a la vez " +
        "(tasa de falsos descubrimientos de Benjamini–Hochberg)",
      liveTitle: "feed en vivo", live: "en vivo", offline: "sin conexión", dismiss: "Cerrar",
      hotspotsHead: "Puntos calientes", trendHead: "Incidentes por semana", rtHead: "Tiempos de respuesta",
      feedHead: "En vivo",
      trendThis: "las 52 semanas hasta la semana elegida",
      trendPrior: "las 52 semanas un año antes",
      trendPriorNone: "· sin línea para las 52 semanas un año antes: no hay datos de ellas (los datos " +
        "no llegan tan atrás)",
      rtNote: "Duraciones en m:ss, o h:mm:ss desde una hora. p50 es la mediana, p90 el percentil 90; " +
        "n cuenta las llamadas con las dos horas del intervalo. La prioridad 0 es la más urgente.",
      mapEmpty: "No hay incidentes en este periodo",
      mapNoPoints: "El periodo cuenta {incidents}, ninguno con ubicación en estas celdas: nada que " +
        "mapear (los datos pueden no tener coordenadas)",
      feedEmpty: "Todavía no hay incidentes en vivo",
      /* app.js */
      dataAsOf: "datos al {when}",
      asOfNone: "datos al —",
      allPrecincts: "Todas las delegaciones", allPrecinctsLower: "todas las delegaciones",
      allOffenses: "Todos los delitos", allOffensesLower: "todos los delitos", allCalls: "todas las llamadas",
      allOfCategory: "{category}: todos los delitos",
      precinctName: "{name} · {code}",
      offenseName: "{name} ({code})",
      precinctCaption: "{name} ({code})",
      week: "Semana", weekToDate: "Semana en curso", d28: "28 días", ytd: "Año en curso",
      category: "Categoría", pctChg: "% var.", noData: "sin datos",
      noDataTitle: "No hay ningún incidente del {from} al {to}: los datos no llegan tan atrás, " +
        "así que no se compara nada.",
      periodTitle: "{from} a {to}, frente a {pfrom} a {pto}",
      zTitle: "z = {z}, p = {p}: {verdict}",
      significant: "significativo", notSignificant: "no significativo",
      noComparison: "sin datos un año antes, no se compara",
      pBelow: "< 0,0001",
      compstatCaption: "{precinct} · semana que termina el {date} · {filter}",
      compstatLegend: "Anterior: las mismas fechas un año antes. {up} / {down}: un aumento / una baja " +
        "significativos ({test}, p < {alpha}); z y p en la ayuda de cada cifra.",
      boldRed: "Rojo en negrita", boldBlue: "azul en negrita",
      compstatLegendNoData: " «sin datos»: la institución no tiene ningún incidente en esas fechas un año " +
        "antes (los datos no llegan tan atrás), así que no se compara ni se resalta nada.",
      mapCaption: "{days} días al {date} · {precinct} · {filter} · {cells}, {hot} calientes",
      fdrOn: "Clases corregidas por probar muchas celdas a la vez: tasa de falsos descubrimientos de " +
        "Benjamini–Hochberg (99 %: 1 %, 95 %: 5 %, 90 %: 10 %). Desmarque FDR para las clases sin corregir.",
      fdrOff: "Clases sin corregir por probar muchas celdas a la vez: entre miles de celdas algunas " +
        "salen marcadas por azar. Marque FDR para la corrección de Benjamini–Hochberg.",
      trendCaption: "52 semanas al {date} · {precinct} · {filter}: {total}, {last} en la última semana",
      rtCaption: "28 días al {date} · {precinct} · {calls} (los tiempos de respuesta no tienen filtro de " +
        "delito) · por prioridad",
      feedCaption: "{precinct} · {filter} · los más recientes primero, horas en {zone}",
      priority: "Prioridad", calls: "Llamadas", queue: "Espera", response: "Respuesta", travel: "Traslado",
      onScene: "En el lugar", none: "ninguno", noDataShort: "sin datos",
      rtTitle: "{stat} {value} (media {mean}, máx. {max}, n {n})",
      rtEmpty: "No hay llamadas con horas del ciclo en estos 28 días.",
      updated: "actualizado, {status}", noPrecinct: "sin delegación",
      noticePrecinct: "Este enlace nombra la delegación {code}, que este ingreso no puede ver (o que no " +
        "existe). Se muestra {shown} en su lugar.",
      noticeOffense: "Este enlace nombra el filtro de delito {code}, que no existe aquí. " +
        "Se muestra {shown} en su lugar.",
      tokenRefused: "El token fue rechazado (¿vencido o revocado?).",
      noDispatch: "un token de despacho no puede leer estadísticas",
      incidents: { one: "{n} incidente", other: "{n} incidentes" },
      cells: { one: "{n} celda", other: "{n} celdas" },
      cellTip: "{incidents} — {klass} (z = {z})",
      months: ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
      weekdays: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
      dayFmt: "{d} {mon} {y}",
      dateTimeFmt: "{wd} {d} {mon} {y} {hh}:{mm}",
      asOfFmt: "{d} {mon} {y}, {hh}:{mm}:{ss} {zone}",
      classes: {
        hot_99: "Punto caliente, 99 % de confianza", hot_95: "Punto caliente, 95 % de confianza",
        hot_90: "Punto caliente, 90 % de confianza", none: "No significativo",
        cold_90: "Punto frío, 90 % de confianza", cold_95: "Punto frío, 95 % de confianza",
        cold_99: "Punto frío, 99 % de confianza"
      },
      categories: {
        murder: "Homicidio", rape: "Violación", robbery: "Robo", felony_assault: "Agresión grave",
        burglary: "Robo en vivienda o local", grand_larceny: "Hurto mayor",
        grand_larceny_auto: "Robo de vehículo", other: "Otros", total: "Total"
      },
      language: "Idioma",
      testName: "prueba binomial condicional exacta de los dos recuentos, bilateral",
      /* desglose y mapas de tasas */
      packetOpen: "Informe", packetTitle: "El informe COMPSTAT semanal, para imprimir (una página por delegación)",
      drillTitle: "Los incidentes de {count}",
      drillCaption: "{what} · {from} al {to} · {precinct} · {filter}",
      drillWeek: "la semana del {date}", drillCell: "una celda del mapa", drillPrior: "{period}, un año antes",
      drillArea: "{name}",
      drillMore: "Más", drillCsv: "Descargar CSV", drillShown: "{shown} de {n} mostrados",
      drillLoading: "Cargando…",
      drillForbidden: "Lo que se comparte con usted aquí son solo conteos: los incidentes de un conteo no se muestran.",
      drillOpen: "Clic para ver estos incidentes",
      colWhen: "Fecha", colOffense: "Delito", colPrecinct: "Delegación", colAddress: "Dirección",
      colStatus: "Estado",
      statuses: { open: "abierto", dispatched: "despachado", en_route: "en camino", on_scene: "en el sitio",
                  cleared: "cerrado", unfounded: "infundado", cancelled: "cancelado" },
      unassigned: "sin asignar",
      mapMode: "Mapa", modeHotspots: "Puntos calientes", modeCount: "Conteo", modeRate: "Tasa por 100.000",
      mapBy: "Por", byPrecinct: "delegación",
      noPopulation: "sin población (sin tasa)", choroNone: "ninguno en el periodo",
      choroTip: "{name}: {count}, población {pop}, {rate} por 100.000",
      choroTipNoPop: "{name}: {count} (sin población: sin tasa)",
      choroCaption: "{days} días al {date} · {filter} · {what}",
      choroArea: "cada delegación con el color de su {level}",
      choroClass: "{from} – {to}",
      choroNoArea: "{name}: sin {level}", choroNoAreaKey: "sin {level}",
    }
  };
  /* The language: #lang= in the URL, else the one the person picked (the
     selectors keep it), else the agency's (remembered at sign-in: whoami
     names it), else the browser's first language that has a table, else
     English. */
  var LANG_KEY = "compstatd.lang", AGENCY_LANG_KEY = "compstatd.agencyLang";
  function stored(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  var LANG_PICKED = (function () {
    var asked = new URLSearchParams(location.hash.replace(/^#/, "")).get("lang");
    if (asked && STRINGS[asked]) return asked;
    var kept = stored(LANG_KEY);
    return kept && STRINGS[kept] ? kept : null;
  })();
  var LANG = (function () {
    if (LANG_PICKED) return LANG_PICKED;
    var agency = stored(AGENCY_LANG_KEY);
    if (agency && STRINGS[agency]) return agency;
    var prefs = navigator.languages && navigator.languages.length ? navigator.languages
                                                                 : [navigator.language || "en"];
    for (var i = 0; i < prefs.length; i++) {
      var l = String(prefs[i]).toLowerCase().split("-")[0];
      if (STRINGS[l]) return l;
    }
    return "en";
  })();
  var STR = STRINGS[LANG];

  /* t("key", {name: value}) fills {name} in the string; plural("incidents", n). */
  var C = window.compstatCommon; /* common.js */
  var t = C.translator(STR);
  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(LANG) : null;
  function plural(key, n) {
    var forms = STR[key];
    var form = pluralRules ? pluralRules.select(n) : n === 1 ? "one" : "other";
    return String(forms[form] || forms.other).replace("{n}", fmtN(n));
  }
  /* Numbers as the language writes them (the browser's region when it
     speaks the language: es-CR, en-US). */
  var NUM_LOCALE = (function () {
    var b = String(navigator.language || "");
    return b.toLowerCase().split("-")[0] === LANG ? b : LANG;
  })();
  var numFormats = {};
  function fmtN(n, digits) {
    var k = digits === undefined ? "i" : String(digits);
    if (!numFormats[k]) {
      try {
        numFormats[k] = new Intl.NumberFormat(NUM_LOCALE, digits === undefined ? {} :
          { minimumFractionDigits: digits, maximumFractionDigits: digits });
      } catch (e) {
        numFormats[k] = new Intl.NumberFormat(LANG);
      }
    }
    return numFormats[k].format(n);
  }
  function fmtPct(v) { /* "+12.5%" / "+12,5 %" */
    return (v > 0 ? "+" : "") + fmtN(v, 1) + (LANG === "es" ? " %" : "%");
  }
  function categoryLabel(c) {
    var own = S.categoryNames && S.categoryNames[c];
    if (own && (own[LANG] || own.en || own.es)) return own[LANG] || own.en || own.es;
    if (STR.categories[c]) return STR.categories[c];
    var s = String(c).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  function applyStrings(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-str]"), function (e) {
      e.textContent = t(e.getAttribute("data-str"));
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-str-title]"), function (e) {
      e.title = t(e.getAttribute("data-str-title"));
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-str-aria-label]"), function (e) {
      e.setAttribute("aria-label", t(e.getAttribute("data-str-aria-label")));
    });
    document.documentElement.lang = LANG;
  }

  var TOKEN_KEY = "compstatd.token";
  var CLASSES = [
    ["hot_99", "#b2182b"], ["hot_95", "#ef8a62"], ["hot_90", "#fddbc7"], ["none", "#d9d9d9"],
    ["cold_90", "#d1e5f0"], ["cold_95", "#67a9cf"], ["cold_99", "#2166ac"]
  ];
  var COLOUR = {};
  CLASSES.forEach(function (c) { COLOUR[c[0]] = c[1]; });
  /* The COMPSTAT report's order of categories (then the agency's own, by name). */
  var CATEGORY_ORDER = ["murder", "rape", "robbery", "felony_assault", "burglary", "grand_larceny",
    "grand_larceny_auto"];
  var MIN_WEEK = "1900-01-07"; /* a Sunday: the week picker steps from it */

  var S = {
    token: null, me: null, zone: "UTC", precincts: null, offenses: [], offenseByCode: {},
    precinctByCode: {}, map: null, boundaries: null, cells: null, fitted: false,
    stream: null, lastEventId: null, feed: [], asOf: 0,
    timers: {}, seq: {}
  };
  window.dashboard = S; /* for the browser tests and the curious */
  S.strings = STRINGS;
  /* The language shown, and the keys a table lacks (the browser test wants none). */
  S.lang = LANG;
  S.missingStrings = [];
  Object.keys(STRINGS).forEach(function (l) {
    Object.keys(STRINGS.en).forEach(function (k) {
      if (STRINGS[l][k] === undefined) S.missingStrings.push(l + ":" + k);
    });
  });

  function $(id) { return document.getElementById(id); }
  var el = C.el;

  /* ---- API ---------------------------------------------------------- */

  function ApiError(status, body) {
    this.status = status;
    this.code = body && body.error ? body.error.code : "";
    this.field = body && body.error ? body.error.field : "";
    this.message = body && body.error ? body.error.message : "HTTP " + status;
  }

  /* The credentials of a request: the token in a header, or (a person
     signed in) the session cookie the browser sends, with the CSRF token
     echoed on every request that changes something. */
  function authHeaders(method, headers) {
    headers = headers || {};
    if (S.token) headers.Authorization = "Bearer " + S.token;
    else if (S.csrf && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = S.csrf;
    return headers;
  }

  /* What a 401 says to the person: the session ran out, or was ended. */
  function refusedText(code) {
    if (code === "session_expired") return t("sessionExpired");
    return S.token ? t("tokenRefused") : t("signedOutRefused");
  }

  function api(path, opt) {
    opt = opt || {};
    var method = opt.method || "GET";
    var headers = authHeaders(method, opt.body !== undefined ? { "Content-Type": "application/json" } : {});
    return fetch(path, { method: method, headers: headers, credentials: "same-origin",
                         body: opt.body !== undefined ? JSON.stringify(opt.body) : undefined })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (res.status === 401 && S.me && !opt.quiet)
            signOut(refusedText(body && body.error ? body.error.code : ""), true);
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
  function showNotice(msg) {
    $("notice-text").textContent = msg;
    $("notice").hidden = false;
  }
  function hideNotice() { $("notice").hidden = true; }

  /* ---- dates in the agency's zone ----------------------------------- */

  function zoneParts(ms, withTime) {
    var opt = { timeZone: S.zone, year: "numeric", month: "numeric", day: "numeric" };
    if (withTime) {
      opt.hour = "2-digit"; opt.minute = "2-digit"; opt.second = "2-digit"; opt.hourCycle = "h23";
    }
    var o = {};
    new Intl.DateTimeFormat("en-GB", opt).formatToParts(new Date(ms)).forEach(function (p) {
      o[p.type] = p.value;
    });
    return o;
  }
  var pad2 = C.pad2;
  function localDate(ms) { /* "YYYY-MM-DD" in the agency's zone */
    var o = zoneParts(ms, false);
    return o.year + "-" + pad2(o.month) + "-" + pad2(o.day);
  }
  /* The zone's abbreviation at that instant ("CST"), else its UTC offset ("UTC-6"). */
  function zoneName(ms) {
    var name = "";
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: S.zone, timeZoneName: "short" })
        .formatToParts(new Date(ms)).forEach(function (p) {
          if (p.type === "timeZoneName") name = p.value;
        });
    } catch (e) { name = ""; }
    if (!name || /^GMT/.test(name)) name = "UTC" + (name || "").replace(/^GMT/, "");
    return name;
  }
  var addDays = C.addDays; /* calendar arithmetic on "YYYY-MM-DD" */
  var dow = C.dow; /* Mon 0 */
  function sundayOf(date) { return addDays(date, 6 - dow(date)); }
  function fmtDay(date) { /* "6 Mar 2022" of "2022-03-06" */
    return t("dayFmt", { d: Number(date.slice(8, 10)), mon: STR.months[Number(date.slice(5, 7)) - 1],
      y: date.slice(0, 4) });
  }
  function fmtDateTime(iso) { /* "Sun 6 Mar 2022 12:00" in the agency's zone */
    var ms = Date.parse(iso);
    var o = zoneParts(ms, true);
    var date = o.year + "-" + pad2(o.month) + "-" + pad2(o.day);
    return t("dateTimeFmt", { wd: STR.weekdays[dow(date)], d: Number(o.day),
      mon: STR.months[Number(o.month) - 1], y: o.year, hh: pad2(o.hour), mm: pad2(o.minute) });
  }
  function today() { return localDate(Date.now()); }
  function thisSunday() { return sundayOf(today()); }
  function chosenWeek() { return $("week").value || thisSunday(); }
  /* Every panel looks at the week chosen (default: this one): windows end
     with its Sunday, i.e. before the Monday after. */
  function endDate() { return addDays(chosenWeek(), 1); }

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
  function precinctText(code) {
    if (code === undefined) code = precinct();
    if (!code) return t("allPrecinctsLower");
    var p = S.precinctByCode[code];
    return t("precinctCaption", { name: p && p.name ? p.name : code, code: code });
  }
  function filterText() {
    var v = $("offense").value;
    if (!v) return t("allOffensesLower");
    var i = v.indexOf(":"), kind = v.slice(0, i), code = v.slice(i + 1);
    if (kind === "category") return categoryLabel(code);
    var o = S.offenseByCode[code];
    return o ? t("offenseName", { name: o.name, code: o.code }) : code;
  }

  /* ---- sign in ------------------------------------------------------ */

  var CSRF_KEY = "compstatd.csrf";

  /* Back to the sign-in page, saying why. A person's session is ended on
     the server too (unless the server already refused it: ended). */
  function signOut(msg, ended) {
    if (!S.token && S.csrf && !ended)
      fetch("/v1/sessions/current", { method: "DELETE", headers: authHeaders("DELETE"),
                                      credentials: "same-origin" }).catch(function () {});
    sessionStorage.removeItem(TOKEN_KEY);
    try { localStorage.removeItem(CSRF_KEY); } catch (e) { /* private mode */ }
    S.token = null;
    S.csrf = null;
    S.me = null;
    S.session = null;
    closeStream();
    stopIdleWatch();
    $("app").hidden = true;
    $("enrol").hidden = true;
    $("signin").hidden = false;
    $("setpw-form").hidden = true;
    $("signin-form").hidden = false;
    $("otp-row").hidden = true;
    $("password").value = "";
    $("otp").value = "";
    $("signin-error").textContent = msg || "";
    if (S.onSignOut) S.onSignOut();
  }

  /* A machine's token (kept for this tab only). */
  function signIn(token) {
    S.token = token;
    S.csrf = null;
    return enter(function () { sessionStorage.setItem(TOKEN_KEY, token); });
  }

  /* A person: POST /v1/sessions; the cookie comes back HttpOnly, the CSRF
     token in the answer (kept so a reload of the page keeps the session). */
  function signInPassword(login, password, otp) {
    var body = { login: login, password: password };
    if (otp) body.otp = otp;
    $("signin-submit").disabled = true;
    return fetch("/v1/sessions", { method: "POST", credentials: "same-origin",
                                   headers: { "Content-Type": "application/json" },
                                   body: JSON.stringify(body) })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (b) {
          $("signin-submit").disabled = false;
          if (res.status === 201) {
            S.token = null;
            S.csrf = b.csrf_token;
            S.session = b;
            try { localStorage.setItem(CSRF_KEY, b.csrf_token); } catch (e) { /* private mode */ }
            $("password").value = "";
            $("otp").value = "";
            $("otp-row").hidden = true;
            if (b.enrol_only) return beginEnrol(true);
            return enter(null);
          }
          var code = b && b.error ? b.error.code : "", field = b && b.error ? b.error.field : "";
          if (res.status === 429) {
            var wait = Number(res.headers.get("Retry-After")) || 1;
            $("signin-error").textContent = t("slowDown", { s: wait });
          } else if (code === "otp_required") {
            $("otp-row").hidden = false;
            $("otp").focus();
            $("signin-error").textContent = t("otpNeeded");
          } else if (field === "otp") {
            $("otp-row").hidden = false;
            $("otp").value = "";
            $("signin-error").textContent = t("otpWrong");
          } else if (res.status === 401) {
            $("signin-error").textContent = t("wrongLogin");
          } else {
            $("signin-error").textContent = b && b.error ? b.error.message : "HTTP " + res.status;
          }
        });
      }).catch(function (e) {
        $("signin-submit").disabled = false;
        $("signin-error").textContent = e.message || String(e);
      });
  }

  /* A session kept from before a reload (the cookie is the browser's). */
  function resumeSession(csrf) {
    S.token = null;
    S.csrf = csrf;
    return enter(null);
  }

  /* Signed in (token or session): whoami, the reference data, the panels. */
  function enter(onOk) {
    return api("/v1/whoami").then(function (me) {
      if (me.role === "dispatch")
        throw new ApiError(403, { error: { message: t("noDispatch") } });
      /* The agency's language is the default of its people: until one picks,
         the page follows it (once: remembered, then reloaded in it). */
      var agencyLang = me.agency && me.agency.language;
      if (!agencyLang) try { localStorage.removeItem(AGENCY_LANG_KEY); } catch (e) { /* private mode */ }
      if (agencyLang && STRINGS[agencyLang]) {
        var before = stored(AGENCY_LANG_KEY);
        try { localStorage.setItem(AGENCY_LANG_KEY, agencyLang); } catch (e) { /* private mode */ }
        if (!LANG_PICKED && agencyLang !== LANG && before !== agencyLang) {
          if (onOk) onOk();
          location.reload();
          return new Promise(function () {});
        }
      }
      S.me = me;
      S.zone = me.agency && me.agency.time_zone ? me.agency.time_zone : "UTC";
      S.words = me.agency && me.agency.words ? me.agency.words : {};
      if (onOk) onOk();
      $("signin").hidden = true;
      $("enrol").hidden = true;
      $("app").hidden = false;
      $("agency-name").textContent = me.agency ? me.agency.name + " (" + me.agency.code + ")" : "";
      $("user-name").textContent = me.user ? me.user.name : "";
      /* A person who has no second factor yet may set one up (known from the sign-in). */
      $("mfa-open").hidden = !(me.user && S.session && S.session.mfa && !S.session.mfa.enrolled);
      applyWords();
      if (me.user) startIdleWatch();
      return Promise.all([api("/v1/precincts?format=geojson"), api("/v1/offenses"),
                          api("/v1/categories").catch(function () { return { categories: [] }; }),
                          api("/v1/areas").catch(function () { return { areas: [] }; })]);
    }).then(function (r) {
      if (!r) return;
      S.boundaries = r[0];
      S.offenses = r[1].offenses || [];
      S.offenseByCode = {};
      S.offenses.forEach(function (o) { S.offenseByCode[o.code] = o; });
      S.areas = r[3].areas || [];
      S.hasPopulation = r[0].features.some(function (f) {
        return f.properties.population !== null && f.properties.population !== undefined;
      });
      S.categoryNames = {};
      (r[2].categories || []).forEach(function (c) { if (c.names) S.categoryNames[c.code] = c.names; });
      S.precinctByCode = {};
      S.boundaries.features.forEach(function (f) { S.precinctByCode[f.properties.code] = f.properties; });
      fillSelectors();
      initMap();
      refreshAll();
      openStream(false);
      if (S.onSignIn) S.onSignIn(S.me);
    }).catch(function (e) {
      if (e && e.code === "mfa_required") return beginEnrol(true);
      if (e && e.status === 401) { signOut(refusedText(e.code), true); return; }
      if (S.token || S.csrf) signOut(e.message || String(e));
    });
  }

  /* The agency's own words: what it calls a precinct, in this language. */
  function applyWords() {
    var w = S.words && S.words.precinct && S.words.precinct[LANG];
    Array.prototype.forEach.call(document.querySelectorAll('[data-str="precinct"]'), function (e) {
      e.textContent = w || t("precinct");
    });
  }

  /* ---- the second factor (TOTP) ------------------------------------ */

  function beginEnrol(required) {
    $("signin").hidden = true;
    $("app").hidden = true;
    $("enrol").hidden = false;
    $("enrol-codes").hidden = true;
    $("enrol-form").hidden = false;
    $("enrol-key").hidden = false;
    $("enrol-error").textContent = "";
    $("enrol-lead").textContent = required ? t("enrolRequired") + " " + t("enrolLead") : t("enrolLead");
    S.enrolRequired = required;
    $("enrol-cancel").textContent = required ? t("signOut") : t("enrolLater");
    return api("/v1/sessions/current/mfa", { method: "POST", quiet: true }).then(function (m) {
      var qr = $("enrol-qr");
      qr.textContent = "";
      /* The server's SVG (libqrencode): parsed as SVG, never as HTML. */
      var doc = new DOMParser().parseFromString(m.qr_svg, "image/svg+xml");
      var svg = doc.documentElement;
      if (svg && svg.nodeName.toLowerCase() === "svg") {
        Array.prototype.forEach.call(svg.querySelectorAll("script"), function (x) { x.remove(); });
        qr.appendChild(document.importNode(svg, true));
      }
      $("enrol-secret").textContent = m.secret.replace(/(.{4})/g, "$1 ").trim();
      $("enrol-otp").value = "";
      $("enrol-otp").focus();
    }).catch(function (e) {
      if (e.status === 401) { signOut(t("sessionExpired"), true); return; }
      $("enrol-error").textContent = e.message || String(e);
    });
  }

  function confirmEnrol(code) {
    return api("/v1/sessions/current/mfa/confirm", { method: "POST", body: { otp: code }, quiet: true })
      .then(function (r) {
        /* Enrolled: the secret leaves the screen, the codes take its place. */
        $("enrol-form").hidden = true;
        $("enrol-error").textContent = "";
        $("enrol-qr").textContent = "";
        $("enrol-secret").textContent = "";
        $("enrol-key").hidden = true;
        $("enrol-lead").textContent = t("mfaDone");
        var ol = $("recovery-codes");
        ol.textContent = "";
        r.recovery_codes.forEach(function (c) { ol.appendChild(el("li", null, c)); });
        $("enrol-codes").hidden = false;
        if (S.session) S.session.mfa.enrolled = true;
        $("mfa-open").hidden = true;
      }).catch(function (e) {
        $("enrol-error").textContent = e.field === "otp" ? t("otpWrong") : e.message || String(e);
      });
  }

  /* ---- idle sign-out ------------------------------------------------ */

  /* The server ends a session unused for session_idle_timeout; the page's
     own re-reads (live events) would keep it alive, so the page signs a
     person out after that long without a key, click or touch. */
  function startIdleWatch() {
    stopIdleWatch();
    var idle = S.me && S.me.user && S.me.user.idle_timeout_s;
    var limit = (idle || (S.session && S.session.idle_timeout_s) || 1800) * 1000;
    S.lastActive = Date.now();
    S.idleTimer = setInterval(function () {
      if (Date.now() - S.lastActive >= limit)
        signOut(t("idleOut", { min: Math.round(limit / 60000) }));
    }, 15000);
  }
  function stopIdleWatch() {
    if (S.idleTimer) clearInterval(S.idleTimer);
    S.idleTimer = null;
  }

  /* ---- set-password links ------------------------------------------ */

  function setPasswordPage(link) {
    $("signin").hidden = false;
    $("signin-form").hidden = true;
    $("setpw-form").hidden = false;
    /* The link is a secret: not left in the address bar or the history. */
    history.replaceState(null, "", location.pathname + location.search);
    S.setpwLink = link;
  }

  function submitPassword() {
    var a = $("newpw").value, b = $("newpw2").value;
    $("setpw-error").textContent = "";
    if (a !== b) { $("setpw-error").textContent = t("setpwMismatch"); return; }
    return fetch("/v1/password", { method: "POST", headers: { "Content-Type": "application/json" },
                                   body: JSON.stringify({ link: S.setpwLink, password: a }) })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          var field = body && body.error ? body.error.field : "";
          if (res.ok) {
            $("newpw").value = $("newpw2").value = "";
            $("setpw-form").hidden = true;
            $("signin-form").hidden = false;
            $("login").value = body.login;
            $("signin-error").textContent = t("setpwDone");
            $("password").focus();
          } else if (res.status === 429) {
            $("setpw-error").textContent = t("slowDown", { s: Number(res.headers.get("Retry-After")) || 1 });
          } else if (field === "link") {
            $("setpw-error").textContent = t("setpwLink");
          } else if (field === "password") {
            $("setpw-error").textContent = t("weakPassword");
          } else {
            $("setpw-error").textContent = body && body.error ? body.error.message : "HTTP " + res.status;
          }
        });
      });
  }

  function useToken(on) {
    $("token-fields").hidden = !on;
    $("pw-fields").hidden = on;
    $("use-token").textContent = on ? t("usePassword") : t("useToken");
    $("signin-form").querySelector('[data-str="signinLead"]').textContent =
      on ? t("tokenLead") : t("signinLead");
    S.tokenMode = on;
  }

  function byName(a, b) {
    return String(a).localeCompare(String(b), LANG, { numeric: true, sensitivity: "base" });
  }
  function categoryRank(c) {
    var i = CATEGORY_ORDER.indexOf(c);
    return i < 0 ? CATEGORY_ORDER.length : i;
  }

  function fillSelectors() {
    var sel = $("precinct");
    sel.textContent = "";
    if (S.me.precincts === null) sel.appendChild(option("", t("allPrecincts")));
    S.boundaries.features.map(function (f) { return f.properties; })
      .sort(function (a, b) { return byName(a.name || a.code, b.name || b.code) || byName(a.code, b.code); })
      .forEach(function (p) {
        sel.appendChild(option(p.code, p.name ? t("precinctName", { name: p.name, code: p.code }) : p.code));
      });
    /* Offenses grouped by category (the report's order), sorted by name. */
    var off = $("offense");
    off.textContent = "";
    off.appendChild(option("", t("allOffenses")));
    var cats = {};
    S.offenses.forEach(function (o) { (cats[o.category] = cats[o.category] || []).push(o); });
    Object.keys(cats).sort(function (a, b) {
      return categoryRank(a) - categoryRank(b) || byName(categoryLabel(a), categoryLabel(b));
    }).forEach(function (c) {
      var g = el("optgroup");
      g.label = categoryLabel(c);
      g.appendChild(option("category:" + c, t("allOfCategory", { category: categoryLabel(c) })));
      cats[c].sort(function (a, b) { return byName(a.name, b.name) || byName(a.code, b.code); })
        .forEach(function (o) {
          g.appendChild(option("offense:" + o.code, t("offenseName", { name: o.name, code: o.code })));
        });
      off.appendChild(g);
    });
    var week = $("week");
    week.min = MIN_WEEK;
    week.max = thisSunday();
    week.value = thisSunday();
    /* #week=YYYY-MM-DD&precinct=..&offense=..&window=..&cell=..&fdr=0 (bookmarks) */
    var h = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (/^\d{4}-\d{2}-\d{2}$/.test(h.get("week") || "")) setWeek(h.get("week"));
    ["precinct", "offense", "window", "cell"].forEach(function (k) {
      var v = h.get(k), s = $(k);
      if (v === null) return;
      if (Array.prototype.some.call(s.options, function (o) { return o.value === v; })) s.value = v;
      else if (k === "precinct" && v !== "")
        showNotice(t("noticePrecinct", { code: v, shown: precinctText() }));
      else if (k === "offense" && v !== "")
        showNotice(t("noticeOffense", { code: v, shown: filterText() }));
    });
    $("fdr").checked = h.get("fdr") !== "0";
    var mode = h.get("map");
    if (mode === "count" || mode === "rate") { $("mapmode").value = mode; S.mapModeChosen = true; }
    S.levelWanted = h.get("level") || "";
    fillLevels();
    updateWeekButtons();
  }

  /* The chosen week, as its Sunday, within the picker's range. */
  function setWeek(v) {
    var w = $("week");
    var d = v ? sundayOf(v) : thisSunday();
    if (d < MIN_WEEK) d = MIN_WEEK;
    if (d > w.max) d = w.max;
    w.value = d;
    updateWeekButtons();
  }
  function updateWeekButtons() {
    var v = chosenWeek();
    $("week-prev").disabled = v <= MIN_WEEK;
    $("week-next").disabled = v >= $("week").max;
  }

  function saveHash() {
    var h = new URLSearchParams();
    h.set("week", $("week").value);
    ["precinct", "offense", "window", "cell"].forEach(function (k) {
      if ($(k).value) h.set(k, $(k).value);
    });
    if (mapMode() !== "hotspots") h.set("map", mapMode());
    /* The weekly packet of the week (and precinct) looked at, in this language. */
    $("packet-link").href = "/packet.html#week=" + chosenWeek() +
      (precinct() ? "&precinct=" + encodeURIComponent(precinct()) : "") + "&lang=" + LANG;
    if ($("maplevel").value) h.set("level", $("maplevel").value);
    if (!$("fdr").checked) h.set("fdr", "0");
    if (new URLSearchParams(location.hash.replace(/^#/, "")).get("lang")) h.set("lang", LANG);
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
    drawFeedCaption();
  }

  /* Stream events: re-read what they change, at most every delay ms. */
  function soon(name, fn, delay) {
    if (S.timers[name]) return;
    S.timers[name] = setTimeout(function () { S.timers[name] = null; fn(); }, delay);
  }

  function noteAsOf(iso) {
    if (!iso) return;
    var ms = Date.parse(iso);
    if (ms > S.asOf) {
      S.asOf = ms;
      var o = zoneParts(ms, true);
      $("asof").textContent = t("dataAsOf", { when: t("asOfFmt", {
        d: Number(o.day), mon: STR.months[Number(o.month) - 1], y: o.year, hh: pad2(o.hour),
        mm: pad2(o.minute), ss: pad2(o.second), zone: zoneName(ms) }) });
      $("asof").setAttribute("data-as-of", iso);
      $("asof").title = S.zone;
    }
  }

  /* ---- COMPSTAT sheet ----------------------------------------------- */

  function loadCompstat() {
    var q = "/v1/compstat?week_ending=" + encodeURIComponent(chosenWeek()) + precinctParam() +
      offenseParam();
    return latest("compstat", api(q), drawCompstat);
  }

  function fmtP(p) {
    if (p === null || p === undefined) return "—";
    return p < 0.0001 ? t("pBelow") : fmtN(Number(p), 4);
  }

  function drawCompstat(c) {
    var tbl = $("compstat");
    tbl.textContent = "";
    tbl.setAttribute("data-week-ending", c.week_ending);
    var periods = c.periods || {};
    var finished = c.week_ending < today();
    var thead = el("thead");
    var h1 = el("tr");
    h1.appendChild(el("th"));
    var h2 = el("tr");
    h2.appendChild(el("th", null, t("category")));
    var anyNoData = false;
    ["week", "d28", "ytd"].forEach(function (p) {
      var info = periods[p] || {};
      var th = el("th", "sep", p === "week" ? t(finished ? "week" : "weekToDate") : t(p));
      th.colSpan = 3;
      th.setAttribute("data-period-head", p);
      if (info.current && info.prior)
        th.title = t("periodTitle", { from: fmtDay(info.current[0]), to: fmtDay(info.current[1]),
          pfrom: fmtDay(info.prior[0]), pto: fmtDay(info.prior[1]) });
      h1.appendChild(th);
      var year = info.current ? Number(info.current[1].slice(0, 4)) : Number(c.week_ending.slice(0, 4));
      var pyear = info.prior ? Number(info.prior[1].slice(0, 4)) : year - 1;
      h2.appendChild(el("th", "sep", year));
      h2.appendChild(el("th", null, pyear));
      h2.appendChild(el("th", null, t("pctChg")));
      if (info.prior_data === false) anyNoData = true;
    });
    thead.appendChild(h1);
    thead.appendChild(h2);
    tbl.appendChild(thead);
    var tb = el("tbody");
    c.rows.forEach(function (row) {
      var tr = el("tr", row.category === "total" ? "total" : null);
      tr.setAttribute("data-category", row.category);
      tr.appendChild(el("td", null, categoryLabel(row.category)));
      ["week", "d28", "ytd"].forEach(function (p) {
        var v = row[p];
        var info = periods[p] || {};
        var held = info.prior_data !== false;
        /* Highlighted only where the test finds the change significant, and
           only against a prior period the data reaches. */
        var flag = held && v.significant ? (v.current > v.prior ? "sig-up" : v.current < v.prior ?
          "sig-down" : "") : "";
        var cur = el("td", "sep drill " + flag, fmtN(v.current));
        cur.setAttribute("data-period", p);
        cur.setAttribute("data-field", "current");
        drillable(cur, { from: info.current && info.current[0], to: info.current && info.current[1],
                         category: row.category, count: v.current, what: t(p === "week" ? "week" : p) });
        cur.title = t("zTitle", { z: fmtN(Number(v.z), 2), p: fmtP(v.p),
          verdict: !held ? t("noComparison") : v.significant ? t("significant") : t("notSignificant") });
        var pri;
        if (held) {
          pri = el("td", "drill", fmtN(v.prior));
          drillable(pri, { from: info.prior && info.prior[0], to: info.prior && info.prior[1],
                           category: row.category, count: v.prior,
                           what: t("drillPrior", { period: t(p === "week" ? "week" : p) }) });
        } else {
          pri = el("td", "nodata", t("noData"));
          if (info.prior) pri.title = t("noDataTitle", { from: fmtDay(info.prior[0]), to: fmtDay(info.prior[1]) });
        }
        pri.setAttribute("data-period", p);
        pri.setAttribute("data-field", "prior");
        var pct = el("td", v.pct_change === null ? null : flag, v.pct_change === null ? "—" :
          fmtPct(v.pct_change));
        pct.setAttribute("data-period", p);
        pct.setAttribute("data-field", "pct_change");
        tr.appendChild(cur);
        tr.appendChild(pri);
        tr.appendChild(pct);
      });
      tb.appendChild(tr);
    });
    tbl.appendChild(tb);
    var legend = $("compstat-legend");
    legend.textContent = "";
    var test = c.test || {};
    /* The answer names its test in English; other languages say it in theirs. */
    var testName = LANG === "en" ? test.name || "" : t("testName");
    var text = t("compstatLegend", { test: testName, alpha: test.alpha });
    var parts = text.split(/(\{up\}|\{down\})/);
    parts.forEach(function (s) {
      if (s === "{up}") legend.appendChild(el("span", "sig-up", t("boldRed")));
      else if (s === "{down}") legend.appendChild(el("span", "sig-down", t("boldBlue")));
      else legend.appendChild(document.createTextNode(s));
    });
    if (anyNoData) legend.appendChild(document.createTextNode(t("compstatLegendNoData")));
    $("compstat-caption").textContent = t("compstatCaption", { precinct: precinctText(c.precinct || ""),
      date: fmtDay(c.week_ending), filter: filterText() });
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
      api(base + "&from=" + priorStart + "&to=" + start),
      /* Whether the year before holds any data at all (this token's). */
      api("/v1/cube?from=" + priorStart + "&to=" + start)
    ]);
    return latest("trend", p, function (r) { drawTrend(r[0], r[1], r[2].total > 0, start); });
  }

  var weekly = C.weekly;

  function drawTrend(cur, prior, priorHeld, start) {
    var svg = $("trend");
    var ns = "http://www.w3.org/2000/svg";
    svg.textContent = "";
    var a = weekly(cur, start);
    var b = weekly(prior, addDays(start, -7 * 52));
    S.trend = a;
    var max = Math.max(2, Math.max.apply(null, a), priorHeld ? Math.max.apply(null, b) : 0);
    max += max % 2; /* the axis reads 0, max/2, max: whole numbers */
    var W = 640, H = 220, L = 36, R = 8, T = 8, B = 22;
    function x(i) { return L + (W - L - R) * i / 51; }
    function y(v) { return T + (H - T - B) * (1 - v / max); }
    [0, 0.5, 1].forEach(function (f) {
      var g = document.createElementNS(ns, "line");
      g.setAttribute("class", "grid");
      g.setAttribute("x1", L); g.setAttribute("x2", W - R);
      g.setAttribute("y1", y(max * f)); g.setAttribute("y2", y(max * f));
      svg.appendChild(g);
      var tx = document.createElementNS(ns, "text");
      tx.setAttribute("x", 2); tx.setAttribute("y", y(max * f) + 4);
      tx.textContent = Math.round(max * f);
      svg.appendChild(tx);
    });
    [0, 13, 26, 39, 51].forEach(function (i) {
      var tx = document.createElementNS(ns, "text");
      var d = addDays(start, 7 * i);
      tx.setAttribute("x", x(i)); tx.setAttribute("y", H - 4);
      tx.setAttribute("text-anchor", i === 0 ? "start" : i === 51 ? "end" : "middle");
      tx.textContent = Number(d.slice(8, 10)) + " " + STR.months[Number(d.slice(5, 7)) - 1];
      svg.appendChild(tx);
    });
    /* A year the data does not reach is not drawn as a line of zeros. */
    (priorHeld ? [[b, "prior"], [a, "this"]] : [[a, "this"]]).forEach(function (s) {
      var path = document.createElementNS(ns, "polyline");
      path.setAttribute("class", s[1]);
      path.setAttribute("points", s[0].map(function (v, i) {
        return x(i).toFixed(1) + "," + y(v).toFixed(1);
      }).join(" "));
      svg.appendChild(path);
    });
    /* Each week of the year shown opens its incidents. */
    a.forEach(function (v, i) {
      var hit = document.createElementNS(ns, "rect");
      var w = (W - L - R) / 51;
      hit.setAttribute("class", "hit");
      hit.setAttribute("x", Math.max(L, x(i) - w / 2));
      hit.setAttribute("width", w);
      hit.setAttribute("y", T);
      hit.setAttribute("height", H - T - B);
      hit.setAttribute("data-week", String(i));
      var from = addDays(start, 7 * i);
      var tip = document.createElementNS(ns, "title");
      tip.textContent = t("drillWeek", { date: fmtDay(from) }) + ": " + plural("incidents", v);
      hit.appendChild(tip);
      hit.addEventListener("click", function () {
        openDrill({ from: from, to: addDays(from, 6), count: v, what: t("drillWeek", { date: fmtDay(from) }),
                    precincts: precinct() ? [precinct()] : null });
      });
      svg.appendChild(hit);
    });
    $("trend-prior-key").hidden = !priorHeld;
    $("trend-prior-text").textContent = t(priorHeld ? "trendPrior" : "trendPriorNone");
    var total = a.reduce(function (s, v) { return s + v; }, 0);
    $("trend-caption").textContent = t("trendCaption", { date: fmtDay(chosenWeek()),
      precinct: precinctText(), filter: filterText(), total: plural("incidents", total), last: fmtN(a[51]) });
    noteAsOf(cur.as_of);
  }

  /* ---- response times ----------------------------------------------- */

  /* One format throughout: m:ss below an hour, h:mm:ss from an hour on. */
  var duration = C.duration;

  function loadResponseTimes() {
    var to = endDate();
    var q = "/v1/response-times?by=priority&from=" + addDays(to, -28) + "&to=" + to +
      precinctParam();
    return latest("rt", api(q), drawResponseTimes);
  }

  var RT_COLUMNS = [["queue", ["p50"]], ["response", ["p50", "p90"]], ["travel", ["p50"]],
    ["on_scene", ["p50"]]];
  var RT_HEAD = { queue: "queue", response: "response", travel: "travel", on_scene: "onScene" };

  function drawResponseTimes(r) {
    var tbl = $("rt");
    tbl.textContent = "";
    var thead = el("thead");
    var h1 = el("tr"), h2 = el("tr");
    h1.appendChild(el("th"));
    h1.appendChild(el("th"));
    h2.appendChild(el("th", null, t("priority")));
    h2.appendChild(el("th", null, t("calls")));
    RT_COLUMNS.forEach(function (c) {
      var th = el("th", "sep", t(RT_HEAD[c[0]]));
      th.colSpan = c[1].length + 1;
      h1.appendChild(th);
      c[1].forEach(function (st, i) { h2.appendChild(el("th", i === 0 ? "sep" : null, st)); });
      h2.appendChild(el("th", "n", "n"));
    });
    thead.appendChild(h1);
    thead.appendChild(h2);
    tbl.appendChild(thead);
    var tb = el("tbody");
    r.rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-priority", row.priority === null ? "none" : row.priority);
      tr.appendChild(el("td", null, row.priority === null ? t("none") : row.priority));
      var calls = el("td", null, fmtN(row.incidents !== undefined ? row.incidents : row.response.n));
      calls.setAttribute("data-field", "calls");
      tr.appendChild(calls);
      RT_COLUMNS.forEach(function (c) {
        var iv = row[c[0]];
        c[1].forEach(function (st, i) {
          var td = el("td", i === 0 ? "sep" : null, duration(iv[st]));
          td.setAttribute("data-interval", c[0]);
          td.setAttribute("data-stat", st);
          td.title = iv[st] === null ? t("noDataShort") : t("rtTitle", { stat: st, value: duration(iv[st]),
            mean: duration(iv.mean), max: duration(iv.max), n: fmtN(iv.n) });
          tr.appendChild(td);
        });
        var n = el("td", "n", fmtN(iv.n));
        n.setAttribute("data-interval", c[0]);
        n.setAttribute("data-stat", "n");
        tr.appendChild(n);
      });
      tb.appendChild(tr);
    });
    if (!r.rows.length) {
      var tr = el("tr");
      var td = el("td", null, t("rtEmpty"));
      td.colSpan = 11;
      tr.appendChild(td);
      tb.appendChild(tr);
    }
    tbl.appendChild(tb);
    $("rt-caption").textContent = t("rtCaption", { date: fmtDay(chosenWeek()), precinct: precinctText(),
      calls: t("allCalls") });
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
    }
    if (S.boundaryLayer) S.boundaryLayer.remove();
    S.boundaryLayer = L.geoJSON(S.boundaries, {
      style: { color: "#1b2330", weight: 1.5, fill: false, className: "precinct" },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(precinctText(f.properties.code), { sticky: true });
      }
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
    var span = "from=" + addDays(to, -days) + "&to=" + to + precinctParam() + offenseParam();
    var q = "/v1/hotspots?method=gi&cell_m=" + $("cell").value + ($("fdr").checked ? "&fdr=true" : "") +
      "&" + span;
    /* The map the reader chose; a map chosen for them (counts without points)
       is looked at again with each question. */
    if (mapMode() !== "hotspots" && (S.mapModeChosen || !S.mapAuto)) return loadChoropleth();
    return latest("hotspots", api(q).then(function (fc) {
      fc.span = { from: addDays(to, -days), to: to };
      if (fc.features.length > 0) return fc;
      /* Nothing to map: say whether the window holds no incident at all, or
         incidents without a point in these cells (OIJ's data has no
         coordinates: its counts are real, its map has nothing to show). */
      return api("/v1/cube?" + span).then(function (c) {
        fc.windowTotal = c.total;
        return fc;
      });
    }), function (fc) {
      /* Counts without a point to map (OIJ): the map of the precincts is
         the one to show, unless the reader chose the hotspots. */
      if (fc.windowTotal > 0 && !S.mapModeChosen) {
        $("mapmode").value = S.hasPopulation ? "rate" : "count";
        S.mapAuto = true;
        loadChoropleth();
        return;
      }
      if (S.mapAuto && !S.mapModeChosen) { $("mapmode").value = "hotspots"; S.mapAuto = false; }
      drawHotspots(fc);
    });
  }

  function drawHotspots(fc) {
    if (S.cellLayer) S.cellLayer.remove();
    if (S.choroLayer) { S.choroLayer.remove(); S.choroLayer = null; }
    drawClassLegend();
    document.querySelector('#map-panel h2 [data-str="hotspotsHead"]').textContent = t("hotspotsHead");
    S.cells = fc;
    S.cellLayer = L.geoJSON(fc, {
      style: function (f) {
        var cls = f.properties.class || "none";
        return { className: "cell cell-" + cls, fillColor: COLOUR[cls] || COLOUR.none,
          fillOpacity: cls === "none" ? 0.35 : 0.75, color: "#555", weight: 0.3 };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        var tip = p.z !== undefined ? t("cellTip", { incidents: plural("incidents", p.count),
          klass: STR.classes[p.class] || p.class, z: fmtN(Number(p.z), 2) }) : plural("incidents", p.count);
        layer.bindTooltip(tip);
        layer.on("click", function () {
          var b = cellBox(f);
          openDrill({ from: fc.span.from, to: addDays(fc.span.to, -1), count: p.count, what: t("drillCell"),
                      cell: b, precincts: precinct() ? [precinct()] : Object.keys(S.precinctByCode) });
        });
      }
    }).addTo(S.map);
    S.boundaryLayer.bringToFront();
    var hot = fc.features.filter(function (f) { return /^hot/.test(f.properties.class); }).length;
    $("map-caption").textContent = t("mapCaption", { days: $("window").value, date: fmtDay(chosenWeek()),
      precinct: precinctText(), filter: filterText(), cells: plural("cells", fc.features.length), hot: hot });
    $("map-empty").hidden = fc.features.length > 0;
    $("map-empty").textContent = fc.windowTotal ?
      t("mapNoPoints", { incidents: plural("incidents", fc.windowTotal) }) : t("mapEmpty");
    $("map-note").textContent = t(fc.fdr ? "fdrOn" : "fdrOff");
  }

  /* ---- live feed (Server-Sent Events over fetch) -------------------- */

  function setLive(on) {
    var b = $("live");
    b.textContent = on ? t("live") : t("offline");
    b.className = on ? "live on" : "live";
  }

  function closeStream() {
    if (S.stream) S.stream.abort();
    S.stream = null;
    setLive(false);
  }

  function openStream(resume) {
    closeStream();
    if (!S.token && !S.csrf) return;
    var ctrl = new AbortController();
    S.stream = ctrl;
    var headers = authHeaders("GET", { Accept: "text/event-stream" });
    if (resume && S.lastEventId) headers["Last-Event-ID"] = S.lastEventId;
    var url = "/v1/stream" + (precinct() ? "?precinct=" + encodeURIComponent(precinct()) : "");
    fetch(url, { headers: headers, signal: ctrl.signal, credentials: "same-origin" }).then(function (res) {
      if (res.status === 401) {
        /* Unless the page was signed out meanwhile (another answer's 401
           closed this stream: its body is gone, and so is the reason). */
        res.json().catch(function () { return null; }).then(function (b) {
          if (S.stream === ctrl && S.me) signOut(refusedText(b && b.error ? b.error.code : ""), true);
        });
        return;
      }
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
      /* Every change of a call may move its response times (also one that
         moves no count: a lifecycle time, an unfounded call). */
      soon("rt", loadResponseTimes, 500);
    } else if (type === "cube") {
      noteAsOf(d.as_of);
      soon("numbers", function () { loadCompstat(); loadTrend(); }, 300);
      soon("map", loadHotspots, 2000);
    }
  }

  function drawFeedCaption() {
    $("feed-caption").textContent = t("feedCaption", { precinct: precinctText(),
      filter: t("allOffensesLower"), zone: S.zone });
  }

  function addToFeed(ev) {
    var inc = ev.incident;
    var list = $("feed");
    var old = list.querySelector('li[data-id="' + inc.id + '"]');
    var li = el("li", "new");
    li.setAttribute("data-id", inc.id);
    var when = inc.occurred_at || inc.received_at || inc.updated_at;
    var time = el("time", "time", fmtDateTime(when));
    time.setAttribute("datetime", when);
    time.title = zoneName(Date.parse(when)) + " (" + S.zone + ")";
    li.appendChild(time);
    var o = S.offenseByCode[inc.offense];
    li.appendChild(el("span", "what", (o ? o.name : inc.offense) +
      (inc.category ? " · " + categoryLabel(inc.category) : "") +
      (ev.change === "updated" ? " (" + t("updated", { status: inc.status }) + ")" : "")));
    li.appendChild(el("span", "precinct", inc.precinct ? precinctText(inc.precinct) : t("noPrecinct")));
    li.appendChild(el("span", "where", inc.address || (inc.location ? inc.location.lat.toFixed(4) +
      ", " + inc.location.lon.toFixed(4) : "")));
    if (old) old.remove();
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 100) list.removeChild(list.lastChild);
    $("feed-empty").hidden = true;
  }

  function clearFeed() {
    $("feed").textContent = "";
    $("feed-empty").hidden = false;
  }

  /* ---- drill-down ---------------------------------------------------- */

  /* A count that opens the incidents it counts (a sheet cell). */
  function drillable(td, q) {
    if (!q.from || !q.to) return;
    td.title = (td.title ? td.title + "\n" : "") + t("drillOpen");
    td.tabIndex = 0;
    var go = function () {
      openDrill({ from: q.from, to: q.to, count: q.count, what: q.what,
                  category: q.category !== "total" ? q.category : null,
                  precincts: precinct() ? [precinct()] : null });
    };
    td.addEventListener("click", go);
    td.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
  }

  /* The list's question: the rows the count counts (counted=true), the
     same window (from..to inclusive, local dates), geography and filter. */
  function drillQuery(q) {
    var qs = "counted=true&from=" + q.from + "&to=" + addDays(q.to, 1);
    if (q.precincts) qs += "&precinct=" + q.precincts.map(encodeURIComponent).join(",");
    var f = offenseParam();
    if (q.category && /^&category=/.test(f)) f = ""; /* the row's category is within the filter's */
    qs += f;
    if (q.category) qs += "&category=" + encodeURIComponent(q.category);
    if (q.cell) qs += "&cell=" + q.cell.join(",");
    return qs;
  }

  function openDrill(q) {
    var d = $("drill");
    S.drill = { q: q, query: drillQuery(q), rows: 0, next: null, seq: (S.drill ? S.drill.seq : 0) + 1 };
    $("drill-title").textContent = t("drillTitle", { count: plural("incidents", q.count) });
    $("drill-caption").textContent = t("drillCaption", { what: q.what, from: fmtDay(q.from), to: fmtDay(q.to),
      precinct: q.area ? q.area : q.precincts && q.precincts.length === 1 ? precinctText(q.precincts[0]) :
        precinctText(""), filter: q.category ? categoryLabel(q.category) : filterText() });
    $("drill-msg").textContent = "";
    var tbl = $("drill-table");
    tbl.textContent = "";
    var head = el("tr");
    [t("colWhen"), t("colOffense"), precinctWord(), t("colAddress"), t("colStatus")].forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    var thead = el("thead");
    thead.appendChild(head);
    tbl.appendChild(thead);
    tbl.appendChild(el("tbody"));
    $("drill-more").hidden = true;
    $("drill-csv").hidden = true;
    $("drill-shown").textContent = "";
    if (!d.open) d.showModal();
    drillPage();
  }

  function precinctWord() {
    var w = S.words && S.words.precinct && S.words.precinct[LANG];
    return w || t("colPrecinct");
  }

  function drillPage() {
    var dr = S.drill, seq = dr.seq;
    $("drill-msg").textContent = t("drillLoading");
    return api("/v1/incidents?limit=200&" + dr.query + (dr.next ? "&cursor=" + encodeURIComponent(dr.next) : ""))
      .then(function (r) {
        if (!S.drill || S.drill.seq !== seq) return;
        var body = $("drill-table").querySelector("tbody");
        r.incidents.forEach(function (inc) {
          var tr = el("tr");
          var o = S.offenseByCode[inc.offense];
          var pr = inc.precinct ? S.precinctByCode[inc.precinct] : null;
          [fmtDateTime(inc.occurred_at || inc.received_at),
           o ? t("offenseName", { name: o.name, code: o.code }) : inc.offense,
           inc.precinct ? (pr && pr.name ? pr.name : inc.precinct) : t("unassigned"),
           inc.address || "", STR.statuses[inc.status] || inc.status].forEach(function (v) {
            tr.appendChild(el("td", null, v));
          });
          body.appendChild(tr);
        });
        dr.rows += r.incidents.length;
        dr.next = r.next_cursor;
        $("drill-msg").textContent = "";
        $("drill-more").hidden = !dr.next;
        $("drill-csv").hidden = false;
        $("drill-shown").textContent = t("drillShown", { shown: fmtN(dr.rows), n: fmtN(dr.q.count) });
      }).catch(function (e) {
        if (!S.drill || S.drill.seq !== seq) return;
        $("drill-msg").textContent = e.status === 403 ? t("drillForbidden") : e.message || String(e);
      });
  }

  /* Exactly the rows listed, as CSV: every page (the cursor travels in
     X-Next-Cursor), fetched with the same credentials, saved by the browser. */
  function drillCsv() {
    var dr = S.drill, parts = [], first = true;
    function page(cursor) {
      var url = "/v1/incidents?format=csv&limit=1000&" + dr.query + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      return fetch(url, { headers: authHeaders("GET"), credentials: "same-origin" }).then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        var next = res.headers.get("X-Next-Cursor");
        return res.text().then(function (text) {
          if (!first) text = text.slice(text.indexOf("\n") + 1); /* one header line */
          first = false;
          parts.push(text);
          return next ? page(next) : null;
        });
      });
    }
    return page(null).then(function () {
      var blob = new Blob(parts, { type: "text/csv" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "incidents-" + dr.q.from + "-" + dr.q.to + ".csv";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    }).catch(function (e) { $("drill-msg").textContent = e.message || String(e); });
  }

  /* A hotspot cell's edges [w, s, e, n] from its polygon. */
  function cellBox(f) {
    var ring = f.geometry.coordinates[0];
    var lons = ring.map(function (c) { return c[0]; }), lats = ring.map(function (c) { return c[1]; });
    return [Math.min.apply(null, lons), Math.min.apply(null, lats), Math.max.apply(null, lons),
            Math.max.apply(null, lats)];
  }

  /* ---- rate map ------------------------------------------------------- */

  var CHORO = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var NO_POP = "#bdbdbd", NO_AREA = "#f4f4f4";

  /* What the map is by: the level chosen, in the agency's words. */
  function levelName() {
    var o = $("maplevel").selectedOptions[0];
    return o && o.value ? o.textContent : precinctWord();
  }

  function mapMode() { return $("mapmode").value || "hotspots"; }

  function drawClassLegend() {
    var legend = $("legend");
    legend.textContent = "";
    CLASSES.forEach(function (c) {
      var li = el("li");
      var sw = el("i");
      sw.style.background = c[1];
      li.appendChild(sw);
      li.appendChild(document.createTextNode(STR.classes[c[0]]));
      legend.appendChild(li);
    });
  }

  /* The areas' levels (GET /v1/areas), for "by" at a level. */
  function fillLevels() {
    var sel = $("maplevel"), keep = sel.value || S.levelWanted || "";
    var levels = {};
    (S.areas || []).forEach(function (a) { levels[a.level] = true; });
    sel.textContent = "";
    sel.appendChild(option("", precinctWord()));
    Object.keys(levels).sort().forEach(function (l) {
      var w = S.words && S.words.area_levels && S.words.area_levels[l];
      sel.appendChild(option(l, w && w[LANG] ? w[LANG] : l));
    });
    if (levels[keep]) sel.value = keep;
    $("maplevel-label").hidden = Object.keys(levels).length === 0;
  }

  /* Up to five classes of the values, at their quantiles (distinct breaks). */
  function classBreaks(values) {
    var v = values.slice().sort(function (a, b) { return a - b; });
    var breaks = [];
    for (var k = 1; k <= 5; k++) {
      var b = v[Math.min(v.length - 1, Math.ceil(v.length * k / 5) - 1)];
      if (breaks.indexOf(b) < 0) breaks.push(b);
    }
    return breaks; /* upper bounds, ascending */
  }
  function classOf(breaks, x) {
    for (var i = 0; i < breaks.length; i++) if (x <= breaks[i]) return i;
    return breaks.length - 1;
  }

  function loadChoropleth() {
    var days = Number($("window").value), to = endDate(), from = addDays(to, -days);
    var level = $("maplevel").value, rate = mapMode() === "rate";
    var q = "/v1/cube?rates=true&from=" + from + "&to=" + to + offenseParam() +
      (level ? "&by=area&area_level=" + encodeURIComponent(level) : "&by=precinct") + precinctParam();
    return latest("hotspots", api(q), function (c) {
      drawChoropleth(c, { from: from, to: to, days: days, level: level, rate: rate, query: q });
    });
  }

  function drawChoropleth(c, w) {
    if (S.cellLayer) { S.cellLayer.remove(); S.cellLayer = null; }
    if (S.choroLayer) S.choroLayer.remove();
    S.cells = null;
    /* The value of each precinct: its own, or its area's at the level. */
    var byKey = {};
    c.cells.forEach(function (x) { byKey[w.level ? x.area : x.precinct] = x; });
    var areaOf = {}, areaName = {};
    if (w.level) (S.areas || []).forEach(function (a) {
      if (a.level !== w.level) return;
      areaName[a.code] = a.name;
      (a.all_precincts || []).forEach(function (p) { areaOf[p] = a.code; });
    });
    var feats = S.boundaries.features.filter(function (f) {
      return !precinct() || f.properties.code === precinct();
    });
    function cellOf(code) {
      var key = w.level ? areaOf[code] : code;
      var x = key !== undefined ? byKey[key] : undefined;
      if (x) return x;
      /* No incident there: a count of 0, and a rate of 0 where the population is known. */
      var pop = null;
      if (!w.level) {
        var p = S.precinctByCode[code];
        pop = p && p.population !== null && p.population !== undefined ? p.population : null;
      }
      return { count: 0, population: pop, rate_per_100k: pop ? 0 : null };
    }
    var values = [];
    feats.forEach(function (f) {
      if (w.level && areaOf[f.properties.code] === undefined) return;
      var x = cellOf(f.properties.code);
      var v = w.rate ? x.rate_per_100k : x.count;
      if (v !== null && v !== undefined) values.push(v);
    });
    var breaks = classBreaks(values.length ? values : [0]);
    S.choro = { breaks: breaks, rate: w.rate, level: w.level, values: {}, query: w.query };
    S.choroLayer = L.geoJSON({ type: "FeatureCollection", features: feats }, {
      style: function (f) {
        var code = f.properties.code, x = cellOf(code), v = w.rate ? x.rate_per_100k : x.count;
        /* -2: in no area at the level; -1: no population, no rate. */
        var k = w.level && areaOf[code] === undefined ? -2 : v === null || v === undefined ? -1 :
          classOf(breaks, v);
        S.choro.values[code] = { value: k === -2 ? null : v, klass: k, count: x.count,
                                 area: w.level ? areaOf[code] || null : undefined };
        return { className: "choro choro-" + (k === -2 ? "noarea" : k < 0 ? "nopop" : k),
                 fillColor: k === -2 ? NO_AREA : k < 0 ? NO_POP : CHORO[k],
                 fillOpacity: 0.8, color: "#1b2330", weight: 1, dashArray: k === -2 ? "4 3" : null };
      },
      onEachFeature: function (f, layer) {
        var code = f.properties.code, x = cellOf(code);
        var name = w.level && areaOf[code] ? areaName[areaOf[code]] : precinctText(code);
        if (w.level && !areaOf[code]) {
          layer.bindTooltip(t("choroNoArea", { name: name, level: levelName() }), { sticky: true });
          return;
        }
        var tip = x.rate_per_100k !== null && x.rate_per_100k !== undefined && x.population ?
          t("choroTip", { name: name, count: plural("incidents", x.count), pop: fmtN(x.population),
                          rate: fmtN(x.rate_per_100k, 2) }) :
          t("choroTipNoPop", { name: name, count: plural("incidents", x.count) });
        layer.bindTooltip(tip, { sticky: true });
        layer.on("click", function () {
          var ps = w.level && areaOf[code] ?
            Object.keys(areaOf).filter(function (p) { return areaOf[p] === areaOf[code]; }) : [code];
          openDrill({ from: w.from, to: addDays(w.to, -1), count: x.count, what: name, precincts: ps,
                      area: w.level ? name : null });
        });
      }
    }).addTo(S.map);
    S.boundaryLayer.bringToFront();
    /* The legend: the classes' ranges, and the precincts without a rate. */
    var legend = $("legend");
    legend.textContent = "";
    var lo = values.length ? Math.min.apply(null, values) : 0;
    var dg = w.rate ? 2 : undefined;
    breaks.forEach(function (b, i) {
      var li = el("li");
      li.className = "choro-class";
      var sw = el("i");
      sw.style.background = CHORO[i];
      li.appendChild(sw);
      var from = i === 0 ? lo : breaks[i - 1];
      li.appendChild(document.createTextNode(i === 0 && from === b ? fmtN(b, dg) :
        t("choroClass", { from: fmtN(from, dg), to: fmtN(b, dg) })));
      legend.appendChild(li);
    });
    if (feats.some(function (f) { return S.choro.values[f.properties.code].klass === -2; })) {
      var na = el("li");
      na.className = "choro-noarea";
      var nsw = el("i");
      nsw.style.background = NO_AREA;
      na.appendChild(nsw);
      na.appendChild(document.createTextNode(t("choroNoAreaKey", { level: levelName() })));
      legend.appendChild(na);
    }
    if (feats.some(function (f) { return S.choro.values[f.properties.code].klass === -1; })) {
      var li = el("li");
      li.className = "choro-nopop";
      var sw = el("i");
      sw.style.background = NO_POP;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(t("noPopulation")));
      legend.appendChild(li);
    }
    var by = levelName();
    /* The panel is headed by what it maps. */
    document.querySelector('#map-panel h2 [data-str="hotspotsHead"]').textContent =
      w.rate ? t("modeRate") : t("modeCount");
    $("map-caption").textContent = t("choroCaption", { days: w.days, date: fmtDay(chosenWeek()),
      filter: filterText(), what: t("mapBy") + " " + by.toLowerCase() });
    $("map-empty").hidden = true;
    $("map-note").textContent = w.level ? t("choroArea", { level: by }) : "";
  }

  /* What admin.js (the admin page) uses of the dashboard. */
  S.api = api;
  S.fmtN = fmtN;
  S.el = el;
  S.fmtDateTime = fmtDateTime;

  /* ---- wiring ------------------------------------------------------- */

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.lang = LANG;
    applyStrings(document);
    /* A language picked is the person's (kept), on the sign-in page and in
       the header alike. */
    ["lang", "lang-signin"].forEach(function (id) {
      var langSel = $(id);
      langSel.value = LANG;
      langSel.addEventListener("change", function () {
        try { localStorage.setItem(LANG_KEY, langSel.value); } catch (e) { /* private mode */ }
        var h = new URLSearchParams(location.hash.replace(/^#/, ""));
        h.set("lang", langSel.value);
        if (!h.has("set-password")) location.hash = h.toString();
        location.reload();
      });
    });
    $("signin-form").addEventListener("submit", function (e) {
      e.preventDefault();
      $("signin-error").textContent = "";
      if (S.tokenMode) signIn($("token").value.trim());
      else signInPassword($("login").value.trim(), $("password").value, $("otp").value.trim());
    });
    $("use-token").addEventListener("click", function () { useToken(!S.tokenMode); });
    $("setpw-form").addEventListener("submit", function (e) { e.preventDefault(); submitPassword(); });
    $("enrol-form").addEventListener("submit", function (e) {
      e.preventDefault();
      confirmEnrol($("enrol-otp").value.replace(/\s/g, ""));
    });
    /* Required: no way on but enrolling (or signing out). Chosen: back to the page. */
    $("enrol-cancel").addEventListener("click", function () {
      if (S.enrolRequired || !S.me) { signOut(""); return; }
      $("enrol").hidden = true;
      $("app").hidden = false;
    });
    $("enrol-done").addEventListener("click", function () {
      $("enrol").hidden = true;
      $("recovery-codes").textContent = "";
      if (S.me && !S.enrolRequired) { $("app").hidden = false; return; }
      enter(null);
    });
    $("mfa-open").addEventListener("click", function () { beginEnrol(false); });
    ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (ev) {
      document.addEventListener(ev, function () { S.lastActive = Date.now(); }, { passive: true });
    });
    $("signout").addEventListener("click", function () { signOut(""); });
    $("notice-close").addEventListener("click", hideNotice);
    $("precinct").addEventListener("change", function () {
      hideNotice();
      clearFeed();
      fitMap();
      refreshAll();
      S.lastEventId = null;
      openStream(false);
    });
    $("week").addEventListener("change", function () {
      setWeek($("week").value);
      refreshAll();
    });
    /* Arrow keys step a week whichever part of the date has the focus (the
       browser's own step of a month or year field lands on any weekday). */
    $("week").addEventListener("keydown", function (e) {
      if ((e.key !== "ArrowUp" && e.key !== "ArrowDown") || e.altKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      setWeek(addDays(chosenWeek(), e.key === "ArrowUp" ? 7 : -7));
      refreshAll();
    });
    $("week-prev").addEventListener("click", function () {
      setWeek(addDays(chosenWeek(), -7));
      refreshAll();
    });
    $("week-next").addEventListener("click", function () {
      setWeek(addDays(chosenWeek(), 7));
      refreshAll();
    });
    $("offense").addEventListener("change", function () {
      saveHash(); loadCompstat(); loadTrend(); loadHotspots();
    });
    $("window").addEventListener("change", function () { saveHash(); loadHotspots(); });
    $("cell").addEventListener("change", function () { saveHash(); loadHotspots(); });
    $("fdr").addEventListener("change", function () { saveHash(); loadHotspots(); });
    $("mapmode").addEventListener("change", function () { S.mapModeChosen = true; saveHash(); loadHotspots(); });
    $("maplevel").addEventListener("change", function () { saveHash(); loadHotspots(); });
    $("drill-close").addEventListener("click", function () { $("drill").close(); });
    $("drill-more").addEventListener("click", function () { drillPage(); });
    $("drill-csv").addEventListener("click", function () { drillCsv(); });
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        if (S.map) { S.map.invalidateSize(); fitMap(); }
      }, 150);
    });
    var link = new URLSearchParams(location.hash.replace(/^#/, "")).get("set-password");
    var saved = sessionStorage.getItem(TOKEN_KEY);
    var csrf = stored(CSRF_KEY);
    if (link) setPasswordPage(link);
    else if (saved) signIn(saved);
    else if (csrf) resumeSession(csrf);
    else $("signin").hidden = false;
  });
})();
