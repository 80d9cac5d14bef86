#!/usr/bin/env python3
"""Start each given rampart build in front of one redis-server and measure, per round: the time from exec to the pool's
port accepting a connection, VmRSS when idle, and VmRSS holding N idle client connections. Prints a Markdown table of
medians. Builds rotate order each round so no build always runs first (cold caches) or last."""
import argparse, os, signal, socket, statistics, subprocess, sys, tempfile, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

def wait_accepting(port, proc, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"rampart exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            return
        except OSError:
            time.sleep(0.001)
    sys.exit(f"port {port} not accepting after {limit} s")

def one_run(binary, redis_port, connections, workdir):
    port = free_port()
    config = os.path.join(workdir, f"rampart-{port}.yml")
    with open(config, "w") as f:
        f.write(f"bench:\n  listen: 127.0.0.1:{port}\n  redis: true\n  servers:\n    - 127.0.0.1:{redis_port}:1 r1\n")
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_accepting(port, proc, 30)
        start_ms = (time.monotonic() - t0) * 1000
        time.sleep(2)  # let start-up work (tiering, first backend connect) settle before reading memory
        idle = rss_kb(proc.pid)
        held = []
        for _ in range(connections):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # Every connection answers a PING, so each is accepted and registered by rampart before memory is read.
        for s in held:
            s.sendall(b"PING\r\n")
        for s in held:
            if s.recv(16) != b"+PONG\r\n":
                sys.exit("no PONG")
        time.sleep(1)
        loaded = rss_kb(proc.pid)
        for s in held:
            s.close()
        return start_ms, idle, loaded
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("build", nargs="+", help="name=path/to/rampart")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.build]
    results = {name: [] for name, _ in builds}
    with tempfile.TemporaryDirectory() as workdir:
        for r in range(a.rounds):
            for name, path in builds[r % len(builds):] + builds[:r % len(builds)]:
                results[name].append(one_run(path, a.redis_port, a.connections, workdir))
                print(f"round {r + 1} {name}: start {results[name][-1][0]:.0f} ms, idle {results[name][-1][1] / 1024:.1f} MiB, "
                      f"{a.connections} conns {results[name][-1][2] / 1024:.1f} MiB", file=sys.stderr)
    print(f"| build | file size | exec to listening, ms | idle RSS, MiB | RSS with {a.connections} idle clients, MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, path in builds:
        runs = results[name]
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.dirname(path)) for f in fs)
        med = lambda i: statistics.median(x[i] for x in runs)
        print(f"| {name} | {size / 1048576:.1f} MiB | {med(0):.0f} | {med(1) / 1024:.1f} | {med(2) / 1024:.1f} |")

main()
