// txload: the transaction driver of bench/pinned-bench in C, as redis-benchmark is for plain commands (which cannot
// send transactions). On two cores shared by driver, proxy and Redis, every microsecond the driver spends per
// transaction is taken from the other two, so the driver should cost as little as redis-benchmark does.
//
// Usage: txload PORT CLIENTS SECONDS [DEPTH]
// CLIENTS connections to 127.0.0.1:PORT in one single-threaded epoll loop. Each writes DEPTH transactions
// (MULTI, INCR tx:<run>:<client>, EXEC) in one write, then waits for all their replies before the next write.
// Every reply is checked: +OK, +QUEUED, then EXEC's array holding the client's counter plus one, so a reply
// delivered to the wrong client or out of order fails the run. Prints "<transactions> <seconds>"; on any error it
// prints the reason and exits 1.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  char key[64];
  char request[4096];  // DEPTH transactions, written at once
  size_t request_len;
  char in[65536];      // replies read so far and not yet checked
  size_t in_len;
  long counter;        // the last value EXEC returned
  int awaiting;        // transactions written whose replies have not all arrived
  long done;
} client;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void fail(const char *what, const client *c) {
  fprintf(stderr, "txload: %s (client %s)\n", what, c ? c->key : "-");
  exit(1);
}

static size_t append_command(char *at, const char *a, const char *b) {
  if (!b) return (size_t)sprintf(at, "*1\r\n$%zu\r\n%s\r\n", strlen(a), a);
  return (size_t)sprintf(at, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(a), a, strlen(b), b);
}

static void send_batch(client *c) {
  size_t sent = 0;
  while (sent < c->request_len) {  // a blocking socket: a short write only happens with a full send buffer
    ssize_t n = write(c->fd, c->request + sent, c->request_len - sent);
    if (n <= 0) fail(n == 0 ? "write returned 0" : strerror(errno), c);
    sent += (size_t)n;
  }
}

// Checks the complete transaction replies at the start of c->in and drops them; leaves a partial one in place.
static int take_replies(client *c) {
  size_t at = 0;
  int taken = 0;
  while (c->awaiting > 0) {
    static const char head[] = "+OK\r\n+QUEUED\r\n*1\r\n:";
    size_t head_len = sizeof head - 1;
    if (c->in_len - at < head_len + 3) break;
    if (memcmp(c->in + at, head, head_len) != 0) fail("unexpected reply (not +OK, +QUEUED, *1)", c);
    char *end = memchr(c->in + at + head_len, '\r', c->in_len - at - head_len);
    if (!end || end + 1 >= c->in + c->in_len) break;
    long value = strtol(c->in + at + head_len, NULL, 10);
    if (value != c->counter + 1) fail("EXEC returned another client's or an out-of-order counter", c);
    c->counter = value;
    at = (size_t)(end - c->in) + 2;
    c->awaiting--;
    taken++;
  }
  memmove(c->in, c->in + at, c->in_len - at);
  c->in_len -= at;
  return taken;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: txload PORT CLIENTS SECONDS [DEPTH]\n");
    return 2;
  }
  int port = atoi(argv[1]), count = atoi(argv[2]), depth = argc > 4 ? atoi(argv[4]) : 1, one = 1;
  double seconds = atof(argv[3]);
  if (count < 1 || depth < 1 || depth > 64) {
    fprintf(stderr, "txload: CLIENTS >= 1, 1 <= DEPTH <= 64\n");
    return 2;
  }
  client *clients = calloc((size_t)count, sizeof(client));
  int ep = epoll_create1(0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (int i = 0; i < count; i++) {
    client *c = &clients[i];
    snprintf(c->key, sizeof c->key, "tx:%d-%.0f:%d", getpid(), now() * 1e6, i);
    for (int d = 0; d < depth; d++) {
      c->request_len += append_command(c->request + c->request_len, "MULTI", NULL);
      c->request_len += append_command(c->request + c->request_len, "INCR", c->key);
      c->request_len += append_command(c->request + c->request_len, "EXEC", NULL);
    }
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c->fd, (void *)&address, sizeof address)) fail(strerror(errno), c);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  double start = now(), deadline = start + seconds;
  for (int i = 0; i < count; i++) {
    clients[i].awaiting = depth;
    send_batch(&clients[i]);
  }
  int running = count;
  struct epoll_event events[1024];
  while (running > 0) {
    int n = epoll_wait(ep, events, 1024, 10000);
    if (n == 0) fail("no reply for 10 s", NULL);
    if (n < 0 && errno != EINTR) fail(strerror(errno), NULL);
    int past_deadline = now() >= deadline;
    for (int e = 0; e < n; e++) {
      client *c = &clients[events[e].data.u32];
      ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
      if (r <= 0) fail(r == 0 ? "connection closed" : strerror(errno), c);
      c->in_len += (size_t)r;
      c->done += take_replies(c);
      if (c->awaiting > 0) continue;
      if (past_deadline) {  // this client is finished: every transaction it sent was answered
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        running--;
        continue;
      }
      c->awaiting = depth;
      send_batch(c);
    }
  }
  double elapsed = now() - start;
  long total = 0;
  for (int i = 0; i < count; i++) {
    total += clients[i].done;
    close(clients[i].fd);
  }
  printf("%ld %.3f\n", total, elapsed);
  return 0;
}
