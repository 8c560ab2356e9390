#!/usr/bin/env python3
"""The replicated cache as processes on loopback (127.0.0.1 only).

Four instances form a cluster; 200 keys are written. Then, each stage
timed and bounded:
  1. kill -9 one instance: every key readable, and back at two copies
     among the live instances;
  2. kill -9 another and restart it at once under the same name and
     address: it is re-seeded with the keys it owns;
  3. add a fifth instance: keys rebalance onto it, still two copies each.

    cache_test.py BUILD/roster-cache
Exits 0 when every stage passes, 1 otherwise; prints each stage's time.
"""
import os
import signal
import socket
import subprocess
import sys
import time

KEYS = 200
LIMIT_S = 15.0  # each stage's bound: "within a few seconds", with margin


class Instance:
    def __init__(self, binary, name, bind="127.0.0.1:0", seeds=()):
        self.name = name
        args = [binary, "--name", name, "--bind", bind, "--profile", "local"]
        for s in seeds:
            args += ["--join", s]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 4 or line[0] != "ready":
            raise RuntimeError(f"{name} did not start: {line}")
        self.roster = line[2].split("=", 1)[1]
        host, port = line[3].split("=", 1)[1].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.reader = self.sock.makefile("r")

    def ask(self, line):
        self.sock.sendall((line + "\n").encode())
        return self.reader.readline().rstrip("\n")

    def listing(self, command):
        head = self.ask(command).split()
        return [self.reader.readline().rstrip("\n") for _ in range(int(head[1]))]

    def keys(self):
        return set(self.listing("KEYS"))

    def members(self):
        return [line.split()[0] for line in self.listing("MEMBERS")]

    def rtts_ms(self):
        """The round-trip times this instance reads by, per other member."""
        rtts = {}
        for line in self.listing("MEMBERS"):
            name, _, _, rtt = line.split()
            if name != self.name:
                rtts[name] = float(rtt)
        return rtts

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.sock.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(what, check, limit=LIMIT_S):
    start = time.monotonic()
    last = None
    while time.monotonic() - start < limit:
        ok, last = check()
        if ok:
            took = time.monotonic() - start
            print(f"cache_test: {what}: {took:.2f} s")
            return took
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {limit} s ({last})")


def copies_ok(instances, keys, values):
    """Every key at exactly two live instances and readable everywhere."""
    held = {i.name: i.keys() for i in instances}
    for k in keys:
        n = sum(1 for h in held.values() if k in h)
        if n != 2:
            return False, f"{k} has {n} copies"
    for i in instances:
        for k in keys[::17]:
            got = i.ask(f"GET {k}")
            if got != f"VALUE {values[k]}":
                return False, f"GET {k} at {i.name}: {got}"
    return True, None


def main():
    binary = sys.argv[1]
    live = {}
    try:
        first = Instance(binary, "cache-a")
        live["cache-a"] = first
        for n in "bcd":
            live[f"cache-{n}"] = Instance(binary, f"cache-{n}",
                                          seeds=[first.roster])
        wait_for("four instances see each other", lambda: (
            all(len(i.members()) == 4 for i in live.values()), None))

        # Reads go to the nearest owner: every instance has measured a
        # round-trip time to every other from roster's probes.
        wait_for("every instance knows its RTT to every other", lambda: (
            all(len(r) == 3 and min(r.values()) > 0
                for r in (i.rtts_ms() for i in live.values())), None))

        keys = [f"key-{n}" for n in range(KEYS)]
        values = {k: f"value-of-{k}" for k in keys}
        writers = list(live.values())
        for n, k in enumerate(keys):
            reply = writers[n % len(writers)].ask(f"PUT {k} {values[k]}")
            assert reply == "OK 2", f"PUT {k}: {reply}"
        wait_for("200 keys at two copies each",
                 lambda: copies_ok(list(live.values()), keys, values))

        # 1. A crash.
        live.pop("cache-c").kill()
        wait_for("after kill -9 of cache-c, every key readable and at two "
                 "copies again", lambda: copies_ok(list(live.values()), keys,
                                                   values))

        # 2. A crash and an immediate restart at the same name and address.
        b = live.pop("cache-b")
        b_addr = b.roster
        b.kill()
        live["cache-b"] = Instance(binary, "cache-b", bind=b_addr,
                                   seeds=[first.roster])
        wait_for("cache-b restarted at once is re-seeded", lambda: (
            len(live["cache-b"].keys()) > 0 and
            copies_ok(list(live.values()), keys, values)[0], None))

        # 3. A new instance.
        live["cache-e"] = Instance(binary, "cache-e", seeds=[first.roster])
        wait_for("cache-e added, keys rebalance onto it", lambda: (
            len(live["cache-e"].keys()) > 0 and
            copies_ok(list(live.values()), keys, values)[0], None))
        print("cache_test: passed")
        return 0
    except (AssertionError, RuntimeError, OSError) as e:
        print(f"cache_test: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        for i in live.values():
            i.stop()


if __name__ == "__main__":
    sys.exit(main())
