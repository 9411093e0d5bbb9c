"""What a pull or a build prints, kept on its job row while it runs and shown live.

`JobOutput` is handed to the engine as its progress/output callback. Any thread may write
(a pull reports its parallel downloads from threads of their own); only the output's own
flusher thread touches the database, every FLUSH_SECONDS, and it closes its connection when it
ends. Each flush appends to `Job.output` and publishes what was added, with its offset (in
characters), so a page that shows the job appends it; a page that missed a piece fetches the
job again.

The row keeps at most HEAD_CHARS from the start and TAIL_CHARS from the end, with a line
saying how much was left out between them: a build that prints megabytes keeps its first
steps and its last lines (where the error is).
"""
import logging
import threading

from django.db import connection

from console.jobs.models import Job
from console.streams import publish

HEAD_CHARS = 192 * 1024
TAIL_CHARS = 64 * 1024
FLUSH_SECONDS = 0.5

log = logging.getLogger(__name__)


class JobOutput:
    def __init__(self, job, *, head_chars: int = HEAD_CHARS, tail_chars: int = TAIL_CHARS,
                 flush_seconds: float = FLUSH_SECONDS):
        self.job = job
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.flush_seconds = flush_seconds
        self.head, self.tail, self.left_out = "", "", 0
        self.saved = ""                  # the text the row holds
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.flusher = None

    # -- writing (any thread) -----------------------------------------------------------

    def write(self, text) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not text:
            return
        with self.lock:
            room = self.head_chars - len(self.head)
            if room > 0:
                self.head += text[:room]
                text = text[room:]
            if text:
                self.tail += text
                if len(self.tail) > self.tail_chars:
                    self.left_out += len(self.tail) - self.tail_chars
                    self.tail = self.tail[-self.tail_chars:]

    def line(self, text: str) -> None:
        """A progress line (the engine's pull reports lines without their newline)."""
        self.write(f"{text}\n")

    @property
    def text(self) -> str:
        with self.lock:
            if not self.left_out:
                return self.head + self.tail
            return (f"{self.head}\n[... {self.left_out} characters of output left out ...]\n"
                    f"{self.tail}")

    # -- keeping it on the row ----------------------------------------------------------

    def flush(self) -> None:
        text = self.text
        if text == self.saved:
            return
        Job.objects.filter(pk=self.job.pk).update(output=text)
        if text.startswith(self.saved):
            publish.job_output(self.job, offset=len(self.saved), text=text[len(self.saved):])
        else:                           # the middle was cut: pages fetch the job again
            publish.job_output(self.job, offset=None, text="")
        self.saved = text
        self.job.output = text

    def _keep_flushing(self) -> None:
        try:
            while not self.stop.wait(self.flush_seconds):
                try:
                    self.flush()
                except Exception:   # a busy database: the next flush writes it all
                    log.exception("could not save the output of job %s", self.job.pk)
        finally:
            connection.close()      # this thread's own connection

    def __enter__(self):
        self.flusher = threading.Thread(target=self._keep_flushing, daemon=True,
                                        name=f"job-{self.job.pk}-output")
        self.flusher.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.flusher.join()
        self.flush()                # the rest, from the job's own thread
        return False
