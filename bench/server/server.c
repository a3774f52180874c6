/* server: a threaded request server under a built-in loopback load generator
 * (an Apache + ab -k stand-in), both in one process.
 *
 * The server listens on 127.0.0.1 (an ephemeral port).  An acceptor thread
 * hands connections to a pool of worker threads through a queue (mutex +
 * condition variable); a worker serves its connection's keep-alive requests
 * until the client closes it.  Each request is a small HTTP/1.1 GET that is
 * parsed (request line, headers), looked up in a hash table (striped locks,
 * a hit counter per item) and answered with a small body.  As many client
 * threads as workers each send their share of the requests, one at a time,
 * reconnecting every -k requests, and check and hash every response.  The
 * response to request i depends only on i, so the checksum (a sum of
 * per-request hashes) does not depend on threads or scheduling.
 *
 * Bounded in time: socket timeouts of 10 s and an alarm of 60 s. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_THREADS 128
#define NKEYS 50000
#define NBUCKETS 65536
#define NSTRIPES 64
#define BUF_SIZE 4096

typedef struct item {
	struct item *next;
	char key[24];
	char value[64];
	unsigned long hits;
} item;

typedef struct request {
	char method[8];
	char path[128];
	int keep_alive;
	long content_length;
} request;

typedef struct conn_queue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	int fds[MAX_THREADS * 4];
	int head, count, closed;
} conn_queue;

typedef struct client_result {
	uint64_t sum;
	long ok, missing;
} client_result;

static long nrequests = 20000;  /* -n */
static long per_conn = 200;     /* -k: requests per connection */
static int nthreads = 1;        /* -t: server workers, and as many clients */
static item *buckets[NBUCKETS];
static item *items;
static pthread_mutex_t stripes[NSTRIPES];
static conn_queue conns;
static struct sockaddr_in server_addr;
static int listen_fd;

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n REQUESTS] [-k REQUESTS_PER_CONNECTION]\n", prog);
	exit(2);
}

static void die(const char *msg)
{
	fprintf(stderr, "server: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	x ^= x >> 33;
	return x;
}

/* ---- the table ---- */

static unsigned bucket_of(const char *key)
{
	return (unsigned)(fnv1a(0xcbf29ce484222325ull, key, strlen(key)) & (NBUCKETS - 1));
}

static void build_table(void)
{
	items = calloc(NKEYS, sizeof *items);
	if (!items)
		die("out of memory");
	for (long i = 0; i < NKEYS; i++) {
		item *it = &items[i];
		snprintf(it->key, sizeof it->key, "k%ld", i * 7 + 3);
		snprintf(it->value, sizeof it->value, "value-%016llx", (unsigned long long)mix((uint64_t)i));
		unsigned b = bucket_of(it->key);
		it->next = buckets[b];
		buckets[b] = it;
	}
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&stripes[i], NULL);
}

static const item *lookup(const char *key)
{
	unsigned b = bucket_of(key);
	item *it;

	pthread_mutex_lock(&stripes[b % NSTRIPES]);
	for (it = buckets[b]; it; it = it->next)
		if (strcmp(it->key, key) == 0) {
			it->hits++;
			break;
		}
	pthread_mutex_unlock(&stripes[b % NSTRIPES]);
	return it;
}

/* ---- request parsing ---- */

static char *next_line(char **cursor)
{
	char *line = *cursor, *end = strstr(line, "\r\n");

	if (!end)
		return NULL;
	*end = '\0';
	*cursor = end + 2;
	return line;
}

static int parse_request_line(char *line, request *req)
{
	char *sp1 = strchr(line, ' '), *sp2;

	if (!sp1 || sp1 - line >= (long)sizeof req->method)
		return -1;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 - sp1 - 1 >= (long)sizeof req->path || strcmp(sp2 + 1, "HTTP/1.1") != 0)
		return -1;
	memcpy(req->method, line, (size_t)(sp1 - line));
	req->method[sp1 - line] = '\0';
	memcpy(req->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	req->path[sp2 - sp1 - 1] = '\0';
	return 0;
}

static void parse_header(char *line, request *req)
{
	char *colon = strchr(line, ':');

	if (!colon)
		return;
	*colon = '\0';
	char *value = colon + 1;
	while (*value == ' ')
		value++;
	if (strcasecmp(line, "connection") == 0)
		req->keep_alive = strcasecmp(value, "close") != 0;
	else if (strcasecmp(line, "content-length") == 0)
		req->content_length = atol(value);
}

