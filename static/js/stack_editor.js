// The stack editor: the file and .env are checked as they are typed, by the console's own
// check (POST /api/stacks/check/: the engine's loader and the rules of your role), a moment
// after the typing stops. Each problem names its line; a click on it selects that line.
(function () {
  "use strict";
  var form = document.getElementById("stack-form");
  if (!form) return;
  var compose = document.getElementById("id_compose");
  var env = document.getElementById("id_env");
  var list = document.getElementById("editor-problems");
  var status = document.getElementById("editor-status");
  var DELAY = 400;
  var timer = null, sequence = 0;

  function csrf() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function value(name) {
    var field = form.elements.namedItem(name);
    return field ? field.value : undefined;
  }

  function body() {
    var data = { compose: compose.value, env: env ? env.value : "" };
    if (form.dataset.stack) {
      data.stack = form.dataset.stack;
    } else {
      data.name = value("name");
      data.host = value("host");
      if (value("team")) data.team = value("team");
    }
    return data;
  }

  function selectLine(field, line) {
    var lines = field.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    field.focus();
    field.setSelectionRange(start, end);
    var lineHeight = field.scrollHeight / Math.max(lines.length, 1);
    field.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  function show(answer) {
    list.textContent = "";
    list.classList.toggle("valid", answer.valid);
    if (answer.valid) {
      status.textContent = "The file is valid: " + answer.services.length + " service" +
        (answer.services.length === 1 ? "" : "s") + " (" + answer.services.join(", ") + ").";
      return;
    }
    status.textContent = answer.problems.length + " problem" + (answer.problems.length === 1 ? "" : "s") + ":";
    answer.problems.forEach(function (problem) {
      var item = document.createElement("li");
      item.className = "problem";
      if (problem.line) {
        var where = document.createElement("span");
        where.className = "line";
        where.textContent = (problem.field === "env" ? ".env" : "") + " line " + problem.line + ": ";
        item.appendChild(where);
        item.dataset.line = problem.line;
        item.addEventListener("click", function () {
          selectLine(problem.field === "env" ? env : compose, problem.line);
        });
      } else if (problem.field && problem.field !== "compose") {
        item.appendChild(document.createTextNode(problem.field + ": "));
      }
      // The line is said once, in front: the message's own "compose.yaml, line N: " goes.
      item.appendChild(document.createTextNode(problem.line ?
        problem.message.replace(/^(compose\.yaml|\.env), line \d+: /, "") : problem.message));
      list.appendChild(item);
    });
  }

  function check() {
    var mine = ++sequence;
    status.textContent = "Checking…";
    fetch("/api/stacks/check/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json" },
      body: JSON.stringify(body())
    }).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (mine !== sequence) return;        // a newer check is on its way
      if (!result.ok) { status.textContent = result.answer.detail || "The check failed."; return; }
      show(result.answer);
    }).catch(function () {
      if (mine === sequence) status.textContent = "The check could not be made (connection).";
    });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(check, DELAY);
  }

  [compose, env].concat(Array.prototype.slice.call(form.querySelectorAll("#id_name, #id_host, #id_team")))
    .forEach(function (field) {
      if (!field) return;
      field.addEventListener("input", soon);
      field.addEventListener("change", soon);
    });
  compose.addEventListener("keydown", function (event) {
    // Tab indents (two spaces) rather than leaving the editor.
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey) return;
    event.preventDefault();
    var start = compose.selectionStart;
    compose.setRangeText("  ", start, compose.selectionEnd, "end");
    soon();
  });
  if (compose.value) soon();
})();
