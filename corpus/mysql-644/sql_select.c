/* MySQL bug #644 in miniature (see README.md): a SELECT scans t1 through its
 * table definition (the field count, the field array, the record layout)
 * while ALTER TABLE changes that definition under it, so the scan reads past
 * the field array or reads rows of the new layout through the old one. */
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
#define MAX_FIELDS 8
#define N_ROWS 16
#define ALTER_INTERVAL_NS 10000000L  /* an ALTER TABLE every 10 ms */
#define THINK_TIME_NS 100000L        /* a client's pause between queries */

/* Every value of t1 tells which row and column it belongs to, so a scan
 * that reads one through the wrong definition can tell. */
#define FIELD_VALUE(row, field) ((long)(row) * 100 + (field)->seed)

typedef struct Field {
	const char *field_name;
	unsigned offset;              /* of its value in a record */
	long seed;
} Field;

/* table->field; the count is the array's own, s->fields is the share's. */
typedef struct Field_array {
	unsigned count;
	Field field[MAX_FIELDS];
} Field_array;

typedef struct TABLE {
	/* Written by ALTER TABLE under LOCK_open, read by SELECT without it. */
	atomic_uint fields;
	_Atomic(const Field_array *) field;
	atomic_long record[N_ROWS][MAX_FIELDS];
} TABLE;

typedef struct THD {
	unsigned long thread_id;
	unsigned long query_id;
	unsigned long rows_sent;
} THD;

/* t1 (a, b, c) and, after ALTER TABLE t1 ADD id INT FIRST, t1 (id, a, b, c). */
static const Field_array t1_fields = { 3, {
	{ "a", 0, 1 }, { "b", 1, 2 }, { "c", 2, 3 },
} };
static const Field_array t1_fields_with_id = { 4, {
	{ "id", 0, 0 }, { "a", 1, 1 }, { "b", 2, 2 }, { "c", 3, 3 },
} };

bool read_record(THD *thd, TABLE *table, unsigned fields,
		 const Field_array *field, unsigned row, long *sum);
int mysql_select(THD *thd, TABLE *table);
int mysql_alter_table(THD *thd, TABLE *table, const Field_array *new_field);

static pthread_mutex_t LOCK_open = PTHREAD_MUTEX_INITIALIZER;
static TABLE t1;
static atomic_bool running = true;
static atomic_ulong selects, alters, bugs;
static long race_window_us;             /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes every row of TABLE in the layout of FIELD. */
static void copy_data_between_tables(TABLE *table, const Field_array *field)
{
	for (unsigned row = 0; row < N_ROWS; row++)
		for (unsigned i = 0; i < field->count; i++)
			atomic_store(&table->record[row][field->field[i].offset],
				     FIELD_VALUE(row, &field->field[i]));
}

static void report(THD *thd, const char *what, unsigned row, unsigned i,
		   unsigned count)
{
	atomic_fetch_add(&bugs, 1ul);
	printf("BUG %.6f mysql_select: query %lu of thread %lu %s (row %u, "
	       "field #%u of %u): ALTER TABLE t1 changed the table under "
	       "the scan\n", now_seconds(), thd->query_id, thd->thread_id,
	       what, row, i, count);
	fflush(stdout);
}

/* One row through the definition the scan started with.  MySQL would walk
 * off the end of the field array, or return another column's value. */
bool read_record(THD *thd, TABLE *table, unsigned fields,
		 const Field_array *field, unsigned row, long *sum)
{
	for (unsigned i = 0; i < fields; i++) {
		const Field *f = &field->field[i];
		long value;

		if (i >= field->count) {
			report(thd, "read past the field array", row, i,
			       field->count);
			return false;
		}
		value = atomic_load(&table->record[row][f->offset]);
		if (value != FIELD_VALUE(row, f)) {
			report(thd, "read another column's value", row, i,
			       field->count);
			return false;
		}
		*sum += value;
	}
	return true;
}

/* SELECT * FROM t1: the scan reads the definition once, as MySQL's open
 * table does, and then every row through it. */
int mysql_select(THD *thd, TABLE *table)
{
	unsigned fields, row;
	const Field_array *field;
	long sum = 0;
	bool ok = true;

	thd->query_id++;
	/* The scan: these lines are the region of specs/mysql-644.loom. */
	fields = atomic_load(&table->fields);
	field = atomic_load(&table->field);
	for (row = 0; row < N_ROWS && ok; row++)
		ok = read_record(thd, table, fields, field, row, &sum);
	/* Sending the result to the client needs no table. */
	thd->rows_sent += row;
	atomic_fetch_add(&selects, 1ul);
	return ok ? 0 : -1;
}

/* ALTER TABLE, changed in place: the share's field count first, then the
 * rows in the new layout, then the new field array. */
int mysql_alter_table(THD *thd, TABLE *table, const Field_array *new_field)
{
	(void)thd;
	pthread_mutex_lock(&LOCK_open);
	atomic_store(&table->fields, new_field->count);
	copy_data_between_tables(table, new_field);
	/* MySQL renamed the new table over the old one and closed the
	 * cached copies here. */
	if (race_window_us > 0)
		nanosleep(&race_window, NULL);
	atomic_store(&table->field, new_field);
	pthread_mutex_unlock(&LOCK_open);
	atomic_fetch_add(&alters, 1ul);
	return 0;
}

/* One client connection: SELECT * FROM t1, then the client's think time. */
static void *handle_one_connection(void *arg)
{
	THD thd = { .thread_id = (unsigned long)(uintptr_t)arg };
	struct timespec think = { 0, THINK_TIME_NS };

	while (atomic_load(&running)) {
		mysql_select(&thd, &t1);
		nanosleep(&think, NULL);
	}
	return NULL;
}

/* An administrator adding and dropping the column id, over and over. */
static void *alter_table(void *arg)
{
	THD thd = { .thread_id = (unsigned long)(uintptr_t)arg };
	struct timespec interval = { 0, ALTER_INTERVAL_NS };
	bool with_id = false;

	while (atomic_load(&running)) {
		nanosleep(&interval, NULL);
		with_id = !with_id;
		mysql_alter_table(&thd, &t1,
				  with_id ? &t1_fields_with_id : &t1_fields);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] mysql-644 [-t SECONDS]"
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
		fprintf(stderr, "mysql-644: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	atomic_store(&t1.fields, t1_fields.count);
	copy_data_between_tables(&t1, &t1_fields);
	atomic_store(&t1.field, &t1_fields);

	for (long i = 0; i <= nthreads; i++)
		if (pthread_create(&threads[i], NULL,
				   i < nthreads ? handle_one_connection : alter_table,
				   (void *)(uintptr_t)(i + 1))) {
			fprintf(stderr, "mysql-644: pthread_create failed\n");
			return 1;
		}

	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline)
		nanosleep(&tick, NULL);
	atomic_store(&running, false);
	for (long i = 0; i <= nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("selects %lu alters %lu bugs %lu\n", atomic_load(&selects),
	       atomic_load(&alters), atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
