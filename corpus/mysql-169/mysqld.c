/* MySQL bug #169 in miniature (see README.md): mysql_delete and mysql_insert
 * change the table under its lock but write their binlog event after
 * releasing it, so a delete and an insert can reach the binlog in the other
 * order than they reached the table, and replicas replay them that way. */
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
#define N_KEYS 4                  /* few keys: inserts and deletes meet */
#define THINK_TIME_NS 100000L     /* a client's pause between queries */
#define QUERY_LEN 48

enum enum_sql_command { SQLCOM_INSERT, SQLCOM_DELETE };

/* A statement as the binlog records it.  table_change is not part of the
 * real event: it is the statement's place in t1's history, which the
 * detector compares with its place in the binlog. */
typedef struct Query_log_event {
	enum enum_sql_command command;
	int key;
	unsigned long thread_id;
	unsigned long table_change;
} Query_log_event;

typedef struct MYSQL_LOG {
	pthread_mutex_t LOCK_log;
	atomic_bool open;
	/* Under LOCK_log: */
	unsigned long events;
	Query_log_event latest;       /* of the latest table change logged */
} MYSQL_LOG;

/* t1 (a INT PRIMARY KEY): which keys it holds. */
typedef struct TABLE {
	pthread_mutex_t lock;         /* stands for the table's THR_LOCK */
	bool row[N_KEYS];             /* row, changes: under lock */
	unsigned long changes;
} TABLE;

typedef struct THD {
	unsigned long thread_id;
	unsigned long query_id;
} THD;

bool mysql_log_is_open(MYSQL_LOG *log);
bool mysql_log_write(MYSQL_LOG *log, const Query_log_event *ev);
bool mysql_delete(THD *thd, TABLE *table, int key);
bool mysql_insert(THD *thd, TABLE *table, int key);

static MYSQL_LOG mysql_bin_log = { .LOCK_log = PTHREAD_MUTEX_INITIALIZER,
				   .open = true };
static TABLE t1 = { .lock = PTHREAD_MUTEX_INITIALIZER };
static atomic_bool running = true;
static atomic_ulong statements, bugs;
static long race_window_us;             /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *query_text(const Query_log_event *ev, char *buf, size_t size)
{
	if (ev->command == SQLCOM_DELETE)
		snprintf(buf, size, "DELETE FROM t1 WHERE a=%d", ev->key);
	else
		snprintf(buf, size, "INSERT INTO t1 VALUES (%d)", ev->key);
	return buf;
}

bool mysql_log_is_open(MYSQL_LOG *log)
{
	return atomic_load(&log->open);
}

/* MYSQL_LOG::write.  Statement-based replication replays the binlog in its
 * own order, so that order must be the order of the table changes: an event
 * whose change is older than one already logged has been overtaken. */
bool mysql_log_write(MYSQL_LOG *log, const Query_log_event *ev)
{
	char late[QUERY_LEN], early[QUERY_LEN];

	pthread_mutex_lock(&log->LOCK_log);
	if (log->events && ev->table_change < log->latest.table_change) {
		atomic_fetch_add(&bugs, 1ul);
		printf("BUG %.6f MYSQL_LOG::write: '%s' (change #%lu of t1, "
		       "thread %lu) logged after '%s' (change #%lu, thread "
		       "%lu): replicas replay them in the wrong order\n",
		       now_seconds(), query_text(ev, late, sizeof late),
		       ev->table_change, ev->thread_id,
		       query_text(&log->latest, early, sizeof early),
		       log->latest.table_change, log->latest.thread_id);
		fflush(stdout);
	} else {
		log->latest = *ev;
	}
	log->events++;
	pthread_mutex_unlock(&log->LOCK_log);
	return true;
}

/* DELETE FROM t1 WHERE a=key.  The row goes under the table lock, which is
 * released before the binlog write: the bug. */
bool mysql_delete(THD *thd, TABLE *table, int key)
{
	Query_log_event qinfo = {
		.command = SQLCOM_DELETE,
		.key = key,
		.thread_id = thd->thread_id,
	};
	bool deleted;

	pthread_mutex_lock(&table->lock);
	deleted = table->row[key];
	table->row[key] = false;
	if (deleted)
		qinfo.table_change = ++table->changes;
	pthread_mutex_unlock(&table->lock);

	if (deleted) {
		/* MySQL ended the statement here (end_read_record, query
		 * cache invalidation) before logging it. */
		if (race_window_us > 0)
			nanosleep(&race_window, NULL);
		if (mysql_log_is_open(&mysql_bin_log))
			mysql_log_write(&mysql_bin_log, &qinfo);
	}
	return deleted;
}

/* INSERT INTO t1 VALUES (key): the same shape as mysql_delete. */
bool mysql_insert(THD *thd, TABLE *table, int key)
{
	Query_log_event qinfo = {
		.command = SQLCOM_INSERT,
		.key = key,
		.thread_id = thd->thread_id,
	};
	bool inserted;

	pthread_mutex_lock(&table->lock);
	inserted = !table->row[key];
	table->row[key] = true;
	if (inserted)
		qinfo.table_change = ++table->changes;
	pthread_mutex_unlock(&table->lock);

	if (inserted && mysql_log_is_open(&mysql_bin_log))
		mysql_log_write(&mysql_bin_log, &qinfo);
	return inserted;
}

/* One client connection: odd threads insert, even ones delete, each going
 * round the keys, with the client's think time between statements. */
static void *handle_one_connection(void *arg)
{
	THD thd = { .thread_id = (unsigned long)(uintptr_t)arg };
	struct timespec think = { 0, THINK_TIME_NS };

	while (atomic_load(&running)) {
		int key = (int)(thd.query_id++ % N_KEYS);

		if (thd.thread_id % 2)
			mysql_insert(&thd, &t1, key);
		else
			mysql_delete(&thd, &t1, key);
		atomic_fetch_add(&statements, 1ul);
		nanosleep(&think, NULL);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] mysql-169 [-t SECONDS]"
		" [-n THREADS (2..%d, default 4)] [-h]\n", MAX_THREADS);
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
		if (opt == 'n' && (nthreads = strtol(optarg, &end, 10)) >= 2 &&
		    nthreads <= MAX_THREADS && end != optarg && !*end)
			continue;
		return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (env && *env && ((us = strtol(env, &end, 10)) < 0 || *end)) {
		fprintf(stderr, "mysql-169: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, handle_one_connection,
				   (void *)(uintptr_t)(i + 1))) {
			fprintf(stderr, "mysql-169: pthread_create failed\n");
			return 1;
		}

	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline)
		nanosleep(&tick, NULL);
	atomic_store(&running, false);
	for (long i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("statements %lu binlog events %lu bugs %lu\n",
	       atomic_load(&statements), mysql_bin_log.events,
	       atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