static int parse_request(char *head, request *req)
{
	char *cursor = head, *line;

	memset(req, 0, sizeof *req);
	req->keep_alive = 1;
	line = next_line(&cursor);
	if (!line || parse_request_line(line, req) < 0)
		return -1;
	while ((line = next_line(&cursor)) && *line)
		parse_header(line, req);
	return 0;
}

/* ---- socket helpers ---- */

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 10 };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the end of a header block ("\r\n\r\n"), keeping what follows
 * in buf.  Returns the header length, 0 on a clean EOF, -1 on error. */
static long read_head(int fd, char *buf, size_t *have)
{
	for (;;) {
		buf[*have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end)
			return end + 4 - buf;
		if (*have >= BUF_SIZE - 1)
			return -1;
		ssize_t n = read(fd, buf + *have, BUF_SIZE - 1 - *have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && *have == 0 ? 0 : -1;
		*have += (size_t)n;
	}
}

static void consume(char *buf, size_t *have, size_t len)
{
	memmove(buf, buf + len, *have - len);
	*have -= len;
}

/* ---- server side ---- */

static int respond(int fd, const request *req)
{
	char body[256], out[512];
	int status = 200, blen;
	const item *it = NULL;

	if (strcmp(req->method, "GET") != 0)
		status = 405;
	else if (strncmp(req->path, "/item/", 6) != 0)
		status = 404;
	else if (!(it = lookup(req->path + 6)))
		status = 404;
	if (it) {
		/* A little work per hit: a digest of the value. */
		uint64_t d = 0xcbf29ce484222325ull;
		for (int r = 0; r < 64; r++)
			d = fnv1a(d, it->value, strlen(it->value));
		blen = snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\",\"digest\":\"%016llx\"}\n",
		                it->key, it->value, (unsigned long long)d);
	} else {
		blen = snprintf(body, sizeof body, "{\"error\":%d,\"path\":\"%s\"}\n", status, req->path);
	}
	int olen = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                    "Content-Length: %d\r\n\r\n%s",
	                    status, status == 200 ? "OK" : "Error", blen, body);
	return write_all(fd, out, (size_t)olen);
}

static void serve(int fd)
{
	char buf[BUF_SIZE];
	size_t have = 0;
	request req;
	long len;

	while ((len = read_head(fd, buf, &have)) > 0) {
		buf[len - 2] = '\0';
		if (parse_request(buf, &req) < 0 || req.content_length != 0)
			break;
		if (respond(fd, &req) < 0)
			break;
		consume(buf, &have, (size_t)len);
		if (!req.keep_alive)
			break;
	}
	close(fd);
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;          /* shutdown() of the listening socket */
		}
		set_timeouts(fd);
		pthread_mutex_lock(&conns.lock);
		if (conns.count == (int)(sizeof conns.fds / sizeof conns.fds[0])) {
			pthread_mutex_unlock(&conns.lock);
			close(fd);
			continue;
		}
		conns.fds[(conns.head + conns.count) % (sizeof conns.fds / sizeof conns.fds[0])] = fd;
		conns.count++;
		pthread_cond_signal(&conns.ready);
		pthread_mutex_unlock(&conns.lock);
	}
	pthread_mutex_lock(&conns.lock);
	conns.closed = 1;
	pthread_cond_broadcast(&conns.ready);
	pthread_mutex_unlock(&conns.lock);
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&conns.lock);
		while (conns.count == 0 && !conns.closed)
			pthread_cond_wait(&conns.ready, &conns.lock);
		if (conns.count == 0) {
			pthread_mutex_unlock(&conns.lock);
			return NULL;
		}
		int fd = conns.fds[conns.head];
		conns.head = (conns.head + 1) % (int)(sizeof conns.fds / sizeof conns.fds[0]);
		conns.count--;
		pthread_mutex_unlock(&conns.lock);
		serve(fd);
	}
}

/* ---- client side ---- */

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
		die("connect");
	return fd;
}

/* The key of request i: most exist, about one in five does not. */
static void key_of(long i, char *key, size_t size)
{
	long k = (long)(mix((uint64_t)i + 0x1234) % (NKEYS * 5 / 4));
	snprintf(key, size, "k%ld", k * 7 + 3);
}

