// The container page's terminal: xterm.js on /ws/containers/{id}/terminal/ (protocol in
// console/streams/consumers/terminal.py). Binary frames carry the terminal's bytes both ways;
// text frames are JSON control. The session's ID is kept for this tab, so a dropped socket
// reconnects to the same shell and the recent screen is replayed.
(function () {
  "use strict";
  var pane = document.getElementById("terminal-pane");
  if (!pane || !window.Terminal) return;
  var containerId = pane.dataset.container;
  var form = document.getElementById("terminal-form");
  var screen = document.getElementById("terminal-screen");
  var statusLine = document.getElementById("terminal-status");
  var endButton = document.getElementById("terminal-disconnect");
  var connectButton = document.getElementById("terminal-connect");
  var KEY = "moorage.terminal." + containerId;
  var ACK_EVERY = 65536, PASTE_CHUNK = 4096, PASTE_WINDOW = 32768;
  var FINAL = { 1000: 1, 4400: 1, 4401: 1, 4403: 1, 4404: 1, 4409: 1, 4410: 1 };

  var term = null, fit = null, socket = null, encoder = new TextEncoder();
  var processed = 0, acked = 0, ended = true, wanted = false, delay = 500, lastPing = 0;
  var pasteQueue = [], pasteSent = 0, pasteWritten = 0;

  function status(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "terminal-status" + (kind ? " " + kind : "");
  }

  function makeTerminal() {
    term = new window.Terminal({
      cursorBlink: true, scrollback: 5000, fontSize: 13, allowProposedApi: false,
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      theme: { background: "#0f1419", foreground: "#d8dee9" }
    });
    fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    fit.fit();
    term.onData(function (data) { send(encoder.encode(data)); });
    term.onBinary(function (data) {
      var bytes = new Uint8Array(data.length);
      for (var i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 255;
      send(bytes);
    });
    term.onResize(function (size) {
      if (socket && socket.readyState === 1 && !ended) {
        socket.send(JSON.stringify({ type: "resize", cols: size.cols, rows: size.rows }));
      }
    });
    // Large pastes go in pieces, each waiting for the host to take the last ones.
    term.attachCustomKeyEventHandler(function () { return true; });
    screen.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (!text || text.length < PASTE_CHUNK) return;   // small: xterm.js sends it itself
      event.preventDefault();
      event.stopPropagation();
      paste(text);
    }, true);
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () { fit.fit(); }, 80);
    });
  }

  function send(bytes) {
    if (socket && socket.readyState === 1 && !ended) socket.send(bytes);
  }

  function paste(text) {
    var bytes = encoder.encode(text.replace(/\r?\n/g, "\r"));
    if (term.modes && term.modes.bracketedPasteMode) {
      bytes = concat(encoder.encode("\x1b[200~"), bytes, encoder.encode("\x1b[201~"));
    }
    for (var start = 0; start < bytes.length; start += PASTE_CHUNK) {
      pasteQueue.push(bytes.subarray(start, start + PASTE_CHUNK));
    }
    pumpPaste();
  }

  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }

  function pumpPaste() {
    while (pasteQueue.length && pasteSent - pasteWritten < PASTE_WINDOW) {
      var piece = pasteQueue.shift();
      pasteSent += piece.length;
      send(piece);
    }
    if (pasteQueue.length) status("Pasting… " + pasteQueue.length * PASTE_CHUNK + " bytes to go");
    else if (!ended) status(connectedText);
  }

  var connectedText = "";

  function ack() {
    if (socket && socket.readyState === 1 && processed > acked) {
      acked = processed;
      socket.send(JSON.stringify({ type: "ack", bytes: processed }));
    }
  }

  function connect(resume) {
    if (!term) makeTerminal();
    fit.fit();
    var params = new URLSearchParams({ cols: term.cols, rows: term.rows });
    var stored = sessionStorage.getItem(KEY);
    if (resume && stored) {
      var saved = JSON.parse(stored);
      params.set("session", saved.id);
      params.set("mode", saved.mode);
    } else {
      var data = new FormData(form);
      params.set("mode", data.get("mode") || "exec");
      if (data.get("reason")) params.set("reason", data.get("reason"));
      if (data.get("mode") !== "attach") {
        if (data.get("command")) params.set("command", data.get("command"));
        if (data.get("user")) params.set("user", data.get("user"));
      }
    }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/containers/" + containerId +
                           "/terminal/?" + params.toString());
    socket.binaryType = "arraybuffer";
    processed = 0; acked = 0; pasteSent = 0; pasteWritten = 0; pasteQueue = [];
    ended = false; wanted = true;
    var expectReplay = false;
    status(resume ? "Reconnecting…" : "Connecting…");
    socket.onmessage = function (event) {
      if (typeof event.data !== "string") {
        var bytes = new Uint8Array(event.data);
        if (expectReplay) { term.reset(); expectReplay = false; }
        term.write(bytes, function () {
          processed += bytes.length;
          if (processed - acked >= ACK_EVERY) ack();
        });
        return;
      }
      var message = JSON.parse(event.data);
      if (message.type === "session") {
        sessionStorage.setItem(KEY, JSON.stringify({ id: message.id, mode: message.mode }));
        expectReplay = message.replay > 0;
        delay = 500;
        connectedText = (message.resumed ? "Resumed" : "Connected") + ": " + message.mode +
          " " + (message.command || []).join(" ") + (message.user ? " as " + message.user : "") +
          (message.pinned ? " (pinned by the team)" : "");
        status(connectedText, "on");
        endButton.disabled = false;
        connectButton.disabled = true;
        term.focus();
      } else if (message.type === "exit") {
        ended = true;
        sessionStorage.removeItem(KEY);
        term.write("\r\n\x1b[2m[the process ended" + (message.code === null ? "" : " with code " + message.code) + "]\x1b[0m\r\n");
        status("The session ended" + (message.code === null ? "." : " (exit code " + message.code + ")."));
      } else if (message.type === "input-ack") {
        pasteWritten = message.written;
        pumpPaste();
      } else if (message.type === "skipped") {
        status(connectedText + " — " + message.bytes + " bytes of output skipped (too fast to show)");
      } else if (message.type === "ping") {
        lastPing = Date.now();
        socket.send('{"type": "pong"}');
      } else if (message.type === "taken") {
        ended = true;
        status("This session is now open in another window.");
      } else if (message.type === "error") {
        status(message.message, "error");
      }
    };
    socket.onclose = function (event) {
      endButton.disabled = true;
      connectButton.disabled = false;
      if (event.code === 4410 || event.code === 4401 || event.code === 4403) sessionStorage.removeItem(KEY);
      if (ended || !wanted || FINAL[event.code]) {
        if (!statusLine.classList.contains("error") && !ended) status("Disconnected.");
        ended = true;
        return;
      }
      ended = true;
      status("Connection lost; reconnecting to the same session…", "error");
      setTimeout(function () { if (wanted) connect(true); }, delay);
      delay = Math.min(delay * 2, 8000);
    };
  }

  // A socket that stopped hearing pings is dead even if the browser has not noticed.
  setInterval(function () {
    if (socket && socket.readyState === 1 && !ended && lastPing && Date.now() - lastPing > 45000) {
      socket.close();
    }
    ack();
  }, 5000);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.removeItem(KEY);
    if (socket && socket.readyState <= 1) { wanted = false; socket.close(); }
    connect(false);
  });
  endButton.addEventListener("click", function () {
    if (socket && socket.readyState === 1) socket.send('{"type": "close"}');
  });
  document.getElementById("terminal-full").addEventListener("click", function () {
    pane.classList.toggle("full");
    if (fit) setTimeout(function () { fit.fit(); }, 50);
  });
  var mode = document.getElementById("terminal-mode");
  mode.addEventListener("change", function () {
    form.querySelectorAll(".exec-only").forEach(function (el) { el.hidden = mode.value === "attach"; });
  });
  // Coming back to the page in this tab: the session goes on where it was.
  if (sessionStorage.getItem(KEY) && pane.dataset.state === "running") connect(true);
})();
