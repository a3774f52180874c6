/* SPLASH-2 Barnes' order violation in miniature (see README.md): process 0
 * walks the tree for the forces before process 1 has computed the cells'
 * masses and centers of mass.  The detector looks at the root's Done flag
 * instead of reading a mass that is not there yet, so the program stays
 * free of C data races.
 *
 * Time steps come as a stream.  Process 1 never waits for process 0 (steps
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

#define NDIM 3
#define NSUB (1 << NDIM)       /* subcells per cell */
#define NBODY 64               /* bodies, one per cube of a 4x4x4 grid */
#define MAXCELL 512
#define TOL 1.0                /* opening angle */
#define EPS 0.05               /* potential softening */
#define PERIOD_NS 250000L      /* a new set of bodies every 250 us */

enum { BODY, CELL };

/* What bodies and cells share, first in both (SPLASH-2's NODE). */
struct node {
	int type;
	double mass;
	double pos[NDIM];          /* of a cell: its center of mass */
};

struct body {
	struct node n;
	double acc[NDIM];
	double phi;
};

struct cell {
	struct node n;
	double center[NDIM];       /* of the cube the cell covers */
	double half;               /* half its side */
	atomic_bool done;          /* Done(q): hackcofm has set mass and pos */
	struct node *subp[NSUB];
};

/* One time step of the stream: the bodies, and the tree process 1 builds. */
struct step {
	unsigned long number;
	struct body bodies[NBODY];
	struct cell cells[MAXCELL];
	long ncell;
	struct cell *G_root;
	atomic_bool treedone;      /* process 1's SETPAUSE: hackcofm is over */
	_Atomic(struct step *) next;
};

struct GlobalMemory {
	pthread_mutex_t idlock;
	long id;
	pthread_mutex_t lock;      /* for the waits on the pause flags */
	pthread_cond_t done;       /* a treedone flag was set */
	/* Steps in flight: process 1 appends, process 0 takes them in order
	 * and frees each once the next has arrived.  No lock: process 1
	 * never waits for process 0. */
	struct step head;
	sem_t arrived;
	atomic_bool running;
	atomic_ulong steps, bugs;
};

void *SlaveStart(void *arg);
void stepsystem(struct step *st, long ProcessId);
void maketree(struct step *st);
void loadtree(struct step *st, struct body *p);
void hackcofm(struct step *st);
void computeforces(struct step *st);
void hackgrav(struct body *p, struct node *q);
void initbodies(struct step *st);

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

static double uniform(unsigned long *seed)
{
	*seed = *seed * 6364136223846793005ul + 1442695040888963407ul;
	return (double)(*seed >> 11) / (double)(1ul << 53);
}

/* One body in each cube of a 4x4x4 grid over [-1, 1)^3, at a random place
 * in its middle half, and the grid shifted at random: no two bodies closer
 * than 0.25, so the tree stays shallow, but its shape changes. */
void initbodies(struct step *st)
{
	unsigned long seed = st->number * 2654435761ul + 7;
	double shift[NDIM];

	for (int k = 0; k < NDIM; k++)
		shift[k] = 0.5 * uniform(&seed) - 0.25;
	for (long i = 0; i < NBODY; i++) {
		struct body *p = &st->bodies[i];

		p->n.type = BODY;
		p->n.mass = 1.0 / NBODY;
		for (int k = 0; k < NDIM; k++)
			p->n.pos[k] = -1 + 0.5 * (i >> (2 * k) & 3) + 0.125 +
				      0.25 * uniform(&seed) + shift[k];
	}
}

static struct cell *makecell(struct step *st, const struct cell *parent, int index)
{
	struct cell *c;

	if (st->ncell == MAXCELL)
		abort();
	c = &st->cells[st->ncell++];
	c->n.type = CELL;
	if (!parent) {
		c->half = 1.5;         /* the bodies are inside [-1.25, 1.25)^3 */
		return c;
	}
	c->half = parent->half / 2;
	for (int k = 0; k < NDIM; k++)
		c->center[k] = parent->center[k] + (index >> k & 1 ? c->half : -c->half);
	return c;
}

