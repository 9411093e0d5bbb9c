// The usage page: for each host, a bar per resource drawn (SVG) from its table's numbers —
// what is used against the team's quota. A resource without a quota gets a grey bar scaled
// to the largest of its kind on the page.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var ROW = 26, LABEL = 150, WIDTH = 520;

  function element(name, attributes) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  var largest = {};
  document.querySelectorAll(".usage-table tr[data-metric]").forEach(function (row) {
    var used = parseFloat(row.dataset.used) || 0;
    largest[row.dataset.metric] = Math.max(largest[row.dataset.metric] || 0, used);
  });

  document.querySelectorAll(".usage-host").forEach(function (section) {
    var chart = section.querySelector(".usage-chart");
    var rows = section.querySelectorAll(".usage-table tr[data-metric]");
    if (!chart || !rows.length) return;
    var svg = element("svg", { width: WIDTH, height: rows.length * ROW + 4, role: "img",
                               "class": "usage-svg" });
    rows.forEach(function (row, index) {
      var used = parseFloat(row.dataset.used) || 0, limit = parseFloat(row.dataset.limit) || 0;
      var scale = limit || largest[row.dataset.metric] || 1;
      var share = Math.min(used / scale, 1);
      var y = index * ROW + 2;
      var label = element("text", { x: 0, y: y + 16, "class": "usage-label" });
      label.textContent = row.dataset.label;
      svg.appendChild(label);
      svg.appendChild(element("rect", { x: LABEL, y: y + 3, width: WIDTH - LABEL - 60, height: 16,
                                        "class": "usage-track" }));
      var level = !limit ? "free" : share >= 1 ? "full" : share >= 0.8 ? "high" : "ok";
      svg.appendChild(element("rect", { x: LABEL, y: y + 3, width: Math.max((WIDTH - LABEL - 60) * share, 1),
                                        height: 16, "class": "usage-bar " + level,
                                        "data-metric": row.dataset.metric }));
      var percent = element("text", { x: WIDTH - 52, y: y + 16, "class": "usage-percent" });
      percent.textContent = limit ? Math.round(used / limit * 100) + "%" : "—";
      svg.appendChild(percent);
    });
    chart.appendChild(svg);
  });
})();
