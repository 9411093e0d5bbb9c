// Filter forms: a <select data-submit-on-change> submits its form as soon as it changes (the
// page's policy allows no inline event handlers).
(function () {
  "use strict";
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