static int subindex(const struct cell *c, const double *pos)
{
	int index = 0;

	for (int k = 0; k < NDIM; k++)
		if (pos[k] >= c->center[k])
			index |= 1 << k;
	return index;
}

/* Puts body P into the tree, splitting a leaf into a cell when two bodies
 * meet in it. */
void loadtree(struct step *st, struct body *p)
{
	struct cell *c = st->G_root;

	for (;;) {
		int i = subindex(c, p->n.pos);
		struct node *q = c->subp[i];
		struct cell *sub;

		if (!q) {
			c->subp[i] = &p->n;
			return;
		}
		if (q->type == CELL) {
			c = (struct cell *)q;
			continue;
		}
		sub = makecell(st, c, i);
		sub->subp[subindex(sub, q->pos)] = q;
		c->subp[i] = &sub->n;
		c = sub;
	}
}

/* The tree's structure: the cells and where every body hangs. */
void maketree(struct step *st)
{
	st->G_root = makecell(st, NULL, 0);
	for (long i = 0; i < NBODY; i++)
		loadtree(st, &st->bodies[i]);
}

/* Masses and centers of mass, children before parents: a cell is made
 * after its parent, so the cells go in reverse order.  Each cell's Done
 * flag is set once its mass and position are in; the root's comes last. */
void hackcofm(struct step *st)
{
	for (long l = st->ncell - 1; l >= 0; l--) {
		struct cell *q = &st->cells[l];

		/* Process 1 is slower at the tree than process 0 expects. */
		if (l == st->ncell / 2 && race_window_us > 0)
			nanosleep(&race_window, NULL);
		q->n.mass = 0;
		for (int k = 0; k < NDIM; k++)
			q->n.pos[k] = 0;
		for (int i = 0; i < NSUB; i++) {
			struct node *r = q->subp[i];

			if (!r)
				continue;
			q->n.mass += r->mass;
			for (int k = 0; k < NDIM; k++)
				q->n.pos[k] += r->mass * r->pos[k];
		}
		for (int k = 0; k < NDIM; k++)
			q->n.pos[k] /= q->n.mass;
		atomic_store(&q->done, true);
	}
}

/* The force of node Q on body P, opening cells that are too close. */
void hackgrav(struct body *p, struct node *q)
{
	double dr[NDIM], drsq = EPS * EPS, phii;

	if (q == &p->n)
		return;
	if (q->type == CELL) {
		struct cell *c = (struct cell *)q;

		for (int k = 0; k < NDIM; k++)
			dr[k] = q->pos[k] - p->n.pos[k];
		if (4 * c->half * c->half >= TOL * TOL * (dr[0] * dr[0] + dr[1] * dr[1] + dr[2] * dr[2])) {
			for (int i = 0; i < NSUB; i++)
				if (c->subp[i])
					hackgrav(p, c->subp[i]);
			return;
		}
	}
	for (int k = 0; k < NDIM; k++) {
		dr[k] = q->pos[k] - p->n.pos[k];
		drsq += dr[k] * dr[k];
	}
	phii = q->mass / sqrt(drsq);
	p->phi -= phii;
	for (int k = 0; k < NDIM; k++)
		p->acc[k] += phii * dr[k] / drsq;
}

/* The forces on every body, by walking the tree from the root. */
void computeforces(struct step *st)
{
	for (long i = 0; i < NBODY; i++) {
		struct body *p = &st->bodies[i];

		p->phi = 0;
		for (int k = 0; k < NDIM; k++)
			p->acc[k] = 0;
		hackgrav(p, &st->G_root->n);
	}
}

/* Process 1's share of a step: the centers of mass, then SETPAUSE.
 * Static and called from one place, so that with loom-rewrite's hybrid
 * copies process 1 pauses for an update only between steps, never while
 * process 0 waits for its flag. */
static void SlaveStep(struct step *st)
{
	hackcofm(st);
	pthread_mutex_lock(&Global->lock);
	atomic_store(&st->treedone, true);
	pthread_cond_broadcast(&Global->done);
	pthread_mutex_unlock(&Global->lock);
}

