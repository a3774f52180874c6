/* SPLASH-2 LU's order violation in miniature (see README.md): process 0
 * divides its perimeter block by a diagonal block that process 1 has not
 * finished factoring.  The detector looks at process 1's flag instead of
 * reading the half-factored block, so the program stays free of C data
 * races.
 *
 * Systems come as a stream.  Process 1 never waits for process 0 (systems
 * are paced by a clock and handed over without a lock), and process 0
 * looks again after it has waited: so an order filter can come in at any
 * moment (docs/filters.md, "Execution order"). */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BS 8                   /* block size */
#define NBLOCKS 2              /* the matrix is NBLOCKS x NBLOCKS blocks */
#define N (BS * NBLOCKS)
#define P 2                    /* processes */
#define PERIOD_NS 250000L      /* a new system every 250 us */

/* One system A x = b of the stream.  Blocks are row-major BS x BS. */
struct system {
	unsigned long number;
	double a[NBLOCKS][NBLOCKS][BS * BS];
	double rhs[N];
	atomic_bool diagdone;      /* process 1's SETPAUSE: block (0,0) is factored */
	_Atomic(struct system *) next;
};

struct GlobalMemory {
	pthread_mutex_t idlock;
	long id;
	pthread_mutex_t lock;      /* for the waits on the pause flags */
	pthread_cond_t done;       /* a diagdone flag was set */
	/* Systems in flight: process 1 appends, process 0 takes them in
	 * order and frees each once the next has arrived.  No lock: process
	 * 1 never waits for process 0. */
	struct system head;
	sem_t arrived;
	atomic_bool running;
	atomic_ulong systems, bugs;
};

void *SlaveStart(void *arg);
void lu(struct system *s, long MyNum);
void lu0(double *a, bool slow);
void bdiv(const double *a, double *b);
void bmodd(const double *a, double *c);
void bmod(const double *a, const double *b, double *c);
void InitA(struct system *s);

static struct GlobalMemory global = {
	.idlock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.running = true,
};
static struct GlobalMemory *Global = &global;
static long race_window_us;        /* both set before any thread starts */
static struct timespec race_window;

static double seconds_of(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return seconds_of(&ts);
}

/* Which process owns block (I, J).  SPLASH-2 scatters the blocks over a
 * grid of processes; here process 1 owns the first diagonal block and
 * process 0 the rest, so process 1 never needs anything of process 0. */
static long BlockOwner(long I, long J)
{
	return I == 0 && J == 0;
}

/* A random matrix with a heavy diagonal (no pivoting needed), and b = A*1. */
void InitA(struct system *s)
{
	unsigned long seed = s->number * 2654435761ul + 1;

	for (long i = 0; i < N; i++) {
		double sum = 0;

		for (long j = 0; j < N; j++) {
			double *e = &s->a[i / BS][j / BS][(i % BS) * BS + j % BS];

			seed = seed * 6364136223846793005ul + 1442695040888963407ul;
			*e = (double)(seed >> 11) / (double)(1ul << 53) - 0.5;
			if (i == j)
				*e += N;
			sum += *e;
		}
		s->rhs[i] = sum;
	}
}

/* Factors a diagonal block in place: unit lower L below, U on and above. */
void lu0(double *a, bool slow)
{
	for (long k = 0; k < BS; k++) {
		/* Process 1 is slower than process 0 at its block. */
		if (slow && k == BS / 2 && race_window_us > 0)
			nanosleep(&race_window, NULL);
		for (long i = k + 1; i < BS; i++) {
			a[i * BS + k] /= a[k * BS + k];
			for (long j = k + 1; j < BS; j++)
				a[i * BS + j] -= a[i * BS + k] * a[k * BS + j];
		}
	}
}

/* A block below the diagonal block A: b = b * U^-1. */
void bdiv(const double *a, double *b)
{
	for (long r = 0; r < BS; r++)
		for (long k = 0; k < BS; k++) {
			b[r * BS + k] /= a[k * BS + k];
			for (long j = k + 1; j < BS; j++)
				b[r * BS + j] -= b[r * BS + k] * a[k * BS + j];
		}
}

/* A block right of the diagonal block A: c = L^-1 * c. */
void bmodd(const double *a, double *c)
{
	for (long k = 0; k < BS; k++)
		for (long i = k + 1; i < BS; i++)
			for (long j = 0; j < BS; j++)
				c[i * BS + j] -= a[i * BS + k] * c[k * BS + j];
}

/* An interior block: c -= a * b. */
void bmod(const double *a, const double *b, double *c)
{
	for (long i = 0; i < BS; i++)
		for (long k = 0; k < BS; k++)
			for (long j = 0; j < BS; j++)
				c[i * BS + j] -= a[i * BS + k] * b[k * BS + j];
}

/* Process 1's share of a system: the first diagonal block, then SETPAUSE.
 * Static and called from one place, so that with loom-rewrite's hybrid
 * copies process 1 pauses for an update only between systems, never while
 * process 0 waits for its flag. */
