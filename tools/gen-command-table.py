#!/usr/bin/env python3
"""Generates src/Rampart.Protocol/Commands/CommandTable.Generated.cs from a real redis-server's COMMAND reply.

Usage: python3 tools/gen-command-table.py [--redis-server PATH]

Starts redis-server on a free loopback port (no persistence), reads COMMAND (the same data as COMMAND INFO for
every command, subcommands included), kills the server by PID and writes the facts Redis states: name, arity,
flags, ACL categories, the legacy first/last/step key range and what each key spec reads or writes (for ACL key patterns). Rampart's own decisions (handling, key-spec kind of movable-key
commands, splitting) live in CommandPolicies.cs, so regenerating never loses them. Python 3 stdlib only.
"""
import argparse
import os
import socket
import subprocess
import sys
import time

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "Rampart.Protocol", "Commands",
                      "CommandTable.Generated.cs")

# Redis flag name -> CommandFlags member. An unknown flag stops the generator: a new Redis needs a decision.
FLAGS = {
    "write": "Write", "readonly": "ReadOnly", "denyoom": "DenyOom", "module": "Module", "admin": "Admin",
    "pubsub": "PubSub", "noscript": "NoScript", "blocking": "Blocking", "loading": "Loading", "stale": "Stale",
    "skip_monitor": "SkipMonitor", "skip_slowlog": "SkipSlowlog", "asking": "Asking", "fast": "Fast",
    "no_auth": "NoAuth", "may_replicate": "MayReplicate", "sentinel": "Sentinel", "only_sentinel": "OnlySentinel",
    "no_mandatory_keys": "NoMandatoryKeys", "protected": "Protected", "module_no_cluster": "ModuleNoCluster",
    "no_async_loading": "NoAsyncLoading", "no_multi": "NoMulti", "movablekeys": "MovableKeys",
    "allow_busy": "AllowBusy", "module_getkeys": "ModuleGetKeys",
}

# Redis ACL category (COMMAND's 7th field, "@read") -> AclCategories member. An unknown one stops the generator too.
CATEGORIES = {
    "@keyspace": "Keyspace", "@read": "Read", "@write": "Write", "@set": "Set", "@sortedset": "SortedSet",
    "@list": "List", "@hash": "Hash", "@string": "String", "@bitmap": "Bitmap", "@hyperloglog": "HyperLogLog",
    "@geo": "Geo", "@stream": "Stream", "@pubsub": "PubSub", "@admin": "Admin", "@fast": "Fast", "@slow": "Slow",
    "@blocking": "Blocking", "@dangerous": "Dangerous", "@connection": "Connection", "@transaction": "Transaction",
    "@scripting": "Scripting",
}


class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.file.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply line %r" % line)

    def close(self):
        self.sock.close()


def free_port():
    # Ask the OS; never a fixed port, so parallel runs do not collide.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary):
    for _ in range(3):
        port = free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--daemonize", "no", "--loglevel", "warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline and proc.poll() is None:
            try:
                conn = Resp(port)
                if conn.call("PING") == "PONG":
                    return proc, conn
            except OSError:
                time.sleep(0.05)
        proc.kill()
        proc.wait()
    sys.exit("redis-server never answered PING")


def cs_flags(flags, name):
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        sys.exit("unknown flag(s) %s on %s: add them to FLAGS and CommandFlags" % (unknown, name))
    return " | ".join("F." + FLAGS[f] for f in flags) if flags else "F.None"


def cs_categories(categories, name):
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        sys.exit("unknown ACL categor(ies) %s on %s: add them to CATEGORIES and AclCategories" % (unknown, name))
    return " | ".join("C." + CATEGORIES[c] for c in categories) if categories else "C.None"


def key_access(cmd):
    """One letter per key spec, in COMMAND's order, saying what an ACL key pattern must grant (acl.c's
    ACLSelectorCheckKey): r (the spec has ACCESS), w (INSERT, DELETE or UPDATE), b (both), n (neither: any pattern).
    A spec Redis cannot locate that only reads (SORT's BY/GET patterns) names no argument and is left out, as is a NOT_KEY spec (a shard channel: ACL checks it as a channel), so the
    n-th key found takes the n-th letter (the last letter for the rest)."""
    specs = cmd[8] if len(cmd) > 8 and cmd[8] else []
    letters = ""
    for spec in specs:
        d = dict(zip(spec[0::2], spec[1::2]))
        flags = [f.lower() for f in d["flags"]]
        if d["begin_search"][1] == "unknown" and "ro" in flags or "not_key" in flags:
            continue
        read = "access" in flags
        write = any(f in flags for f in ("insert", "delete", "update"))
        letters += "b" if read and write else "r" if read else "w" if write else "n"
    return letters


def emit(cmd, indent):
    name, arity, flags, first, last, step = cmd[:6]
    categories = cmd[6] if len(cmd) > 6 else []
    subs = sorted(cmd[9], key=lambda c: c[0]) if len(cmd) > 9 and cmd[9] else []
    access = key_access(cmd)
    head = '%snew("%s", %d, %s, %s, %d, %d, %d' % (indent, name, arity, cs_flags(flags, name),
                                                  cs_categories(categories, name), first, last, step)
    if access:
        head += ', KeyAccess: "%s"' % access
    if not subs:
        return [head + "),"]
    lines = [head + ", ["]
    for sub in subs:
        lines += emit(sub, indent + "    ")
    lines.append(indent + "]),")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-server", default="redis-server")
    args = parser.parse_args()
    proc, conn = start_server(args.redis_server)
    try:
        version = next(l.split(":", 1)[1] for l in conn.call("INFO", "server").splitlines()
                       if l.startswith("redis_version:"))
        commands = sorted(conn.call("COMMAND"), key=lambda c: c[0])
    finally:
        conn.close()
        proc.kill()  # by PID: this is the process we started
        proc.wait()

    lines = [
        "// <auto-generated>",
        "// Generated by tools/gen-command-table.py from redis-server %s (COMMAND). Do not edit by hand." % version,
        "// Regenerate: python3 tools/gen-command-table.py   (Rampart's own decisions live in CommandPolicies.cs.)",
        "// </auto-generated>",
        "using C = Rampart.Protocol.Commands.AclCategories;",
        "using F = Rampart.Protocol.Commands.CommandFlags;",
        "",
        "namespace Rampart.Protocol.Commands;",
        "",
        "internal static partial class CommandTableData",
        "{",
        '    /// <summary>The Redis version the table was generated from.</summary>',
        '    internal const string RedisVersion = "%s";' % version,
        "",
        "    /// <summary>Every command as Redis describes it: name, arity, flags, ACL categories, legacy first/last/step, key access per key spec.</summary>",
        "    internal static RawCommand[] Commands() =>",
        "    [",
    ]
    for cmd in commands:
        lines += emit(cmd, "        ")
    lines += ["    ];", "}", ""]
    with open(OUTPUT, "w", newline="\n") as f:
        f.write("\n".join(lines))
    print("wrote %d commands from redis %s to %s" % (len(commands), version, os.path.normpath(OUTPUT)))


if __name__ == "__main__":
    main()
