/*
 * loadgen: the benchmark's load generator (see bench/README.md).
 *
 *   loadgen -a ADDR [-m rr|churn|idle] [-P raw|line|lp] [-c CONNS] [-s SIZE]
 *           [-t SECONDS] [-w SECONDS] [-T MS] [-b N] [-S PID]
 *
 *   -a ADDR   127.0.0.1:PORT, [::1]:PORT, HOST:PORT or unix:/PATH
 *   -m MODE   rr:    each of CONNS connections sends one request, waits for the
 *                    whole reply, checks it, and sends the next (default)
 *             churn: each of CONNS slots connects, makes one request, closes,
 *                    and connects again
 *             idle:  opens CONNS connections (at most -b at a time), makes one
 *                    request on each so each is known to be served, prints a
 *                    `ready` line, then holds them all open for -t seconds
 *   -P PROTO  raw:  the request is SIZE bytes; the reply must equal them (an echo)
 *             line: SIZE-1 printable bytes and "\n"; the reply must equal it
 *             lp:   a 4-byte big-endian length and a SIZE-byte payload; the
 *                   reply must equal the whole frame
 *   -c CONNS  connections (rr, idle) or slots (churn); default 16
 *   -s SIZE   request size as above; default 64
 *   -t SECS   measured seconds (idle: seconds held); may be fractional; default 5
 *   -w SECS   unmeasured warm-up on the same connections first; default 0. The
 *             measured window starts after it, once every connection (churn:
 *             slot) has been answered at least once, or -T has passed
 *   -T MS     a request (and its connect) not answered within MS fails; default 10000
 *   -b N      most connections being opened at once; default 256
 *   -S PID    read PID's CPU time (utime+stime, /proc/PID/stat) at the start
 *             and end of the measured window and print it as server_cpu_us
 *
 * Every request carries a number unique in the run and a payload that shifts
 * with it, and every reply byte is compared with the request, so a server
 * that loses, reorders, truncates or replays stale bytes is caught. A
 * mismatch, extra bytes, a short reply (end of stream), a reset, a failed
 * connect or a timeout is an error; the connection is closed and, in rr and
 * churn, opened again 10 ms later.
 *
 * Prints one line of key=value pairs on stdout (the idle mode prints a
 * `ready ...` line first): mode proto conns size secs reqs req_per_s mb_per_s
 * (reply bytes, whole frames) p50_us p99_us max_us errors err_connect
 * err_reset err_short err_mismatch err_timeout err_closed loadgen_cpu_us and,
 * with -S, server_cpu_us. Latencies are from sending a request (churn: from
 * starting the connect) to its last reply byte, kept in a histogram with
 * buckets 1/64 of a power of two wide. Exit status: 0 when the run completed
 * (errors or not), 2 for bad arguments or a setup failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode { RR, CHURN, IDLE };
enum proto { RAW, LINE, LP };
enum state { UNOPENED, CONNECTING, ACTIVE, HELD, WAITING, FAILED };
enum error_kind { E_CONNECT, E_RESET, E_SHORT, E_MISMATCH, E_TIMEOUT, E_CLOSED, E_KINDS };
static const char *error_names[E_KINDS] = {"connect", "reset",  "short",
                                           "mismatch", "timeout", "closed"};

typedef struct {
  int fd;
  uint32_t gen; /* bumped per socket, so a stale epoll event is recognised */
  enum state state;
  size_t sent, recvd;
  uint64_t started;  /* when the current request (churn: connection) began */
  uint64_t deadline; /* it fails if not complete by then */
  uint64_t retry_at; /* WAITING: when to connect again */
  int answered;      /* at least one reply completed (churn: in this slot) */
  unsigned char *req;
} conn_t;

/* Options. */
static enum mode mode = RR;
static enum proto proto = RAW;
static int nconns = 16, batch = 256;
static size_t size = 64;
static double secs = 5, warm = 0;
static uint64_t timeout_ns = 10000ull * 1000000;
static long server_pid = -1;

static struct sockaddr_storage addr;
static socklen_t addrlen;
static int ep;
static conn_t *conns;
static size_t frame_len; /* bytes of one request, and of its reply */
static unsigned char *pattern;
static size_t pattern_period;
static unsigned char scratch[256 * 1024];

