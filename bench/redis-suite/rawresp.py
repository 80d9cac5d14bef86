#!/usr/bin/env python3
"""Sends commands to a RESP port and prints the exact reply bytes, for side-by-side reproductions.

usage: rawresp.py PORT 'CMD ARG ...' ['CMD ...' ...]   (one connection, commands in order)
Each command is sent as a RESP array; whatever arrives within --wait seconds (default 0.3) is printed
with Python's bytes repr. A command written as `!raw:<python bytes literal>` is sent as is.
"""
import socket, sys, time, shlex, ast

args = sys.argv[1:]
wait = 0.3
if args and args[0] == '--wait':
    wait = float(args[1]); args = args[2:]
port, cmds = int(args[0]), args[1:]
s = socket.create_connection(('127.0.0.1', port), timeout=5)
for c in cmds:
    if c.startswith('!raw:'):
        payload = ast.literal_eval(c[5:])
    else:
        parts = shlex.split(c)
        payload = b'*%d\r\n' % len(parts) + b''.join(b'$%d\r\n%s\r\n' % (len(p.encode()), p.encode()) for p in parts)
    s.sendall(payload)
    deadline, got = time.time() + wait, b''
    s.settimeout(0.05)
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
            if not chunk:
                got += b'<closed>'; break
            got += chunk
        except socket.timeout:
            pass
    print(f'{c!s:40} -> {got!r}' if got else f'{c!s:40} -> (nothing within {wait}s)')
s.close()
