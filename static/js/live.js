// Live updates: one websocket to /ws/events/, state changes applied to whatever the page shows.
// Other scripts listen to the "moorage:container", "moorage:job", "moorage:host" and
// "moorage:job-output" DOM events (the last: what a running pull or build printed, see
// job.js). The answers to the user's requests for access are shown where the page lists them.
(function () {
  "use strict";
  var dot = document.getElementById("live-status");
  var delay = 500;

  function setStatus(state) {
    if (!dot) return;
    dot.className = "live-dot " + (state === "open" ? "on" : "off");
    dot.title = "live updates: " + (state === "open" ? "connected" : "reconnecting");
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    return iso.replace("T", " ").slice(0, 19);
  }

  function setBadge(el, prefix, value) {
    el.textContent = value;
    el.className = el.className.replace(new RegExp("\\b" + prefix + "-\\S+", "g"), "").trim() + " " + prefix + "-" + value;
  }

  // A description of a container fetched before an event can arrive after it: the newest
  // one applied so far (its updated_at) decides, and a removed container stays removed.
  var newest = {};
  function outdated(c) {
    var at = c.removed ? Infinity : Date.parse(c.updated_at || "");
    if (isNaN(at)) return false;
    if (newest[c.id] !== undefined && at < newest[c.id]) return true;
    newest[c.id] = at;
    return false;
  }

  // A container of an offline host shows as unknown; its last known state stays in data-state
  // (and the title), to show again when the host is back.
  function setState(b, state, hostState) {
    b.dataset.state = state;
    var unknown = hostState === "offline" && state !== "removed";
    setBadge(b, "s", unknown ? "unknown" : state);
    b.title = unknown ? "last known: " + state + " (its host is offline)" : "";
  }

  function applyContainer(c) {
    if (outdated(c)) return;
    var state = c.removed ? "removed" : c.state;
    var rows = document.querySelectorAll('[data-container="' + c.id + '"]');
    rows.forEach(function (row) {
      var badge = row.querySelector(".c-state");
      var changed = !badge || badge.dataset.state !== state;
      row.querySelectorAll(".c-state").forEach(function (b) { setState(b, state, c.host_state); });
      row.querySelectorAll(".c-exit").forEach(function (e) { e.textContent = c.exit_code === null ? "" : c.exit_code; });
      row.querySelectorAll(".c-name").forEach(function (e) { if (c.name) e.textContent = c.name; });
      if (row.tagName === "TR" && changed) { row.classList.remove("flash"); void row.offsetWidth; row.classList.add("flash"); }
      if (c.removed && row.tagName === "TR") { setTimeout(function () { row.remove(); }, 1200); }
    });
    // Fields that live outside the row (detail page).
    if (document.getElementById("container-head") && rows.length) {
      document.querySelectorAll(".c-state").forEach(function (b) { setState(b, state, c.host_state); });
      document.querySelectorAll(".c-exit").forEach(function (e) { e.textContent = c.exit_code === null ? "—" : c.exit_code; });
      document.querySelectorAll(".c-started").forEach(function (e) { e.textContent = fmtTime(c.started_at); });
      document.querySelectorAll(".c-finished").forEach(function (e) { e.textContent = fmtTime(c.finished_at); });
    }
    var table = document.querySelector('[data-live-list="containers"]');
    if (table && !rows.length && !c.removed && matchesFilters(table, c)) insertRow(table, c);
    document.dispatchEvent(new CustomEvent("moorage:container", { detail: c }));
  }

  function matchesFilters(table, c) {
    var host = table.dataset.filterHost, state = table.dataset.filterState, name = table.dataset.filterName;
    if (host && c.host !== host) return false;
    if (state === "unknown") { if (c.host_state !== "offline") return false; }
    else if (state && (c.state !== state || c.host_state === "offline")) return false;
    if (name && (c.name || "").toLowerCase().indexOf(name.toLowerCase()) < 0) return false;
    return true;
  }

  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (text !== undefined && text !== null) td.textContent = text;
    return td;
  }

  function insertRow(table, c) {
    var body = table.tBodies[0];
    var empty = body.querySelector(".empty-row");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    tr.dataset.container = c.id;
    var check = cell(null, "check");
    var box = document.createElement("input");
    box.type = "checkbox"; box.name = "containers"; box.value = c.id;
    check.appendChild(box);
    var nameCell = cell(null);
    var link = document.createElement("a");
    link.href = "/containers/" + c.id + "/"; link.className = "c-name";
    link.textContent = c.name || c.id.slice(0, 12);
    nameCell.appendChild(link);
    tr.dataset.onHost = c.host;
    var stateCell = cell(null);
    var badge = document.createElement("span");
    badge.className = "badge c-state";
    setState(badge, c.state, c.host_state);
    stateCell.appendChild(badge);
    [check, nameCell, stateCell, cell(c.host), cell(c.image, "mono"), cell(c.team || "—"),
     cell(fmtTime(c.created_at), "muted"), cell(c.exit_code === null ? "" : c.exit_code, "c-exit"),
     cell(c.id.slice(0, 12), "mono muted")].forEach(function (td) { tr.appendChild(td); });
    body.insertBefore(tr, body.firstChild);
    tr.classList.add("flash");
    document.dispatchEvent(new CustomEvent("moorage:rows-changed"));
  }

  function addJobRow(table, j) {
    var body = table.tBodies[0];
    var empty = body.querySelector("td.empty");
    if (empty) empty.parentNode.remove();
    var tr = document.createElement("tr");
    tr.dataset.job = j.id;
    var link = document.createElement("a");
    link.href = "/jobs/" + j.id + "/"; link.textContent = j.id;
    var first = cell(null); first.appendChild(link);
    var target = cell(null);
    if (j.container && j.container.length === 64) {
      var to = document.createElement("a");
      to.href = "/containers/" + j.container + "/"; to.textContent = j.target_name || j.container.slice(0, 12);
      target.appendChild(to);
    } else { target.textContent = j.target_name || ""; }
    var state = cell(null);
    var badge = document.createElement("span");
    badge.className = "badge job-state j-" + j.state; badge.textContent = j.state;
    state.appendChild(badge);
    [first, cell(j.kind), target, cell(j.host), cell(j.requested_by || "—"), state,
     cell(j.error || "", "error-text job-error"), cell(fmtTime(j.created_at), "muted")]
      .forEach(function (td) { tr.appendChild(td); });
    body.insertBefore(tr, body.firstChild);
    tr.classList.add("flash");
  }

  // Jobs only move forward; an answer fetched while one was running may arrive after the
  // event that it finished.
  var JOB_STEP = { queued: 0, running: 1, succeeded: 2, failed: 2 };

  function applyJob(j) {
    var shown = document.querySelector('[data-job="' + j.id + '"] .job-state');
    if (shown && JOB_STEP[shown.textContent.trim()] > JOB_STEP[j.state]) return;
    // Tables that list jobs as they come: every job (dashboard, jobs page) or one container's.
    document.querySelectorAll("table[data-live-jobs]").forEach(function (table) {
      var scope = table.dataset.liveJobs;
      if ((scope === "all" || scope === j.container) && !table.querySelector('[data-job="' + j.id + '"]')) {
        addJobRow(table, j);
      }
    });
    document.querySelectorAll('[data-job="' + j.id + '"]').forEach(function (row) {
      row.querySelectorAll(".job-state").forEach(function (b) { setBadge(b, "j", j.state); });
      row.querySelectorAll(".job-error").forEach(function (e) { e.textContent = j.error || ""; });
    });
    document.dispatchEvent(new CustomEvent("moorage:job", { detail: j }));
  }

  function applyHost(h) {
    document.querySelectorAll('[data-host="' + h.name + '"] .host-state').forEach(function (b) {
      b.textContent = h.online ? "online" : "offline";
      b.className = "badge host-state " + (h.online ? "s-running" : "s-dead");
    });
    // Its containers: unknown while it is silent, their last known state when it is back.
    document.querySelectorAll('[data-on-host="' + h.name + '"]').forEach(function (row) {
      row.querySelectorAll(".c-state").forEach(function (b) {
        if (b.dataset.state) setState(b, b.dataset.state, h.online ? "online" : "offline");
      });
    });
    if (document.getElementById("container-head") && document.getElementById("container-head").dataset.onHost === h.name) {
      document.querySelectorAll(".c-state").forEach(function (b) {
        if (b.dataset.state) setState(b, b.dataset.state, h.online ? "online" : "offline");
      });
    }
    document.dispatchEvent(new CustomEvent("moorage:host", { detail: h }));
  }

  // Whatever changed between the page's render (or a dropped socket) and this connection is
  // fetched once, so no change is missed in that window.
  function resync() {
    var table = document.querySelector('[data-live-list="containers"]');
    if (table) {
      var query = "?page_size=1000";
      ["host", "state", "name"].forEach(function (key) {
        var value = table.dataset["filter" + key.charAt(0).toUpperCase() + key.slice(1)];
        if (value) query += "&" + key + "=" + encodeURIComponent(value);
      });
      fetch("/api/containers/" + query, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          if (!answer || answer.next) return;   // more than we show: leave the page as it is
          var current = {};
          answer.results.forEach(function (c) { current[c.id] = c; });
          table.querySelectorAll("tr[data-container]").forEach(function (row) {
            var c = current[row.dataset.container];
            if (!c) applyContainer({ id: row.dataset.container, removed: true, state: "removed", exit_code: null });
          });
          answer.results.forEach(function (c) { c.removed = false; applyContainer(c); });
        }).catch(function () {});
    }
    // Jobs shown as queued or running may have finished before the socket opened.
    refreshUnsettledJobs();
    var head = document.getElementById("container-head");
    if (head) {
      var id = head.dataset.container;
      fetch("/api/containers/" + id + "/", { credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 404) { applyContainer({ id: id, removed: true, state: "removed", exit_code: null }); return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (c) { if (c) { c.removed = false; applyContainer(c); } })
        .catch(function () {});
    }
  }

  // The answer to one of the user's requests for access, where the page lists it.
  function applyAnswer(r) {
    document.querySelectorAll('[data-request="' + r.id + '"]').forEach(function (el) {
      var state = el.querySelector(".state");
      var answer = el.querySelector(".answer");
      if (!state || !answer) return;
      state.textContent = r.state;
      answer.textContent = r.words;
      el.className = el.className.replace(/\brequest-\S+/g, "").trim() + " request-" + r.state;
    });
  }

  function refreshUnsettledJobs() {
    document.querySelectorAll("[data-job]").forEach(function (row) {
      var badge = row.querySelector(".job-state");
      if (!badge || !/^(queued|running)$/.test(badge.textContent.trim())) return;
      fetch("/api/jobs/" + row.dataset.job + "/", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) { if (j && j.state !== badge.textContent.trim()) applyJob(j); })
        .catch(function () {});
    });
  }

  // Events are sent once and not kept: one lost on its way (Redis restarting, a full channel)
  // would leave a job shown running for good. Rows still unsettled are asked for now and then.
  setInterval(function () { if (!document.hidden) refreshUnsettledJobs(); }, 10000);

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/events/");
    socket.onopen = function () { delay = 500; setStatus("open"); resync(); };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "container") applyContainer(data.container);
      else if (data.type === "job") applyJob(data.job);
      else if (data.type === "host") applyHost(data.host);
      else if (data.type === "access-request") applyAnswer(data.request);
      else if (data.type === "job-output") {
        document.dispatchEvent(new CustomEvent("moorage:job-output", { detail: data.output }));
      }
    };
    socket.onclose = function (event) {
      setStatus("closed");
      if (event.code === 4401) { return; }   // logged out: nothing more to show
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  window.moorage = { applyJob: applyJob, applyContainer: applyContainer };
  connect();
})();