/* Run state. */
static int measuring, stopping;
static uint64_t seq, reqs, reply_bytes, served;
static uint64_t errors[E_KINDS];
static int connecting, resolved; /* idle: slots being opened; slots served or failed */
static int answered;             /* connections (churn: slots) answered at least once */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *message) {
  fprintf(stderr, "loadgen: %s\n", message);
  exit(2);
}

/* ---------------------------------------------------------------------------
 * Latency histogram: values below 128 ns have a bucket each; above, each power
 * of two is split into 64 buckets (error under 1.6%), so memory is fixed
 * however long the run. */

#define HIST_BUCKETS (128 + 58 * 64)
static uint64_t hist[HIST_BUCKETS], hist_count, hist_max;

static int bucket_of(uint64_t v) {
  if (v < 128) return (int)v;
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - 6; /* v >> shift is in [64, 128) */
  return 128 + (shift - 1) * 64 + (int)((v >> shift) - 64);
}

static double bucket_middle(int b) {
  if (b < 128) return b;
  int shift = (b - 128) / 64 + 1;
  uint64_t low = (uint64_t)(64 + (b - 128) % 64) << shift;
  return (double)low + (double)(1ull << shift) / 2;
}

static void record_latency(uint64_t ns) {
  hist[bucket_of(ns)]++;
  hist_count++;
  if (ns > hist_max) hist_max = ns;
}

static double percentile_us(double p) {
  if (hist_count == 0) return 0;
  uint64_t rank = (uint64_t)(p * (double)hist_count);
  if (rank >= hist_count) rank = hist_count - 1;
  uint64_t seen = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) {
    seen += hist[b];
    if (seen > rank) {
      double v = bucket_middle(b);
      return (v > (double)hist_max ? (double)hist_max : v) / 1000;
    }
  }
  return (double)hist_max / 1000;
}

/* ---------------------------------------------------------------------------
 * CPU time */

static long long server_cpu_us(void) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* The command name (field 2) may hold spaces and parentheses: count fields
   * from the last ')'. utime and stime are fields 14 and 15. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime, stime;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  long tck = sysconf(_SC_CLK_TCK);
  return (long long)((utime + stime) * 1000000ull / (unsigned long long)tck);
}

static long long own_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

/* ---------------------------------------------------------------------------
 * Requests */

static const char hex[] = "0123456789abcdef";

/* A fresh request in c->req: the payload is the pattern shifted by the
 * request's number, which is also written at its start in hex. */
static void fill_request(conn_t *c) {
  uint64_t id = ++seq;
  unsigned char *p = c->req;
  size_t n = size;
  if (proto == LP) {
    p[0] = (unsigned char)(size >> 24);
    p[1] = (unsigned char)(size >> 16);
    p[2] = (unsigned char)(size >> 8);
    p[3] = (unsigned char)size;
    p += 4;
  } else if (proto == LINE) {
    n = size - 1;
    p[n] = '\n';
  }
  memcpy(p, pattern + id % pattern_period, n);
  size_t digits = n < 16 ? n : 16;
  for (size_t i = 0; i < digits; i++) p[i] = (unsigned char)hex[(id >> (4 * (digits - 1 - i))) & 15];
}

static void make_pattern(void) {
  pattern_period = proto == LINE ? 94 : 256;
  pattern = malloc(size + pattern_period);
  if (!pattern) die("out of memory");
  for (size_t i = 0; i < size + pattern_period; i++) {
    /* Printable bytes for lines; every byte value (newlines included) otherwise. */
    pattern[i] = proto == LINE ? (unsigned char)(0x21 + (i * 7) % 94)
                               : (unsigned char)((i * 167 + 13) & 255);
  }
}

/* ---------------------------------------------------------------------------
 * Connections */

static void open_conn(conn_t *c, uint64_t now);
static void try_send(conn_t *c);

static void close_conn(conn_t *c) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
}

