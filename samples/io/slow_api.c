/*
 * slow_api.c - "the API response is slow": a client calls a slow service.
 *
 * The service is a child process this program starts itself: a loopback TCP
 * server on a port the kernel picks. It greets each new connection after
 * --handshake-ms (standing in for TCP and TLS set-up over a real network) and
 * answers each request after --delay-ms (a slow database behind the API).
 * The client makes --calls requests in one of five ways and says how long
 * they took:
 *
 *   sequential  one call after another, a new connection each   ~N x (handshake + delay)
 *   threads     a pool of threads making blocking calls          ~handshake + delay
 *   async       one thread, non-blocking sockets and epoll       ~handshake + delay
 *   pooled      connect-per-call, then one keep-alive connection: saves N-1 handshakes
 *   cached      sequential, repeated keys answered from an in-process cache
 *
 * Call i asks for key "item-<i mod --keys>", so the workload repeats itself
 * and every mode must print the same checksum.
 *
 * Wire protocol, one line each way:
 *   service, on connect:  "HELLO\n"                          after the handshake delay
 *   client:               "GET <key>\n"
 *   service:              "VALUE <key> <16 hex digits>\n"    after the delay
 * The value is FNV-1a of the key, so the client verifies every answer.
 *
 * Blocking receives happen in wait_for_greeting() and wait_for_response()
 * (through recv_line()): a wall-clock profile of the sequential run shows the
 * waiting there. The service runs in its own process, so its waiting (in
 * epoll_wait) never mixes into the client's profile; it never calls malloc,
 * so under ldprof it writes no trace of its own.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define PROG "slow_api"
#define LINE_BYTES 256        /* longest protocol line, newline included */
#define KEY_MAX 64            /* longest key */
#define ERR_BYTES 200         /* one failure message */
#define SVC_MAX_CONN 1024     /* connections the service holds at once */
#define ASYNC_MAX_FLIGHT 256  /* sockets the async client keeps open at once */
#define POOL_MAX 64           /* threads in the pool */
#define CACHE_SLOTS 16        /* entries in the client's cache */

enum mode { M_SEQUENTIAL, M_THREADS, M_ASYNC, M_POOLED, M_CACHED, M_ALL };
static const char *const mode_name[] = {"sequential", "threads", "async", "pooled", "cached", "all"};

struct opts {
	enum mode mode;
	int calls;        /* requests per mode */
	int keys;         /* distinct keys among them */
	int delay_ms;     /* service: answer delay */
	int handshake_ms; /* service: greeting delay on each new connection */
	int threads;      /* threads mode: pool size (capped to calls) */
	int timeout_ms;   /* client: longest wait for any one line */
	uint16_t port;    /* the service's port, once started */
};

/* ------------------------------------------------------------------------ */
/* Protocol                                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t value_of(const char *key)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	return h;
}

static void key_for_call(const struct opts *o, int i, char key[KEY_MAX])
{
	snprintf(key, KEY_MAX, "item-%d", i % o->keys);
}

/* A key is 1..KEY_MAX-1 printable non-space bytes. */
static bool key_ok(const char *k, size_t len)
{
	if (len == 0 || len >= KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (k[i] <= ' ' || k[i] > '~')
			return false;
	return true;
}

/*
 * Check the answer LINE (newline removed) to a request for KEY.
 * @return 0 with *VALUE set, or -1 with ERR saying what was wrong.
 */
static int parse_response(const char *line, const char *key, uint64_t *value, char *err)
{
	size_t klen = strlen(key);
	if (strncmp(line, "VALUE ", 6) != 0 || strncmp(line + 6, key, klen) != 0 || line[6 + klen] != ' ') {
		snprintf(err, ERR_BYTES, "unexpected answer '%.60s'", line);
		return -1;
	}
	const char *hex = line + 6 + klen + 1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(hex, &end, 16);
	if (strlen(hex) != 16 || *end != '\0' || errno) {
		snprintf(err, ERR_BYTES, "malformed value in '%.60s'", line);
		return -1;
	}
	if (v != value_of(key)) {
		snprintf(err, ERR_BYTES, "wrong value for %s: %016llx", key, v);
		return -1;
	}
	*value = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The service (child process, no malloc)                                   */
/* ------------------------------------------------------------------------ */

/*
 * One connection. A reply waits in `out` until `due_ns`, then goes to the
 * kernel; `out[outoff..outlen)` is what the kernel has not taken yet. At most
 * one reply is in progress per connection: further requests wait in `in`.
 */
struct sconn {
	int fd;            /* -1: slot free */
	bool greeted;      /* HELLO has gone out */
	int64_t due_ns;    /* when `out` is to be sent; 0: not scheduled */
	size_t inlen;      /* bytes received, not yet answered */
	size_t outoff;     /* bytes of `out` already sent */
	size_t outlen;     /* bytes in `out` */
	char in[LINE_BYTES];
	char out[LINE_BYTES];
};

/* Static, so that the service needs no heap at all. */
static struct sconn sconns[SVC_MAX_CONN];

#define TAG_LISTEN UINT32_MAX
#define TAG_CTL (UINT32_MAX - 1)

static void svc_close(int ep, struct sconn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void svc_watch(int ep, struct sconn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - sconns)};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		svc_close(ep, c);
}

/* Give the kernel what it will take of `out`; wait for EPOLLOUT for the rest. */
static void svc_flush(int ep, struct sconn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (n > 0) {
			c->outoff += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			svc_watch(ep, c, EPOLLIN | EPOLLOUT);
			return;
		} else {
			svc_close(ep, c); /* the client went away */
			return;
		}
	}
	svc_watch(ep, c, EPOLLIN);
}

