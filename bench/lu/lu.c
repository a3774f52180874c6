/* lu: a SPLASH-2-like blocked dense LU factorization (no pivoting).
 *
 * The n x n matrix is stored as contiguous b x b blocks, and the blocks are
 * owned by the threads in a 2-D scatter, as in SPLASH-2's "contiguous
 * blocks" LU.  Step k: the owner of the diagonal block factors it; barrier;
 * the owners of the blocks in row k and column k divide them by it;
 * barrier; every owner updates its interior blocks; barrier.  Each block is
 * written by exactly one thread in a fixed order, so the result (and the
 * checksum over its bits) does not depend on the number of threads. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#define MAX_THREADS 256

static long n = 1280;           /* -n: matrix order */
static long bs = 16;            /* -b: block size */
static int nthreads = 1;        /* -t */
static long nblocks;            /* blocks per row/column */
static int prow, pcol;          /* thread grid for the scatter */
static double **blocks;         /* blocks[I * nblocks + J], each bs x bs, row-major */
static pthread_barrier_t barrier;

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n ORDER] [-b BLOCK]\n", prog);
	exit(2);
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

static double *block(long I, long J)
{
	return blocks[I * nblocks + J];
}

/* Rows and columns of block I/J (the last ones may be short). */
static long extent(long I)
{
	long rest = n - I * bs;
	return rest < bs ? rest : bs;
}

static int owner(long I, long J)
{
	return (int)((I % prow) * pcol + (J % pcol));
}

/* Factor a diagonal block in place: L (unit lower) and U share it. */
static void lu0(double *a, long m)
{
	for (long k = 0; k < m; k++) {
		double pivot = a[k * bs + k];
		for (long i = k + 1; i < m; i++) {
			a[i * bs + k] /= pivot;
			double f = a[i * bs + k];
			for (long j = k + 1; j < m; j++)
				a[i * bs + j] -= f * a[k * bs + j];
		}
	}
}

/* A block in column k below the diagonal: a = a * U^-1. */
static void bdiv(double *a, const double *diag, long rows, long m)
{
	for (long i = 0; i < rows; i++)
		for (long k = 0; k < m; k++) {
			a[i * bs + k] /= diag[k * bs + k];
			double f = a[i * bs + k];
			for (long j = k + 1; j < m; j++)
				a[i * bs + j] -= f * diag[k * bs + j];
		}
}

/* A block in row k right of the diagonal: a = L^-1 * a. */
static void bmodd(const double *diag, double *a, long m, long cols)
{
	for (long k = 0; k < m; k++)
		for (long i = k + 1; i < m; i++) {
			double f = diag[i * bs + k];
			for (long j = 0; j < cols; j++)
				a[i * bs + j] -= f * a[k * bs + j];
		}
}

static void daxpy(double *restrict y, const double *restrict x, double f, long len)
{
	for (long j = 0; j < len; j++)
		y[j] -= f * x[j];
}

/* An interior block: c -= a * b. */
static void bmod(double *c, const double *a, const double *b, long rows, long inner, long cols)
{
	for (long i = 0; i < rows; i++)
		for (long k = 0; k < inner; k++)
			daxpy(&c[i * bs], &b[k * bs], a[i * bs + k], cols);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (long k = 0; k < nblocks; k++) {
		long mk = extent(k);
		double *diag = block(k, k);

		if (owner(k, k) == id)
			lu0(diag, mk);
		pthread_barrier_wait(&barrier);
		for (long J = k + 1; J < nblocks; J++)
			if (owner(k, J) == id)
				bmodd(diag, block(k, J), mk, extent(J));
		for (long I = k + 1; I < nblocks; I++)
			if (owner(I, k) == id)
				bdiv(block(I, k), diag, extent(I), mk);
		pthread_barrier_wait(&barrier);
		for (long I = k + 1; I < nblocks; I++)
			for (long J = k + 1; J < nblocks; J++)
				if (owner(I, J) == id)
					bmod(block(I, J), block(I, k), block(k, J), extent(I), mk, extent(J));
		pthread_barrier_wait(&barrier);
	}
	return NULL;
}

/* A deterministic, diagonally dominant matrix (no pivoting needed). */
static void init_matrix(void)
{
	uint64_t s = 0x2545f4914f6cdd1dull;

	for (long i = 0; i < n; i++)
		for (long j = 0; j < n; j++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			double v = (double)(s >> 11) / 9007199254740992.0 - 0.5;
			if (i == j)
				v += (double)n;
			block(i / bs, j / bs)[(i % bs) * bs + j % bs] = v;
		}
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	int c;

	while ((c = getopt(argc, argv, "t:n:b:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'b': bs = atol(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || n < 1 || bs < 1 || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	nblocks = (n + bs - 1) / bs;
	/* The squarest grid prow x pcol = nthreads. */
	for (prow = 1; (prow + 1) * (prow + 1) <= nthreads; prow++)
		;
	while (nthreads % prow)
		prow--;
	pcol = nthreads / prow;

	blocks = malloc((size_t)(nblocks * nblocks) * sizeof *blocks);
	if (!blocks) {
		fprintf(stderr, "lu: out of memory\n");
		return 1;
	}
	for (long i = 0; i < nblocks * nblocks; i++) {
		blocks[i] = aligned_alloc(64, (size_t)(bs * bs) * sizeof(double));
		if (!blocks[i]) {
			fprintf(stderr, "lu: out of memory\n");
			return 1;
		}
		memset(blocks[i], 0, (size_t)(bs * bs) * sizeof(double));
	}
	init_matrix();

	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "lu: cannot create thread\n");
			return 1;
		}
	worker((void *)(intptr_t)0);
	for (long i = 1; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);

	/* Sanity: the diagonal of U must stay near n; hash every block. */
	uint64_t h = 0xcbf29ce484222325ull;
	double min_pivot = INFINITY;
	for (long i = 0; i < n; i++) {
		double p = fabs(block(i / bs, i / bs)[(i % bs) * bs + i % bs]);
		if (p < min_pivot)
			min_pivot = p;
	}
	for (long i = 0; i < nblocks * nblocks; i++) {
		h = fnv1a(h, blocks[i], (size_t)(bs * bs) * sizeof(double));
		free(blocks[i]);
	}
	free(blocks);
	if (!(min_pivot > 1.0)) {
		fprintf(stderr, "lu: unstable factorization (min pivot %g)\n", min_pivot);
		return 1;
	}
	printf("lu: order %ld, block %ld, %d threads (%dx%d), min pivot %.6f\n", n, bs, nthreads, prow, pcol, min_pivot);
	printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