static void fail(conn_t *c, enum error_kind kind, uint64_t now) {
  if (c->state == CONNECTING || (mode == IDLE && c->state == ACTIVE)) connecting--;
  errors[kind]++;
  close_conn(c);
  if (mode == IDLE) {
    if (c->state != HELD) resolved++; /* a held one was counted when it was served */
    c->state = FAILED;
  } else {
    c->state = WAITING; /* not at once: a dead server must not make this spin */
    c->retry_at = now + 10000000ull;
  }
}

static void start_request(conn_t *c, uint64_t now) {
  fill_request(c);
  c->sent = c->recvd = 0;
  if (mode != CHURN) c->started = now;
  c->deadline = now + timeout_ns;
  c->state = ACTIVE;
  try_send(c);
}

static void complete(conn_t *c, uint64_t now) {
  if (!c->answered) {
    c->answered = 1;
    answered++;
  }
  if (measuring) {
    record_latency(now - c->started);
    reqs++;
    reply_bytes += frame_len;
  }
  switch (mode) {
  case RR:
    if (!stopping) start_request(c, now);
    break;
  case CHURN:
    close_conn(c);
    c->state = UNOPENED;
    if (!stopping) open_conn(c, now);
    break;
  case IDLE:
    c->state = HELD;
    connecting--;
    served++;
    resolved++;
    break;
  }
}

static void open_conn(conn_t *c, uint64_t now) {
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE) die("out of file descriptors (raise ulimit -n)");
    c->state = CONNECTING;
    connecting++;
    fail(c, E_CONNECT, now);
    return;
  }
  if (addr.ss_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  c->fd = fd;
  c->gen++;
  c->started = now;
  c->deadline = now + timeout_ns;
  c->state = CONNECTING;
  connecting++;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.u64 = ((uint64_t)c->gen << 32) | (uint64_t)(c - conns)};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl failed");
  if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0) {
    if (mode != IDLE) connecting--;
    start_request(c, now); /* unix sockets connect at once */
  } else if (errno == EAGAIN && addr.ss_family == AF_UNIX) {
    /* The unix listener's backlog is full: not an error, try again shortly. */
    close_conn(c);
    connecting--;
    c->state = WAITING;
    c->retry_at = now + 1000000ull;
  } else if (errno != EINPROGRESS) {
    fail(c, E_CONNECT, now);
  }
}

static void try_send(conn_t *c) {
  while (c->state == ACTIVE && c->sent < frame_len) {
    ssize_t n = send(c->fd, c->req + c->sent, frame_len - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t)n;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      fail(c, E_RESET, now_ns());
      return;
    }
  }
}

static void try_recv(conn_t *c) {
  while (c->state == ACTIVE || c->state == HELD) {
    ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
    if (n > 0) {
      uint64_t now = now_ns();
      if (c->state == HELD || (size_t)n > frame_len - c->recvd ||
          memcmp(scratch, c->req + c->recvd, (size_t)n) != 0) {
        fail(c, E_MISMATCH, now); /* wrong bytes, or bytes nobody asked for */
        return;
      }
      c->recvd += (size_t)n;
      if (c->recvd == frame_len) complete(c, now);
      if (mode == CHURN) return; /* closed: a new socket may already be in this slot */
    } else if (n == 0) {
      fail(c, c->state == HELD ? E_CLOSED : E_SHORT, now_ns());
      return;
    } else if (errno == EAGAIN) {
      return;
    } else if (errno != EINTR) {
      fail(c, c->state == HELD ? E_CLOSED : E_RESET, now_ns());
      return;
    }
  }
}

