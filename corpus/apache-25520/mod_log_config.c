/* Apache bug #25520 in miniature (see README.md): with BufferedLogs on,
 * mod_log_config's ap_buffered_log_writer appends each request's log line
 * to one buffer per log file, shared by every thread of the process, without
 * a lock: two threads that append at once copy their lines to the same place
 * and garble the access log, or lose a line. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define LOG_BUFSIZE 512
/* Room for the lines of racing writers that all passed the "room left?"
 * check at once; a copy that would go further is reported instead. */
#define OUTBUF_CAPACITY (2 * LOG_BUFSIZE)
#define MAX_ITEMS 8
#define ITEM_LEN 64
#define THINK_TIME_NS 100000L     /* between two requests of a thread */

typedef int apr_status_t;
#define APR_SUCCESS 0
#define APR_ENOSPC 28

/* The access log file: what reached it. */
typedef struct apr_file_t {
	atomic_ulong bytes, lines;
} apr_file_t;

typedef struct buffered_log {
	apr_file_t *handle;
	atomic_size_t outcnt;
	atomic_char outbuf[OUTBUF_CAPACITY];
} buffered_log;

typedef struct request_rec {
	int thread;
	unsigned long number;
	char items[MAX_ITEMS][ITEM_LEN];  /* the formatted %h, %t, %r, ... */
} request_rec;

typedef apr_status_t ap_log_writer(request_rec *r, void *handle,
				   const char **strs, int *strl, int nelts,
				   size_t len);

typedef struct config_log_state {
	ap_log_writer *log_writer;
	void *log_writer_handle;
} config_log_state;

void flush_log(buffered_log *buf);
apr_status_t ap_buffered_log_writer(request_rec *r, void *handle,
				    const char **strs, int *strl, int nelts,
				    size_t len);
int config_log_transaction(request_rec *r, config_log_state *cls);

static apr_file_t access_log;
static buffered_log access_log_buffer = { .handle = &access_log };
/* BufferedLogs On: every thread of the child logs through one buffer. */
static config_log_state access_log_config = {
	.log_writer = ap_buffered_log_writer,
	.log_writer_handle = &access_log_buffer,
};
static atomic_bool running = true;
static atomic_ulong requests, bugs;
static long race_window_us;             /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static apr_status_t apr_file_write(apr_file_t *file, const atomic_char *buf,
				   size_t *nbytes)
{
	unsigned long lines = 0;

	for (size_t i = 0; i < *nbytes; i++)
		lines += atomic_load(&buf[i]) == '\n';
	atomic_fetch_add(&file->bytes, *nbytes);
	atomic_fetch_add(&file->lines, lines);
	return APR_SUCCESS;
}

void flush_log(buffered_log *buf)
{
	size_t n = atomic_load(&buf->outcnt);

	if (n > OUTBUF_CAPACITY)
		n = OUTBUF_CAPACITY;
	if (n)
		apr_file_write(buf->handle, buf->outbuf, &n);
	atomic_store(&buf->outcnt, 0);
}

static void report(request_rec *r, const char *what, size_t start, size_t now)
{
	atomic_fetch_add(&bugs, 1ul);
	printf("BUG %.6f ap_buffered_log_writer: the log line of request %lu "
	       "of thread %d %s (its offset %zu, outcnt now %zu): the access "
	       "log is garbled\n", now_seconds(), r->number, r->thread, what,
	       start, now);
	fflush(stdout);
}

/* Whether the buffer holds the line made of STRS at START. */
static bool line_intact(buffered_log *buf, size_t start, const char **strs,
			const int *strl, int nelts)
{
	size_t s = start;

	for (int i = 0; i < nelts; i++)
		for (int k = 0; k < strl[i]; k++)
			if (atomic_load(&buf->outbuf[s++]) != strs[i][k])
				return false;
	return true;
}

/* The writer of BufferedLogs: flush if the line does not fit, copy it to
 * the end of the buffer, advance the end.  Nothing keeps another thread
 * from doing the same meanwhile. */
