/* ltvkit report: draws the charts from the JSON in #report-data. Inlined into the report by build.py, which
   allows it by the SHA-256 of this exact text in the report's Content-Security-Policy. Names from the data
   (cohorts, channels) are only ever set as text: axis labels and legends are drawn on the canvas, echarts'
   own tooltips escape them, and the one tooltip built here is a DOM node filled with textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var L = data.labels;
  var num = new Intl.NumberFormat(data.locale, { maximumFractionDigits: 0 });
  var money = new Intl.NumberFormat(data.locale, { style: "currency", currency: data.currency === "XXX" ? "USD" : data.currency, maximumFractionDigits: 0 });
  var pct = new Intl.NumberFormat(data.locale, { style: "percent", maximumFractionDigits: 0 });
  var fmtMoney = function (v) { return data.currency === "XXX" ? num.format(v) + " XXX" : money.format(v); };
  var month = function (iso) { return data.months[iso] || iso; };
  var charts = {};
  var builders = {
    retention: function () { return heatmap(data.heatmaps.retention, function (v) { return pct.format(v); }, 1); },
    ltv: function () { return heatmap(data.heatmaps.ltv, fmtMoney, 0); },
    cohort_curves: function () {
      var c = data.cohort_curves;
      return lines(c.ages, Object.keys(c.series).map(function (k) { return { name: month(k), data: c.series[k] }; }));
    },
    channel_curves: function () {
      var c = data.channel_curves;
      return lines(c.ages, Object.keys(c.series).map(function (k) { return { name: k, data: c.series[k] }; }));
    },
    cac: function () {
      var rows = data.cac || [];
      var pick = function (key) { return rows.map(function (r) { return r[key]; }); };
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : fmtMoney(v); } },
        legend: { top: 0 },
        grid: { left: 80, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", data: pick("channel") },
        yAxis: { type: "value", axisLabel: { formatter: fmtMoney } },
        series: [
          { name: L.cac, type: "bar", data: pick("cac") },
          { name: L.gross_profit_ltv, type: "bar", data: pick("gross_profit_ltv") },
          { name: L.max_cac, type: "bar", data: pick("max_cac") }
        ]
      };
    },
    pareto: function () {
      var c = data.lorenz;
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return pct.format(v); } },
        grid: { left: 60, right: 20, top: 20, bottom: 50 },
        xAxis: { type: "value", min: 0, max: 1, name: L.customer_share, nameLocation: "middle", nameGap: 30, axisLabel: { formatter: function (v) { return pct.format(v); } } },
        yAxis: { type: "value", min: 0, max: 1, name: L.revenue_share, axisLabel: { formatter: function (v) { return pct.format(v); } } },
        series: [{ type: "line", showSymbol: false, areaStyle: { opacity: 0.15 },
                   data: c.customer_share.map(function (x, i) { return [x, c.revenue_share[i]]; }) }]
      };
    }
  };
  // a tooltip's content as text: echarts puts a string from a formatter in as HTML, a node as it is
  function tip(text) {
    var el = document.createElement("div");
    el.textContent = text;
    return el;
  }
  // the colour scale spans the ages from scaleFrom on (retention at age 0 is always 100%)
  function heatmap(h, fmt, scaleFrom) {
    var cells = [], max = 0;
    h.values.forEach(function (row, y) { row.forEach(function (v, x) { if (v != null) { cells.push([x, y, v]); if (x >= scaleFrom && v > max) { max = v; } } }); });
    return {
      tooltip: { formatter: function (p) { return tip(month(h.cohorts[p.value[1]]) + " · " + h.ages[p.value[0]] + ": " + fmt(p.value[2])); } },
      grid: { left: 90, right: 110, top: 10, bottom: 50 },
      xAxis: { type: "category", data: h.ages, name: L.age_months, nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
      yAxis: { type: "category", data: h.cohorts.map(month), inverse: true },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: "vertical", right: 0, top: "middle", formatter: fmt,
                   inRange: { color: ["#f0f4ff", "#8fb0ff", "#2f6fed", "#17357a"] } },
      series: [{ type: "heatmap", data: cells, label: { show: h.ages.length <= 13, formatter: function (p) { return fmt(p.value[2]); }, fontSize: 10 } }]
    };
  }
  function lines(ages, series) {
    return {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : fmtMoney(v); } },
      legend: { type: "scroll", top: 0 },
      grid: { left: 80, right: 20, top: 40, bottom: 50 },
      xAxis: { type: "category", data: ages, name: L.age_months, nameLocation: "middle", nameGap: 30 },
      yAxis: { type: "value", axisLabel: { formatter: fmtMoney } },
      series: series.map(function (s) { return { name: s.name, type: "line", data: s.data, connectNulls: false, showSymbol: false }; })
    };
  }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(builders[el.dataset.chart]());
    charts[el.dataset.chart] = chart;
  });
  window.addEventListener("resize", function () { Object.values(charts).forEach(function (c) { c.resize(); }); });
  document.body.dataset.chartsRendered = String(Object.keys(charts).length);
})();
