/* MySQL bug #791 in miniature (see README.md): FLUSH LOGS rotates the binary
 * log, closing the current file and opening the next, while an insert is
 * being logged; MYSQL_LOG::write finds the log closed and skips the event, so
 * the row is in the table but not in the binlog. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define FN_REFLEN 64
#define BINLOG_MAGIC_LEN 4
#define FLUSH_LOGS_INTERVAL_NS 10000000L  /* a FLUSH LOGS every 10 ms */
#define THINK_TIME_NS 100000L             /* a client's pause between queries */

enum enum_log_type { LOG_CLOSED, LOG_BIN };

/* INSERT INTO t1 VALUES (value), as the binlog records it. */
typedef struct Query_log_event {
	unsigned long thread_id;
	unsigned long query_id;
	long value;
} Query_log_event;

typedef struct MYSQL_LOG {
	pthread_mutex_t LOCK_log;
	atomic_int log_type;          /* is_open() reads it without LOCK_log */
	atomic_ulong file_no;         /* written under LOCK_log */
	/* Under LOCK_log: */
	char log_file_name[FN_REFLEN];
	unsigned long bytes_written;  /* to the current file */
	unsigned long events;         /* to all files */
} MYSQL_LOG;

typedef struct TABLE {
	pthread_mutex_t lock;         /* stands for the table's THR_LOCK */
	unsigned long records;        /* records, checksum: under lock */
	long checksum;
} TABLE;

typedef struct THD {
	unsigned long thread_id;
	unsigned long query_id;
} THD;

bool mysql_log_is_open(MYSQL_LOG *log);
void mysql_log_open(MYSQL_LOG *log);
void mysql_log_close(MYSQL_LOG *log);
void mysql_log_new_file(MYSQL_LOG *log);
bool mysql_log_write(MYSQL_LOG *log, const Query_log_event *ev);
int mysql_insert(THD *thd, TABLE *table, long value);

static MYSQL_LOG mysql_bin_log = { .LOCK_log = PTHREAD_MUTEX_INITIALIZER };
static TABLE t1 = { .lock = PTHREAD_MUTEX_INITIALIZER };
static const bool opt_bin_log = true;   /* the server runs with --log-bin */
static atomic_bool running = true;
static atomic_ulong inserts, logged, bugs, rotations;
static long race_window_us;             /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool mysql_log_is_open(MYSQL_LOG *log)
{
	return atomic_load(&log->log_type) != LOG_CLOSED;
}

/* The caller holds LOCK_log. */
void mysql_log_open(MYSQL_LOG *log)
{
	unsigned long no = atomic_load(&log->file_no) + 1;

	snprintf(log->log_file_name, sizeof log->log_file_name,
		 "binlog.%06lu", no);
	log->bytes_written = BINLOG_MAGIC_LEN;
	atomic_store(&log->file_no, no);
	atomic_store(&log->log_type, LOG_BIN);
}

/* The caller holds LOCK_log. */
void mysql_log_close(MYSQL_LOG *log)
{
	atomic_store(&log->log_type, LOG_CLOSED);
	log->bytes_written = 0;
}

/* MYSQL_LOG::new_file: close the current file, open the next.  LOCK_log is
 * held throughout, which stops writers that already found the log open, but
 * not the open check itself (see mysql_log_write). */
void mysql_log_new_file(MYSQL_LOG *log)
{
	if (!mysql_log_is_open(log))
		return;
	pthread_mutex_lock(&log->LOCK_log);
	mysql_log_close(log);
	/* MySQL computed the next file name and rewrote the index file here. */
	if (race_window_us > 0)
		nanosleep(&race_window, NULL);
	mysql_log_open(log);
	pthread_mutex_unlock(&log->LOCK_log);
	atomic_fetch_add(&rotations, 1ul);
}

/* MYSQL_LOG::write: a closed log means logging is off, and the event is
 * skipped.  That check runs before LOCK_log is taken. */
bool mysql_log_write(MYSQL_LOG *log, const Query_log_event *ev)
{
	if (!mysql_log_is_open(log)) {
		/* With --log-bin only new_file closes the log, for the moment
		 * between its close and open: the insert is lost to the
		 * binlog, and to every replica and point-in-time recovery. */
		if (opt_bin_log) {
			atomic_fetch_add(&bugs, 1ul);
			printf("BUG %.6f MYSQL_LOG::write: insert %lu of thread %lu "
			       "not logged: new_file closed binlog.%06lu and has "
			       "not opened the next one yet\n", now_seconds(),
			       ev->query_id, ev->thread_id,
			       atomic_load(&log->file_no));
			fflush(stdout);
		}
		return false;
	}
	pthread_mutex_lock(&log->LOCK_log);
	log->bytes_written += sizeof *ev;
	log->events++;
	pthread_mutex_unlock(&log->LOCK_log);
	return true;
}

/* The table change comes first, under the table lock; the binlog write
 * follows once the row is in. */
int mysql_insert(THD *thd, TABLE *table, long value)
{
	Query_log_event qinfo = {
		.thread_id = thd->thread_id,
		.query_id = ++thd->query_id,
		.value = value,
	};

	pthread_mutex_lock(&table->lock);
	table->records++;
	table->checksum += value;
	pthread_mutex_unlock(&table->lock);
	atomic_fetch_add(&inserts, 1ul);
	if (mysql_log_write(&mysql_bin_log, &qinfo))
		atomic_fetch_add(&logged, 1ul);
	return 0;
}

/* One client connection: an INSERT, then the client's think time. */
static void *handle_one_connection(void *arg)
{
	THD thd = { .thread_id = (unsigned long)(uintptr_t)arg };
	struct timespec think = { 0, THINK_TIME_NS };

	while (atomic_load(&running)) {
		mysql_insert(&thd, &t1, (long)(thd.thread_id * 1000 + thd.query_id));
		nanosleep(&think, NULL);
	}
	return NULL;
}

/* An administrator's FLUSH LOGS, over and over (reload_acl_and_cache with
 * REFRESH_LOG in MySQL). */
static void *flush_logs(void *arg)
{
	struct timespec interval = { 0, FLUSH_LOGS_INTERVAL_NS };

	(void)arg;
	while (atomic_load(&running)) {
		nanosleep(&interval, NULL);
		mysql_log_new_file(&mysql_bin_log);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] mysql-791 [-t SECONDS]"
		" [-n THREADS (1..%d, default 4)] [-h]\n", MAX_THREADS);
	return status;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS + 1];
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
		fprintf(stderr, "mysql-791: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	pthread_mutex_lock(&mysql_bin_log.LOCK_log);
	mysql_log_open(&mysql_bin_log);
	pthread_mutex_unlock(&mysql_bin_log.LOCK_log);

	for (long i = 0; i <= nthreads; i++)
		if (pthread_create(&threads[i], NULL,
				   i < nthreads ? handle_one_connection : flush_logs,
				   (void *)(uintptr_t)(i + 1))) {
			fprintf(stderr, "mysql-791: pthread_create failed\n");
			return 1;
		}

	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline)
		nanosleep(&tick, NULL);
	atomic_store(&running, false);
	for (long i = 0; i <= nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("inserts %lu logged %lu rotations %lu bugs %lu\n",
	       atomic_load(&inserts), atomic_load(&logged),
	       atomic_load(&rotations), atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