static void SlaveSystem(struct system *s, long MyNum)
{
	if (BlockOwner(0, 0) == MyNum)
		lu0(s->a[0][0], true);
	pthread_mutex_lock(&Global->lock);
	atomic_store(&s->diagdone, true);
	pthread_cond_broadcast(&Global->done);
	pthread_mutex_unlock(&Global->lock);
}

/* Process 0's share: every phase of every step after the first diagonal
 * block.  SPLASH-2 puts a barrier between lu0 and the perimeter phase;
 * here process 0 goes on without waiting for process 1.  Not static, so
 * that its callers may pause while they wait for a system. */
void lu(struct system *s, long MyNum)
{
	struct timespec seen;
	bool ready;

	if (BlockOwner(1, 0) != MyNum)
		return;
again:
	/* The perimeter phase starts on the diagonal block of process 1.
	 * Rather than divide by a half-factored block, the detector looks at
	 * process 1's flag, and notes when, before anything else can happen. */
	ready = atomic_load(&s->diagdone);
	clock_gettime(CLOCK_MONOTONIC, &seen);
	if (!ready) {
		atomic_fetch_add(&Global->bugs, 1ul);
		printf("BUG %.6f lu: process 0 reached bdiv of system %lu "
		       "before process 1 factored diagonal block (0,0)\n",
		       seconds_of(&seen), s->number);
		fflush(stdout);
		/* WAITPAUSE, then the division again. */
		pthread_mutex_lock(&Global->lock);
		while (!atomic_load(&s->diagdone))
			pthread_cond_wait(&Global->done, &Global->lock);
		pthread_mutex_unlock(&Global->lock);
		goto again;
	}
	bdiv(s->a[0][0], s->a[1][0]);
	bmodd(s->a[0][0], s->a[0][1]);
	bmod(s->a[1][0], s->a[0][1], s->a[1][1]);
	lu0(s->a[1][1], false);
}

/* Solves with the factors; the solution must be all ones. */
static void CheckResult(const struct system *s)
{
	double x[N];

	for (long i = 0; i < N; i++) {
		x[i] = s->rhs[i];
		for (long j = 0; j < i; j++)
			x[i] -= s->a[i / BS][j / BS][(i % BS) * BS + j % BS] * x[j];
	}
	for (long i = N - 1; i >= 0; i--) {
		for (long j = i + 1; j < N; j++)
			x[i] -= s->a[i / BS][j / BS][(i % BS) * BS + j % BS] * x[j];
		x[i] /= s->a[i / BS][i / BS][(i % BS) * BS + i % BS];
		if (fabs(x[i] - 1) > 1e-9) {
			fprintf(stderr, "lu: system %lu: wrong solution x[%ld] = %g\n",
				s->number, i, x[i]);
			exit(1);
		}
	}
}

/* Process 1: the systems arrive on it; it never waits for process 0. */
void *SlaveStart(void *arg)
{
	struct system *last = &Global->head;
	struct timespec next;
	long MyNum;

	(void)arg;
	pthread_mutex_lock(&Global->idlock);
	MyNum = Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long n = 1; atomic_load(&Global->running); n++) {
		struct system *s = calloc(1, sizeof *s);

		if (!s)
			abort();
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		s->number = n;
		InitA(s);
		atomic_store(&last->next, s);
		last = s;
		sem_post(&Global->arrived);
		SlaveSystem(s, MyNum);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] splash2-lu [-t SECONDS] [-h]\n");
	return status;
}

int main(int argc, char **argv)
{
	double seconds = -1, deadline;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	struct system *s = &Global->head;
	pthread_t slave;
	long us = 0, MyNum;
	int opt;

	while ((opt = getopt(argc, argv, "t:h")) != -1) {
		if (opt == 'h')
			return usage(stdout, 0);
		if (opt == 't' && (seconds = strtod(optarg, &end)) > 0 &&
		    end != optarg && !*end)
			continue;
		return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (env && *env && ((us = strtol(env, &end, 10)) < 0 || *end)) {
		fprintf(stderr, "splash2-lu: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_init(&Global->arrived, 0, 0);

	/* Main is process 0, as in SPLASH-2. */
	pthread_mutex_lock(&Global->idlock);
	MyNum = Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	if (pthread_create(&slave, NULL, SlaveStart, NULL)) {
		fprintf(stderr, "splash2-lu: pthread_create failed\n");
		return 1;
	}
	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline) {
		struct system *done = s;

		while (sem_wait(&Global->arrived))
			;
		s = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
		lu(s, MyNum);
		CheckResult(s);
		atomic_fetch_add(&Global->systems, 1ul);
	}
	atomic_store(&Global->running, false);
	pthread_join(slave, NULL);
	while (s) {
		struct system *done = s;

		s = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
	}
	printf("systems %lu bugs %lu\n", atomic_load(&Global->systems),
	       atomic_load(&Global->bugs));
	fflush(stdout);
	return 0;
}