/* Process 0's share: the forces.  SPLASH-2 puts a barrier between the tree
 * build and computeforces; here process 0 goes on without waiting for
 * process 1 to finish hackcofm.  Not static, so that its callers may pause
 * while they wait for a step. */
void stepsystem(struct step *st, long ProcessId)
{
	struct timespec seen;
	bool ready;

	(void)ProcessId;
again:
	/* The walk starts at the root.  Rather than use a mass and position
	 * that are not there yet, the detector looks at the root's Done flag
	 * (hackcofm sets it last), and notes when, before anything else can
	 * happen. */
	ready = atomic_load(&st->G_root->done);
	clock_gettime(CLOCK_MONOTONIC, &seen);
	if (!ready) {
		atomic_fetch_add(&Global->bugs, 1ul);
		printf("BUG %.6f stepsystem: process 0 reached the tree of step "
		       "%lu before process 1 computed its centers of mass\n",
		       seconds_of(&seen), st->number);
		fflush(stdout);
		/* WAITPAUSE, then the walk again. */
		pthread_mutex_lock(&Global->lock);
		while (!atomic_load(&st->treedone))
			pthread_cond_wait(&Global->done, &Global->lock);
		pthread_mutex_unlock(&Global->lock);
		goto again;
	}
	computeforces(st);
}

/* The root holds all the mass, at the bodies' center of mass, and every
 * body feels a finite force. */
static void CheckResult(const struct step *st)
{
	double mass = 0, pos[NDIM] = { 0 };

	for (long i = 0; i < NBODY; i++) {
		const struct body *p = &st->bodies[i];

		mass += p->n.mass;
		for (int k = 0; k < NDIM; k++)
			pos[k] += p->n.mass * p->n.pos[k];
		if (!isfinite(p->phi) || p->phi >= 0) {
			fprintf(stderr, "barnes: step %lu: body %ld has phi %g\n",
				st->number, i, p->phi);
			exit(1);
		}
	}
	for (int k = 0; k < NDIM; k++)
		if (fabs(pos[k] / mass - st->G_root->n.pos[k]) > 1e-12 ||
		    fabs(mass - st->G_root->n.mass) > 1e-12) {
			fprintf(stderr, "barnes: step %lu: wrong root\n", st->number);
			exit(1);
		}
}

/* Process 1: the bodies arrive on it; it never waits for process 0. */
void *SlaveStart(void *arg)
{
	struct step *last = &Global->head;
	struct timespec next;

	(void)arg;
	pthread_mutex_lock(&Global->idlock);
	Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long n = 1; atomic_load(&Global->running); n++) {
		struct step *st = calloc(1, sizeof *st);

		if (!st)
			abort();
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		st->number = n;
		initbodies(st);
		maketree(st);
		atomic_store(&last->next, st);
		last = st;
		sem_post(&Global->arrived);
		SlaveStep(st);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] splash2-barnes [-t SECONDS] [-h]\n");
	return status;
}

int main(int argc, char **argv)
{
	double seconds = -1, deadline;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	struct step *st = &Global->head;
	pthread_t slave;
	long us = 0, ProcessId;
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
		fprintf(stderr, "splash2-barnes: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_init(&Global->arrived, 0, 0);

	/* Main is process 0, as in SPLASH-2. */
	pthread_mutex_lock(&Global->idlock);
	ProcessId = Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	if (pthread_create(&slave, NULL, SlaveStart, NULL)) {
		fprintf(stderr, "splash2-barnes: pthread_create failed\n");
		return 1;
	}
	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline) {
		struct step *done = st;

		while (sem_wait(&Global->arrived))
			;
		st = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
		stepsystem(st, ProcessId);
		CheckResult(st);
		atomic_fetch_add(&Global->steps, 1ul);
	}
	atomic_store(&Global->running, false);
	pthread_join(slave, NULL);
	while (st) {
		struct step *done = st;

		st = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
	}
	printf("steps %lu bugs %lu\n", atomic_load(&Global->steps),
	       atomic_load(&Global->bugs));
	fflush(stdout);
	return 0;
}
