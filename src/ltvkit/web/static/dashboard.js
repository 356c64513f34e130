/* ltvkit dashboard: every figure comes from the JSON API (/api/…). Texts come from #labels (ltvkit.i18n), and
   numbers are formatted by the rules in #format (ltvkit.formatting.rules: the locale's CLDR data through Babel,
   the same rules as the report and the CLI), never by the browser's own Intl rules.
   Names from the data (customers, channels, products, campaigns, file names) are only ever set as text: the
   page is built with createElement and textContent (never innerHTML), chart labels and legends are drawn on
   the canvas, echarts' own tooltips escape them, and a tooltip built here is a DOM node. The pages run under
   a Content-Security-Policy with script-src 'self': no inline script or on… attribute anywhere. */
(function () {
  "use strict";
  function json(id) { return JSON.parse(document.getElementById(id).textContent); }
  var T = json("labels"), F = json("format"), REASONS = json("reasons"), C = json("columns");
  var TARGET = 3;
  var statusEl = document.getElementById("status");
  var charts = {};

  // a text of #labels with its {placeholders} filled in
  // a word's form for a count, as i18n.plural_form: {days|день|дня|дней} (English {days|day|days})
  function pluralForm(count, forms) {
    var n = Number(String(count).replace(/[\s\u00a0\u202f]/g, "").replace(",", "."));
    var rule = isNaN(n) ? "other" : new Intl.PluralRules(document.documentElement.lang).select(n);
    var index = { one: 0, few: 1, many: 2, other: 1 }[rule];
    return forms[Math.min(index === undefined ? 1 : index, forms.length - 1)];
  }

  function fill(key, values) {
    return (T[key] || key)
      .replace(/\{(\w+)\|([^{}]*)\}/g, function (all, name, forms) {
        return values && name in values ? pluralForm(values[name], forms.split("|")) : all;
      })
      .replace(/\{(\w+)\}/g, function (all, name) { return values && name in values ? values[name] : all; });
  }

  function status(text, isError) {
    statusEl.textContent = text || "";
    statusEl.className = isError ? "error" : "muted";
  }

  // the API's refusal in the page's language: known kinds by their status, anything else with its English
  // detail (the server strips its own paths from it)
  function problem(response, body) {
    var detail = body && body.message ? body.message : String(response.status);
    if (body && body.messages && body.messages[document.documentElement.lang]) { return body.messages[document.documentElement.lang]; }
    if (response.status === 409 && /no orders/.test(detail)) { return T.no_data; }
    if (response.status === 413) { return T.error_too_large; }
    if (response.status === 415) { return T.error_file_type; }
    if (response.status === 400 && / is empty$/.test(detail)) { return T.error_empty; }
    if (response.status === 409) { return T.error_busy; }
    if (body && body.error === "validation") { return T.error_invalid; }
    if (response.status === 422) { return formatProblem(detail); }
    return fill("error_other", { detail: detail });
  }

  // a file the import could not read: in the page's language when the message is a known one
  function formatProblem(detail) {
    var known = reason(detail);
    return known.lang ? fill("error_format", { detail: detail }) : known.text;
  }

  // the currency the analysis pages show: ?currency=… or, by default, the one with the most revenue (the API
  // chooses it); money is never summed across currencies
  var CURRENCY = new URLSearchParams(location.search).get("currency") || "";
  var PER_CURRENCY = /^\/api\/(cohorts|channels|cac|pareto|predictions|segments|actions|ltv)\b/;
  if (CURRENCY) {  // a download of the page's figures (the workbook) is of the page's currency too
    document.querySelectorAll("a[data-per-currency]").forEach(function (a) {
      a.href += "&" + new URLSearchParams({ currency: CURRENCY });
    });
  }
  var LANG = document.documentElement.lang;

  function api(path, options) {
    if (CURRENCY && PER_CURRENCY.test(path)) {
      path += (path.indexOf("?") < 0 ? "?" : "&") + new URLSearchParams({ currency: CURRENCY });
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          var error = new Error(problem(response, body));
          error.status = response.status;
          throw error;
        }
        return body;
      });
    });
  }

  function fail(error) { status(error.message, error.status !== 409 || error.message !== T.no_data); }

  // numbers, money, percentages and dates by ltvkit.formatting's rules (/static/report/format.js)
  var fmt = window.ltvFormatter(F);

  function reason(english) {
    for (var i = 0; i < REASONS.length; i++) {
      var found = new RegExp(REASONS[i][0]).exec(english);
      if (found) {
        var values = {};
        REASONS[i][2].forEach(function (name, j) { values[name] = found[j + 1]; });
        if (values.field) {  // a field of the orders by its name in the page's language
          values.field = values.field.split(" or ").map(function (f) { return T["data_field_" + f] || f; }).join(" / ");
        }
        return { text: fill(REASONS[i][1], values) };
      }
    }
    return { text: english, lang: "en" };
  }

  function payback(v) {
    if (v === null || v === undefined) { return T.not_yet; }
    return v === 0 ? T.payback_first_month : fill("payback_months_n", { months: fmt.number(v) });
  }

  // An element with attributes and children; a child that is not a node becomes a text node (never markup).
  function node(tag, attributes, children) {
    var el = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { el.setAttribute(name, String(attributes[name])); });
    (children || []).forEach(function (child) {
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return el;
  }

  // A tooltip's content as text: echarts puts a string from a formatter in as HTML, a node as it is.
  function tip(text) { return node("div", {}, [text]); }

  // How a column's values read: [header text, kind], by the table of ltvkit.columns (#columns), which the
  // command line reads too.
  function columnOf(key) {
    var head = T["col_" + key] || T[C.heads[key]] || T[key] || key;
    return [head, C.kinds[key] || "money"];
  }

  var TEXT_KINDS = ["name", "segment", "kind", "scenario", "date", "month", "text"];

  // One cell's content: text, or [text, attributes] for a name from the data or a text still in English.
  function show(kind, v, currency, digits) {
    if (v === null || v === undefined || v === "") { return "—"; }
    switch (kind) {
      case "name": return [String(v), { "data-user": "" }];
      case "text": return String(v);
      case "number": return fmt.number(v);
      case "number2": return fmt.number(v, 2);
      case "percent": return fmt.percent(v);
      case "signed": return fmt.signed(v);
      case "ratio": return fmt.ratio(v);
      case "payback": return payback(v);
      case "month": return fmt.month(v);
      case "date": return fmt.date(v);
      case "segment": return T["segment_" + v] || [String(v), { "data-user": "" }];
      case "action": return T["action_" + v.segment] || [String(v.action), { lang: "en" }];
      case "kind": return T["kind_" + v] || String(v);
      case "scenario": return v === "baseline" ? T.scenario_baseline : T.scenario_yours;
      case "reason": var r = reason(String(v)); return r.lang ? [r.text, { lang: r.lang }] : r.text;
      default: return fmt.money(v, currency, digits);
    }
  }

  // The rows as a table in #id: options.columns (keys), options.currency, options.labels (key → header),
  // options.digits (of money), options.extra(row) for a last column (options.extraHead its header),
  // options.rowClass(row).
  function table(id, rows, options) {
    var el = document.getElementById(id);
    if (!rows || !rows.length) { el.textContent = "—"; return; }
    var columns = options.columns.map(function (key) {
      var c = columnOf(key);
      return { key: key, head: (options.labels || {})[key] || c[0], kind: c[1] };
    });
    var head = node("tr", {}, columns.map(function (c) {
      return node("th", TEXT_KINDS.concat(["reason", "action"]).indexOf(c.kind) >= 0 ? { "data-col": c.key, "class": "text" } : { "data-col": c.key }, [c.head]);
    })
      .concat(options.extra ? [node("th", { "class": "text" }, [options.extraHead || ""])] : []));
    var body = rows.map(function (row) {
      var cells = columns.map(function (c) {
        var v = row[c.key], attributes = { "data-col": c.key };
        if (typeof v === "number") { attributes["data-value"] = v; }
        var shown = show(c.kind, c.kind === "action" ? row : v, options.currency, options.digits);
        if (Array.isArray(shown)) { Object.assign(attributes, shown[1]); shown = shown[0]; }
        if (c.kind === "action" || c.kind === "reason") { attributes["class"] = "wrap"; }
        else if (TEXT_KINDS.indexOf(c.kind) >= 0) { attributes["class"] = "text"; }
        return node("td", attributes, [shown]);
      });
      var attributes = options.rowClass ? { "class": options.rowClass(row) } : {};
      return node("tr", attributes, options.extra ? cells.concat([node("td", {}, [options.extra(row)])]) : cells);
    });
    el.replaceChildren(node("table", {}, [node("thead", {}, [head]), node("tbody", {}, body)]));
  }

  function chart(name, option) {
    var el = document.querySelector("[data-chart=\"" + name + "\"]");
    if (!charts[name]) { charts[name] = echarts.init(el, null, { renderer: "canvas" }); }
    charts[name].setOption(option, true);
    el.setAttribute("data-rendered", "true");
  }
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });

  function bars(name, labels, values, format) {
    chart(name, {
      tooltip: { valueFormatter: format }, grid: { left: 100, right: 20, top: 20, bottom: 70 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: labels.length > 5 ? 25 : 0, interval: 0 } },
      yAxis: { type: "value", axisLabel: { formatter: format } },
      series: [{ type: "bar", data: values, itemStyle: { color: "#2f6fed" } }]
    });
  }

  function formData(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) { out[k] = v; });
    return out;
  }

  // the models' notes, folded away under a heading: in the page's language (the API writes them in it), or
  // marked as English where they have no translation (the retention model's own)
  function notes(id, texts, english) {
    var el = document.getElementById(id);
    el.hidden = !texts || !texts.length;
    el.replaceChildren.apply(el, [el.querySelector("summary")].concat((texts || []).map(function (n) {
      return node("p", english ? { lang: "en", "class": "muted" } : { "class": "muted" }, [n]);
    })));
  }

  // the summary's currencies, the most revenue first (the XXX of orders that name none last)
  function currencies(summary) {
    return summary.by_currency.filter(function (c) { return c.customers > 0; }).sort(function (a, b) {
      return (a.currency === "XXX") - (b.currency === "XXX") || b.net_revenue - a.net_revenue;
    }).map(function (c) { return c.currency; });
  }

  function shownCurrency(summary) {
    var codes = currencies(summary);
    return CURRENCY && codes.indexOf(CURRENCY) >= 0 ? CURRENCY : (codes[0] || "");
  }

  function mainCurrency() { return api("/api/summary").then(shownCurrency); }

  // the switch in the header, shown when the orders have more than one currency
  function currencySwitch() {
    var select = document.getElementById("currency-switch");
    if (!select) { return; }
    api("/api/summary").then(function (summary) {
      var codes = currencies(summary), shown = shownCurrency(summary);
      if (codes.length < 2) { return; }
      select.replaceChildren.apply(select, codes.map(function (code) {
        var option = node("option", { value: code }, [code === "XXX" ? T.currency_none : code]);
        option.selected = code === shown;
        return option;
      }));
      select.parentNode.hidden = false;
      select.addEventListener("change", function () {
        var query = new URLSearchParams(location.search);
        query.set("currency", select.value);
        location.search = query.toString();
      });
    }).catch(function () { /* no orders yet: nothing to switch */ });
  }

  // Two cohorts (or two groups of a split) side by side at equal ages: the server chooses the pair unless the
  // reader picks one, and says in the page's language how it chose and whether the differences are chance.
  function compare() {
    var form = document.getElementById("compare-form"), els = form.elements;
    var points = function (v) { return v === null ? "—" : fill("percentage_points", { value: fmt.number(v * 100, 1) }); };
    function choices(by) {
      return api("/api/cohorts?" + new URLSearchParams(by ? { split: by } : {})).then(function (d) {
        var values = by ? d.split_values : d.cohorts.map(function (c) { return c.slice(0, 7); });
        [els.a, els.b].forEach(function (select) {
          select.replaceChildren.apply(select, values.map(function (v) {
            return node("option", by ? { value: v, "data-user": "" } : { value: v }, [by ? v : fmt.month(v + "-01")]);
          }));
        });
      });
    }
    function show(c) {
      if ((c.split || "") !== els.by.value) {  // the default pair may be of a split (two channels): say so
        els.by.value = c.split || "";
        return choices(c.split).then(function () { show(c); });
      }
      var cur = c.currency, money = function (v) { return v === null ? "—" : fmt.money(v, cur); };
      var share = function (v) { return v === null ? "—" : fmt.percent(v); };
      els.a.value = c.first; els.b.value = c.second;
      document.getElementById("compare-chosen").textContent = c.how_chosen;
      var said = document.getElementById("compare-sentences");
      said.replaceChildren.apply(said, c.sentences.map(function (t) { return node("p", {}, [t]); }));
      var name = function (i) { return node("th", { "data-user": "" }, [c.names[i]]); };
      var groupHeads = function () { return [name(0), name(1), node("th", {}, [T.compare_difference]), node("th", {}, [T.compare_interval])]; };
      var head = [
        node("tr", {}, [node("th", { rowspan: 2 }, [T.col_age]), node("th", { rowspan: 2 }, [T.customers]),
          node("th", { colspan: 4, "class": "group" }, [T.col_retention]), node("th", { colspan: 4, "class": "group" }, [T.col_ltv])]),
        node("tr", {}, groupHeads().concat(groupHeads()))
      ];
      var rows = c.by_age.filter(function (r) { return r.age <= c.age; }).map(function (r) {
        return node("tr", r.age === c.age ? { "class": "verdict-age", "data-age": r.age } : { "data-age": r.age }, [
          fmt.number(r.age), fmt.number(r.customers_a) + " / " + fmt.number(r.customers_b),
          share(r.retention_a), share(r.retention_b), points(r.retention_diff), points(r.retention_low) + " … " + points(r.retention_high),
          money(r.ltv_a), money(r.ltv_b), money(r.ltv_diff), money(r.ltv_low) + " … " + money(r.ltv_high)
        ].map(function (text) { return node("td", {}, [text]); }));
      });
      document.getElementById("compare-table").replaceChildren(node("table", { "class": "compare" }, [node("thead", {}, head), node("tbody", {}, rows)]));
    }
    function load(pair) {
      var q = { lang: LANG };
      if (els.by.value) { q.by = els.by.value; }
      if (pair) { q.a = els.a.value; q.b = els.b.value; }
      api("/api/cohorts/compare?" + new URLSearchParams(q)).then(show).catch(function (error) {
        document.getElementById("compare-table").replaceChildren();
        document.getElementById("compare-sentences").replaceChildren();
        document.getElementById("compare-chosen").textContent = error.status === 404 ? T.compare_none : error.message;
      });
    }
    els.by.addEventListener("change", function () { choices(els.by.value).then(function () { load(false); }).catch(fail); });
    els.a.addEventListener("change", function () { load(true); });
    els.b.addEventListener("change", function () { load(true); });
    choices("").then(function () { load(false); }).catch(fail);
  }

  var pages = {
    overview: function () {
      // the LTV to use for CAC, with the data grade beside it: the models' fit is slower, so it fills in when
      // ready (its texts composed by the server in the page's language)
      api("/api/ltv/headline?" + new URLSearchParams({ lang: LANG })).then(function (h) {
        var value = document.querySelector("[data-headline]");
        value.textContent = h.texts.value;
        value.setAttribute("data-value", h.value);
        value.setAttribute("data-basis", h.basis);
        document.getElementById("headline-interval").textContent = h.texts.interval;
        var grade = document.getElementById("headline-grade");
        grade.textContent = h.texts.grade;
        grade.setAttribute("data-grade", h.grade.grade);
        grade.title = h.texts.grade_sentence;
        document.getElementById("headline-terms").textContent = h.texts.terms;
        document.getElementById("headline-why").textContent = h.texts.why;
      }).catch(function (error) { document.getElementById("headline-terms").textContent = error.message; });
      Promise.all([api("/api/summary"), api("/api/pareto")]).then(function (res) {
        var s = res[0], cur = shownCurrency(s);
        var ltv = s.ltv.filter(function (item) { return item.currency === cur; })[0] || s.ltv[0];
        var values = { customers: s.customers, orders: s.orders, net_revenue: ltv.net_revenue, ltv: ltv.ltv_mean,
          aov: ltv.aov, purchases_per_customer: ltv.purchases_per_customer, repeat_rate: ltv.repeat_rate };
        document.querySelectorAll("[data-kpi]").forEach(function (el) {
          var key = el.getAttribute("data-kpi"), v = values[key];
          el.setAttribute("data-value", v);
          el.textContent = key === "repeat_rate" ? fmt.percent(v) :
            key === "purchases_per_customer" ? fmt.number(v, 2) :
            key === "net_revenue" ? fmt.moneyShort(v, cur) :
            key === "ltv" || key === "aov" ? fmt.money(v, cur) : fmt.number(v);
        });
        var expected = ltv.expected, grade = ltv.grade, lower = expected.lifetime.is_lower_bound;
        var shownLtv = document.querySelector("[data-kpi=expected_ltv]");
        shownLtv.setAttribute("data-value", expected.value);
        shownLtv.textContent = lower ? fill("at_least", { value: fmt.money(expected.value, cur) }) : fmt.money(expected.value, cur);
        document.getElementById("expected-interval").textContent = fill("interval_90", { low: fmt.money(expected.low, cur), high: fmt.money(expected.high, cur) });
        var gradeEl = document.querySelector("[data-grade]");
        gradeEl.textContent = T["grade_" + grade.grade];
        gradeEl.setAttribute("data-grade", grade.grade);
        document.getElementById("grade-counts").textContent = fill("grade_counts", { customers: fmt.number(grade.customers),
          repeat: fmt.number(grade.repeat_buyers), days: fmt.number(grade.days_observed) });
        document.getElementById("expected-breakdown").textContent = fill("expected_breakdown", { aov: fmt.money(expected.aov, cur),
          freq: fmt.number(expected.purchases_per_year, 2), life: (lower ? fill("at_least", { value: fmt.number(expected.lifetime.years, 2) }) : fmt.number(expected.lifetime.years, 2)),
          ltv: lower ? fill("at_least", { value: fmt.money(expected.value, cur) }) : fmt.money(expected.value, cur) });
        document.getElementById("breakdown").textContent = fill("breakdown", { aov: fmt.money(ltv.aov, cur),
          freq: fmt.number(ltv.frequency_per_year, 2), life: fmt.number(ltv.lifetime_years, 2), ltv: fmt.money(ltv.ltv_mean, cur) });
        var top = res[1].table.filter(function (r) { return Math.abs(r.top_share - 0.2) < 1e-9; })[0];
        if (top) {
          document.getElementById("pareto-note").textContent = fill("pareto_note", { share: fmt.percent(top.top_share, 0),
            revenue: fmt.percent(top.revenue_share), gini: fmt.ratio(res[1].gini) });
        }
        var tick = function (v) { return fmt.percent(v, 0); };
        chart("lorenz", {
          tooltip: { trigger: "axis", valueFormatter: function (v) { return fmt.percent(v); } },
          grid: { left: 70, right: 20, top: 30, bottom: 50 },
          xAxis: { type: "value", min: 0, max: 1, name: T.customer_share, nameLocation: "middle", nameGap: 30, axisLabel: { formatter: tick } },
          yAxis: { type: "value", min: 0, max: 1, name: T.revenue_share, axisLabel: { formatter: tick } },
          series: [{ type: "line", showSymbol: false, areaStyle: { opacity: 0.15 }, data: res[1].lorenz.map(function (p) { return [p.customer_share, p.revenue_share]; }) }]
        });
      }).catch(fail);
    },

    actions: function () {
      // the levers ranked by money (service.actions): every sentence comes from the API in the page's
      // language; names from the data (channels) only as text in [data-user]
      // the assumptions as percentages: filled from the API's (its defaults) until the reader changes them
      var form = document.getElementById("actions-form"), filled = false;
      function load() {
        var params = new URLSearchParams({ lang: document.documentElement.lang });
        if (filled) {
          var q = formData(form);
          Object.keys(q).forEach(function (k) { params.set(k, String(Number(q[k]) / 100)); });
        }
        status(T.working);
        api("/api/actions?" + params).then(function (d) {
          status("");
          if (!filled) {
            Object.keys(d.assumptions).forEach(function (k) {
              if (form.elements[k]) { form.elements[k].value = String(Math.round(d.assumptions[k] * 1000) / 10); }
            });
            filled = true;
          }
          document.getElementById("actions-note").textContent = d.note;
          document.getElementById("actions-head").textContent = d.money_head;
          var shown = d.levers.filter(function (l) { return l.applies; });
          var el = document.querySelector("[data-chart=actions]");
          el.style.height = Math.max(160, 56 * shown.length + 50) + "px";
          var money = function (v) { return fmt.moneyShort(v, d.currency); };
          // each bar with its money and lever written above it (the money first: a phone cuts the title, not the
          // figure), so long titles need no axis room
          chart("actions", {
            tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return fmt.money(v, d.currency); } },
            grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
            xAxis: { type: "value", splitNumber: el.clientWidth < 600 ? 2 : 5, axisLabel: { formatter: money, hideOverlap: true } },
            yAxis: { type: "category", inverse: true, data: shown.map(function (l) { return l.title; }), axisLabel: { show: false }, axisTick: { show: false } },
            series: [{ type: "bar", barWidth: 18, data: shown.map(function (l) { return l.money; }), itemStyle: { color: "#2f6fed" },
              label: { show: true, position: [0, -18], align: "left", color: "#1f2933", fontSize: 13, width: el.clientWidth - 40, overflow: "truncate",
                formatter: function (p) { return money(p.value) + " — " + p.name; } } }]
          });
          charts.actions.resize();
          var list = document.getElementById("levers");
          list.replaceChildren.apply(list, d.levers.map(function (l) {
            var children = [node("div", { "class": "lever-head" }, [
              node("span", { "class": "rank" }, [l.applies ? l.rank + "." : "–"]), node("h2", {}, [l.title]),
              node("span", { "class": "money", "data-money": l.money }, [l.applies ? l.money_text : T.actions_not_now])]),
              node("p", { "class": "do" }, [l.action])];
            if (l.basis) { children.push(node("p", { "class": "muted" }, [l.basis])); }
            if (l.applies) { children.push(node("p", { "class": "sure " + l.confidence, "data-confidence": l.confidence }, [l.sure])); }
            if (l.targets.length) {
              children.push(node("div", { "class": "targets" }, [node("span", { "class": "muted" }, [T.col_export + ":"])].concat(
                l.targets.map(function (t) {
                  var href = "/api/segments/export?" + new URLSearchParams({ scheme: d.scheme, segment: t.segment, currency: d.currency });
                  return node("span", { "class": "target", "data-segment": t.segment }, [t.label + " · " + fmt.number(t.customers) + (t.back ? " · " + t.back : "") + " · ",
                    node("a", { "class": "download", href: href }, [T.download])]);
                }))));
            }
            [["actions_from", l.channels_from], ["actions_to", l.channels_to]].forEach(function (pair) {
              if (!pair[1].length) { return; }
              children.push(node("div", { "class": "targets" }, [node("span", { "class": "muted" }, [T[pair[0]] + ":"])].concat(
                pair[1].map(function (name) { return node("span", { "class": "target", "data-user": "" }, [name]); }))));
            });
            return node("li", { "class": "lever" + (l.applies ? "" : " idle"), "data-lever": l.lever, "data-money": l.money }, children);
          }));
        }).catch(fail);
      }
      form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
      load();
    },

    cohorts: function () {
      compare();
      var form = document.getElementById("cohort-form"), valueSelect = form.elements.value;
      var valueLabel = document.getElementById("value-label");
      function load(keepValue) {
        var q = formData(form), params = new URLSearchParams({ metric: q.metric, period: q.period });
        if (q.split) { params.set("split", q.split); if (keepValue && q.value) { params.set("value", q.value); } }
        status(T.working);
        Promise.all([api("/api/cohorts?" + params), mainCurrency()]).then(function (res) {
          var d = res[0], cur = res[1];
          status("");
          valueLabel.hidden = !d.split;
          if (d.split && !keepValue) {
            valueSelect.replaceChildren.apply(valueSelect, d.split_values.map(function (v) { return node("option", { value: v }, [v]); }));
          }
          // month 0 is the first purchase (retention 100%, every customer): drawn grey, left out of the scale;
          // cumulative LTV grows with age, so there every month is on the scale
          var scaleFrom = d.metric === "ltv" ? 0 : 1;
          var format = d.metric === "retention" ? function (v) { return fmt.percent(v, 0); } :
            d.metric === "ltv" || d.metric === "revenue" ? function (v) { return fmt.moneyShort(v, cur); } : function (v) { return fmt.number(v); };
          var cellText = d.metric === "retention" ? function (v) { return fmt.percent(v, 0); } :
            d.metric === "ltv" || d.metric === "revenue" ? function (v) { return fmt.compact(v); } : format;
          var scaled = [], first = [], max = 0;
          d.values.forEach(function (row, i) {
            row.forEach(function (v, j) {
              if (v === null) { return; }
              if (j >= scaleFrom) { scaled.push([j, i, v]); max = Math.max(max, v); } else { first.push([j, i, v]); }
            });
          });
          var period = d.period === "week" ? function (iso) { return fmt.date(iso, "d MMM yyyy"); } : fmt.month;
          var names = d.cohorts.map(function (c, i) {
            return period(c) + (d.sizes ? " · " + fmt.number(d.sizes[i]) : "");
          });
          var el = document.querySelector("[data-chart=cohorts]");
          el.style.height = Math.max(360, 26 * d.cohorts.length + 120) + "px";
          var label = { show: d.ages.length <= 40, fontSize: d.ages.length <= 18 ? 11 : 9, formatter: function (p) { return cellText(p.value[2]); } };
          chart("cohorts", {
            tooltip: { formatter: function (p) { return tip(names[p.value[1]] + ", " + T.age_months + " " + p.value[0] + ": " + format(p.value[2])); } },
            grid: { left: 130, right: 20, top: 10, bottom: 90 },
            xAxis: { type: "category", data: d.ages, name: T.age_months, nameLocation: "middle", nameGap: 28 },
            yAxis: { type: "category", data: names, inverse: true, name: d.sizes ? T.cohort + " · " + T.cohort_size : T.cohort, nameLocation: "start" },
            visualMap: { min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0, seriesIndex: 0,
              formatter: format, inRange: { color: ["#f0f4ff", "#8fb0ff", "#2f6fed", "#17357a"] } },
            series: [{ type: "heatmap", data: scaled, label: label },
                     { type: "heatmap", data: first, label: label, itemStyle: { color: "#e4e7eb" } }]
          });
          el.setAttribute("data-scale-max", max);
          charts.cohorts.resize();
        }).catch(fail);
      }
      form.addEventListener("change", function (e) { load(e.target === valueSelect); });
      load(false);
    },

    channels: function () {
      Promise.all([api("/api/channels"), api("/api/cac").catch(function () { return []; }), mainCurrency()]).then(function (res) {
        var rows = res[0], cac = res[1], cur = res[2];
        bars("channels", rows.map(function (r) { return r.channel; }), rows.map(function (r) { return r.ltv_12; }), function (v) { return fmt.money(v, cur); });
        table("channel-table", rows, { currency: cur, columns: ["channel", "customers", "repeat_rate", "aov", "retention_1", "retention_3", "ltv_3", "ltv_6", "ltv_12"] });
        var over = cac.filter(function (r) { return r.cac > r.max_cac; });
        var verdict = document.getElementById("cac-verdict");
        document.getElementById("cac-note").textContent = cac.length ? fill("cac_note", { target: fmt.number(TARGET) }) : T.no_spend;
        if (cac.length) {
          verdict.className = over.length ? "verdict bad" : "verdict good";
          verdict.replaceChildren.apply(verdict, [fill(over.length ? "channels_over" : "channels_all_within",
            { count: over.length, total: cac.length, target: fmt.number(TARGET) })].concat(over.length ? [" "] : [],
            over.map(function (r, i) { return node("span", { "data-user": "" }, [(i ? ", " : "") + r.channel]); })));
          verdict.setAttribute("data-over", over.length);
        }
        table("cac-table", cac, {
          currency: cur,
          columns: ["channel", "spend", "new_customers", "cac", "gross_profit_ltv", "ltv_to_cac", "max_cac", "payback_months"],
          labels: { gross_profit_ltv: cac.length ? T.gross_profit_ltv + ", " + fill("payback_months_n", { months: cac[0].ltv_age }) : "" },
          rowClass: function (r) { return r.cac > r.max_cac ? "over" : "within"; },
          extraHead: T.col_verdict,
          extra: function (r) {
            var values = { cac: fmt.money(r.cac, cur), max: fmt.money(r.max_cac, cur), over: fmt.money(r.cac - r.max_cac, cur) };
            return node("span", { "class": r.cac > r.max_cac ? "flag bad" : "flag good", "data-verdict": r.cac > r.max_cac ? "over" : "within" },
              [fill(r.cac > r.max_cac ? "over_max_cac" : "within_max_cac", values)]);
          }
        });
      }).catch(fail);
      // the models' view: slower, so it fills its own table when it is ready
      api("/api/channels/predicted?" + new URLSearchParams({ lang: LANG })).then(function (p) {
        var cur = p.currency;
        table("predicted-table", p.rows, {
          currency: cur,
          columns: ["channel", "customers", "ltv", "max_cac", "cac"],
          labels: { ltv: T.col_ltv_predicted },
          rowClass: function (r) { return r.cac > r.max_cac_high ? "over" : ""; },
          extraHead: T.col_ltv_interval + " · " + T.col_max_cac_interval,
          extra: function (r) {
            var caveats = ["small_group", "mostly_predicted"].filter(function (k) { return r[k]; }).map(function (k) { return T["caveat_" + k]; });
            return node("span", {}, [fmt.money(r.ltv_low, cur) + " – " + fmt.money(r.ltv_high, cur) + " · " +
              fmt.money(r.max_cac_low, cur) + " – " + fmt.money(r.max_cac_high, cur) + (caveats.length ? " (" + caveats.join("; ") + ")" : "")]);
          }
        });
        notes("predicted-notes", p.notes);
      }).catch(function (error) { document.getElementById("predicted-table").textContent = error.message; });
    },

    value: function () {
      var form = document.getElementById("value-form");
      function tile(label, key, value, text) {
        return node("div", { "class": "tile" }, [node("div", { "class": "label" }, [label]),
          node("div", { "class": "value", "data-kpi": key, "data-value": value }, [text])]);
      }
      function load() {
        var q = formData(form);
        status(T.working);
        Promise.all([api("/api/predictions?" + new URLSearchParams({ horizon: q.horizon, margin: Number(q.margin) / 100, lang: LANG })), mainCurrency()]).then(function (res) {
          var d = res[0], cur = res[1];
          status("");
          notes("value-notes", d.notes);
          document.getElementById("value-tiles").replaceChildren(
            tile(T.customers, "customers", d.customers, fmt.number(d.customers)),
            tile(fill("total_clv", { months: fmt.number(d.horizon) }), "total_clv", d.total_clv, fmt.moneyShort(d.total_clv, cur)));
          var h = d.alive_histogram;
          bars("alive", h.counts.map(function (_, i) { return fmt.number(h.edges[i] * 100) + "–" + fmt.percent(h.edges[i + 1], 0); }), h.counts, function (v) { return fmt.number(v); });
          table("top-table", d.top, { currency: cur, columns: ["customer_id", "probability_alive", "expected_purchases", "expected_spend", "clv", "clv_low", "clv_high"] });
        }).catch(fail);
      }
      form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
      load();
    },

    segments: function () {
      var form = document.getElementById("segment-form");
      function load() {
        var scheme = form.elements.scheme.value;
        Promise.all([api("/api/segments?" + new URLSearchParams({ scheme: scheme })), mainCurrency()]).then(function (res) {
          var rows = res[0], cur = res[1];
          bars("segments", rows.map(function (r) { return T["segment_" + r.segment] || r.segment; }), rows.map(function (r) { return r.customers; }), function (v) { return fmt.number(v); });
          table("segment-table", rows, { currency: cur, columns: ["segment", "customers", "customer_share", "revenue", "revenue_share", "average_ltv", "action"],
            extraHead: T.col_export,
            extra: function (r) {
              return node("a", { "class": "download", href: "/api/segments/export?" + new URLSearchParams({ scheme: scheme, segment: r.segment }) }, [T.download]);
            } });
        }).catch(fail);
      }
      form.addEventListener("change", load);
      load();
    },

    scenarios: function () {
      var form = document.getElementById("scenario-form");
      function describe(s, cur) {
        var parts = [];
        if (s.aov_change) { parts.push(fill("scenario_aov", { change: fmt.signed(s.aov_change, 0) })); }
        if (s.upsell_rate && s.upsell_price) { parts.push(fill("scenario_upsell", { price: fmt.money(s.upsell_price, cur), share: fmt.percent(s.upsell_rate, 0) })); }
        if (s.frequency_change) { parts.push(fill("scenario_frequency", { change: fmt.signed(s.frequency_change, 0) })); }
        if (s.churn_change) { parts.push(fill("scenario_churn", { change: (s.churn_change > 0 ? "+" : "") + fmt.number(s.churn_change * 100, 1) })); }
        if (s.margin < 1) { parts.push(fill("scenario_margin", { margin: fmt.percent(s.margin, 0) })); }
        return T.scenario_yours + ": " + (parts.length ? parts.join("; ") : T.scenario_nothing);
      }
      function load() {
        var q = formData(form), scenario = { name: "scenario" };
        ["aov_change", "upsell_rate", "frequency_change", "churn_change"].forEach(function (k) { scenario[k] = Number(q[k]) / 100; });
        scenario.upsell_price = Number(q.upsell_price);
        var margin = Number(q.margin) / 100;
        status(T.working);
        Promise.all([api("/api/scenarios?" + new URLSearchParams({ lang: LANG }), { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ scenarios: [scenario], margin: margin, currency: CURRENCY || null }) }), mainCurrency()]).then(function (res) {
          var d = res[0];
          status("");
          document.getElementById("scenario-summary").textContent = describe(Object.assign({ margin: margin }, scenario), d.currency);
          table("scenario-table", d.rows, { currency: d.currency, columns: ["scenario", "formula_ltv", "formula_ltv_change", "formula_max_cac", "model_ltv", "model_ltv_change", "model_max_cac"] });
          notes("scenario-notes", d.notes);
        }).catch(fail);
      }
      form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
      load();
    },

    retainers: function () {
      // the client book (imported with ltv retainer import / book import): MRR and its movements by month
      api("/api/retainer/book?" + new URLSearchParams({ lang: document.documentElement.lang })).then(function (book) {
        document.getElementById("book-headline").textContent = book.clients ?
          fill("book_headline", { clients: fmt.number(book.clients), active: fmt.number(book.active) }) : T.book_empty;
        var holder = document.getElementById("book-months");
        holder.replaceChildren();
        book.currencies.forEach(function (code, i) {  // one table a currency: MRR is never summed across them
          holder.append(node("h3", {}, [fill("retainer_months", { currency: code })]), node("div", { id: "book-months-" + i }));
          var months = book.months.filter(function (m) { return m.currency === code; }).reverse();
          table("book-months-" + i, months, { currency: code,
            columns: ["month", "mrr", "new", "expansion", "contraction", "churned", "churn_rate", "nrr", "paid"] });
        });
        var said = book.sentences || { values: [], notes: [], english_notes: [] };
        var words = document.getElementById("book-words");
        words.replaceChildren.apply(words, (said.lifetime ? [said.lifetime] : []).concat(said.values).map(function (t) { return node("p", {}, [t]); }));
        // the clients and what each source of spend won: cells formatted by the server in the page's language
        var tables = document.getElementById("book-tables");
        tables.replaceChildren.apply(tables, (book.shown || []).map(function (shown) {
          return node("div", {}, [node("h3", {}, [shown.title]), node("table", {}, [
            node("thead", {}, [node("tr", {}, shown.heads.map(function (h, i) { return node("th", i ? {} : { "class": "text" }, [h.charAt(0).toUpperCase() + h.slice(1)]); }))]),
            node("tbody", {}, shown.rows.map(function (row) {
              return node("tr", {}, row.map(function (cell, i) { return node("td", i ? {} : (shown.named ? { "data-user": "" } : {}), [cell]); }));
            }))])]);
        }));
        var noted = document.getElementById("book-said-notes");
        noted.replaceChildren.apply(noted, said.notes.map(function (t) { return node("p", { "class": "muted" }, [T.retainer_note.charAt(0).toUpperCase() + T.retainer_note.slice(1) + ": " + t]); }));
        notes("book-notes", said.english_notes, true);
      }).catch(function (error) { document.getElementById("book-headline").textContent = error.message; });
      var form = document.getElementById("invoice-form");
      form.elements.start.value = new Date().toISOString().slice(0, 10);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var q = formData(form);
        api("/api/retainer/invoice", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ fee: Number(q.fee), currency: q.currency, start: q.start, country: q.country, installments: Number(q.installments) }) })
          .then(function (plan) {
            status("");
            var first = plan.first_invoice;
            plan.schedule.forEach(function (p) { p.installment = p.installment + " / " + p.of; });
            document.getElementById("invoice-result").replaceChildren(
              node("p", { "data-first-invoice": first.amount, "class": "breakdown" }, [fill("invoice_first_short", { month: fmt.month(first.month),
                remaining: first.remaining_working_days, working: first.working_days_in_month, amount: fmt.money(first.amount, plan.currency, 2) })]),
              node("div", { id: "schedule" }));
            table("schedule", plan.schedule, { columns: ["month", "installment", "amount", "due"], currency: plan.currency, digits: 2 });
          }).catch(fail);
      });
    },

    data: function () {
      var form = document.getElementById("upload-form"), bar = document.getElementById("upload-progress");
      var result = document.getElementById("upload-result"), mapping = document.getElementById("mapping-form");
      var ORDER_FIELDS = ["customer_id", "email", "phone", "ordered_at", "amount", "order_id", "status", "currency", "product", "channel"];
      var SPEND_FIELDS = ["date", "channel", "campaign", "amount", "currency"];
      function ledgers() {
        api("/api/imports").then(function (rows) {
          table("imports-table", rows.slice().reverse(), { columns: ["import_id", "imported_at", "file_name", "kind", "read", "loaded", "duplicates", "rejected"] });
        }).catch(fail);
        api("/api/rejected?limit=200").then(function (rows) {
          table("rejected-table", rows, { columns: ["file_name", "row_number", "column", "value", "reason"] });
        }).catch(fail);
      }
      function done(account) {
        result.hidden = false;
        result.className = "account " + (account.rejected ? "warn" : "good");
        result.setAttribute("data-account", JSON.stringify({ read: account.read, loaded: account.loaded, duplicates: account.duplicates, rejected: account.rejected }));
        result.replaceChildren(node("p", {}, [fill("upload_done", { file: account.file, read: fmt.number(account.read), loaded: fmt.number(account.loaded),
          duplicates: fmt.number(account.duplicates), rejected: fmt.number(account.rejected) })]))
        if (account.rejected) { result.appendChild(node("p", { "class": "muted" }, [T.upload_rejected_hint])); }
      }
      // the file's columns could not all be mapped: ask which column holds each field (the CLI's --mapping);
      // the answer is remembered for files with the same columns, so the next export imports in one click
      function askColumns(problem) {
        var key = "ltv-mapping:" + JSON.stringify(problem.columns), remembered = {};
        try { remembered = JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { remembered = {}; }
        mapping.setAttribute("data-key", key);
        var spend = problem.missing.some(function (group) { return group.indexOf("date") >= 0; });
        var needed = {};
        problem.missing.forEach(function (group) { group.forEach(function (f) { needed[f] = true; }); });
        var parts = T.mapping_intro.split("{file}"), name = form.elements.file.files[0] ? form.elements.file.files[0].name : "";
        document.getElementById("mapping-intro").replaceChildren(parts[0], node("span", { "data-user": "" }, [name]), parts[1] || "");
        var fields = spend ? SPEND_FIELDS : ORDER_FIELDS;
        document.getElementById("mapping-needed").textContent = fill("mapping_needed", { fields: problem.missing.map(function (group) {
          return group.filter(function (f) { return fields.indexOf(f) >= 0; })
            .map(function (f) { return T["data_field_" + f] || f; }).join(T.mapping_or);
        }).join("; ") });
        document.getElementById("mapping-fields").replaceChildren.apply(document.getElementById("mapping-fields"),
          fields.map(function (f) {
            var select = node("select", { name: f }, [node("option", { value: "" }, [T.mapping_none])].concat(
              problem.columns.map(function (column) { return node("option", { value: column, "data-user": "" }, [column]); })));
            select.value = remembered[f] || problem.found[f] || "";
            return node("label", {}, [(T["data_field_" + f] || f) + (needed[f] ? " *" : ""), select]);
          }));
        mapping.setAttribute("data-kind", spend ? "spend" : "orders");
        mapping.hidden = false;
      }
      function failed(problem) {
        bar.hidden = true;
        var own = problem.messages && problem.messages[document.documentElement.lang];
        if (problem.columns) { askColumns(problem); own = T.mapping_reason; }
        status(fill("upload_failed", { reason: own || formatProblem(problem.message) }), true);
      }
      function poll(job) {
        bar.value = job.done; bar.max = job.total || 3;
        // the import's stage (data/workspace.STAGES: read, map, account, write; then the figures refreshed)
        if (job.status === "running" && T["progress_" + job.stage]) { status(T["progress_" + job.stage] + "…"); }
        if (job.status === "done") {
          bar.hidden = true; status("");
          done(job.result);
          ledgers();
        } else if (job.status === "failed") {
          failed(job.problem || { message: job.error });
        } else {
          setTimeout(function () { api("/api/jobs/" + job.id).then(poll).catch(fail); }, 300);
        }
      }
      function upload(extra) {
        var body = new FormData(form);
        ["preset", "decimal", "currency", "sheet"].forEach(function (name) { if (!body.get(name)) { body.delete(name); } });
        Object.keys(extra).forEach(function (name) { body.set(name, extra[name]); });
        bar.hidden = false; result.hidden = true; status(T.working);
        api("/api/imports", { method: "POST", body: body }).then(poll).catch(function (error) {
          bar.hidden = true; status(fill("upload_failed", { reason: error.message }), true);
        });
      }
      form.elements.file.addEventListener("change", function () {
        var chosen = form.elements.file.files[0], el = document.getElementById("file-chosen");
        el.textContent = chosen ? chosen.name : T.no_file;
        if (chosen) { el.setAttribute("data-user", ""); } else { el.removeAttribute("data-user"); }
        mapping.hidden = true;
      });
      form.addEventListener("submit", function (e) { e.preventDefault(); mapping.hidden = true; upload({}); });
      mapping.addEventListener("submit", function (e) {
        e.preventDefault();
        var chosen = {};
        Array.prototype.forEach.call(mapping.querySelectorAll("select"), function (s) { if (s.value) { chosen[s.name] = s.value; } });
        mapping.hidden = true;
        try { localStorage.setItem(mapping.getAttribute("data-key"), JSON.stringify(chosen)); } catch (e) { /* private mode */ }
        upload({ columns: JSON.stringify(chosen), kind: mapping.getAttribute("data-kind") });
      });
      ledgers();
    },

    docs: function () {
      // the OpenAPI schema as a readable page: each operation with its parameters and body
      api("/openapi.json").then(function (spec) {
        var out = [];
        Object.keys(spec.paths).forEach(function (path) {
          Object.keys(spec.paths[path]).forEach(function (method) {
            var op = spec.paths[path][method], params = (op.parameters || []).map(function (p) {
              var s = p.schema || {}, type = s.type || (s.anyOf || []).map(function (a) { return a.type; }).filter(Boolean).join(" | ") || "";
              return node("tr", {}, [node("td", {}, [node("code", {}, [p.name])]), node("td", {}, [p.in]), node("td", {}, [type + (p.required ? ", required" : "")]),
                node("td", { "class": "wrap" }, [p.description || (s.default !== undefined ? "default " + JSON.stringify(s.default) : "")])]);
            });
            var body = op.requestBody && op.requestBody.content ? Object.keys(op.requestBody.content).join(", ") : "";
            var ref = body && (op.requestBody.content[Object.keys(op.requestBody.content)[0]].schema || {}).$ref;
            var children = [node("h2", {}, [node("span", { "class": "method " + method }, [method.toUpperCase()]), " ", node("code", {}, [path])]),
              node("p", {}, [op.summary || ""])];
            if (params.length) { children.push(node("table", {}, [node("tbody", {}, params)])); }
            if (body) { children.push(node("p", { "class": "muted" }, ["Body: " + body + (ref ? " · " + ref.split("/").pop() : "")])); }
            out.push(node("section", { "data-operation": method + " " + path }, children));
          });
        });
        var schemas = (spec.components || {}).schemas || {};
        Object.keys(schemas).forEach(function (name) {
          var props = schemas[name].properties || {};
          out.push(node("section", { id: "schema-" + name }, [node("h2", {}, [name]), node("table", {}, [node("tbody", {}, Object.keys(props).map(function (p) {
            var s = props[p];
            return node("tr", {}, [node("td", {}, [node("code", {}, [p])]), node("td", {}, [s.type || (s.anyOf || []).map(function (a) { return a.type; }).join(" | ") || (s.enum || []).join(", ")]),
              node("td", { "class": "wrap" }, [s.description || (s.default !== undefined ? "default " + JSON.stringify(s.default) : "")])]);
          }))])]));
        });
        document.getElementById("api-docs").replaceChildren.apply(document.getElementById("api-docs"), out);
        document.body.setAttribute("data-docs-rendered", String(out.length));
      }).catch(fail);
    }
  };

  var page = document.body.getAttribute("data-page");
  if (["overview", "actions", "cohorts", "channels", "value", "segments", "scenarios"].indexOf(page) >= 0) { currencySwitch(); }
  pages[page]();
})();
