"""Shared machinery for bench/durable-bench and bench/replica-bench.

bench/failover-bench is a script (no .py), so it is loaded here as the module `failover_bench`; its Procs, Conn,
Topology, free_port, ... are reused as they are. What the new scripts add on top lives here too: a Rampart config
with extra pool keys, starting Rampart on a topology, and the signal handling of a bench's main.
Standard library only.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def start_rampart(a, topo, procs, extra=None):
    """Rampart in front of topo (failover-bench's Sentinel pool plus the `extra` pool keys), ready once 10 SETs in a
    row succeed (at most a.ready_timeout s). Returns (port, Popen, logpath)."""
    return fb.start_target("rampart", a, topo, procs, extra)


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


def run_in_tmp(a, prefix, body):
    """body(tmp) in a fresh temp dir; Ctrl-C / SIGTERM end it early (partial results stay); the dir is removed unless
    --keep-tmp."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(tmp)
    except KeyboardInterrupt:
        log("interrupted; partial results follow")
    finally:
        if a.keep_tmp:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def redis_version():
    out = subprocess.run(["redis-server", "--version"], stdout=subprocess.PIPE).stdout.decode().strip()
    return out.split(" sha")[0]


def write_json(a, cmd, results):
    """--json FILE: the command and every run."""
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"command": cmd, "runs": results}, f)
        log("wrote %s" % a.json)
