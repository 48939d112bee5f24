"""What `municipium serve` does beside its web server: keep one task worker running.

A worker that exits for any reason (killed, crashed, out of memory) while the web server
still runs is started again, after a pause that grows while it keeps dying at once (so a
worker that cannot start does not spin), and shrinks back once it has run a while. The task
it was running is taken back through its lease (worker.py), by the new worker or another.
"""

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from django.utils.translation import gettext as _

from municipium.lib.numbers import format_number

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0
# A worker that ran this long before it died is restarted after the first pause again.
HEALTHY_AFTER = 60.0


class Supervisor:
    def __init__(
        self,
        server: subprocess.Popen,
        worker_command: Sequence[str],
        *,
        first_pause: float = FIRST_PAUSE,
        longest_pause: float = LONGEST_PAUSE,
        healthy_after: float = HEALTHY_AFTER,
        poll: float = 0.5,
        say: Callable[[str], None] | None = None,
    ):
        self.server = server
        self.worker_command = list(worker_command)
        self.first_pause, self.longest_pause, self.healthy_after = first_pause, longest_pause, healthy_after
        self.poll = poll
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.stopping = threading.Event()
        self.restarts = 0
        self.worker = self._start()

    def _start(self) -> subprocess.Popen:
        self.started = time.monotonic()
        return subprocess.Popen(self.worker_command)

    def run(self) -> int:
        """Until the web server ends (or `stop`): restart the worker whenever it has ended.
        Returns the web server's exit code."""
        pause = self.first_pause
        while not self.stopping.is_set() and self.server.poll() is None:
            code = self.worker.poll()
            if code is None:
                self.stopping.wait(self.poll)
                continue
            if time.monotonic() - self.started >= self.healthy_after:
                pause = self.first_pause
            self.say(
                _("The task worker stopped (exit code %(code)s); starting it again in %(seconds)s s.")
                % {"code": format_number(code, 0, grouping=False), "seconds": format_number(pause, 1)}
            )
            if self.stopping.wait(pause):
                break
            self.worker = self._start()
            self.restarts += 1
            pause = min(self.longest_pause, pause * 2)
        return self.server.returncode if self.server.returncode is not None else 0

    def stop(self, timeout: float = 10) -> None:
        """End the worker and the web server (SIGTERM, then SIGKILL after `timeout`)."""
        self.stopping.set()
        for process in (self.server, self.worker):
            if process.poll() is None:
                process.terminate()
        for process in (self.server, self.worker):
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