/* If the connection is idle and a whole request has arrived, schedule its answer. */
static void svc_next(int ep, struct sconn *c, int64_t now, int delay_ms)
{
	if (c->fd < 0 || !c->greeted || c->due_ns || c->outoff < c->outlen)
		return;
	char *nl = memchr(c->in, '\n', c->inlen);
	if (!nl)
		return;
	size_t len = (size_t)(nl - c->in);
	if (len > 4 && c->in[len - 1] == '\r')
		len--;
	if (len < 5 || memcmp(c->in, "GET ", 4) != 0 || !key_ok(c->in + 4, len - 4)) {
		svc_close(ep, c); /* not our protocol: hang up */
		return;
	}
	int n = snprintf(c->out, sizeof c->out, "VALUE %.*s ", (int)(len - 4), c->in + 4);
	char key[KEY_MAX];
	memcpy(key, c->in + 4, len - 4);
	key[len - 4] = '\0';
	n += snprintf(c->out + n, sizeof c->out - (size_t)n, "%016" PRIx64 "\n", value_of(key));
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->due_ns = now + (int64_t)delay_ms * 1000000;
	size_t used = (size_t)(nl - c->in) + 1;
	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
}

static void svc_read(int ep, struct sconn *c, int64_t now, int delay_ms)
{
	for (;;) {
		if (c->inlen == sizeof c->in) {
			if (!memchr(c->in, '\n', c->inlen))
				svc_close(ep, c); /* a line longer than any request */
			break;                    /* full: answer what we have first */
		}
		ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
		if (n > 0) {
			c->inlen += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			svc_close(ep, c); /* EOF: the client is done (or reset) */
			return;
		}
	}
	svc_next(ep, c, now, delay_ms);
}

static void svc_accept(int ep, int lfd, int64_t now, int handshake_ms)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "%s: service: accept: %s\n", PROG, strerror(errno));
			return;
		}
		struct sconn *c = NULL;
		for (size_t i = 0; i < SVC_MAX_CONN && !c; i++)
			if (sconns[i].fd < 0)
				c = &sconns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = c ? (uint32_t)(c - sconns) : 0};
		if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd); /* over capacity: the client sees the connection closed */
			continue;
		}
		*c = (struct sconn){.fd = fd, .due_ns = now + (int64_t)handshake_ms * 1000000};
		c->outlen = (size_t)snprintf(c->out, sizeof c->out, "HELLO\n");
	}
}

/*
 * The service's event loop: one thread, every connection in one epoll set,
 * each scheduled reply sent when due. Returns when CTL (the read end of a
 * pipe the client holds) reaches EOF, i.e. the client closed it or died.
 * @return 0, or -1 on an error that stops the service.
 */
static int svc_loop(int lfd, int ctl, int delay_ms, int handshake_ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		fprintf(stderr, "%s: service: epoll_create1: %s\n", PROG, strerror(errno));
		return -1;
	}
	struct epoll_event lev = {.events = EPOLLIN, .data.u32 = TAG_LISTEN};
	struct epoll_event cev = {.events = EPOLLIN, .data.u32 = TAG_CTL};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &cev) != 0) {
		fprintf(stderr, "%s: service: epoll_ctl: %s\n", PROG, strerror(errno));
		close(ep);
		return -1;
	}
	for (size_t i = 0; i < SVC_MAX_CONN; i++)
		sconns[i].fd = -1;

	int rc = 0;
	for (;;) {
		/* Send what is due; sleep until the next thing is. */
		int64_t now = sample_now_ns(), next = INT64_MAX;
		for (size_t i = 0; i < SVC_MAX_CONN; i++) {
			struct sconn *c = &sconns[i];
			if (c->fd < 0 || !c->due_ns)
				continue;
			if (c->due_ns <= now) {
				c->due_ns = 0;
				c->greeted = true; /* the first reply sent is the greeting */
				svc_flush(ep, c);
				svc_next(ep, c, now, delay_ms);
			}
			if (c->fd >= 0 && c->due_ns && c->due_ns < next)
				next = c->due_ns;
		}
		int timeout = next == INT64_MAX ? -1 : (int)((next - now + 999999) / 1000000);
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: service: epoll_wait: %s\n", PROG, strerror(errno));
			rc = -1;
			break;
		}
		now = sample_now_ns();
		bool stop = false;
		for (int i = 0; i < n; i++) {
			uint32_t tag = evs[i].data.u32;
			if (tag == TAG_CTL) {
				stop = true;
			} else if (tag == TAG_LISTEN) {
				svc_accept(ep, lfd, now, handshake_ms);
			} else {
				struct sconn *c = &sconns[tag];
				if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
					svc_flush(ep, c);
				if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
					svc_read(ep, c, now, delay_ms);
				svc_next(ep, c, now, delay_ms);
			}
		}
		if (stop)
			break;
	}
	for (size_t i = 0; i < SVC_MAX_CONN; i++)
		if (sconns[i].fd >= 0)
			svc_close(ep, &sconns[i]);
	close(ep);
	return rc;
}

