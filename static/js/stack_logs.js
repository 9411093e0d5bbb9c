// A stack's merged live log: one log socket per container (/ws/containers/{id}/logs/, the
// protocol in console/streams/consumers/logs.py), each line shown with its service's name and
// put in time order among the others. Each socket resumes from its own cursor after a drop.
(function () {
  "use strict";
  var data = document.getElementById("log-sources");
  var view = document.getElementById("logs-view");
  if (!data || !view) return;
  var sources = JSON.parse(data.textContent);
  var statusLine = document.getElementById("logs-status");
  var follow = document.getElementById("logs-follow");
  var stamps = document.getElementById("logs-timestamps");
  var search = document.getElementById("logs-search");
  var TAIL = 200, MAX_LINES = 5000;
  var colours = {}, open = 0;

  function status(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "logs-status" + (kind ? " " + kind : "");
  }

  function colour(service) {
    if (!(service in colours)) colours[service] = "s" + (Object.keys(colours).length % 5);
    return colours[service];
  }

  function row(source, line) {
    var element = document.createElement("div");
    element.className = "log-line " + line[1] + (line[4] ? " partial" : "");
    element.dataset.time = line[2];
    element.dataset.service = source.service;
    var time = document.createElement("span");
    time.className = "ts";
    time.textContent = line[2].replace("T", " ").slice(0, 23) + " ";
    var name = document.createElement("span");
    name.className = "service " + colour(source.service);
    name.textContent = source.service + " | ";
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = line[3].replace(/\r$/, "");
    element.appendChild(time);
    element.appendChild(name);
    element.appendChild(text);
    if (search.value && element.textContent.toLowerCase().indexOf(search.value.toLowerCase()) < 0) element.hidden = true;
    return element;
  }

  // Lines of one container come in order; among containers, each goes after the last line
  // that is not later than it.
  function place(element) {
    var time = element.dataset.time;
    var before = view.lastElementChild;
    while (before && before.dataset.time > time) before = before.previousElementSibling;
    view.insertBefore(element, before ? before.nextSibling : view.firstChild);
  }

  function connect(source) {
    var cursor = null, delay = 500, done = false;
    function start() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/ws/containers/" + source.id + "/logs/");
      socket.onopen = function () {
        delay = 500; open++;
        socket.send(JSON.stringify(cursor ? { type: "resume", cursor: cursor } : { type: "follow", tail: TAIL }));
        status("Following " + open + " of " + sources.length + " containers.", "on");
      };
      socket.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "logs") {
          cursor = message.cursor;
          var atBottom = view.scrollHeight - view.scrollTop - view.clientHeight < 40;
          message.lines.forEach(function (line) { place(row(source, line)); });
          var excess = view.childElementCount - MAX_LINES;
          while (excess-- > 0) view.removeChild(view.firstChild);
          if (follow.checked && atBottom) view.scrollTop = view.scrollHeight;
          socket.send(JSON.stringify({ type: "ack", batch: message.batch }));
          view.dataset.lines = String(view.childElementCount);
        } else if (message.type === "end") {
          cursor = message.cursor;
        } else if (message.type === "ping") {
          socket.send('{"type": "pong"}');
        } else if (message.type === "error") {
          status(source.service + ": " + message.message, "error");
        }
      };
      socket.onclose = function (event) {
        open = Math.max(0, open - 1);
        if (done || event.code === 4401 || event.code === 4403 || event.code === 4404) return;
        setTimeout(start, delay);
        delay = Math.min(delay * 2, 8000);
      };
    }
    start();
  }

  search.addEventListener("input", function () {
    var query = search.value.toLowerCase();
    view.querySelectorAll(".log-line").forEach(function (line) {
      line.hidden = !!query && line.textContent.toLowerCase().indexOf(query) < 0;
    });
  });
  stamps.addEventListener("change", function () { view.classList.toggle("with-time", stamps.checked); });
  sources.forEach(connect);
})();
