// A job's page: the output of a pull or build, as it is written. Pieces come over the events
// socket (live.js) with the offset they start at, in characters of the job's output; a piece
// that does not follow what is shown (a gap, or the middle of a long output cut) makes the page
// fetch the whole job again, as does every change of the job's state.
(function () {
  "use strict";
  var pre = document.getElementById("job-output");
  if (!pre) return;
  var jobId = Number(pre.dataset.outputOf);
  var shown = Array.from(pre.textContent).length;   // characters, as the server counts them
  var fetching = false, again = false;

  function atBottom() {
    return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  }

  function show(text, append) {
    var follow = atBottom();
    if (append) pre.appendChild(document.createTextNode(text));
    else pre.textContent = text;
    if (follow) pre.scrollTop = pre.scrollHeight;
  }

  function time(iso) {
    return iso ? iso.replace("T", " ").slice(0, 19) : "—";
  }

  // Its times; once it succeeded, its result and, for the image it made, the run form.
  function update(job) {
    var started = document.getElementById("job-started");
    var ended = document.getElementById("job-finished");
    if (started) started.textContent = time(job.started_at);
    if (ended) ended.textContent = time(job.finished_at);
    var cell = document.getElementById("job-result");
    if (!cell || job.state !== "succeeded") return;
    cell.querySelector("code").textContent = JSON.stringify(job.result);
    var image = job.result.reference || (job.result.tags || [])[0] ||
      (job.result.image_id || "").replace("sha256:", "").slice(0, 12);
    if (image && !document.getElementById("run-from-job")) {
      var link = document.createElement("a");
      link.id = "run-from-job";
      link.className = "btn small";
      link.href = "/containers/run/?host=" + encodeURIComponent(job.host) +
        "&image=" + encodeURIComponent(image);
      link.textContent = "Run a container from it";
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(link);
    }
  }

  function refetch() {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch("/api/jobs/" + jobId + "/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) return;
        show(job.output || "", false);
        shown = Array.from(job.output || "").length;
        update(job);
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (again) { again = false; refetch(); }
      });
  }

  document.addEventListener("moorage:job-output", function (event) {
    var piece = event.detail;
    if (piece.job !== jobId) return;
    if (piece.offset === shown) {
      show(piece.text, true);
      shown += Array.from(piece.text).length;
    } else if (piece.offset === null || piece.offset > shown ||
               piece.offset + Array.from(piece.text).length > shown) {
      refetch();
    }
  });
  document.addEventListener("moorage:job", function (event) {
    if (event.detail.id === jobId) refetch();
  });
  pre.scrollTop = pre.scrollHeight;
})();