struct service {
	pid_t pid;  /* the child running svc_loop */
	int ctl;    /* write end of the control pipe: closing it stops the service */
};

/*
 * Start the service: listen on 127.0.0.1, port 0 (the kernel picks), then fork
 * a child that serves. Called before any thread exists.
 * @return 0 with o->port set, or -1 after saying why.
 */
static int service_start(struct service *s, struct opts *o)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		fprintf(stderr, "%s: socket: %s\n", PROG, strerror(errno));
		return -1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t salen = sizeof sa;
	int pfd[2];
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1: %s\n", PROG, strerror(errno));
		close(lfd);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", PROG, strerror(errno));
		close(lfd);
		return -1;
	}
	o->port = ntohs(sa.sin_port);
	pid_t parent = getpid();
	fflush(NULL); /* nothing buffered may be written twice */
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", PROG, strerror(errno));
		close(lfd);
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* The service: stop with the client even if it dies without closing the pipe. */
		close(pfd[1]);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int rc = svc_loop(lfd, pfd[0], o->delay_ms, o->handshake_ms);
		_exit(rc == 0 ? 0 : 1); /* not exit(): the parent's atexit handlers and stdio are not ours */
	}
	close(lfd);
	close(pfd[0]);
	s->pid = pid;
	s->ctl = pfd[1];
	return 0;
}

