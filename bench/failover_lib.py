"""Shared machinery for bench/durable-bench and bench/replica-bench.

bench/failover-bench is a script (no .py), so it is loaded here as the module `failover_bench`; its Procs, Conn,
Topology, free_port, ... are reused as they are. What the new scripts add on top lives here too: a Rampart config
with extra pool keys, starting Rampart on a topology, and the signal handling of a bench's main.
Standard library only.
"""

import importlib.util
import os
import sys
from importlib.machinery import SourceFileLoader

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in bench/


def _load_failover_bench():
    path = os.path.join(BENCH_DIR, "failover-bench")
    loader = SourceFileLoader("failover_bench", path)
    spec = importlib.util.spec_from_loader("failover_bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


fb = _load_failover_bench()

BenchError = fb.BenchError
Conn = fb.Conn
RespError = fb.RespError
Procs = fb.Procs
Topology = fb.Topology
resp_cmd = fb.resp_cmd
call = fb.call
try_call = fb.try_call
info_fields = fb.info_fields
free_port = fb.free_port
tail = fb.tail
log = fb.log
now = fb.now
HOST = fb.HOST
MASTER_NAME = fb.MASTER_NAME
DEFAULT_RAMPART = fb.DEFAULT_RAMPART
REPO_ROOT = fb.REPO_ROOT
ClientThreads = fb.ClientThreads  # client threads with start() / finish() (subclasses define _run(cid))
run_main = fb.run_main  # main(argv) with signals turned into KeyboardInterrupt, BenchError into exit code 2


def rampart_config(listen_port, sentinel_ports, extra=None):
    """failover-bench's Sentinel pool, plus extra pool keys ({"min_replicas_ack": 1, "read_from": "replica"})."""
    cfg = fb.rampart_config(listen_port, sentinel_ports)
    for k, v in (extra or {}).items():
        cfg += "  %s: %s\n" % (k, v)
    return cfg


def start_rampart(a, topo, procs, extra=None, ready_timeout=30.0):
    """Start Rampart in front of topo with the extra pool keys; ready once 10 SETs in a row succeed.
    Returns (port, Popen, logpath)."""
    port = free_port()
    name = "rampart-" + "-".join("%s=%s" % kv for kv in (extra or {}).items()) if extra else "rampart"
    logpath = os.path.join(topo.tmp, "%s.log" % name)
    cfg = os.path.join(topo.tmp, "%s.yml" % name)
    with open(cfg, "w") as f:
        f.write(rampart_config(port, topo.sentinel_ports, extra))
    p = procs.start(name, a.rampart_argv + ["serve", "--config", cfg], logpath, cwd=REPO_ROOT)
    deadline = now() + ready_timeout
    streak = 0
    while now() < deadline:
        if p.poll() is not None:
            raise BenchError("rampart exited (rc %s):\n%s" % (p.returncode, tail(logpath)))
        r = try_call(port, "SET", "ready", "1", timeout=1.0)
        if r == "OK":
            streak += 1
            if streak >= 10:
                return port, p, logpath
            continue
        streak = 0
        fb.time.sleep(0.2)
    raise BenchError("rampart not ready after %.0f s:\n%s" % (ready_timeout, tail(logpath)))


def add_common_args(p, json_help):
    """The options every bench here shares: --ready-timeout, --rampart, --json, --keep-tmp."""
    p.add_argument("--ready-timeout", type=float, default=30.0, help="max seconds for topology / Rampart start")
    p.add_argument("--rampart", default=DEFAULT_RAMPART,
                   help="Rampart command prefix (relative to the repo root); built with "
                        "`dotnet build src/Rampart -c Release` if it is the default and missing")
    p.add_argument("--json", metavar="FILE", help=json_help)
    p.add_argument("--keep-tmp", action="store_true", help="keep configs and logs (prints the directory)")


def comma_list(p, value, allowed, what):
    """Split a comma list and refuse (argparse error) anything not in `allowed`."""
    items = [x.strip() for x in value.split(",") if x.strip()]
    for x in items:
        if x not in allowed:
            p.error("unknown %s %r" % (what, x))
    return items


def prepare(a, rampart=True):
    """Check redis-server and resolve --rampart into a.rampart_argv (building the default binary if missing), as
    failover-bench does."""
    a.targets = ["rampart"] if rampart else []
    a.haproxy = "haproxy"
    fb.prepare(a)