static void on_event(conn_t *c, uint32_t events) {
  uint64_t now = now_ns();
  if (c->state == CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
      fail(c, E_CONNECT, now);
      return;
    }
    if (mode != IDLE) connecting--;
    start_request(c, now);
  }
  if (c->state == ACTIVE && (events & EPOLLOUT)) try_send(c);
  if ((c->state == ACTIVE || c->state == HELD) &&
      (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    try_recv(c);
}

/* Opens what is due: never-opened slots while fewer than `batch` are being
 * opened, and slots waiting to reconnect. Fails requests past their deadline. */
static void housekeeping(uint64_t now, int *next_unopened) {
  while (*next_unopened < nconns && connecting < batch && !stopping)
    open_conn(&conns[(*next_unopened)++], now);
  for (int i = 0; i < *next_unopened; i++) {
    conn_t *c = &conns[i];
    if (c->state == WAITING && now >= c->retry_at && !stopping) {
      c->state = UNOPENED;
      open_conn(c, now);
    } else if ((c->state == CONNECTING || c->state == ACTIVE) && now >= c->deadline) {
      fail(c, E_TIMEOUT, now);
    }
  }
}

/* ---------------------------------------------------------------------------
 * Arguments */

static void parse_address(const char *s) {
  memset(&addr, 0, sizeof addr);
  if (strncmp(s, "unix:", 5) == 0) {
    struct sockaddr_un *un = (struct sockaddr_un *)&addr;
    if (strlen(s + 5) == 0 || strlen(s + 5) >= sizeof un->sun_path) die("bad unix path");
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, s + 5);
    addrlen = sizeof *un;
    return;
  }
  char host[256], port[16];
  const char *colon;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host) die("bad address");
    memcpy(host, s + 1, (size_t)(end - s - 1));
    host[end - s - 1] = 0;
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) die("bad address (want HOST:PORT)");
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
  }
  if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port) die("bad port");
  strcpy(port, colon + 1);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
  if (getaddrinfo(host, port, &hints, &res) != 0) die("cannot resolve the address");
  memcpy(&addr, res->ai_addr, res->ai_addrlen);
  addrlen = res->ai_addrlen;
  freeaddrinfo(res);
}

static double number(const char *s, double min, double max, const char *what) {
  char *end;
  double v = strtod(s, &end);
  if (*s == 0 || *end != 0 || !(v >= min && v <= max)) {
    fprintf(stderr, "loadgen: bad %s: %s\n", what, s);
    exit(2);
  }
  return v;
}

static const char usage[] =
    "usage: loadgen -a ADDR [-m rr|churn|idle] [-P raw|line|lp] [-c CONNS] [-s SIZE]\n"
    "               [-t SECONDS] [-w SECONDS] [-T MS] [-b N] [-S PID]\n";

