// The containers list: row selection for the bulk stop/remove buttons.
(function () {
  "use strict";
  var form = document.getElementById("bulk");
  if (!form) return;
  var all = document.getElementById("select-all");
  var count = document.getElementById("selected-count");

  function boxes() { return form.querySelectorAll('input[name="containers"]'); }
  function refresh() {
    var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
    count.textContent = n + " selected";
    form.querySelectorAll("[data-needs-selection]").forEach(function (b) { b.disabled = n === 0; });
  }
  all.addEventListener("change", function () {
    boxes().forEach(function (b) { b.checked = all.checked; });
    refresh();
  });
  form.addEventListener("change", refresh);
  document.addEventListener("moorage:rows-changed", refresh);
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  refresh();
})();
