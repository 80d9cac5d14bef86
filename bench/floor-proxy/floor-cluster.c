// floor-cluster: floor's counterpart for a Redis Cluster, a reference point for benchmarks, not a product. The least
// a proxy must do to forward RESP2 request/reply traffic to a cluster: one thread, one epoll loop, level-triggered,
// one read per readiness (no retry until EAGAIN), each complete client request routed by the key slot of its second
// argument (CRC16 & 16383, with hash tags; fewer than 2 arguments go to the first master) to one connection per
// master, replies matched first in, first out per master and put back in each client's request order (a pipeline may
// span masters whose replies come back in any order), every connection with output written once per loop turn. No
// config, no MOVED/ASK, no slot map refresh, no errors beyond the minimum, no features: its distance from floor is
// what splitting by slot costs, and a cluster proxy's distance from it is that proxy's own overhead.
// Usage: floor-cluster LISTEN_PORT SLOTMAP (127.0.0.1), SLOTMAP like 0-5460:30001,5461-10922:30002,10923-16383:30003
// (cluster-slotmap.sh PORT prints it from a running node).
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
#include "resp.h"

#define MAXC 4096
#define MAXM 64
static void eat(buf *x, size_t n) { memmove(x->b, x->b + n, x->len - n); x->len -= n; }

// A client: its ring of pending entries in request order, sequence numbers head..tail (unsigned, wrapping; cap a
// power of two). An entry keeps its reply until every earlier one is in; its buffer is reused by later entries.
typedef struct { buf r; int done; } entry;
typedef struct { int fd, dirty, wout; unsigned gen, head, tail, cap; buf in, out; entry *ring; } client;
static client *clients[MAXC];
// A master: its connection and the FIFO of (client fd, client generation, entry sequence) awaiting its replies. A
// client gone (or its fd reused by a newer client, another generation) orphans its entries: their replies are dropped.
typedef struct { int fd; unsigned gen, seq; } pend;
typedef struct { int fd, dirty, wout; buf in, out; pend *q; size_t qhead, qtail, qcap; } master;
static master masters[MAXM]; static int nm, mof[MAXC]; // mof: fd -> master index + 1
static unsigned char slots[16384];
static unsigned short crctab[256];

