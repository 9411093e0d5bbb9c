// The container page's live logs on /ws/containers/{id}/logs/ (protocol in
// console/streams/consumers/logs.py): the last N lines, then new ones, in batches that are
// acknowledged once drawn. The page keeps at most MAX_LINES; after a dropped socket it
// resumes from the last cursor, so no line is lost or shown twice.
(function () {
  "use strict";
  var pane = document.getElementById("logs-pane");
  if (!pane) return;
  var containerId = pane.dataset.container;
  var view = document.getElementById("logs-view");
  var statusLine = document.getElementById("logs-status");
  var tailSelect = document.getElementById("logs-tail");
  var follow = document.getElementById("logs-follow");
  var stamps = document.getElementById("logs-timestamps");
  var search = document.getElementById("logs-search");
  var matches = document.getElementById("logs-matches");
  var MAX_LINES = 5000;
  var socket = null, cursor = null, delay = 500, pending = [], drawing = false, count = 0;
  var closedForGood = false, lastPing = 0;

  function status(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "logs-status" + (kind ? " " + kind : "");
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/containers/" + containerId + "/logs/");
    socket.onopen = function () {
      delay = 500;
      if (cursor) {
        socket.send(JSON.stringify({ type: "resume", cursor: cursor }));
      } else {
        var tail = tailSelect.value;
        socket.send(JSON.stringify({ type: "follow", tail: tail === "all" ? null : parseInt(tail, 10) }));
      }
      status("Following.", "on");
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "logs") {
        cursor = message.cursor;
        pending.push(message);
        if (!drawing) { drawing = true; requestAnimationFrame(draw); }
      } else if (message.type === "end") {
        cursor = message.cursor;
        status("The container's program ended; this is all of its log.");
      } else if (message.type === "ping") {
        lastPing = Date.now();
        socket.send('{"type": "pong"}');
      } else if (message.type === "error") {
        status(message.message, "error");
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        closedForGood = true;
        status("The log stream was closed (" + (event.code === 4401 ? "logged out" : "no permission") + ").", "error");
        return;
      }
      status("Connection lost; resuming…", "error");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }

  function lineElement(line) {
    var row = document.createElement("div");
    row.className = "log-line " + line[1] + (line[4] ? " partial" : "");
    row.dataset.offset = line[0];
    var time = document.createElement("span");
    time.className = "ts";
    time.textContent = line[2].replace("T", " ").slice(0, 23) + " ";
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = line[3].replace(/\r$/, "");
    row.appendChild(time);
    row.appendChild(text);
    return row;
  }

  function draw() {
    drawing = false;
    var atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 40;
    var fragment = document.createDocumentFragment();
    var query = search.value.toLowerCase();
    var batches = pending;
    pending = [];
    var last = 0;
    batches.forEach(function (batch) {
      // In a flood only the last MAX_LINES matter: skip building the rest.
      var lines = batch.lines.length > MAX_LINES ? batch.lines.slice(-MAX_LINES) : batch.lines;
      lines.forEach(function (line) {
        var row = lineElement(line);
        if (query && line[3].toLowerCase().indexOf(query) < 0) row.hidden = true;
        fragment.appendChild(row);
      });
      count += batch.lines.length;
      last = batch.batch;
    });
    view.appendChild(fragment);
    var excess = view.childElementCount - MAX_LINES;
    while (excess-- > 0) view.removeChild(view.firstChild);
    if (follow.checked && atBottom) view.scrollTop = view.scrollHeight;
    if (query) countMatches();
    if (last && socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "ack", batch: last }));
    pane.dataset.lines = String(count);
  }

  function countMatches() {
    var query = search.value.toLowerCase(), shown = 0;
    view.querySelectorAll(".log-line").forEach(function (row) {
      var hit = !query || row.lastChild.textContent.toLowerCase().indexOf(query) >= 0;
      row.hidden = !hit;
      if (hit) shown++;
    });
    matches.textContent = query ? shown + " matching line" + (shown === 1 ? "" : "s") : "";
  }

  search.addEventListener("input", countMatches);
  stamps.addEventListener("change", function () { view.classList.toggle("with-time", stamps.checked); });
  follow.addEventListener("change", function () { if (follow.checked) view.scrollTop = view.scrollHeight; });
  tailSelect.addEventListener("change", function () {
    cursor = null; count = 0;
    view.textContent = "";
    if (socket) socket.send(JSON.stringify({ type: "follow", tail: tailSelect.value === "all" ? null : parseInt(tailSelect.value, 10) }));
  });
  setInterval(function () {
    if (!closedForGood && socket && socket.readyState === 1 && lastPing && Date.now() - lastPing > 45000) socket.close();
  }, 5000);
  connect();
})();