static int response_status(const char *head, long *content_length)
{
	int status;

	if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
		return -1;
	const char *cl = strstr(head, "Content-Length: ");
	if (!cl)
		return -1;
	*content_length = atol(cl + 16);
	return status;
}

static void *client(void *arg)
{
	long id = (long)(intptr_t)arg;
	client_result *r = calloc(1, sizeof *r);
	char buf[BUF_SIZE], req[512], key[32];
	size_t have = 0;
	long sent_on_conn = 0;
	int fd = -1;

	if (!r)
		die("out of memory");
	for (long i = id; i < nrequests; i += nthreads) {
		if (fd < 0) {
			fd = connect_server();
			have = 0;
			sent_on_conn = 0;
		}
		key_of(i, key, sizeof key);
		int last = ++sent_on_conn == per_conn || i + nthreads >= nrequests;
		int len = snprintf(req, sizeof req, "GET /item/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		                   "User-Agent: loom-bench/1.0\r\nAccept: application/json, */*\r\n"
		                   "Accept-Encoding: identity\r\nAccept-Language: en\r\nCache-Control: no-cache\r\n"
		                   "X-Request-Id: %ld\r\nConnection: %s\r\n\r\n",
		                   key, i, last ? "close" : "keep-alive");
		if (write_all(fd, req, (size_t)len) < 0)
			die("write");
		long head = read_head(fd, buf, &have), clen = 0;
		if (head <= 0)
			die("read response");
		buf[head - 1] = '\0';
		int status = response_status(buf, &clen);
		if (status < 0 || clen <= 0 || clen >= BUF_SIZE)
			die("bad response");
		consume(buf, &have, (size_t)head);
		while ((long)have < clen) {
			ssize_t n = read(fd, buf + have, BUF_SIZE - 1 - have);
			if (n <= 0)
				die("read body");
			have += (size_t)n;
		}
		uint64_t h = fnv1a(mix((uint64_t)i), buf, (size_t)clen);
		r->sum += h ^ (uint64_t)status;
		if (status == 200)
			r->ok++;
		else
			r->missing++;
		consume(buf, &have, (size_t)clen);
		if (last) {
			close(fd);
			fd = -1;
		}
	}
	return r;
}

int main(int argc, char **argv)
{
	pthread_t acc, workers[MAX_THREADS], clients[MAX_THREADS];
	socklen_t alen = sizeof server_addr;
	int c, one = 1;

	while ((c = getopt(argc, argv, "t:n:k:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': nrequests = atol(optarg); break;
		case 'k': per_conn = atol(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || nrequests < 1 || per_conn < 1 || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	alarm(60);
	build_table();
	pthread_mutex_init(&conns.lock, NULL);
	pthread_cond_init(&conns.ready, NULL);

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0)
		die("socket");
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&server_addr, 0, sizeof server_addr);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_addr.sin_port = 0;
	if (bind(listen_fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0
	    || listen(listen_fd, 128) < 0
	    || getsockname(listen_fd, (struct sockaddr *)&server_addr, &alen) < 0)
		die("listen on 127.0.0.1");

	if (pthread_create(&acc, NULL, acceptor, NULL))
		die("pthread_create");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&workers[i], NULL, worker, NULL))
			die("pthread_create");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&clients[i], NULL, client, (void *)(intptr_t)i))
			die("pthread_create");

	uint64_t sum = 0;
	long ok = 0, missing = 0;
	for (long i = 0; i < nthreads; i++) {
		void *ret;
		pthread_join(clients[i], &ret);
		client_result *r = ret;
		sum += r->sum;
		ok += r->ok;
		missing += r->missing;
		free(r);
	}
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(acc, NULL);
	for (long i = 0; i < nthreads; i++)
		pthread_join(workers[i], NULL);
	close(listen_fd);

	unsigned long hits = 0;
	for (long i = 0; i < NKEYS; i++)
		hits += items[i].hits;
	free(items);
	if (hits != (unsigned long)ok) {
		fprintf(stderr, "server: %lu hits counted, %ld answered\n", hits, ok);
		return 1;
	}
	printf("server: %ld requests (%ld found, %ld not), %ld per connection, %d workers + %d clients\n",
	       nrequests, ok, missing, per_conn, nthreads, nthreads);
	printf("checksum %016llx\n", (unsigned long long)sum);
	return 0;
}
