// Plays a recorded terminal session (asciicast v2) in xterm.js: play and pause, speed, seek,
// and the keystrokes typed ("i" events) beside the screen when asked.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player || !window.Terminal) return;
  var playButton = document.getElementById("player-play");
  var speed = document.getElementById("player-speed");
  var seek = document.getElementById("player-seek");
  var clock = document.getElementById("player-time");
  var keys = document.getElementById("player-input");
  var header = null, events = [], duration = 0, term = null;
  var position = 0, index = 0, playing = false, timer = null, startedAt = 0;

  fetch(player.dataset.recording, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (text) {
      var lines = text.split("\n").filter(function (line) { return line.trim(); });
      header = JSON.parse(lines.shift());
      events = lines.map(function (line) { return JSON.parse(line); });
      duration = events.length ? events[events.length - 1][0] : 0;
      term = new window.Terminal({ cols: header.width, rows: header.height, scrollback: 2000,
        fontSize: 13, disableStdin: true, convertEol: false,
        fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
        theme: { background: "#0f1419", foreground: "#d8dee9" } });
      term.open(document.getElementById("player-screen"));
      if (header.moorage_input === false) {
        // The console kept only what the terminal showed (MOORAGE_RECORD_TERMINAL_INPUT off).
        var label = document.getElementById("player-keys-label");
        document.getElementById("player-keys").disabled = true;
        label.querySelector("span").textContent = "keystrokes were not recorded";
        label.title = "The console records what users type only with " +
          "MOORAGE_RECORD_TERMINAL_INPUT on; the screen shows what was echoed.";
        label.classList.add("muted");
      }
      player.dataset.ready = "1";
      show();
    });

  function apply(event) {
    if (event[1] === "o") term.write(event[2]);
    else if (event[1] === "r") {
      var size = event[2].split("x");
      term.resize(parseInt(size[0], 10), parseInt(size[1], 10));
    } else if (event[1] === "i") {
      keys.textContent += "[" + event[0].toFixed(2) + "s] " + JSON.stringify(event[2]) + "\n";
    } else if (event[1] === "m") {
      term.write("\r\n\x1b[2m[" + event[2] + "]\x1b[0m\r\n");
    }
  }

  function show() {
    position = Math.min(position, duration);
    clock.textContent = position.toFixed(1) + " / " + duration.toFixed(1) + " s";
    seek.value = duration ? Math.round(position / duration * 1000) : 0;
  }

  function tick() {
    position = (performance.now() - startedAt) / 1000 * parseFloat(speed.value);
    while (index < events.length && events[index][0] <= position) apply(events[index++]);
    show();
    if (index >= events.length) { stop(); player.dataset.done = "1"; return; }
    var wait = (events[index][0] - position) * 1000 / parseFloat(speed.value);
    timer = setTimeout(tick, Math.max(0, Math.min(wait, 250)));
  }

  function play() {
    if (!term) return;
    if (index >= events.length) jump(0);
    playing = true;
    playButton.textContent = "❚❚ Pause";
    startedAt = performance.now() - position * 1000 / parseFloat(speed.value);
    tick();
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    playButton.textContent = "▶ Play";
  }

  function jump(to) {
    term.reset();
    keys.textContent = "";
    index = 0;
    position = to;
    while (index < events.length && events[index][0] <= to) apply(events[index++]);
    show();
  }

  playButton.addEventListener("click", function () { if (playing) stop(); else play(); });
  speed.addEventListener("change", function () { if (playing) { stop(); play(); } });
  seek.addEventListener("input", function () {
    var wasPlaying = playing;
    stop();
    jump(seek.value / 1000 * duration);
    if (wasPlaying) play();
  });
  document.getElementById("player-keys").addEventListener("change", function (event) {
    keys.hidden = !event.target.checked;
  });
})();
