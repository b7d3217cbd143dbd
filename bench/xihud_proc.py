"""bench/xihud_proc.py: a private xihud for the bench scripts (ir-eval,
code-probe, ab-latency), so that each does not start, wait for and stop one
in its own words.  A benchmark helper, not a test.

  with Daemon(BUILD, INDEX, LOG, ["--no-sync"]) as d:
      ... d.sock ...

Daemon starts BUILD/daemon/xihud --foreground on INDEX, on a socket in a
fresh mode-700 directory, its output in LOG, and returns once
`xihu status` answers there; it raises DaemonError (with what to look at)
when xihud exits or does not answer in time.  stop() (or leaving the with
block) sends SIGTERM, kills it after 10 s, and removes the directory.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time


class DaemonError(Exception):
    pass


class Daemon:
    def __init__(self, bindir, index, log, args=(), wait_s=15):
        self.proc = None
        self.logf = None
        self.dir = tempfile.mkdtemp(prefix="xihu-bench-")
        os.chmod(self.dir, 0o700)
        self.sock = os.path.join(self.dir, "xihud.sock")
        client = os.path.join(bindir, "client", "xihu")
        try:
            self.logf = open(log, "w")
            self.proc = subprocess.Popen([os.path.join(bindir, "daemon", "xihud"), "--foreground", "--index", index,
                                          "--socket", self.sock] + list(args), stdout=self.logf, stderr=self.logf)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise DaemonError("xihud exited %d (see %s)" % (self.proc.returncode, log))
                if os.path.exists(self.sock) and subprocess.call(
                        [client, "--socket", self.sock, "--no-autostart", "status"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
                    return
                time.sleep(0.05)
            raise DaemonError("xihud did not answer on %s within %d s (see %s)" % (self.sock, wait_s, log))
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
