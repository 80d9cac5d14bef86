// What both floor proxies (floor.c, floor-cluster.c) share: a growable byte buffer and the RESP2 reply scanner.
#ifndef FLOOR_RESP_H
#define FLOOR_RESP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *b; size_t len, cap; } buf;
static void put(buf *x, const char *p, size_t n) {
  if (x->len + n > x->cap) { x->cap = (x->len + n) * 2; x->b = realloc(x->b, x->cap); }
  memcpy(x->b + x->len, p, n); x->len += n;
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

#endif
