// floor: a reference point for bench/pinned-bench, not a product. The least a proxy can do for RESP2 request/reply
// traffic: per thread, one epoll loop, level-triggered, one read per readiness (no retry until EAGAIN), every client's
// complete requests appended to the thread's own server connection and written once per loop turn, replies matched to
// clients first in, first out and written once per turn. No config, no errors, no partial-write care, no features:
// its throughput is what the kernel's loopback TCP allows one extra hop on this machine, so Rampart's distance from
// it is Rampart's own overhead. With THREADS loops (default 1) a listener thread hands each new client to the next
// loop in turn, as Rampart does with its event_loops.
// Usage: floor LISTEN_PORT REDIS_PORT [THREADS] (127.0.0.1).
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
#include <pthread.h>
#include "resp.h"

#define MAXC 4096
typedef struct { int fd; buf in, out; int dirty; } client;
static client *clients[MAXC];

// One loop: its epoll, its server connection, and the FIFO of (client fd, replies expected) for that connection.
typedef struct { int *qfd, *qn; size_t qhead, qtail, qcap; int ep, rs; } worker;
static void qpush(worker *w, int fd, int n) {
  if (w->qtail == w->qcap) { memmove(w->qfd, w->qfd + w->qhead, (w->qtail - w->qhead) * sizeof(int)); memmove(w->qn, w->qn + w->qhead, (w->qtail - w->qhead) * sizeof(int)); w->qtail -= w->qhead; w->qhead = 0;
    if (w->qtail == w->qcap) { w->qcap = w->qcap ? w->qcap * 2 : 1024; w->qfd = realloc(w->qfd, w->qcap * sizeof(int)); w->qn = realloc(w->qn, w->qcap * sizeof(int)); } }
  w->qfd[w->qtail] = fd; w->qn[w->qtail] = n; w->qtail++;
}
static void *run(void *arg) {
  worker *w = arg; int rs = w->rs, ep = w->ep;
  buf sout = {0}, sin = {0}; static __thread char tmp[65536]; struct epoll_event evs[256];
  int dirty[MAXC]; int ndirty = 0;
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == rs) {
        ssize_t r = read(rs, tmp, sizeof tmp); if (r <= 0) { fprintf(stderr, "server gone\n"); exit(1); }
        put(&sin, tmp, r); size_t at = 0;
        while (at < sin.len && w->qhead < w->qtail) {
          size_t e = value(sin.b + at, sin.len - at); if (!e) break;
          client *c = clients[w->qfd[w->qhead]]; if (c) { put(&c->out, sin.b + at, e); if (!c->dirty) { c->dirty = 1; dirty[ndirty++] = c->fd; } }
          if (--w->qn[w->qhead] == 0) w->qhead++;
          at += e;
        }
        memmove(sin.b, sin.b + at, sin.len - at); sin.len -= at;
      } else {
        client *c = clients[fd];
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r <= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); clients[fd] = NULL; close(fd); free(c->in.b); free(c->out.b); free(c); continue; }
        put(&c->in, tmp, r); size_t at = 0; int reqs = 0;
        for (;;) { size_t e = value(c->in.b + at, c->in.len - at); if (!e) break; at += e; reqs++; }
        if (reqs) { put(&sout, c->in.b, at); qpush(w, fd, reqs); memmove(c->in.b, c->in.b + at, c->in.len - at); c->in.len -= at; }
      }
    }
    // end of turn: one write to the server, one to each client with replies
    if (sout.len) { ssize_t x = write(rs, sout.b, sout.len); if (x > 0) { memmove(sout.b, sout.b + x, sout.len - x); sout.len -= x; } }
    for (int i = 0; i < ndirty; i++) { client *c = clients[dirty[i]]; if (!c) continue; c->dirty = 0;
      ssize_t x = write(c->fd, c->out.b, c->out.len); if (x > 0) { memmove(c->out.b, c->out.b + x, c->out.len - x); c->out.len -= x; } }
    ndirty = 0;
  }
  return NULL;
}
int main(int argc, char **argv) {
  int lport = atoi(argv[1]), rport = atoi(argv[2]), nw = argc > 3 ? atoi(argv[3]) : 1, one = 1;
  if (nw < 1) nw = 1;
  int ls = socket(AF_INET, SOCK_STREAM, 0); setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(lport), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1024)) { perror("listen"); return 1; }
  a.sin_port = htons(rport);
  worker *ws = calloc(nw, sizeof(worker)); pthread_t t;
  for (int k = 0; k < nw; k++) {
    ws[k].rs = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(ws[k].rs, (void *)&a, sizeof a)) { perror("connect"); return 1; }
    setsockopt(ws[k].rs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(ws[k].rs, F_SETFL, O_NONBLOCK);
    ws[k].ep = epoll_create1(0); struct epoll_event ev = { .events = EPOLLIN, .data.fd = ws[k].rs };
    epoll_ctl(ws[k].ep, EPOLL_CTL_ADD, ws[k].rs, &ev);
    pthread_create(&t, NULL, run, &ws[k]);
  }
  for (int next = 0;; next++) {
    int c = accept(ls, NULL, NULL); if (c < 0 || c >= MAXC) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(c, F_SETFL, O_NONBLOCK);
    clients[c] = calloc(1, sizeof(client)); clients[c]->fd = c;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
    epoll_ctl(ws[next % nw].ep, EPOLL_CTL_ADD, c, &ev);
  }
}
