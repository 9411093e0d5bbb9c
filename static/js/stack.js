// A stack's page: buttons that ask first (data-confirm), and the page drawn again once the
// deploy it shows has ended (its services and containers are what the deploy made). Container
// states change live through live.js (the rows carry data-container).
(function () {
  "use strict";
  var head = document.getElementById("stack-head");
  if (!head) return;
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  var badge = document.getElementById("deploy-state");
  if (!badge) return;
  var jobId = Number(badge.dataset.job);
  var busy = badge.textContent === "queued" || badge.textContent === "running";
  document.addEventListener("moorage:job", function (event) {
    var job = event.detail;
    if (job.id !== jobId) return;
    badge.textContent = job.state;
    badge.className = "badge j-" + job.state;
    if (busy && (job.state === "succeeded" || job.state === "failed")) location.reload();
  });
})();
