/* ltvkit report: draws the charts from the JSON in #report-data. Inlined into the report by build.py, which
   allows it by the SHA-256 of this exact text in the report's Content-Security-Policy. Names from the data
   (cohorts, channels) are only ever set as text: axis labels and legends are drawn on the canvas, echarts'
   own tooltips escape them, and the one tooltip built here is a DOM node filled with textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var L = data.labels;
  var fmt = window.ltvFormatter(data.format);  // ltvkit.formatting's rules (format.js), not the browser's Intl
  var fmtMoney = function (v) { return fmt.money(v, data.currency); };
  var pct = { format: function (v) { return fmt.percent(v, 0); } };
  var month = function (iso) { return data.months[iso] || iso; };
  var charts = {};
  var builders = {
    retention: function (el) { return heatmap(el, data.heatmaps.retention, pct.format, 1, pct.format); },
    ltv: function (el) { return heatmap(el, data.heatmaps.ltv, fmtMoney, 0, function (v) { return fmt.number(v); }); },
    cohort_curves: function () {
      var c = data.cohort_curves;
      return lines(c.ages, Object.keys(c.series).map(function (k) { return { name: month(k), data: c.series[k] }; }));
    },
    channel_curves: function () {
      var c = data.channel_curves;
      return lines(c.ages, Object.keys(c.series).map(function (k) { return { name: k, data: c.series[k] }; }));
    },
    cac: function (el) {
      var rows = data.cac || [];
      var pick = function (key) { return rows.map(function (r) { return r[key]; }); };
      return {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : fmtMoney(v); } },
        legend: { top: 0 },
        grid: { left: 80, right: 20, top: el.clientWidth < 500 ? 70 : 40, bottom: 40 },  // a phone: legend in 2 rows
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
  // the colour scale spans the ages from scaleFrom on (retention at age 0 is always 100%: drawn grey); each
  // cell shows its value (cellText, in % for retention) when the cells are wide enough to hold it
  function heatmap(el, h, format, scaleFrom, cellText) {
    var cells = [], first = [], max = 0;
    h.values.forEach(function (row, y) {
      row.forEach(function (v, x) {
        if (v == null) { return; }
        if (x >= scaleFrom) { cells.push([x, y, v]); if (v > max) { max = v; } } else { first.push([x, y, v]); }
      });
    });
    var wide = (el.clientWidth - 200) / Math.max(h.ages.length, 1) >= 34;
    var label = { show: wide, fontSize: h.ages.length <= 18 ? 11 : 9, formatter: function (p) { return cellText(p.value[2]); } };
    return {
      tooltip: { formatter: function (p) { return tip(month(h.cohorts[p.value[1]]) + " · " + h.ages[p.value[0]] + ": " + format(p.value[2])); } },
      grid: { left: 90, right: 110, top: 10, bottom: 50 },
      xAxis: { type: "category", data: h.ages, name: L.age_months, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "category", data: h.cohorts.map(month), inverse: true },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: "vertical", right: 0, top: "middle", formatter: format, seriesIndex: 0,
                   inRange: { color: ["#f0f4ff", "#8fb0ff", "#2f6fed", "#17357a"] } },
      series: [{ type: "heatmap", data: cells, label: label },
               { type: "heatmap", data: first, label: label, itemStyle: { color: "#e4e7eb" } }]
    };
  }
  // only the series with a point are drawn and named in the legend; a series of one point shows it as a dot
  function lines(ages, series) {
    var drawn = series.filter(function (s) { return s.data.some(function (v) { return v != null; }); });
    return {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : fmtMoney(v); } },
      legend: { type: "scroll", top: 0, data: drawn.map(function (s) { return s.name; }) },
      grid: { left: 80, right: 20, top: 40, bottom: 50 },
      xAxis: { type: "category", data: ages, name: L.age_months, nameLocation: "middle", nameGap: 30 },
      yAxis: { type: "value", axisLabel: { formatter: fmtMoney } },
      series: drawn.map(function (s) {
        var points = s.data.filter(function (v) { return v != null; }).length;
        return { name: s.name, type: "line", data: s.data, connectNulls: false, showSymbol: points === 1, symbolSize: 8 };
      })
    };
  }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(builders[el.dataset.chart](el));
    charts[el.dataset.chart] = chart;
  });
  window.addEventListener("resize", function () { Object.values(charts).forEach(function (c) { c.resize(); }); });
  document.body.dataset.chartsRendered = String(Object.keys(charts).length);
})();
