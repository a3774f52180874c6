/* barnes: a SPLASH-2-like Barnes-Hut n-body simulation in 3-D.
 *
 * Every step: bounding box (threads over body ranges); tree build, where
 * the 64 cells two levels below the root are subtrees owned round-robin by
 * the threads, each inserting the bodies that fall into its subtrees; centre
 * of mass per subtree, then the top levels by thread 0; forces by a
 * recursive walk with the opening criterion theta (threads over body
 * ranges); leapfrog update.  Barriers separate the phases.  The tree's shape
 * and every sum's order depend only on the bodies, so the checksum (final
 * positions and velocities, bit for bit) does not depend on the number of
 * threads. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#define MAX_THREADS 256
#define NSUB 8
#define TOP 64                  /* subtrees two levels below the root */
#define CHUNK 4096
#define MAX_DEPTH 64

enum { BODY, CELL };

typedef struct node {
	int type;
	double mass;
	double pos[3];          /* a body's position, a cell's centre of mass */
} node;

typedef struct body {
	node n;
	double vel[3], acc[3];
	int top;                /* the top-level subtree it falls into */
} body;

typedef struct cell {
	node n;
	double centre[3], half; /* the cube this cell covers */
	node *sub[NSUB];
} cell;

typedef struct pool {
	cell **chunks;
	int nchunks, cap, used; /* used: cells handed out in this step */
} pool;

static long nbodies = 12288;    /* -n */
static int nsteps = 3;          /* -s */
static int nthreads = 1;        /* -t */
static const double theta = 0.6, eps2 = 0.0025, dt = 0.025;
static body *bodies;
static cell root, level1[NSUB], level2[TOP];
static double box_lo[MAX_THREADS][3], box_hi[MAX_THREADS][3];
static pool pools[MAX_THREADS];
static long interactions[MAX_THREADS];
static pthread_barrier_t barrier;

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n BODIES] [-s STEPS]\n", prog);
	exit(2);
}

static void die(const char *msg)
{
	fprintf(stderr, "barnes: %s\n", msg);
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

static double next_random(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*s >> 11) / 9007199254740992.0;
}

/* A Plummer-like sphere with a slow rotation, deterministic. */
static void init_bodies(void)
{
	uint64_t s = 0x853c49e6748fea9bull;

	for (long i = 0; i < nbodies; i++) {
		body *b = &bodies[i];
		double r, x, y, z, d2;

		do {
			r = 1.0 / sqrt(pow(0.02 + 0.97 * next_random(&s), -2.0 / 3.0) - 1.0);
		} while (r > 8.0);
		do {
			x = 2.0 * next_random(&s) - 1.0;
			y = 2.0 * next_random(&s) - 1.0;
			z = 2.0 * next_random(&s) - 1.0;
			d2 = x * x + y * y + z * z;
		} while (d2 > 1.0 || d2 < 1e-6);
		d2 = sqrt(d2);
		b->n.type = BODY;
		b->n.mass = 1.0 / (double)nbodies;
		b->n.pos[0] = r * x / d2;
		b->n.pos[1] = r * y / d2;
		b->n.pos[2] = r * z / d2;
		b->vel[0] = -0.3 * b->n.pos[1];
		b->vel[1] = 0.3 * b->n.pos[0];
		b->vel[2] = 0.05 * (next_random(&s) - 0.5);
	}
}

static cell *new_cell(pool *p, const double centre[3], double half)
{
	if (p->used == p->cap) {
		p->chunks = realloc(p->chunks, (size_t)(p->nchunks + 1) * sizeof *p->chunks);
		if (!p->chunks || !(p->chunks[p->nchunks] = malloc(CHUNK * sizeof(cell))))
			die("out of memory");
		p->nchunks++;
		p->cap += CHUNK;
	}
	cell *c = &p->chunks[p->used / CHUNK][p->used % CHUNK];
	p->used++;
	memset(c, 0, sizeof *c);
	c->n.type = CELL;
	memcpy(c->centre, centre, sizeof c->centre);
	c->half = half;
	return c;
}

