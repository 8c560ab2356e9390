#!/usr/bin/env python3
"""roster agent --metrics-addr, scraped by Debian's real Prometheus server.

Starts agent a serving metrics on a free 127.0.0.1 port, agent b joining
it, and `prometheus` scraping a every second; passes once Prometheus's own
query API answers roster_members{state="alive"} with 2 from a scrape, and
`promtool check metrics` finds nothing to say of a's exposition. Also: a
bad --metrics-addr is a usage error (exit 2), a busy one a failure (exit
1). Everything started is killed on the way out, failure or not.

  metrics_agent_test.py ROSTER_BIN
"""
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE_S = 20
PROCS = []


def fail(message):
    print(f"metrics_agent_test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def start(args, **kw):
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, **kw)
    PROCS.append(proc)
    return proc


def stop_all():
    for proc in PROCS:
        if proc.poll() is None:
            proc.terminate()
    for proc in PROCS:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port():
    # Prometheus takes a port, not port 0; the race with another process
    # between close and bind is the one this test accepts.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """An agent whose stderr lines are read as they come."""

    def __init__(self, roster, *flags):
        self.proc = start([roster, "agent", "--rpc", "127.0.0.1:0", *flags],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, marker, deadline):
        """The rest of the first stderr line holding `marker`."""
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=max(0, deadline - time.time()))
            except queue.Empty:
                fail(f"no '{marker}' from the agent; it said: {seen}")
            if line is None:
                fail(f"the agent exited ({self.proc.wait()}) before "
                     f"'{marker}'; it said: {seen}")
            seen.append(line)
            at = line.find(marker)
            if at >= 0:
                return line[at + len(marker):]


def get(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.read().decode()


def alive_seen_by_prometheus(web):
    query = urllib.parse.quote('roster_members{state="alive"}')
    try:
        answer = json.loads(get(f"http://{web}/api/v1/query?query={query}"))
    except OSError:
        return None  # not up yet
    results = answer.get("data", {}).get("result", [])
    return results[0]["value"][1] if results else None


def main():
    roster = sys.argv[1]
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (Debian's prometheus package)")
    deadline = time.time() + DEADLINE_S
    work = tempfile.mkdtemp(prefix="roster-metrics-")
    try:
        a = Agent(roster, "--name", "a", "--bind", "127.0.0.1:0",
                  "--profile", "local", "--metrics-addr", "127.0.0.1:0")
        a_addr = a.wait_for(" listening on ", deadline).split(" ")[0]
        metrics = a.wait_for("metrics on http://", deadline).split("/")[0]
        b = Agent(roster, "--name", "b", "--bind", "127.0.0.1:0",
                  "--profile", "local", "--join", a_addr)
        b.wait_for("joined through", deadline)

        # The agent refuses what it cannot serve, with the exit statuses
        # its usage promises.
        for addr, status in (("localhost:9464", 2), (metrics, 1)):
            bad = subprocess.run(
                [roster, "agent", "--rpc", "127.0.0.1:0", "--name", "c", "--bind", "127.0.0.1:0",
                 "--metrics-addr", addr],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=10)
            if bad.returncode != status or addr not in bad.stderr:
                fail(f"--metrics-addr {addr}: exit {bad.returncode}, "
                     f"expected {status}: {bad.stderr!r}")

        web = f"127.0.0.1:{free_port()}"
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: roster\n"
                    f"    static_configs: [{{targets: ['{metrics}']}}]\n")
        prometheus_log = open(os.path.join(work, "prometheus.log"), "w")
        start(["prometheus", f"--config.file={config}",
               f"--storage.tsdb.path={os.path.join(work, 'data')}",
               f"--web.listen-address={web}"],
              stdout=prometheus_log, stderr=subprocess.STDOUT)

        value = None
        while value != "2":
            if time.time() > deadline:
                prometheus_log.flush()
                with open(prometheus_log.name) as log:
                    tail = log.read()[-2000:]
                fail(f"Prometheus at {web} answered {value!r}, not 2, for "
                     f"roster_members{{state=\"alive\"}}; its log:\n{tail}")
            if PROCS[-1].poll() is not None:
                fail(f"prometheus exited ({PROCS[-1].returncode})")
            value = alive_seen_by_prometheus(web)
            if value != "2":
                time.sleep(0.2)

        exposition = get(f"http://{metrics}/metrics")
        check = subprocess.run(["promtool", "check", "metrics"],
                               input=exposition, capture_output=True,
                               text=True, timeout=10)
        if check.returncode != 0 or check.stdout.strip() or \
                check.stderr.strip():
            fail(f"promtool check metrics (exit {check.returncode}): "
                 f"{check.stdout}{check.stderr}")
        for family in ("roster_probe_rtt_seconds",
                       "roster_suspicion_to_failure_seconds"):
            if f"# TYPE {family} histogram" not in exposition:
                fail(f"no histogram {family} in the exposition")
        print(f"metrics_agent_test: Prometheus scraped 2 alive members "
              f"from {metrics}; promtool: clean")
    finally:
        stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    # A SIGTERM (ctest's timeout) unwinds through main's cleanup too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