apr_status_t ap_buffered_log_writer(request_rec *r, void *handle,
				    const char **strs, int *strl, int nelts,
				    size_t len)
{
	buffered_log *buf = handle;
	size_t start, s, now;
	int i;

	if (len + atomic_load(&buf->outcnt) > LOG_BUFSIZE)
		flush_log(buf);
	start = s = atomic_load(&buf->outcnt);
	if (start + len > OUTBUF_CAPACITY) {
		report(r, "would run past the end of the buffer", start, start);
		return APR_ENOSPC;
	}
	for (i = 0; i < nelts; ++i) {
		for (int k = 0; k < strl[i]; k++)
			atomic_store(&buf->outbuf[s + k], strs[i][k]);
		s += strl[i];
	}
	if (race_window_us > 0)
		nanosleep(&race_window, NULL);
	/* buf->outcnt += len, as a load and a store */
	now = atomic_load(&buf->outcnt);
	atomic_store(&buf->outcnt, now + len);

	if (!line_intact(buf, start, strs, strl, nelts))
		report(r, "was overwritten by another thread's line", start, now);
	else if (now != start)
		report(r, "was copied while another thread moved the end of "
		       "the buffer", start, now);
	return APR_SUCCESS;
}

/* The common log format, "%h %l %u %t \"%r\" %>s %b", one item at a time;
 * the pieces go to the writer together. */
int config_log_transaction(request_rec *r, config_log_state *cls)
{
	const char *strs[MAX_ITEMS];
	int strl[MAX_ITEMS];
	size_t len = 0;
	int n = 0;

	snprintf(r->items[n++], ITEM_LEN, "10.0.%d.%lu", r->thread,
		 r->number % 250 + 1);
	snprintf(r->items[n++], ITEM_LEN, " - - ");
	snprintf(r->items[n++], ITEM_LEN, "[14/Dec/2003:10:%02lu:%02lu +0000]",
		 r->number / 60 % 60, r->number % 60);
	snprintf(r->items[n++], ITEM_LEN, " \"GET /t%d/page%lu.html HTTP/1.1\" ",
		 r->thread, r->number);
	snprintf(r->items[n++], ITEM_LEN, "200");
	snprintf(r->items[n++], ITEM_LEN, " %lu\n", 1000 + r->number % 9000);
	for (int i = 0; i < n; i++) {
		strs[i] = r->items[i];
		strl[i] = (int)strlen(r->items[i]);
		len += (size_t)strl[i];
	}
	return cls->log_writer(r, cls->log_writer_handle, strs, strl, n, len);
}

/* A worker thread of the worker MPM: a request, then its log line. */
static void *worker_thread(void *arg)
{
	request_rec r = { .thread = (int)(intptr_t)arg };
	struct timespec think = { 0, THINK_TIME_NS };

	while (atomic_load(&running)) {
		r.number++;
		config_log_transaction(&r, &access_log_config);
		atomic_fetch_add(&requests, 1ul);
		nanosleep(&think, NULL);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] apache-25520 [-t SECONDS]"
		" [-n THREADS (1..%d, default 4)] [-h]\n", MAX_THREADS);
	return status;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	struct timespec tick = { 0, 50000000L };
	double seconds = -1, deadline;
	long nthreads = 4, us = 0;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:h")) != -1) {
		if (opt == 'h')
			return usage(stdout, 0);
		if (opt == 't' && (seconds = strtod(optarg, &end)) > 0 &&
		    end != optarg && !*end)
			continue;
		if (opt == 'n' && (nthreads = strtol(optarg, &end, 10)) >= 1 &&
		    nthreads <= MAX_THREADS && end != optarg && !*end)
			continue;
		return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (env && *env && ((us = strtol(env, &end, 10)) < 0 || *end)) {
		fprintf(stderr, "apache-25520: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker_thread,
				   (void *)(intptr_t)(i + 1))) {
			fprintf(stderr, "apache-25520: pthread_create failed\n");
			return 1;
		}

	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline)
		nanosleep(&tick, NULL);
	atomic_store(&running, false);
	for (long i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	flush_log(&access_log_buffer);
	printf("requests %lu lines logged %lu bugs %lu\n",
	       atomic_load(&requests), atomic_load(&access_log.lines),
	       atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
