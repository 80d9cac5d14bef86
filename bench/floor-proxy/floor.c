// floor: a reference point for bench/pinned-bench, not a product. The least a single-threaded proxy can do for
// RESP2 request/reply traffic: one epoll loop, level-triggered, one read per readiness (no retry until EAGAIN), every
// client's complete requests appended to one server connection and written once per loop turn, replies matched to
// clients first in, first out and written once per turn. No config, no errors, no partial-write care, no features:
// its throughput is what the kernel's loopback TCP allows one extra hop on this machine, so Rampart's distance from
// it is Rampart's own overhead. Usage: floor LISTEN_PORT REDIS_PORT (127.0.0.1).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#define MAXC 4096
typedef struct { char *b; size_t len, cap; } buf;
static void put(buf *x, const char *p, size_t n) {
  if (x->len + n > x->cap) { x->cap = (x->len + n) * 2; x->b = realloc(x->b, x->cap); }
  memcpy(x->b + x->len, p, n); x->len += n;
}
typedef struct { int fd; buf in, out; int dirty; } client;
static client *clients[MAXC];
// FIFO of (client fd, replies expected)
static int *qfd; static int *qn; static size_t qhead, qtail, qcap;
static void qpush(int fd, int n) {
  if (qtail == qcap) { memmove(qfd, qfd + qhead, (qtail - qhead) * sizeof(int)); memmove(qn, qn + qhead, (qtail - qhead) * sizeof(int)); qtail -= qhead; qhead = 0;
    if (qtail == qcap) { qcap = qcap ? qcap * 2 : 1024; qfd = realloc(qfd, qcap * sizeof(int)); qn = realloc(qn, qcap * sizeof(int)); } }
  qfd[qtail] = fd; qn[qtail] = n; qtail++;
}
// length of one complete RESP value at p (n bytes), or 0 if incomplete
static size_t line(const char *p, size_t n) { for (size_t i = 0; i + 1 < n; i++) if (p[i] == '\r' && p[i+1] == '\n') return i + 2; return 0; }
static size_t value(const char *p, size_t n) {
  size_t l = line(p, n); if (!l) return 0;
  long v = atol(p + 1);
  switch (p[0]) {
    case '+': case '-': case ':': return l;
    case '$': if (v < 0) return l; if (l + v + 2 > n) return 0; return l + v + 2;
    case '*': { if (v < 0) return l; size_t at = l; for (long i = 0; i < v; i++) { size_t e = value(p + at, n - at); if (!e) return 0; at += e; } return at; }
  }
  fprintf(stderr, "bad reply\n"); exit(1);
}
int main(int argc, char **argv) {
  int lport = atoi(argv[1]), rport = atoi(argv[2]), one = 1;
  int ls = socket(AF_INET, SOCK_STREAM, 0); setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(lport), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1024)) { perror("listen"); return 1; }
  int rs = socket(AF_INET, SOCK_STREAM, 0); a.sin_port = htons(rport);
  if (connect(rs, (void *)&a, sizeof a)) { perror("connect"); return 1; }
  setsockopt(rs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(rs, F_SETFL, O_NONBLOCK);
  int ep = epoll_create1(0); struct epoll_event ev = { .events = EPOLLIN };
  ev.data.fd = ls; epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev); ev.data.fd = rs; epoll_ctl(ep, EPOLL_CTL_ADD, rs, &ev);
  buf sout = {0}, sin = {0}; char tmp[65536]; struct epoll_event evs[256];
  int dirty[MAXC]; int ndirty = 0;
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c = accept(ls, NULL, NULL); if (c < 0 || c >= MAXC) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(c, F_SETFL, O_NONBLOCK);
        clients[c] = calloc(1, sizeof(client)); clients[c]->fd = c; ev.data.fd = c; epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
      } else if (fd == rs) {
        ssize_t r = read(rs, tmp, sizeof tmp); if (r <= 0) { fprintf(stderr, "server gone\n"); return 1; }
        put(&sin, tmp, r); size_t at = 0;
        while (at < sin.len && qhead < qtail) {
          size_t e = value(sin.b + at, sin.len - at); if (!e) break;
          client *c = clients[qfd[qhead]]; if (c) { put(&c->out, sin.b + at, e); if (!c->dirty) { c->dirty = 1; dirty[ndirty++] = c->fd; } }
          if (--qn[qhead] == 0) qhead++;
          at += e;
        }
        memmove(sin.b, sin.b + at, sin.len - at); sin.len -= at;
      } else {
        client *c = clients[fd];
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r <= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); close(fd); free(c->in.b); free(c->out.b); free(c); clients[fd] = NULL; continue; }
        put(&c->in, tmp, r); size_t at = 0; int reqs = 0;
        for (;;) { size_t e = value(c->in.b + at, c->in.len - at); if (!e) break; at += e; reqs++; }
        if (reqs) { put(&sout, c->in.b, at); qpush(fd, reqs); memmove(c->in.b, c->in.b + at, c->in.len - at); c->in.len -= at; }
      }
    }
    // end of turn: one write to the server, one to each client with replies
    if (sout.len) { ssize_t w = write(rs, sout.b, sout.len); if (w > 0) { memmove(sout.b, sout.b + w, sout.len - w); sout.len -= w; } }
    for (int i = 0; i < ndirty; i++) { client *c = clients[dirty[i]]; if (!c) continue; c->dirty = 0;
      ssize_t w = write(c->fd, c->out.b, c->out.len); if (w > 0) { memmove(c->out.b, c->out.b + w, c->out.len - w); c->out.len -= w; } }
    ndirty = 0;
  }
}