/* Stop the service and reap it. @return 0 if it ended cleanly. */
static int service_stop(struct service *s)
{
	close(s->ctl);
	int status;
	while (waitpid(s->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "%s: waitpid: %s\n", PROG, strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		fprintf(stderr, "%s: the service died of signal %d\n", PROG, WTERMSIG(status));
	else
		fprintf(stderr, "%s: the service exited with status %d\n", PROG, WEXITSTATUS(status));
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Blocking client                                                          */
/* ------------------------------------------------------------------------ */

struct conn {
	int fd;
	size_t len;            /* bytes in buf */
	char buf[LINE_BYTES];  /* received, not yet returned as a line */
};

static void set_timeout(int fd, int optname, int64_t ns)
{
	if (ns < 1000)
		ns = 1000; /* 0 would mean "wait forever" */
	struct timeval tv = {.tv_sec = ns / 1000000000, .tv_usec = (ns % 1000000000) / 1000};
	setsockopt(fd, SOL_SOCKET, optname, &tv, sizeof tv);
}

/*
 * Receive one line (newline removed) into LINE, waiting at most timeout_ms.
 * The timeout is SO_RCVTIMEO on a blocking socket, so the wait is recv()
 * itself. recv() with a timeout is never restarted after a signal handler,
 * SA_RESTART or not (signal(7)): on EINTR it waits again for what is left.
 * @return 0, or -1 with ERR set.
 */
__attribute__((noinline)) static int recv_line(struct conn *c, const struct opts *o, char line[LINE_BYTES], char *err)
{
	int64_t deadline = sample_now_ns() + (int64_t)o->timeout_ms * 1000000;
	set_timeout(c->fd, SO_RCVTIMEO, deadline - sample_now_ns());
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t len = (size_t)(nl - c->buf);
			memcpy(line, c->buf, len);
			line[len] = '\0';
			memmove(c->buf, nl + 1, c->len - len - 1);
			c->len -= len + 1;
			return 0;
		}
		if (c->len == sizeof c->buf) {
			snprintf(err, ERR_BYTES, "the service sent a line longer than %d bytes", LINE_BYTES);
			return -1;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
		} else if (n == 0) {
			snprintf(err, ERR_BYTES, "the service closed the connection");
			return -1;
		} else if (errno == EINTR) {
			int64_t left = deadline - sample_now_ns();
			if (left <= 0)
				goto timed_out;
			set_timeout(c->fd, SO_RCVTIMEO, left);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			goto timed_out;
		} else {
			snprintf(err, ERR_BYTES, "recv: %s", strerror(errno));
			return -1;
		}
	}
timed_out:
	snprintf(err, ERR_BYTES, "no answer within %d ms", o->timeout_ms);
	return -1;
}

/* Block until the service has finished the connection handshake. */
__attribute__((noinline)) static int wait_for_greeting(struct conn *c, const struct opts *o, char *err)
{
	char line[LINE_BYTES];
	if (recv_line(c, o, line, err) != 0)
		return -1;
	if (strcmp(line, "HELLO") != 0) {
		snprintf(err, ERR_BYTES, "expected HELLO, got '%.60s'", line);
		return -1;
	}
	return 0;
}

/* Block until the answer to KEY arrives: this is where the client waits. */
__attribute__((noinline)) static int wait_for_response(struct conn *c, const struct opts *o, const char *key,
						       uint64_t *value, char *err)
{
	char line[LINE_BYTES];
	if (recv_line(c, o, line, err) != 0)
		return -1;
	return parse_response(line, key, value, err);
}

static int send_all(int fd, const char *buf, size_t len, const struct opts *o, char *err)
{
	set_timeout(fd, SO_SNDTIMEO, (int64_t)o->timeout_ms * 1000000);
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			snprintf(err, ERR_BYTES, "send: %s", n < 0 && errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/*
 * Connect to the service and wait for its greeting.
 * A connect() interrupted by a signal goes on in the background (connect(2)):
 * wait for it to finish instead of calling connect() again.
 */
static int conn_open(struct conn *c, const struct opts *o, char *err)
{
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, ERR_BYTES, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	set_timeout(c->fd, SO_SNDTIMEO, (int64_t)o->timeout_ms * 1000000); /* bounds connect() too */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		if (e == EINTR) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};
			int r;
			while ((r = poll(&p, 1, o->timeout_ms)) < 0 && errno == EINTR)
				;
			socklen_t len = sizeof e;
			if (r == 0)
				e = ETIMEDOUT;
			else if (r < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
				e = errno;
		}
		if (e != 0) {
			snprintf(err, ERR_BYTES, "connect to 127.0.0.1:%u: %s", o->port, strerror(e));
			conn_close(c);
			return -1;
		}
	}
	if (wait_for_greeting(c, o, err) != 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* One request on an open connection. */
__attribute__((noinline)) static int call_service(struct conn *c, const struct opts *o, const char *key,
						  uint64_t *value, char *err)
{
	char req[LINE_BYTES];
	int n = snprintf(req, sizeof req, "GET %s\n", key);
	if (send_all(c->fd, req, (size_t)n, o, err) != 0)
		return -1;
	return wait_for_response(c, o, key, value, err);
}

/* One request on a connection of its own: connect, handshake, ask, hang up. */
static int call_once(const struct opts *o, const char *key, uint64_t *value, char *err)
{
	struct conn c;
	if (conn_open(&c, o, err) != 0)
		return -1;
	int rc = call_service(&c, o, key, value, err);
	conn_close(&c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                    */
/* ------------------------------------------------------------------------ */

/* What one mode did: per-call outcome, then the summary line's parts. */
struct run {
	uint64_t *value;     /* [calls] the answers */
	bool *ok;            /* [calls] the call succeeded */
	double seconds;      /* wall time of the mode (a mode may set it: pooled) */
	char note[160];      /* mode-specific remark for the summary line */
};

static void report_failure(const char *mode, int i, const char *key, const char *err)
{
	fprintf(stderr, "%s: %s: call %d (%s) failed: %s\n", PROG, mode, i, key, err);
}

__attribute__((noinline)) static void run_sequential(const struct opts *o, struct run *r)
{
	for (int i = 0; i < o->calls; i++) {
		char key[KEY_MAX], err[ERR_BYTES];
		key_for_call(o, i, key);
		r->ok[i] = call_once(o, key, &r->value[i], err) == 0;
		if (!r->ok[i])
			report_failure("sequential", i, key, err);
	}
	snprintf(r->note, sizeof r->note, "one call after another, a connection each");
}

struct pool {
	const struct opts *o;
	struct run *r;
	atomic_int next;  /* the next call nobody has taken yet */
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		int i = atomic_fetch_add(&p->next, 1);
		if (i >= p->o->calls)
			return NULL;
		char key[KEY_MAX], err[ERR_BYTES];
		key_for_call(p->o, i, key);
		p->r->ok[i] = call_once(p->o, key, &p->r->value[i], err) == 0;
		if (!p->r->ok[i])
			report_failure("threads", i, key, err);
	}
}

__attribute__((noinline)) static void run_threads(const struct opts *o, struct run *r)
{
	int want = o->threads < o->calls ? o->threads : o->calls;
	struct pool p = {.o = o, .r = r};
	atomic_init(&p.next, 0);
	pthread_t tid[POOL_MAX];
	int started = 0;
	for (; started < want; started++) {
		int e = pthread_create(&tid[started], NULL, pool_worker, &p);
		if (e != 0) {
			fprintf(stderr, "%s: threads: pthread_create: %s (going on with %d)\n", PROG, strerror(e),
				started);
			break;
		}
	}
	if (started == 0)
		pool_worker(&p); /* no thread at all: do the work here rather than not at all */
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	snprintf(r->note, sizeof r->note, "pool of %d threads, blocking calls", started ? started : 1);
}

/* One in-flight call of the async client. */
enum astate { A_FREE, A_CONNECTING, A_GREETING, A_SENDING, A_RESPONSE };
struct acall {
	enum astate st;
	int idx;              /* which call */
	int fd;
	int64_t deadline_ns;  /* the current wait ends here */
	size_t inlen, outoff, outlen;
	char key[KEY_MAX];
	char in[LINE_BYTES];
	char out[LINE_BYTES];
};

static void async_end(int ep, struct acall *a, struct run *r, bool ok, const char *err)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, a->fd, NULL);
	close(a->fd);
	r->ok[a->idx] = ok;
	if (!ok)
		report_failure("async", a->idx, a->key, err);
	a->st = A_FREE;
}

static int async_watch(int ep, struct acall *a, struct acall *base, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(a - base)};
	return epoll_ctl(ep, op, a->fd, &ev);
}

/* Start call I in slot A: a non-blocking connect. @return 0, or -1 with ERR. */
static int async_start(int ep, struct acall *a, struct acall *base, const struct opts *o, int i, char *err)
{
	*a = (struct acall){.st = A_CONNECTING, .idx = i,
			    .deadline_ns = sample_now_ns() + (int64_t)o->timeout_ms * 1000000};
	key_for_call(o, i, a->key);
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		snprintf(err, ERR_BYTES, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(o->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* EINTR on a non-blocking connect: it goes on, like EINPROGRESS. */
	if (connect(a->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS && errno != EINTR) {
		snprintf(err, ERR_BYTES, "connect: %s", strerror(errno));
		close(a->fd);
		return -1;
	}
	if (async_watch(ep, a, base, EPOLLOUT, EPOLL_CTL_ADD) != 0) {
		snprintf(err, ERR_BYTES, "epoll_ctl: %s", strerror(errno));
		close(a->fd);
		return -1;
	}
	return 0;
}

/* Read what is there into a->in. @return 1 a whole line is in `line`, 0 not yet, -1 error (ERR). */
static int async_read_line(struct acall *a, char line[LINE_BYTES], char *err)
{
	for (;;) {
		char *nl = memchr(a->in, '\n', a->inlen);
		if (nl) {
			size_t len = (size_t)(nl - a->in);
			memcpy(line, a->in, len);
			line[len] = '\0';
			memmove(a->in, nl + 1, a->inlen - len - 1);
			a->inlen -= len + 1;
			return 1;
		}
		if (a->inlen == sizeof a->in) {
			snprintf(err, ERR_BYTES, "the service sent a line longer than %d bytes", LINE_BYTES);
			return -1;
		}
		ssize_t n = recv(a->fd, a->in + a->inlen, sizeof a->in - a->inlen, 0);
		if (n > 0)
			a->inlen += (size_t)n;
		else if (n == 0)
			return snprintf(err, ERR_BYTES, "the service closed the connection"), -1;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		else
			return snprintf(err, ERR_BYTES, "recv: %s", strerror(errno)), -1;
	}
}

/* Send what is left of a->out. @return 1 all sent, 0 the kernel is full, -1 error (ERR). */
static int async_send(struct acall *a, char *err)
{
	while (a->outoff < a->outlen) {
		ssize_t n = send(a->fd, a->out + a->outoff, a->outlen - a->outoff, MSG_NOSIGNAL);
		if (n > 0)
			a->outoff += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else
			return snprintf(err, ERR_BYTES, "send: %s", strerror(errno)), -1;
	}
	return 1;
}

/*
 * Advance call A after an event on its socket.
 * @return 1 finished (ok or not: a->st is A_FREE), 0 still going.
 */
static int async_step(int ep, struct acall *a, struct acall *base, struct run *r, const struct opts *o)
{
	char err[ERR_BYTES], line[LINE_BYTES];
	int rc;
	switch (a->st) {
	case A_CONNECTING: {
		int e = 0;
		socklen_t len = sizeof e;
		if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
			e = errno;
		if (e != 0) {
			snprintf(err, ERR_BYTES, "connect to 127.0.0.1:%u: %s", o->port, strerror(e));
			goto fail;
		}
		a->st = A_GREETING;
		if (async_watch(ep, a, base, EPOLLIN, EPOLL_CTL_MOD) != 0)
			goto fail_epoll;
		return 0;
	}
	case A_GREETING:
		rc = async_read_line(a, line, err);
		if (rc <= 0)
			goto maybe_fail;
		if (strcmp(line, "HELLO") != 0) {
			snprintf(err, ERR_BYTES, "expected HELLO, got '%.60s'", line);
			goto fail;
		}
		a->outlen = (size_t)snprintf(a->out, sizeof a->out, "GET %s\n", a->key);
		a->outoff = 0;
		a->st = A_SENDING;
		__attribute__((fallthrough)); /* try to send at once */
	case A_SENDING:
		rc = async_send(a, err);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			if (async_watch(ep, a, base, EPOLLOUT, EPOLL_CTL_MOD) != 0)
				goto fail_epoll;
			return 0;
		}
		a->st = A_RESPONSE;
		a->deadline_ns = sample_now_ns() + (int64_t)o->timeout_ms * 1000000;
		if (async_watch(ep, a, base, EPOLLIN, EPOLL_CTL_MOD) != 0)
			goto fail_epoll;
		return 0;
	case A_RESPONSE:
		rc = async_read_line(a, line, err);
		if (rc <= 0)
			goto maybe_fail;
		if (parse_response(line, a->key, &r->value[a->idx], err) != 0)
			goto fail;
		async_end(ep, a, r, true, NULL);
		return 1;
	case A_FREE:
		break;
	}
	return 0;
maybe_fail:
	if (rc == 0)
		return 0;
	goto fail;
fail_epoll:
	snprintf(err, ERR_BYTES, "epoll_ctl: %s", strerror(errno));
fail:
	async_end(ep, a, r, false, err);
	return 1;
}

/*
 * One thread, every call's socket non-blocking in one epoll set: all calls
 * wait for the service at the same time, so the mode takes about one
 * handshake plus one delay. At most ASYNC_MAX_FLIGHT sockets are open at once.
 */
__attribute__((noinline)) static void run_async(const struct opts *o, struct run *r)
{
	int flight = o->calls < ASYNC_MAX_FLIGHT ? o->calls : ASYNC_MAX_FLIGHT;
	struct acall *a = calloc((size_t)flight, sizeof *a);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!a || ep < 0) {
		fprintf(stderr, "%s: async: %s\n", PROG, !a ? "out of memory" : strerror(errno));
		for (int i = 0; i < o->calls; i++)
			r->ok[i] = false;
		free(a);
		if (ep >= 0)
			close(ep);
		return;
	}
	int next = 0, active = 0, most = 0;
	for (;;) {
		for (int s = 0; s < flight && next < o->calls; s++) {
			if (a[s].st != A_FREE)
				continue;
			char err[ERR_BYTES];
			if (async_start(ep, &a[s], a, o, next, err) != 0) {
				r->ok[next] = false;
				report_failure("async", next, a[s].key, err);
				a[s].st = A_FREE;
			} else {
				active++;
			}
			next++;
		}
		if (active > most)
			most = active;
		if (active == 0) {
			if (next >= o->calls)
				break;
			continue;
		}
		int64_t now = sample_now_ns(), first = INT64_MAX;
		for (int s = 0; s < flight; s++)
			if (a[s].st != A_FREE && a[s].deadline_ns < first)
				first = a[s].deadline_ns;
		int timeout = first <= now ? 0 : (int)((first - now + 999999) / 1000000);
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			char err[ERR_BYTES];
			snprintf(err, ERR_BYTES, "epoll_wait: %s", strerror(errno));
			for (int s = 0; s < flight; s++)
				if (a[s].st != A_FREE)
					async_end(ep, &a[s], r, false, err);
			for (; next < o->calls; next++)
				r->ok[next] = false;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct acall *c = &a[evs[i].data.u32];
			if (c->st != A_FREE && async_step(ep, c, a, r, o))
				active--;
		}
		now = sample_now_ns();
		for (int s = 0; s < flight; s++) {
			if (a[s].st != A_FREE && a[s].deadline_ns <= now) {
				char err[ERR_BYTES];
				snprintf(err, ERR_BYTES, "no answer within %d ms", o->timeout_ms);
				async_end(ep, &a[s], r, false, err);
				active--;
			}
		}
	}
	close(ep);
	free(a);
	snprintf(r->note, sizeof r->note, "1 thread, epoll, up to %d sockets in flight", most);
}

/*
 * Keep-alive against connect-per-call: the same calls twice, first with a new
 * connection (and handshake) each, then over one connection kept open. The
 * summary line shows the keep-alive pass and the difference.
 */
__attribute__((noinline)) static void run_pooled(const struct opts *o, struct run *r)
{
	uint64_t *first = calloc((size_t)o->calls, sizeof *first);
	if (!first) {
		fprintf(stderr, "%s: pooled: out of memory\n", PROG);
		for (int i = 0; i < o->calls; i++)
			r->ok[i] = false;
		return;
	}
	int64_t t0 = sample_now_ns();
	int failed_first = 0;
	for (int i = 0; i < o->calls; i++) {
		char key[KEY_MAX], err[ERR_BYTES];
		key_for_call(o, i, key);
		if (call_once(o, key, &first[i], err) != 0) {
			report_failure("pooled (connect-per-call)", i, key, err);
			failed_first++;
		}
	}
	int64_t t1 = sample_now_ns();
	struct conn c = {.fd = -1};
	int conns = 0;
	for (int i = 0; i < o->calls; i++) {
		char key[KEY_MAX], err[ERR_BYTES];
		key_for_call(o, i, key);
		r->ok[i] = false;
		if (c.fd < 0) {
			if (conn_open(&c, o, err) != 0) {
				report_failure("pooled (keep-alive)", i, key, err);
				continue;
			}
			conns++;
		}
		if (call_service(&c, o, key, &r->value[i], err) != 0) {
			report_failure("pooled (keep-alive)", i, key, err);
			conn_close(&c); /* a broken connection is replaced for the next call */
			continue;
		}
		/* Both passes must have got the same answer. */
		r->ok[i] = first[i] == r->value[i];
	}
	conn_close(&c);
	int64_t t2 = sample_now_ns();
	double per_call = (double)(t1 - t0) / 1e9, keep = (double)(t2 - t1) / 1e9;
	r->seconds = keep;
	if (failed_first)
		snprintf(r->note, sizeof r->note, "keep-alive; connect-per-call pass had %d failed calls", failed_first);
	else
		snprintf(r->note, sizeof r->note, "keep-alive on %d connection%s; connect-per-call took %.3f s: reuse saved %.3f s",
			 conns, conns == 1 ? "" : "s", per_call, per_call - keep);
	free(first);
}

/* A small in-process cache: CACHE_SLOTS entries, least recently used evicted. */
struct cache {
	struct {
		char *key;       /* NULL: empty slot */
		uint64_t value;
		uint64_t used;   /* tick of the last use */
	} e[CACHE_SLOTS];
	uint64_t tick;
	int hits, misses;
};

static bool cache_get(struct cache *c, const char *key, uint64_t *value)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (c->e[i].key && strcmp(c->e[i].key, key) == 0) {
			c->e[i].used = ++c->tick;
			*value = c->e[i].value;
			c->hits++;
			return true;
		}
	}
	c->misses++;
	return false;
}

