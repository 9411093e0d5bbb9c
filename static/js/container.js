// The container page: action buttons call the API and show the job's progress, then its result
// or the engine's error; state changes arrive over the live socket (live.js).
(function () {
  "use strict";
  var head = document.getElementById("container-head");
  if (!head) return;
  var id = head.dataset.container;
  var progress = document.getElementById("job-progress");
  var states = JSON.parse(document.getElementById("action-states").textContent);
  var current = null;   // the job being followed

  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function show(job) {
    progress.hidden = false;
    progress.className = "job-progress " + job.state;
    progress.textContent = "";
    var label = document.createElement("strong");
    label.textContent = job.kind + ": ";
    progress.appendChild(label);
    var text = document.createElement("span");
    text.className = "job-text";
    text.textContent = job.state + (job.state === "failed" && job.error ? " — " + job.error : "");
    progress.appendChild(text);
    var link = document.createElement("a");
    link.href = "/jobs/" + job.id + "/"; link.textContent = " (job " + job.id + ")";
    progress.appendChild(link);
    var busy = job.state === "queued" || job.state === "running";
    head.querySelectorAll("form[data-verb] button").forEach(function (b) {
      b.disabled = busy; b.classList.toggle("busy", busy);
    });
    if (!busy) enableFor(document.getElementById("state").textContent.trim());
  }

  function enableFor(state) {
    head.querySelectorAll("form[data-verb]").forEach(function (form) {
      var ok = (states[form.dataset.verb] || []).indexOf(state) >= 0;
      form.querySelector("button").disabled = !ok;
    });
  }

  function poll(jobId) {
    // A fallback for when the live socket is down: ask the API until the job is final.
    fetch("/api/jobs/" + jobId + "/", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (current !== jobId) return;
        if (window.moorage) window.moorage.applyJob(job);   // its row too; it calls show()
        else show(job);
        if (job.state === "queued" || job.state === "running") setTimeout(function () { poll(jobId); }, 1500);
      }).catch(function () {});
  }

  head.querySelectorAll("form[data-verb]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var verb = form.dataset.verb;
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      // A reason, where the team asks for one, goes with the request (the audit keeps it).
      var reasonInput = form.querySelector("input[name=reason]");
      var reason = reasonInput ? reasonInput.value.trim() : "";
      var withVolumes = form.querySelector("input[name=volumes]");
      var url = "/api/containers/" + id + "/" + (verb === "remove"
        ? "?force=1" + (withVolumes && withVolumes.checked ? "&volumes=1" : "") +
          (reason ? "&reason=" + encodeURIComponent(reason) : "")
        : verb + "/");
      show({ id: "…", kind: verb, state: "queued", error: "" });
      fetch(url, {
        method: verb === "remove" ? "DELETE" : "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json", "Accept": "application/json" },
        body: verb === "remove" ? null : JSON.stringify(reason ? { reason: reason } : {})
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          var detail = answer.body.detail || (answer.body.reason && answer.body.reason.join(" ")) ||
            JSON.stringify(answer.body);
          show({ id: "—", kind: verb, state: "failed", error: detail });
          return;
        }
        current = answer.body.id;
        show(answer.body);
        setTimeout(function () { poll(current); }, 1500);
      }).catch(function (error) {
        show({ id: "—", kind: verb, state: "failed", error: String(error) });
      });
    });
  });

  var inspectAsked = 0;
  function refreshInspect() {
    var asked = ++inspectAsked;   // answers can come back out of order: keep the last asked
    fetch("/api/containers/" + id + "/inspect/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && asked === inspectAsked) document.getElementById("inspect").textContent = JSON.stringify(data, sortKeys(data), 2);
      }).catch(function () {});
  }

  function sortKeys(data) {
    var keys = [];
    JSON.stringify(data, function (key, value) { keys.push(key); return value; });
    return keys.sort();
  }

  document.addEventListener("moorage:job", function (event) {
    if (event.detail.id === current) show(event.detail);
  });
  document.addEventListener("moorage:container", function (event) {
    if (event.detail.id !== id) return;
    if (event.detail.removed) {
      progress.hidden = false;
      progress.className = "job-progress";
      progress.textContent = "This container was removed. ";
      var back = document.createElement("a");
      back.href = "/containers/"; back.textContent = "Back to the containers";
      progress.appendChild(back);
      head.querySelectorAll("form[data-verb] button").forEach(function (b) { b.disabled = true; });
      return;
    }
    refreshInspect();
    var following = progress.classList.contains("queued") || progress.classList.contains("running");
    if (!following) enableFor(event.detail.host_state === "offline" ? "unknown" : event.detail.state);
  });
  // Its host going silent or coming back: nothing can be asked of it meanwhile.
  document.addEventListener("moorage:host", function (event) {
    if (event.detail.name !== head.dataset.onHost) return;
    var following = progress.classList.contains("queued") || progress.classList.contains("running");
    if (!following) enableFor(document.getElementById("state").textContent.trim());
  });
  enableFor(document.getElementById("state").textContent.trim());
})();
