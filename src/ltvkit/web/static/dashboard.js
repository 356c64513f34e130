/* ltvkit dashboard: every figure comes from the JSON API (/api/…); numbers are formatted by the page's locale.
   Names from the data (customers, channels, products, campaigns, file names) are only ever set as text: the
   page is built with createElement and textContent (never innerHTML), chart labels and legends are drawn on
   the canvas, echarts' own tooltips escape them, and a tooltip built here is a DOM node. The pages run under
   a Content-Security-Policy with script-src 'self': no inline script or on… attribute anywhere. */
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("labels").textContent);
  var LOCALE = { en: "en-US", ru: "ru-RU", uk: "uk-UA" }[document.documentElement.lang] || "en-US";
  var statusEl = document.getElementById("status");
  var charts = {};

  function status(text, isError) {
    statusEl.textContent = text || "";
    statusEl.className = isError ? "error" : "muted";
  }

  function api(path, options) {
    return fetch(path, options).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          var error = new Error(response.status === 409 && /no orders/.test(body.message) ? T.no_data : body.message);
          error.status = response.status;
          throw error;
        }
        return body;
      });
    });
  }

  function fail(error) { status(error.message, error.status !== 409); }

  var fmt = {
    number: function (v, digits) { return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: digits || 0 }).format(v); },
    percent: function (v) { return new Intl.NumberFormat(LOCALE, { style: "percent", maximumFractionDigits: 1 }).format(v); },
    money: function (v, currency) {
      if (!currency || currency === "XXX") { return fmt.number(v); }
      return new Intl.NumberFormat(LOCALE, { style: "currency", currency: currency, maximumFractionDigits: 0 }).format(v);
    }
  };
  var PERCENT = /(_rate|_share|^share|retention_\d+|conversion|_change)$/;

  function cell(key, value, currency) {
    if (value === null || value === undefined) { return ""; }
    if (typeof value !== "number") { return String(value); }
    if (PERCENT.test(key)) { return fmt.percent(value); }
    if (/ltv|revenue|cac|aov|spend|price|clv|amount|net|profit/.test(key)) { return fmt.money(value, currency); }
    return fmt.number(value, Math.abs(value) < 10 && value % 1 ? 2 : 0);
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

  // The rows as a table in #id; options.extra(row) gives a node for an extra last column.
  function table(id, rows, options) {
    options = options || {};
    var el = document.getElementById(id);
    if (!rows.length) { el.textContent = "—"; return; }
    var columns = options.columns || Object.keys(rows[0]);
    var head = node("tr", {}, columns.map(function (c) { return node("th", {}, [c]); })
      .concat(options.extra ? [node("th")] : []));
    var body = rows.map(function (row) {
      var cells = columns.map(function (c) {
        var v = row[c], attributes = { "data-col": c };
        if (typeof v === "number") { attributes["data-value"] = v; }
        return node("td", attributes, [cell(c, v, options.currency)]);
      });
      return node("tr", {}, options.extra ? cells.concat([node("td", {}, [options.extra(row)])]) : cells);
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
      tooltip: { valueFormatter: format }, grid: { left: 90, right: 20, top: 20, bottom: 60 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", axisLabel: { formatter: format } },
      series: [{ type: "bar", data: values, itemStyle: { color: "#2f6fed" } }]
    });
  }

  function formData(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) { out[k] = v; });
    return out;
  }

  var pages = {
    overview: function () {
      Promise.all([api("/api/summary"), api("/api/pareto")]).then(function (res) {
        var s = res[0], ltv = s.ltv[0], cur = ltv.currency;
        var values = { customers: s.customers, orders: s.orders, net_revenue: ltv.net_revenue, ltv: ltv.ltv_mean,
          aov: ltv.aov, purchases_per_customer: ltv.purchases_per_customer, repeat_rate: ltv.repeat_rate };
        document.querySelectorAll("[data-kpi]").forEach(function (el) {
          var key = el.getAttribute("data-kpi"), v = values[key];
          el.setAttribute("data-value", v);
          el.textContent = key === "repeat_rate" ? fmt.percent(v) :
            key === "purchases_per_customer" ? fmt.number(v, 2) :
            /revenue|ltv|aov/.test(key) ? fmt.money(v, cur) : fmt.number(v);
        });
        document.getElementById("breakdown").textContent = "LTV = " + fmt.money(ltv.aov, cur) + " × " +
          fmt.number(ltv.frequency_per_year, 2) + " × " + fmt.number(ltv.lifetime_years, 2) + " = " + fmt.money(ltv.ltv_mean, cur);
        var lorenz = res[1].lorenz;
        chart("lorenz", {
          tooltip: { trigger: "axis" }, grid: { left: 60, right: 20, top: 20, bottom: 40 },
          xAxis: { type: "value", min: 0, max: 1, name: T.customer_share, nameLocation: "middle", nameGap: 26, axisLabel: { formatter: fmt.percent } },
          yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: fmt.percent } },
          series: [{ type: "line", showSymbol: false, data: lorenz.map(function (p) { return [p.customer_share, p.revenue_share]; }) }]
        });
      }).catch(fail);
    },

    cohorts: function () {
      var form = document.getElementById("cohort-form"), valueSelect = form.elements.value;
      function load(keepValue) {
        var q = formData(form), params = new URLSearchParams({ metric: q.metric, period: q.period });
        if (q.split) { params.set("split", q.split); if (keepValue && q.value) { params.set("value", q.value); } }
        status(T.working);
        api("/api/cohorts?" + params).then(function (d) {
          status("");
          valueSelect.hidden = !d.split;
          if (d.split && !keepValue) {
            valueSelect.replaceChildren.apply(valueSelect, d.split_values.map(function (v) { return node("option", {}, [v]); }));
          }
          var points = [];
          d.values.forEach(function (row, i) { row.forEach(function (v, j) { if (v !== null) { points.push([j, i, v]); } }); });
          var format = d.metric === "retention" ? fmt.percent : function (v) { return fmt.number(v); };
          var max = Math.max.apply(null, points.map(function (p) { return p[0] === 0 && d.metric === "retention" ? 0 : p[2]; }).concat([1e-9]));
          chart("cohorts", {
            tooltip: { formatter: function (p) { return tip(d.cohorts[p.value[1]] + ", " + T.age_months + " " + p.value[0] + ": " + format(p.value[2])); } },
            grid: { left: 90, right: 20, top: 10, bottom: 80 },
            xAxis: { type: "category", data: d.ages, name: T.age_months, nameLocation: "middle", nameGap: 28 },
            yAxis: { type: "category", data: d.cohorts, inverse: true },
            visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0, formatter: format },
            series: [{ type: "heatmap", data: points }]
          });
        }).catch(fail);
      }
      form.addEventListener("change", function (e) { load(e.target === valueSelect); });
      load(false);
    },

    channels: function () {
      Promise.all([api("/api/channels"), api("/api/cac").catch(function () { return []; })]).then(function (res) {
        var rows = res[0];
        var ltvKey = Object.keys(rows[0] || {}).filter(function (k) { return /^ltv_\d+$/.test(k); }).pop() || "ltv";
        bars("channels", rows.map(function (r) { return r.channel; }), rows.map(function (r) { return r[ltvKey]; }), function (v) { return fmt.number(v); });
        table("channel-table", rows);
        table("cac-table", res[1]);
      }).catch(fail);
    },

    value: function () {
      var form = document.getElementById("value-form");
      function tile(label, key, value) {
        return node("div", { class: "tile" }, [node("div", { class: "label" }, [label]),
          node("div", { class: "value", "data-kpi": key, "data-value": value }, [fmt.number(value)])]);
      }
      function load() {
        var q = formData(form);
        status(T.working);
        api("/api/predictions?" + new URLSearchParams({ horizon: q.horizon, margin: q.margin })).then(function (d) {
          status(d.notes && d.notes.length ? T.model_note + ": " + d.notes.join(" ") : "");
          document.getElementById("value-tiles").replaceChildren(
            tile(T.customers, "customers", d.customers), tile("CLV", "total_clv", d.total_clv));
          var h = d.alive_histogram;
          bars("alive", h.counts.map(function (_, i) { return fmt.percent(h.edges[i]) + "–" + fmt.percent(h.edges[i + 1]); }), h.counts, function (v) { return fmt.number(v); });
          table("top-table", d.top, { columns: ["customer_id", "probability_alive", "expected_purchases", "expected_spend", "clv", "clv_low", "clv_high"] });
        }).catch(fail);
      }
      form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
      load();
    },

    segments: function () {
      var form = document.getElementById("segment-form");
      function load() {
        var scheme = form.elements.scheme.value;
        api("/api/segments?" + new URLSearchParams({ scheme: scheme })).then(function (rows) {
          bars("segments", rows.map(function (r) { return r.segment; }), rows.map(function (r) { return r.customers; }), function (v) { return fmt.number(v); });
          table("segment-table", rows, { extra: function (r) {
            return node("a", { href: "/api/segments/export?" + new URLSearchParams({ scheme: scheme, segment: r.segment }) }, [T.download]);
          } });
        }).catch(fail);
      }
      form.addEventListener("change", load);
      load();
    },

    scenarios: function () {
      var form = document.getElementById("scenario-form");
      function load() {
        var q = formData(form), scenario = { name: "scenario" };
        ["aov_change", "upsell_rate", "upsell_price", "frequency_change", "churn_change"].forEach(function (k) { scenario[k] = Number(q[k]); });
        status(T.working);
        api("/api/scenarios", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ scenarios: [scenario], margin: Number(q.margin) }) }).then(function (d) {
          status("");
          table("scenario-table", d.rows, { currency: d.currency, columns: ["scenario", "formula_ltv", "formula_ltv_change", "formula_max_cac", "model_ltv", "model_ltv_change", "model_max_cac"] });
          document.getElementById("scenario-notes").textContent = (d.notes || []).join(" ");
        }).catch(fail);
      }
      form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
      load();
    },

    retainers: function () {
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
            document.getElementById("invoice-result").replaceChildren(
              node("p", { "data-first-invoice": first.amount }, [first.remaining_working_days + " / " + first.working_days_in_month + " → " + first.amount + " " + plan.currency]),
              node("div", { id: "schedule" }));
            table("schedule", plan.schedule, { columns: ["month", "installment", "amount", "due"] });
          }).catch(fail);
      });
    },

    data: function () {
      var form = document.getElementById("upload-form"), bar = document.getElementById("upload-progress");
      function ledgers() {
        api("/api/imports").then(function (rows) { table("imports-table", rows, { columns: ["import_id", "kind", "file_name", "preset", "rows_read", "rows_loaded", "rows_duplicate", "rows_rejected"].filter(function (c) { return !rows.length || c in rows[0]; }) }); }).catch(fail);
        api("/api/rejected?limit=200").then(function (rows) { table("rejected-table", rows); }).catch(fail);
      }
      function poll(job) {
        bar.value = job.done; bar.max = job.total || 3;
        if (job.status === "done") {
          bar.hidden = true; status("");
          document.getElementById("upload-result").textContent = JSON.stringify(job.result, null, 2);
          ledgers();
        } else if (job.status === "failed") {
          bar.hidden = true; status(job.error, true);
        } else {
          setTimeout(function () { api("/api/jobs/" + job.id).then(poll).catch(fail); }, 300);
        }
      }
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        bar.hidden = false; status(T.working);
        api("/api/imports", { method: "POST", body: new FormData(form) }).then(poll).catch(function (error) { bar.hidden = true; fail(error); });
      });
      ledgers();
    }
  };

  pages[document.body.getAttribute("data-page")]();
})();
