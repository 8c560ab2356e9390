#!/usr/bin/env python3
"""Offline checks of deploy/kubernetes that no schema validator makes.

kubectl's client-side dry run needs an API server, and a schema says
nothing of how the pieces fit roster. This reads the manifests (PyYAML,
which yamllint brings) and checks what a typo would quietly break in a
real cluster: that the --join srv: seed names the SRV record the headless
Service makes, that the Service publishes pods before they are ready, that
every selector finds the pods, that the snapshot file lies on the volume
claim, that the probes ask the agent's own RPC, that the grace period
covers a graceful leave, that the metrics annotation names the metrics
port; and that the kustomization lists every manifest. Also that the
Dockerfile has the agent and cache targets and builds only with packages
scripts/install-deps installs.

  deploy/check_manifests.py [REPO_ROOT]

Prints one line per check; exits 1 if any failed.
"""

import os
import re
import sys

import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))
KDIR = os.path.join(ROOT, "deploy", "kubernetes")

# The agent's Leave(timeout) on SIGTERM (tools/roster_main.cc), which the
# grace period must exceed with room for the snapshot's last write.
LEAVE_TIMEOUT_S = 10
CLUSTER_DOMAIN = "cluster.local"

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def load_manifests():
    objs = {}
    files = {}
    for name in sorted(os.listdir(KDIR)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(KDIR, name), encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is None:
                    continue
                kind = doc.get("kind")
                objs.setdefault(kind, []).append(doc)
                files.setdefault(kind, []).append(name)
    return objs, files


def one(objs, kind):
    found = objs.get(kind, [])
    check(len(found) == 1, f"exactly one {kind} (found {len(found)})")
    return found[0] if found else {}


def flag_values(args, flag):
    """Every value of --flag VALUE or --flag=VALUE in an argument list."""
    out = []
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            out.append(args[i + 1])
        elif a.startswith(flag + "="):
            out.append(a[len(flag) + 1:])
    return out


def port_of(hostport):
    m = re.fullmatch(r".*:(\d+)", hostport or "")
    return int(m.group(1)) if m else None


def subset(a, b):
    return bool(a) and all(b.get(k) == v for k, v in a.items())


def main():
    objs, files = load_manifests()
    svc = one(objs, "Service")
    sts = one(objs, "StatefulSet")
    pdb = one(objs, "PodDisruptionBudget")
    kus = one(objs, "Kustomization")

    # ---- the headless Service and its SRV record
    spec = svc.get("spec", {})
    svc_name = svc.get("metadata", {}).get("name")
    check(spec.get("clusterIP") == "None", "Service is headless (clusterIP: None)")
    check(spec.get("publishNotReadyAddresses") is True,
          "Service publishes pods that are not ready yet "
          "(seeds resolve before readiness)")
    ports = spec.get("ports", [])
    names = [p.get("name") for p in ports]
    check(len(names) == len(set(names)) and all(names),
          "Service's ports are named, each name once")
    udp = [p for p in ports if p.get("protocol") == "UDP"]
    check(len(udp) == 1, "Service has one UDP port (the SRV record's)")
    udp = udp[0] if udp else {}
    gossip_port = udp.get("port")
    check(any(p.get("protocol", "TCP") == "TCP" and p.get("port") == gossip_port
              for p in ports),
          f"Service has a TCP port at the UDP port's number ({gossip_port})")

    # ---- the StatefulSet's pods
    sspec = sts.get("spec", {})
    tmpl = sspec.get("template", {})
    labels = tmpl.get("metadata", {}).get("labels", {})
    pod = tmpl.get("spec", {})
    check(sspec.get("serviceName") == svc_name,
          f"StatefulSet's serviceName is the Service ({svc_name})")
    check(subset(sspec.get("selector", {}).get("matchLabels", {}), labels),
          "StatefulSet's selector matches its pods' labels")
    check(subset(spec.get("selector", {}), labels),
          "Service's selector matches the pods' labels")
    check(subset(pdb.get("spec", {}).get("selector", {}).get("matchLabels", {}),
                 labels),
          "PodDisruptionBudget's selector matches the pods' labels")
    check(sspec.get("podManagementPolicy") == "Parallel",
          "podManagementPolicy: Parallel")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= LEAVE_TIMEOUT_S + 5,
          f"terminationGracePeriodSeconds ({grace}) covers the graceful "
          f"leave ({LEAVE_TIMEOUT_S} s) with room")

    containers = pod.get("containers", [])
    agent = next((c for c in containers if "agent" in (c.get("args") or [])
                  or "agent" in (c.get("command") or [])
                  or c.get("name") == "agent"), {})
    check(bool(agent), "a container runs the agent")
    args = [str(a) for a in (agent.get("command") or []) + (agent.get("args") or [])]
    env = {e.get("name"): e for e in agent.get("env", [])}

    def field_ref(var):
        return (env.get(var, {}).get("valueFrom", {})
                .get("fieldRef", {}).get("fieldPath"))

    for var, path in (("POD_NAME", "metadata.name"), ("POD_IP", "status.podIP"),
                      ("POD_NAMESPACE", "metadata.namespace")):
        check(field_ref(var) == path, f"env {var} from the downward API ({path})")
    used = set(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", " ".join(args)))
    check(used <= set(env), "every $(VAR) in the arguments is in env "
          f"(used: {', '.join(sorted(used)) or 'none'})")

    check(flag_values(args, "--name") == ["$(POD_NAME)"], "--name is the pod's name")
    advertise = flag_values(args, "--advertise")
    check(advertise == [f"$(POD_IP):{gossip_port}"],
          f"--advertise is the pod's IP at the Service's port ({advertise})")
    bind = flag_values(args, "--bind")
    check(len(bind) == 1 and port_of(bind[0]) == gossip_port,
          f"--bind at the Service's port ({bind})")
    want_seed = (f"srv:_{udp.get('name')}._udp.{svc_name}.$(POD_NAMESPACE)"
                 f".svc.{CLUSTER_DOMAIN}")
    joins = flag_values(args, "--join")
    check(want_seed in joins,
          f"--join {want_seed} (the headless Service's SRV record; found {joins})")

    cports = {p.get("name"): p for p in agent.get("ports", [])}
    for p in ports:
        target = p.get("targetPort", p.get("port"))
        cp = (cports.get(target) if isinstance(target, str) else
              next((c for c in cports.values() if c.get("containerPort") == target),
                   None))
        check(cp is not None and cp.get("protocol", "TCP") == p.get("protocol", "TCP"),
              f"Service port {p.get('name')} reaches a container port "
              f"({target}/{p.get('protocol', 'TCP')})")

    # ---- the snapshot file on the claim
    claims = {t.get("metadata", {}).get("name")
              for t in sspec.get("volumeClaimTemplates", [])}
    snapshot = flag_values(args, "--snapshot")
    mount = next((m for m in agent.get("volumeMounts", [])
                  if snapshot and snapshot[0].startswith(m.get("mountPath", "").rstrip("/") + "/")),
                 None)
    check(len(snapshot) == 1 and mount is not None and mount.get("name") in claims,
          f"--snapshot {snapshot} lies on a volumeClaimTemplate's mount")

    # ---- the probes and the RPC
    rpc = flag_values(args, "--rpc") or ["127.0.0.1:7373"]
    ready = agent.get("readinessProbe", {}).get("exec", {}).get("command", [])
    check(ready[:2] == ["roster", "info"] and "--ready" in ready,
          f"readiness probe is `roster info --ready` ({' '.join(ready)})")
    check((flag_values(ready, "--rpc") or ["127.0.0.1:7373"]) == rpc,
          f"readiness probe asks the agent's --rpc ({rpc[0]})")
    live = agent.get("livenessProbe", {}).get("exec", {}).get("command", [])
    if live:
        check("--ready" not in live, "liveness probe does not need the agent joined")
        check((flag_values(live, "--rpc") or ["127.0.0.1:7373"]) == rpc,
              f"liveness probe asks the agent's --rpc ({rpc[0]})")
    check(bool(agent.get("resources", {}).get("requests")), "resource requests set")

    # ---- metrics
    metrics = flag_values(args, "--metrics-addr")
    ann = tmpl.get("metadata", {}).get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true", "pods are annotated for scraping")
    check(len(metrics) == 1 and str(port_of(metrics[0])) == ann.get("prometheus.io/port"),
          f"prometheus.io/port is the --metrics-addr port ({metrics})")

    # ---- the kustomization lists every manifest
    listed = set(kus.get("resources", []))
    manifests = {f for kind, fs in files.items() if kind != "Kustomization" for f in fs}
    check(listed == manifests,
          f"kustomization.yaml lists every manifest ({', '.join(sorted(manifests))})")
    images = {i.get("name") for i in kus.get("images", [])}
    check(not images or agent.get("image", "").split(":")[0] in images,
          "kustomization's image entry names the agent's image")

    # ---- the Dockerfile
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    stages = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", dockerfile, re.M | re.I)
    check([s for s in stages if s[1] in ("agent", "cache")] and
          stages[-1][1] == "agent" and any(s[1] == "cache" for s in stages),
          "Dockerfile has cache and agent targets (agent last: the default)")
    check(all(base in ("debian:12", "debian:12-slim") or base in {s[1] for s in stages}
              for base, _ in stages),
          "Dockerfile's stages are debian:12 and debian:12-slim")
    build = re.search(r"^FROM\s+debian:12\s+AS\s+build$(.*?)^FROM", dockerfile,
                      re.M | re.S | re.I)
    with open(os.path.join(ROOT, "scripts", "install-deps"), encoding="utf-8") as f:
        deps = set(re.search(r"packages=\((.*?)\)", f.read(), re.S).group(1).split())
    m = re.search(r"--no-install-recommends\s*\\?\n?(.*?)&&", build.group(1) if build else "",
                  re.S)
    pkgs = set(m.group(1).replace("\\", " ").split()) if m else set()
    check(bool(pkgs) and pkgs <= deps,
          "the build stage's packages are all in scripts/install-deps"
          + (f" (not: {', '.join(sorted(pkgs - deps))})" if pkgs - deps else ""))

    print(f"check_manifests: {len(failures)} failed" if failures else
          "check_manifests: every check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