int main(int argc, char **argv) {
  const char *address = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "a:m:P:c:s:t:w:T:b:S:h")) != -1) {
    switch (opt) {
    case 'a': address = optarg; break;
    case 'm':
      if (!strcmp(optarg, "rr")) mode = RR;
      else if (!strcmp(optarg, "churn")) mode = CHURN;
      else if (!strcmp(optarg, "idle")) mode = IDLE;
      else die("bad mode (rr, churn or idle)");
      break;
    case 'P':
      if (!strcmp(optarg, "raw")) proto = RAW;
      else if (!strcmp(optarg, "line")) proto = LINE;
      else if (!strcmp(optarg, "lp")) proto = LP;
      else die("bad protocol (raw, line or lp)");
      break;
    case 'c': nconns = (int)number(optarg, 1, 1000000, "connection count"); break;
    case 's': size = (size_t)number(optarg, 1, 64 << 20, "size"); break;
    case 't': secs = number(optarg, 0.01, 86400, "seconds"); break;
    case 'w': warm = number(optarg, 0, 86400, "warm-up seconds"); break;
    case 'T': timeout_ns = (uint64_t)number(optarg, 1, 3600000, "timeout") * 1000000; break;
    case 'b': batch = (int)number(optarg, 1, 1000000, "batch"); break;
    case 'S': server_pid = (long)number(optarg, 1, 1e9, "pid"); break;
    default: fputs(usage, stderr); return opt == 'h' ? 0 : 2;
    }
  }
  if (!address || optind != argc) {
    fputs(usage, stderr);
    return 2;
  }
  if (proto == LINE && size < 2) die("a line request needs a size of at least 2");
  parse_address(address);

  /* Room for every connection: raise the soft open-files limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 16)
    die("the open-files limit is below the connection count (raise ulimit -Hn)");

  frame_len = proto == LP ? size + 4 : size;
  make_pattern();
  conns = calloc((size_t)nconns, sizeof *conns);
  if (!conns) die("out of memory");
  for (int i = 0; i < nconns; i++) {
    conns[i].fd = -1;
    conns[i].req = malloc(frame_len);
    if (!conns[i].req) die("out of memory");
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1 failed");

  uint64_t t_start = now_ns();
  uint64_t t_measure = t_start + (uint64_t)(warm * 1e9);
  uint64_t t_end = 0, t_ready = 0, t_measured_end = 0;
  long long cpu0 = -1, cpu1 = -1, own0 = 0, own1 = 0;
  int next_unopened = 0, ready = 0;
  uint64_t next_housekeeping = 0;
  static struct epoll_event events[1024];

  if (mode == IDLE) measuring = 1;
  for (;;) {
    uint64_t now = now_ns();
    if (mode != IDLE && !measuring && now >= t_measure &&
        (answered == nconns || now >= t_measure + timeout_ns)) {
      /* The measured window starts once every connection has been answered
       * (so it holds no connection setup): what completed before is warm-up. */
      measuring = 1;
      t_measure = now;
      t_end = now + (uint64_t)(secs * 1e9);
      if (server_pid > 0) cpu0 = server_cpu_us();
      own0 = own_cpu_us();
    }
    if (mode != IDLE && measuring && now >= t_end) {
      t_measured_end = now;
      if (server_pid > 0) cpu1 = server_cpu_us();
      own1 = own_cpu_us();
      stopping = 1;
      break;
    }
    if (mode == IDLE && !ready && resolved >= nconns) {
      ready = 1;
      t_ready = now;
      t_end = now + (uint64_t)(secs * 1e9);
      uint64_t failed = 0;
      for (int k = 0; k < E_KINDS; k++) failed += errors[k];
      printf("ready conns=%d served=%llu errors=%llu open_ms=%.0f\n", nconns,
             (unsigned long long)served, (unsigned long long)failed, (double)(now - t_start) / 1e6);
      fflush(stdout);
    }
    if (mode == IDLE && ready && now >= t_end) break;
    if (now >= next_housekeeping) {
      housekeeping(now, &next_unopened);
      next_housekeeping = now + 10000000ull;
    }
    uint64_t wake = next_housekeeping;
    if (mode != IDLE && !measuring && t_measure > now && t_measure < wake) wake = t_measure;
    if (t_end && t_end < wake) wake = t_end;
    int wait_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
    int n = epoll_wait(ep, events, 1024, wait_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait failed");
    for (int i = 0; i < n; i++) {
      uint64_t data = events[i].data.u64;
      conn_t *c = &conns[(uint32_t)data];
      if (c->fd < 0 || c->gen != (uint32_t)(data >> 32)) continue; /* a closed socket's event */
      on_event(c, events[i].events);
    }
  }

  uint64_t total_errors = 0;
  for (int k = 0; k < E_KINDS; k++) total_errors += errors[k];
  static const char *mode_names[] = {"rr", "churn", "idle"};
  static const char *proto_names[] = {"raw", "line", "lp"};
  double window = mode == IDLE ? (double)(now_ns() - t_ready) / 1e9
                               : (double)(t_measured_end - t_measure) / 1e9;
  printf("mode=%s proto=%s conns=%d size=%zu secs=%.3f reqs=%llu", mode_names[mode],
         proto_names[proto], nconns, size, window, (unsigned long long)reqs);
  if (mode == IDLE) {
    printf(" served=%llu", (unsigned long long)served);
  } else {
    printf(" req_per_s=%.0f mb_per_s=%.2f p50_us=%.1f p99_us=%.1f max_us=%.1f",
           (double)reqs / window, (double)reply_bytes / window / 1e6, percentile_us(0.50),
           percentile_us(0.99), (double)hist_max / 1000);
  }
  printf(" errors=%llu", (unsigned long long)total_errors);
  for (int k = 0; k < E_KINDS; k++)
    printf(" err_%s=%llu", error_names[k], (unsigned long long)errors[k]);
  if (mode != IDLE) {
    printf(" loadgen_cpu_us=%lld", own1 - own0);
    if (server_pid > 0) printf(" server_cpu_us=%lld", cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1);
  }
  printf("\n");
  return 0;
}