static int octant(const cell *c, const double pos[3])
{
	return (pos[0] >= c->centre[0]) | (pos[1] >= c->centre[1]) << 1 | (pos[2] >= c->centre[2]) << 2;
}

static void child_centre(const cell *c, int oct, double out[3])
{
	double q = c->half / 2;

	for (int d = 0; d < 3; d++)
		out[d] = c->centre[d] + ((oct >> d) & 1 ? q : -q);
}

static void insert(pool *p, cell *c, body *b, int depth)
{
	if (depth > MAX_DEPTH)
		die("bodies too close together");
	int oct = octant(c, b->n.pos);
	node *s = c->sub[oct];

	if (!s) {
		c->sub[oct] = &b->n;
	} else if (s->type == CELL) {
		insert(p, (cell *)s, b, depth + 1);
	} else {
		double centre[3];
		child_centre(c, oct, centre);
		cell *fresh = new_cell(p, centre, c->half / 2);
		c->sub[oct] = &fresh->n;
		insert(p, fresh, (body *)s, depth + 1);
		insert(p, fresh, b, depth + 1);
	}
}

/* Centre of mass of a subtree; returns NULL for an empty cell. */
static node *centre_of_mass(cell *c)
{
	double m = 0, mp[3] = { 0, 0, 0 };
	int live = 0;

	for (int i = 0; i < NSUB; i++) {
		node *s = c->sub[i];
		if (s && s->type == CELL)
			s = c->sub[i] = centre_of_mass((cell *)s);
		if (!s)
			continue;
		live++;
		m += s->mass;
		for (int d = 0; d < 3; d++)
			mp[d] += s->mass * s->pos[d];
	}
	if (!live)
		return NULL;
	c->n.mass = m;
	for (int d = 0; d < 3; d++)
		c->n.pos[d] = mp[d] / m;
	return &c->n;
}

static void interact(const node *s, const body *b, double acc[3])
{
	double dr[3], d2 = eps2;

	for (int d = 0; d < 3; d++) {
		dr[d] = s->pos[d] - b->n.pos[d];
		d2 += dr[d] * dr[d];
	}
	double inv = 1.0 / sqrt(d2);
	double f = s->mass * inv * inv * inv;
	for (int d = 0; d < 3; d++)
		acc[d] += f * dr[d];
}

static int far_enough(const cell *c, const body *b)
{
	double d2 = 0;

	for (int d = 0; d < 3; d++) {
		double dr = c->n.pos[d] - b->n.pos[d];
		d2 += dr * dr;
	}
	double size = 2 * c->half;
	return size * size < theta * theta * d2;
}

static long walk(const node *s, const body *b, double acc[3])
{
	if (s->type == BODY) {
		if (s == &b->n)
			return 0;
		interact(s, b, acc);
		return 1;
	}
	const cell *c = (const cell *)s;
	if (far_enough(c, b)) {
		interact(s, b, acc);
		return 1;
	}
	long count = 0;
	for (int i = 0; i < NSUB; i++)
		if (c->sub[i])
			count += walk(c->sub[i], b, acc);
	return count;
}

static void bounding_box(int id, long b0, long b1)
{
	for (int d = 0; d < 3; d++) {
		box_lo[id][d] = INFINITY;
		box_hi[id][d] = -INFINITY;
	}
	for (long i = b0; i < b1; i++)
		for (int d = 0; d < 3; d++) {
			double x = bodies[i].n.pos[d];
			if (x < box_lo[id][d])
				box_lo[id][d] = x;
			if (x > box_hi[id][d])
				box_hi[id][d] = x;
		}
}

