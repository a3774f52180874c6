/* latency: busy threads to push filters into (bench/run measures how long
 * `loom push` and `loom pop` take while they run).
 *
 * Each worker loops over a small simulated request, as a server's worker
 * would: it builds a record from its own generator (make_record), hashes
 * its fields (digest, mix), and accounts the result in a table shared by
 * all threads (account).  The loop makes a C call every few dozen
 * instructions, so threads pass pause points about as often as call-heavy
 * code does.  account() updates the shared table without a lock: the race
 * that bench/run's filter `account <> self` excludes while it is installed.
 *
 * The program prints "ready" once every worker has run, then runs until its
 * standard input reaches end of file (bench/run closes it), and prints one
 * summary line with the iterations done.  There is no checksum: the counts
 * depend on the time the program ran. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define NFIELDS 6
#define TABLE 1024

struct record {
	uint64_t id;
	uint32_t size;
	char fields[NFIELDS][24];
};

struct worker {
	pthread_t thread;
	uint64_t seed;
	long iterations;
	char pad[48]; /* one cache line per worker */
};

static int nthreads = 1; /* -t */
static struct worker workers[MAX_THREADS];
static atomic_int stop, started;
static uint64_t table_sum[TABLE];
static long table_count[TABLE];

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS]   (runs until standard input is closed)\n", prog);
	exit(2);
}

static uint64_t next(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static uint64_t mix(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* At file scope: a static local would keep the function's hooks inline
 * (bench/README.md, exclusion -s), and they run whenever a filter is in. */
static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static void make_field(char *out, uint64_t x)
{
	int n = 8 + (int)(x % 12);

	for (int i = 0; i < n; i++) {
		out[i] = digits[x % 36];
		x /= 36;
		if (!x)
			x = 0x9e3779b97f4a7c15ull;
	}
	out[n] = '\0';
}

static uint64_t make_record(struct record *r, uint64_t x)
{
	r->id = x;
	r->size = (uint32_t)(x >> 40);
	for (int f = 0; f < NFIELDS; f++) {
		x = next(x);
		make_field(r->fields[f], x);
	}
	return x;
}

static uint64_t digest(const struct record *r)
{
	uint64_t h = 0xcbf29ce484222325ull ^ r->id;

	for (int f = 0; f < NFIELDS; f++)
		h = mix(h, r->fields[f], strlen(r->fields[f]));
	return h;
}

/* The shared state: racy without a filter (two read-modify-writes). */
void account(uint64_t h, uint32_t size)
{
	unsigned slot = (unsigned)(h % TABLE);

	table_sum[slot] += size;
	table_count[slot]++;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t x = w->seed;
	struct record r;

	atomic_fetch_add(&started, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		x = make_record(&r, x);
		account(digest(&r), r.size);
		w->iterations++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int c;
	long total = 0, least = -1, most = 0;

	while ((c = getopt(argc, argv, "t:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	for (int i = 0; i < nthreads; i++) {
		workers[i].seed = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		if (pthread_create(&workers[i].thread, NULL, work, &workers[i])) {
			fprintf(stderr, "latency: cannot create thread\n");
			return 1;
		}
	}
	while (atomic_load(&started) < nthreads)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	printf("ready\n");
	fflush(stdout);
	while (getchar() != EOF)
		;
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(workers[i].thread, NULL);
		total += workers[i].iterations;
		if (least < 0 || workers[i].iterations < least)
			least = workers[i].iterations;
		if (workers[i].iterations > most)
			most = workers[i].iterations;
	}
	printf("latency: %d threads, %ld iterations (per thread %ld..%ld)\n", nthreads, total, least, most);
	return 0;
}
