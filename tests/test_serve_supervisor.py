"""`municipium serve` starts its task worker again whenever it ends (issue 20): killed
(kill -9) or exited, while the web server runs; not once serve itself stops. Small
stand-in processes play the web server and the worker, so no port and no database."""

import os
import signal
import subprocess
import sys
import threading
import time

from municipium.worker.supervise import Supervisor

TIMEOUT = 15.0


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {TIMEOUT} s: {what}")


def _supervised(worker_command, said):
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    supervisor = Supervisor(server, worker_command, first_pause=0.1, longest_pause=0.4, poll=0.02, say=said.append)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    return supervisor, thread


def test_a_worker_killed_with_sigkill_is_started_again():
    said: list[str] = []
    supervisor, thread = _supervised([sys.executable, "-c", "import time; time.sleep(120)"], said)
    try:
        first = supervisor.worker
        os.kill(first.pid, signal.SIGKILL)

        _wait_for(lambda: supervisor.worker is not first and supervisor.worker.poll() is None, "a new worker")
        assert supervisor.restarts == 1
        assert said == ["The task worker stopped (exit code -9); starting it again in 0.1 s."]
    finally:
        supervisor.stop()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert supervisor.server.poll() is not None and supervisor.worker.poll() is not None


def test_a_worker_that_keeps_exiting_is_restarted_each_time_with_a_growing_pause(tmp_path):
    starts = tmp_path / "starts"
    said: list[str] = []
    supervisor, thread = _supervised([sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x')"], said)
    try:
        _wait_for(lambda: starts.exists() and len(starts.read_text()) >= 4, "four starts")
    finally:
        supervisor.stop()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert supervisor.restarts >= 3
    assert said[:3] == [
        "The task worker stopped (exit code 0); starting it again in 0.1 s.",
        "The task worker stopped (exit code 0); starting it again in 0.2 s.",
        "The task worker stopped (exit code 0); starting it again in 0.4 s.",
    ]


def test_no_worker_is_started_after_the_web_server_ended():
    said: list[str] = []
    supervisor, thread = _supervised([sys.executable, "-c", "import time; time.sleep(120)"], said)
    supervisor.server.terminate()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert supervisor.restarts == 0
    supervisor.stop()
    assert supervisor.worker.poll() is not None