/* @return 0, or -1 when out of memory (the answer is then just not cached). */
static int cache_put(struct cache *c, const char *key, uint64_t value)
{
	int victim = 0;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (!c->e[i].key) {
			victim = i;
			break;
		}
		if (c->e[i].used < c->e[victim].used)
			victim = i;
	}
	char *copy = strdup(key);
	if (!copy)
		return -1;
	free(c->e[victim].key);
	c->e[victim].key = copy;
	c->e[victim].value = value;
	c->e[victim].used = ++c->tick;
	return 0;
}

static void cache_fini(struct cache *c)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		free(c->e[i].key);
}

__attribute__((noinline)) static void run_cached(const struct opts *o, struct run *r)
{
	struct cache cache = {0};
	for (int i = 0; i < o->calls; i++) {
		char key[KEY_MAX], err[ERR_BYTES];
		key_for_call(o, i, key);
		if (cache_get(&cache, key, &r->value[i])) {
			r->ok[i] = true;
			continue;
		}
		r->ok[i] = call_once(o, key, &r->value[i], err) == 0;
		if (!r->ok[i])
			report_failure("cached", i, key, err);
		else if (cache_put(&cache, key, r->value[i]) != 0)
			fprintf(stderr, "%s: cached: out of memory, %s not cached\n", PROG, key);
	}
	snprintf(r->note, sizeof r->note, "%d hits, %d misses (cache of %d entries)", cache.hits, cache.misses,
		 CACHE_SLOTS);
	cache_fini(&cache);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

/* Print the mode's line. @return true if every call succeeded. */
static bool summarize(const struct opts *o, enum mode m, const struct run *r)
{
	int ok = 0;
	uint64_t sum = 0;
	for (int i = 0; i < o->calls; i++) {
		ok += r->ok[i];
		/* Order matters: answers in the wrong order change the checksum. */
		sum ^= r->value[i] + 0x9e3779b97f4a7c15u + (sum << 6) + (sum >> 2);
	}
	if (ok == o->calls)
		printf("%-10s %6d %8.3f  ok %016" PRIx64 "  %s\n", mode_name[m], o->calls, r->seconds, sum, r->note);
	else
		printf("%-10s %6d %8.3f  FAILED %d of %d calls  %s\n", mode_name[m], o->calls, r->seconds,
		       o->calls - ok, o->calls, r->note);
	fflush(stdout);
	return ok == o->calls;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--mode MODE] [--calls N] [--keys K] [--delay-ms MS] [--handshake-ms MS]\n"
		"                [--threads T] [--timeout-ms MS]\n"
		"\n"
		"Starts a slow loopback service, then calls it N times and says how long that took.\n"
		"\n"
		"  --mode MODE         sequential, threads, async, pooled, cached, or all (default)\n"
		"  --calls N           requests per mode (default 4)\n"
		"  --keys K            call i asks for key item-<i mod K> (default (N+1)/2)\n"
		"  --delay-ms MS       the service answers each request after MS (default 500)\n"
		"  --handshake-ms MS   ... and greets each new connection after MS (default 50)\n"
		"  --threads T         threads mode: pool size, at most %d (default 8)\n"
		"  --timeout-ms MS     longest wait for any answer (default 10000, or more for long delays)\n"
		"\n"
		"One line per mode: calls, seconds, ok + checksum of the answers (the same in\n"
		"every mode) or FAILED. Exit status 1 if any call failed.\n",
		PROG, POOL_MAX);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},     {"calls", required_argument, NULL, 'n'},
		{"keys", required_argument, NULL, 'k'},     {"delay-ms", required_argument, NULL, 'd'},
		{"handshake-ms", required_argument, NULL, 's'}, {"threads", required_argument, NULL, 't'},
		{"timeout-ms", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	*o = (struct opts){.mode = M_ALL, .calls = 4, .keys = 0, .delay_ms = 500, .handshake_ms = 50, .threads = 8,
			   .timeout_ms = 0};
	long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': {
			int found = -1;
			for (int i = 0; i <= M_ALL; i++)
				if (strcmp(optarg, mode_name[i]) == 0)
					found = i;
			if (found < 0) {
				fprintf(stderr, "%s: --mode: '%s' is not one of sequential, threads, async, pooled, cached, all\n",
					PROG, optarg);
				return -1;
			}
			o->mode = (enum mode)found;
			break;
		}
		case 'n':
			if (sample_parse_long(PROG, "--calls", optarg, 1, 100000, &v))
				return -1;
			o->calls = (int)v;
			break;
		case 'k':
			if (sample_parse_long(PROG, "--keys", optarg, 1, 100000, &v))
				return -1;
			o->keys = (int)v;
			break;
		case 'd':
			if (sample_parse_long(PROG, "--delay-ms", optarg, 0, 60000, &v))
				return -1;
			o->delay_ms = (int)v;
			break;
		case 's':
			if (sample_parse_long(PROG, "--handshake-ms", optarg, 0, 60000, &v))
				return -1;
			o->handshake_ms = (int)v;
			break;
		case 't':
			if (sample_parse_long(PROG, "--threads", optarg, 1, POOL_MAX, &v))
				return -1;
			o->threads = (int)v;
			break;
		case 'T':
			if (sample_parse_long(PROG, "--timeout-ms", optarg, 1, 600000, &v))
				return -1;
			o->timeout_ms = (int)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -1;
	}
	if (!o->keys)
		o->keys = (o->calls + 1) / 2;
	if (!o->timeout_ms) {
		o->timeout_ms = 2 * (o->delay_ms + o->handshake_ms) + 1000;
		if (o->timeout_ms < 10000)
			o->timeout_ms = 10000;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_args(argc, argv, &o) != 0)
		return 2;

	struct service svc;
	if (service_start(&svc, &o) != 0)
		return 1;
	printf("%s: service pid %d on 127.0.0.1:%u answers after %d ms, greets new connections after %d ms\n", PROG,
	       (int)svc.pid, o.port, o.delay_ms, o.handshake_ms);
	printf("%s: %d calls over %d key%s per mode, timeout %d ms\n\n", PROG, o.calls, o.keys, o.keys == 1 ? "" : "s",
	       o.timeout_ms);
	printf("%-10s %6s %8s  %s\n", "mode", "calls", "seconds", "result");
	fflush(stdout);

	bool all_ok = true;
	struct run r = {.value = calloc((size_t)o.calls, sizeof *r.value), .ok = calloc((size_t)o.calls, sizeof *r.ok)};
	if (!r.value || !r.ok) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		all_ok = false;
		goto out;
	}
	static void (*const run_mode[])(const struct opts *, struct run *) = {
		[M_SEQUENTIAL] = run_sequential, [M_THREADS] = run_threads, [M_ASYNC] = run_async,
		[M_POOLED] = run_pooled,         [M_CACHED] = run_cached,
	};
	for (int m = 0; m < M_ALL; m++) {
		if (o.mode != M_ALL && o.mode != (enum mode)m)
			continue;
		memset(r.value, 0, (size_t)o.calls * sizeof *r.value);
		memset(r.ok, 0, (size_t)o.calls * sizeof *r.ok);
		r.note[0] = '\0';
		r.seconds = 0;
		int64_t t0 = sample_now_ns();
		run_mode[m](&o, &r);
		if (r.seconds == 0)
			r.seconds = (double)(sample_now_ns() - t0) / 1e9;
		all_ok &= summarize(&o, (enum mode)m, &r);
	}
out:
	free(r.value);
	free(r.ok);
	if (service_stop(&svc) != 0)
		all_ok = false;
	return all_ok ? 0 : 1;
}