/* Thread 0: the root and the two fixed levels below it. */
static void make_top(void)
{
	double lo[3], hi[3], centre[3], half = 0;

	for (int d = 0; d < 3; d++) {
		lo[d] = INFINITY;
		hi[d] = -INFINITY;
		for (int t = 0; t < nthreads; t++) {
			lo[d] = fmin(lo[d], box_lo[t][d]);
			hi[d] = fmax(hi[d], box_hi[t][d]);
		}
		centre[d] = (lo[d] + hi[d]) / 2;
		half = fmax(half, (hi[d] - lo[d]) / 2);
	}
	half *= 1.001;
	memset(&root, 0, sizeof root);
	root.n.type = CELL;
	memcpy(root.centre, centre, sizeof centre);
	root.half = half;
	for (int i = 0; i < NSUB; i++) {
		memset(&level1[i], 0, sizeof level1[i]);
		level1[i].n.type = CELL;
		child_centre(&root, i, level1[i].centre);
		level1[i].half = half / 2;
		root.sub[i] = &level1[i].n;
		for (int j = 0; j < NSUB; j++) {
			cell *c = &level2[i * NSUB + j];
			memset(c, 0, sizeof *c);
			c->n.type = CELL;
			child_centre(&level1[i], j, c->centre);
			c->half = half / 4;
			level1[i].sub[j] = &c->n;
		}
	}
}

static void classify(long b0, long b1)
{
	for (long i = b0; i < b1; i++) {
		int a = octant(&root, bodies[i].n.pos);
		bodies[i].top = a * NSUB + octant(&level1[a], bodies[i].n.pos);
	}
}

static void build_subtrees(int id)
{
	pool *p = &pools[id];

	p->used = 0;
	for (int t = id; t < TOP; t += nthreads) {
		for (long i = 0; i < nbodies; i++)
			if (bodies[i].top == t)
				insert(p, &level2[t], &bodies[i], 2);
		node *s = centre_of_mass(&level2[t]);
		level1[t / NSUB].sub[t % NSUB] = s;
	}
}

static void forces(int id, long b0, long b1)
{
	for (long i = b0; i < b1; i++) {
		body *b = &bodies[i];
		memset(b->acc, 0, sizeof b->acc);
		interactions[id] += walk(&root.n, b, b->acc);
	}
}

static void advance(long b0, long b1)
{
	for (long i = b0; i < b1; i++) {
		body *b = &bodies[i];
		for (int d = 0; d < 3; d++) {
			b->vel[d] += b->acc[d] * dt;
			b->n.pos[d] += b->vel[d] * dt;
		}
	}
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	long b0 = nbodies * id / nthreads, b1 = nbodies * (id + 1) / nthreads;

	for (int step = 0; step < nsteps; step++) {
		bounding_box(id, b0, b1);
		pthread_barrier_wait(&barrier);
		if (id == 0)
			make_top();
		pthread_barrier_wait(&barrier);
		classify(b0, b1);
		pthread_barrier_wait(&barrier);
		build_subtrees(id);
		pthread_barrier_wait(&barrier);
		if (id == 0)
			centre_of_mass(&root);
		pthread_barrier_wait(&barrier);
		forces(id, b0, b1);
		pthread_barrier_wait(&barrier);
		advance(b0, b1);
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	int c;

	while ((c = getopt(argc, argv, "t:n:s:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': nbodies = atol(optarg); break;
		case 's': nsteps = atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || nbodies < 2 || nsteps < 1 || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	bodies = calloc((size_t)nbodies, sizeof *bodies);
	if (!bodies)
		die("out of memory");
	init_bodies();

	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0)
			die("cannot create thread");
	worker((void *)(intptr_t)0);
	for (long i = 1; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);

	uint64_t h = 0xcbf29ce484222325ull;
	long total = 0;
	double energy = 0;
	for (long i = 0; i < nbodies; i++) {
		h = fnv1a(h, bodies[i].n.pos, sizeof bodies[i].n.pos);
		h = fnv1a(h, bodies[i].vel, sizeof bodies[i].vel);
		for (int d = 0; d < 3; d++)
			energy += 0.5 * bodies[i].n.mass * bodies[i].vel[d] * bodies[i].vel[d];
	}
	for (int t = 0; t < nthreads; t++) {
		total += interactions[t];
		for (int k = 0; k < pools[t].nchunks; k++)
			free(pools[t].chunks[k]);
		free(pools[t].chunks);
	}
	free(bodies);
	printf("barnes: %ld bodies, %d steps, %d threads, %.1f interactions/body/step, kinetic energy %.9f\n",
	       nbodies, nsteps, nthreads, (double)total / (double)nbodies / nsteps, energy);
	printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
