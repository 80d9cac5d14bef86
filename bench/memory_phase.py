"""Memory per client connection, for bench/proxy-bench --memory and bench/idle-clients.

N clients connect to a proxy and send nothing; then each sends one PING and reads its PONG; then they all close.
The proxy's VmRSS (from /proc) is read before they connect, with the connections idle, after the PINGs and after the
close, and reported as kB per connection ((RSS - RSS before) / N). A phase starts only once the proxy holds every
connection (its open descriptors, from /proc/PID/fd), so a lagging accept loop never makes a proxy look small.
Standard library only. The descriptor limit (nofile) is raised to the hard limit for this process and its children.
"""

import os
import resource
import socket
import time

IP_BIND_ADDRESS_NO_PORT = 24  # Linux <netinet/in.h>
SETTLE_S = 1.0  # after each phase, before RSS is read: let the proxy finish its work (and the GC its own)


def raise_nofile():
    """Soft nofile up to the hard limit (children inherit it); returns the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_fds(pid, predicate, timeout):
    """Waits until predicate(open descriptors of pid) holds; returns the seconds it took, or None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate(open_fds(pid)):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def source_addresses(count):
    """Loopback source addresses 127.0.0.2 .. : each has its own ~28,000 ephemeral ports to one destination."""
    return [f"127.0.0.{i + 2}" for i in range(max(1, count))]


def connect_many(port, n, sources=1, host="127.0.0.1", timeout=10.0):
    """Opens n connections to host:port, spread over `sources` loopback source addresses."""
    addrs = source_addresses(sources)
    held = []
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(timeout)
            if sources > 1:
                # The port is chosen at connect, per destination (IP_BIND_ADDRESS_NO_PORT): bind() would look for
                # one free on every address, and slow down as they fill.
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((addrs[i % len(addrs)], 0))
            s.connect((host, port))
            held.append(s)
    except BaseException:
        close_all(held)
        raise
    return held


def ping_all(held):
    """Every connection sends one PING, then every one reads its PONG (all requests in flight at once)."""
    for s in held:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")  # RESP: twemproxy takes no inline commands
    for s in held:
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                raise RuntimeError("connection closed before PONG")
            reply += chunk
        if reply != b"+PONG\r\n":
            raise RuntimeError(f"unexpected reply {reply!r}")


def close_all(held):
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    held.clear()


def fds_per_client(kind):
    """HAProxy in TCP mode opens one server connection per client; twemproxy and Rampart share a few."""
    return 2 if kind == "haproxy" else 1


PER_SOURCE = 5000  # connections per loopback source address: ephemeral ports are found fast while most are free


def sources_for(n):
    return -(-n // PER_SOURCE)


def measure(name, kind, pid, port, n, log=print):
    """One proxy's memory phase; returns a dict of RSS readings (kB) and per-connection costs (kB per connection)."""
    sources = sources_for(n)
    time.sleep(SETTLE_S)
    base_fds = open_fds(pid)
    before = rss_kb(pid)
    t0 = time.monotonic()
    held = connect_many(port, n, sources)
    try:
        want = base_fds + n * fds_per_client(kind)
        if wait_fds(pid, lambda fds: fds >= want, 60) is None:
            raise RuntimeError(f"{name}: holds {open_fds(pid) - base_fds} descriptors for {n} clients after 60 s")
        accept_s = time.monotonic() - t0
        time.sleep(SETTLE_S)
        idle = rss_kb(pid)
        ping_all(held)
        time.sleep(SETTLE_S)
        pinged = rss_kb(pid)
    finally:
        close_all(held)
    wait_fds(pid, lambda fds: fds <= base_fds + 2, 60)
    time.sleep(2 * SETTLE_S)
    closed = rss_kb(pid)
    result = {"proxy": name, "clients": n, "accept_s": round(accept_s, 3), "rss_before_kb": before,
              "rss_idle_kb": idle, "rss_ping_kb": pinged, "rss_closed_kb": closed,
              "idle_kb_per_conn": round((idle - before) / n, 2), "ping_kb_per_conn": round((pinged - before) / n, 2),
              "closed_kb_per_conn": round((closed - before) / n, 2)}
    log(f"{name}: {n} clients accepted in {accept_s:.2f} s; RSS before {before / 1024:.1f} MiB, idle "
        f"{idle / 1024:.1f} MiB, after PING {pinged / 1024:.1f} MiB, after close {closed / 1024:.1f} MiB")
    return result


def table(results):
    """Markdown table of measure() results."""
    lines = ["| proxy | clients | RSS before, MiB | idle, kB/conn | after PING, kB/conn | after close, kB/conn | accept, s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['proxy']} | {r['clients']:,} | {r['rss_before_kb'] / 1024:.1f} | {r['idle_kb_per_conn']:.2f} | "
                     f"{r['ping_kb_per_conn']:.2f} | {r['closed_kb_per_conn']:.2f} | {r['accept_s']:.2f} |")
    return "\n".join(lines)


def haproxy_cfg(listen_port, redis_ports, maxconn):
    """HAProxy in TCP mode in front of the same servers (the first one: a TCP proxy does not shard)."""
    return (f"global\n  maxconn {maxconn}\n"
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n"
            f"frontend redis\n  bind 127.0.0.1:{listen_port}\n  default_backend servers\n"
            f"backend servers\n  server r1 127.0.0.1:{redis_ports[0]}\n")
