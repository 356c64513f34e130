/* ltvkit's formatter in the browser: numbers, money, percentages, ratios and dates by the rules of
   ltvkit.formatting.rules (the locale's CLDR data through Babel), the rules the report's Python side and the
   CLI use, never the browser's own Intl rules. Shared by the dashboard (/static/report/format.js) and the
   offline report (inlined). window.ltvFormatter(rules) returns the formatter. */
(function () {
  "use strict";
  var NBSP = "\u00a0";

  // |v| × 10^shift with `digits` decimals, rounded half to even on the shortest decimal that reads back as v
  // (the number Python's str() gives and Babel rounds: 0.145 is 14.5%, not 14.499999999999998%)
  function fixed(v, digits, shift) {
    var text = String(Math.abs(v));
    if (/e/i.test(text)) { text = Math.abs(v).toFixed(20).replace(/0+$/, ""); }
    var parts = text.split("."), whole = parts[0], frac = parts[1] || "";
    while (shift > 0) { whole += frac.charAt(0) || "0"; frac = frac.slice(1); shift -= 1; }
    var kept = (whole + frac.slice(0, digits) + "0".repeat(Math.max(0, digits - frac.length))).replace(/^0+(?=\d)/, "");
    var rest = frac.slice(digits), up = rest.charAt(0) > "5" ||
      (rest.charAt(0) === "5" && (/[1-9]/.test(rest.slice(1)) || Number(kept.charAt(kept.length - 1)) % 2 === 1));
    if (up) { kept = (BigInt(kept) + 1n).toString(); }
    kept = kept.padStart(digits + 1, "0");
    return digits ? kept.slice(0, kept.length - digits) + "." + kept.slice(kept.length - digits) : kept;
  }
  window.ltvFormatter = function (F) {
    var fmt = {
      number: function (v, digits, shift) {
        var parts = fixed(v, digits || 0, shift || 0).split(".");
        var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, F.group);
        var text = whole + (parts[1] ? F.decimal + parts[1] : "");
        return v < 0 && /[1-9]/.test(parts.join("")) ? "-" + text : text;
      },
      ratio: function (v) { return fmt.number(v, 2); },
      percent: function (v, digits) {
        return F.percent[0] + fmt.number(v, digits === undefined ? 1 : digits, 2) + F.percent[1];
      },
      signed: function (v, digits) { return (v > 0 ? "+" : "") + fmt.percent(v, digits); },
      compact: function (v) {
        for (var i = 0; i < F.compact.length; i++) {
          var power = F.compact[i][0];
          if (Math.abs(v) >= power && Math.abs(v) >= F.compact_from) {
            return fmt.number(v / power, 1).replace(new RegExp("\\" + F.decimal + "0$"), "") + F.compact[i][1];
          }
        }
        return fmt.number(v);
      },
      withSign: function (amount, currency) {
        var sign = F.signs[currency] || currency || "", before = F.money[0], after = F.money[1];
        if (!sign) { return amount; }
        if (/^\p{L}+$/u.test(sign) && before) { before = ""; after = NBSP + "¤"; }
        var minus = amount.charAt(0) === "-";
        var body = before.replace("¤", sign) + (minus ? amount.slice(1) : amount) + after.replace("¤", sign);
        return (minus ? "-" : "") + body;
      },
      money: function (v, currency, digits) { return fmt.withSign(fmt.number(v, digits), currency); },
      moneyShort: function (v, currency) { return fmt.withSign(fmt.compact(v), currency); },
      // a date by a CLDR pattern (d, MMM, LLL, y/yyyy and 'quoted' text)
      date: function (iso, pattern) {
        var p = String(iso).slice(0, 10).split("-"), y = p[0], m = Number(p[1]) - 1, d = String(Number(p[2]));
        return (pattern || F.date).replace(/'([^']*)'|yyyy|y|LLL|MMM|d/g, function (token, quoted) {
          if (quoted !== undefined) { return quoted; }
          return { yyyy: y, y: y, LLL: F.months_standalone[m], MMM: F.months_format[m], d: d }[token];
        }).replace(/[ \u202f]/g, NBSP);
      },
      month: function (iso) { return fmt.date(iso, F.month); }
    };
    return fmt;
  };
})();
