"""What a pull or a build prints, kept on its job while it runs and shown live.

`JobOutput` is handed to the engine as its progress/output callback. Any thread may write (a
pull reports its parallel downloads from threads of their own); only the output's own flusher
thread sends it to the console (`POST /api/agent/jobs/{id}/output/`), every FLUSH_SECONDS,
and the job's own thread the rest at the end. Each flush sends what was added since the last,
with its offset (in characters); the console appends it to the job and publishes it, so a page
that shows the job appends it.

The job keeps at most HEAD_CHARS from the start and TAIL_CHARS from the end, with a line
saying how much was left out between them (a build that prints megabytes keeps its first
steps and its last lines, where the error is): once the middle is cut, the whole text is sent
again (offset null) and pages fetch the job again.
"""
import logging
import threading

from console.agent import console_api
from console.agent.console_api import ConsoleRefused, Unreachable
from console.agent.worker import worker_identity
from console.jobs.wire import OUTPUT_HEAD_CHARS as HEAD_CHARS, OUTPUT_TAIL_CHARS as TAIL_CHARS

FLUSH_SECONDS = 0.5

log = logging.getLogger(__name__)


class JobOutput:
    def __init__(self, job_id: int, *, head_chars: int = HEAD_CHARS,
                 tail_chars: int = TAIL_CHARS, flush_seconds: float = FLUSH_SECONDS):
        self.job_id = job_id
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.flush_seconds = flush_seconds
        self.head, self.tail, self.left_out = "", "", 0
        self.saved = ""                  # the text the console holds
        self.lock = threading.Lock()
        self.sending = threading.Lock()  # one flush at a time, in order
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

    # -- keeping it on the job ----------------------------------------------------------

    def flush(self) -> None:
        with self.sending:
            text = self.text
            if text == self.saved:
                return
            api = console_api.get_api()
            if text.startswith(self.saved):
                try:
                    api.output(self.job_id, worker_identity(), len(self.saved),
                               text[len(self.saved):])
                except ConsoleRefused as refusal:
                    if refusal.status != 409:
                        raise
                    api.output(self.job_id, worker_identity(), None, text)  # out of step
            else:                       # the middle was cut: the whole of it again
                api.output(self.job_id, worker_identity(), None, text)
            self.saved = text

    def _keep_flushing(self) -> None:
        while not self.stop.wait(self.flush_seconds):
            try:
                self.flush()
            except (ConsoleRefused, Unreachable) as error:   # the next flush sends it all
                log.warning("could not send the output of job %s: %s", self.job_id, error)

    def __enter__(self):
        self.flusher = threading.Thread(target=self._keep_flushing, daemon=True,
                                        name=f"job-{self.job_id}-output")
        self.flusher.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.flusher.join()
        try:
            self.flush()                # the rest, from the job's own thread
        except (ConsoleRefused, Unreachable) as error:
            log.warning("could not send the output of job %s: %s", self.job_id, error)
        return False