static unsigned keyslot(const char *k, size_t n) {
  size_t s = 0, e; while (s < n && k[s] != '{') s++;
  if (s < n) { for (e = s + 1; e < n && k[e] != '}'; e++); if (e < n && e > s + 1) { k += s + 1; n = e - s - 1; } }
  unsigned crc = 0; for (size_t i = 0; i < n; i++) crc = ((crc << 8) ^ crctab[((crc >> 8) ^ (unsigned char)k[i]) & 0xff]) & 0xffff;
  return crc & 16383;
}
static void qpush(master *m, pend p) {
  if (m->qtail == m->qcap) { memmove(m->q, m->q + m->qhead, (m->qtail - m->qhead) * sizeof(pend)); m->qtail -= m->qhead; m->qhead = 0;
    if (m->qtail == m->qcap) { m->qcap = m->qcap ? m->qcap * 2 : 1024; m->q = realloc(m->q, m->qcap * sizeof(pend)); } }
  m->q[m->qtail++] = p;
}
// length of one complete multibulk request at p, its argument count and second argument (the key); 0 if incomplete,
// -1 if it is not a multibulk request
static long request(const char *p, size_t n, long *argc, const char **k, size_t *kl) {
  size_t l = line(p, n); if (!l) return 0; if (p[0] != '*') return -1;
  *argc = atol(p + 1); *k = NULL; *kl = 0; size_t at = l;
  for (long i = 0; i < *argc; i++) {
    if (at >= n) return 0;
    if (p[at] != '$') return -1;
    size_t h = line(p + at, n - at); if (!h) return 0;
    long len = atol(p + at + 1); if (len < 0) return -1; if (at + h + len + 2 > n) return 0;
    if (i == 1) { *k = p + at + h; *kl = len; }
    at += h + len + 2;
  }
  return at;
}
static int ep; static int cdirty[2 * MAXC], ncd, mdirty[MAXM], nmd;
static void dirty_client(client *c) { if (!c->dirty) { c->dirty = 1; cdirty[ncd++] = c->fd; } }
static void dirty_master(int i) { if (!masters[i].dirty) { masters[i].dirty = 1; mdirty[nmd++] = i; } }
static void drop(client *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); clients[c->fd] = NULL; close(c->fd);
  for (unsigned i = 0; i < c->cap; i++) free(c->ring[i].r.b);
  free(c->ring); free(c->in.b); free(c->out.b); free(c);
}
// one send of what is pending; EPOLLOUT interest only while something is left for a later turn
static void flush(int fd, buf *o, int *wout) {
  if (o->len) { ssize_t x = send(fd, o->b, o->len, MSG_NOSIGNAL); if (x > 0) eat(o, x); }
  if (!!o->len != *wout) { *wout = !!o->len; struct epoll_event ev = { .events = EPOLLIN | (*wout ? EPOLLOUT : 0), .data.fd = fd }; epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev); }
}
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: floor-cluster LISTEN_PORT SLOTMAP\n"); return 1; }
  for (int i = 0; i < 256; i++) { unsigned c = i << 8; for (int j = 0; j < 8; j++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1; crctab[i] = c; }
  int lport = atoi(argv[1]), one = 1, ports[MAXM];
  ep = epoll_create1(0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  for (char *r = strtok(strdup(argv[2]), ","); r; r = strtok(NULL, ",")) {
    int lo, hi, port, m; if (sscanf(r, "%d-%d:%d", &lo, &hi, &port) != 3 || lo < 0 || hi > 16383) { fprintf(stderr, "bad slot range %s\n", r); return 1; }
    for (m = 0; m < nm && ports[m] != port; m++);
    if (m == nm) { if (nm == MAXM) { fprintf(stderr, "too many masters\n"); return 1; }
      ports[nm++] = port; master *s = &masters[m]; s->fd = socket(AF_INET, SOCK_STREAM, 0); a.sin_port = htons(port);
      if (connect(s->fd, (void *)&a, sizeof a)) { perror("connect"); return 1; }
      setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(s->fd, F_SETFL, O_NONBLOCK); mof[s->fd] = m + 1;
      struct epoll_event ev = { .events = EPOLLIN, .data.fd = s->fd }; epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev); }
    for (int s = lo; s <= hi; s++) slots[s] = m; // slots not in SLOTMAP stay with the first master
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0); setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  a.sin_port = htons(lport);
  if (bind(ls, (void *)&a, sizeof a) || listen(ls, 1024)) { perror("listen"); return 1; }
  struct epoll_event lev = { .events = EPOLLIN, .data.fd = ls }; epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
  static char tmp[65536]; struct epoll_event evs[256]; unsigned gens = 0;
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd; unsigned e = evs[i].events;
      if (fd == ls) {
        int c = accept(ls, NULL, NULL); if (c < 0) continue; if (c >= MAXC) { close(c); continue; }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); fcntl(c, F_SETFL, O_NONBLOCK);
        client *x = clients[c] = calloc(1, sizeof(client)); x->fd = c; x->gen = ++gens; x->cap = 16; x->ring = calloc(x->cap, sizeof(entry));
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = c }; epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
      } else if (mof[fd]) {
        int mi = mof[fd] - 1; master *m = &masters[mi];
        if (e & EPOLLOUT) dirty_master(mi);
        if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
        ssize_t r = read(fd, tmp, sizeof tmp); if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) { fprintf(stderr, "master gone\n"); exit(1); }
        put(&m->in, tmp, r); size_t at = 0;
        while (at < m->in.len && m->qhead < m->qtail) {
          size_t l = value(m->in.b + at, m->in.len - at); if (!l) break;
          pend p = m->q[m->qhead++]; client *c = clients[p.fd];
          if (c && c->gen == p.gen) {
            if (p.seq == c->head) { // the oldest pending: straight out, then whatever completed entries follow it
              put(&c->out, m->in.b + at, l); c->head++;
              for (entry *h; c->head != c->tail && (h = &c->ring[c->head & (c->cap - 1)])->done; c->head++) { put(&c->out, h->r.b, h->r.len); h->r.len = 0; h->done = 0; }
              dirty_client(c);
            } else { entry *h = &c->ring[p.seq & (c->cap - 1)]; put(&h->r, m->in.b + at, l); h->done = 1; }
          }
          at += l;
        }
        eat(&m->in, at);
      } else {
        client *c = clients[fd]; if (!c) continue;
        if (e & EPOLLOUT) dirty_client(c);
        if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
        ssize_t r = read(fd, tmp, sizeof tmp); if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) { drop(c); continue; }
        put(&c->in, tmp, r); size_t at = 0; long l, nargs; const char *k; size_t kl;
        while ((l = request(c->in.b + at, c->in.len - at, &nargs, &k, &kl)) > 0) {
          if (nargs > 0) {
            int mi = nargs < 2 ? 0 : slots[keyslot(k, kl)];
            if (c->tail - c->head == c->cap) { // ring full: double it, entries keep their sequence numbers
              entry *nr = calloc(c->cap * 2, sizeof(entry));
              for (unsigned s = c->head; s != c->tail; s++) nr[s & (c->cap * 2 - 1)] = c->ring[s & (c->cap - 1)];
              free(c->ring); c->ring = nr; c->cap *= 2; }
            c->ring[c->tail & (c->cap - 1)].done = 0;
            qpush(&masters[mi], (pend){ fd, c->gen, c->tail++ });
            put(&masters[mi].out, c->in.b + at, l); dirty_master(mi);
          } // *0 and *-1 get no reply from Redis: nothing to forward
          at += l;
        }
        if (l < 0) { drop(c); continue; } // not RESP2 multibulk (inline commands): not for a floor
        eat(&c->in, at);
      }
    }
    // end of turn: one send to each master with requests, one to each client with replies
    for (int i = 0; i < nmd; i++) { master *m = &masters[mdirty[i]]; m->dirty = 0; flush(m->fd, &m->out, &m->wout); }
    for (int i = 0; i < ncd; i++) { client *c = clients[cdirty[i]]; if (!c || !c->dirty) continue; c->dirty = 0; flush(c->fd, &c->out, &c->wout); }
    nmd = ncd = 0;
  }
}
