/* fft: a SPLASH-2-like complex 1-D FFT (the "six-step" algorithm).
 *
 * The n = 2^m points are viewed as a sqrt(n) x sqrt(n) matrix.  One FFT is
 * transpose, row FFTs, twiddle, transpose, row FFTs, transpose; every thread
 * owns a contiguous band of rows and the threads meet at a barrier between
 * phases, as in SPLASH-2's FFT kernel.  Each repetition runs a forward and an
 * inverse transform, so the data stays the same size; the checksum covers the
 * final data bit for bit and does not depend on the number of threads. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#define PI 3.14159265358979323846
#define MAX_THREADS 256
#define TILE 16

typedef struct {
	double re, im;
} cplx;

static int log_n = 20;          /* -m: log2 of the number of points (even) */
static int reps = 3;            /* -r: forward + inverse pairs */
static int nthreads = 1;        /* -t */
static long n, root_n;
static int log_root_n;
static cplx *data, *scratch;
static cplx *row_roots;          /* w_R^j, j < R/2, forward direction */
static cplx *fine, *coarse;      /* w_N^j and w_R^j, j < R: w_N^(a + R b) = fine[a] coarse[b] */
static pthread_barrier_t barrier;

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-m LOG2_POINTS (even)] [-r REPS]\n", prog);
	exit(2);
}

static void *xmalloc(size_t size)
{
	void *p = aligned_alloc(64, (size + 63) / 64 * 64);

	if (!p) {
		fprintf(stderr, "fft: out of memory\n");
		exit(1);
	}
	return p;
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

static void init_tables(void)
{
	for (long j = 0; j < root_n / 2; j++) {
		double a = -2.0 * PI * (double)j / (double)root_n;
		row_roots[j].re = cos(a);
		row_roots[j].im = sin(a);
	}
	for (long j = 0; j < root_n; j++) {
		double a = -2.0 * PI * (double)j / (double)n;
		double b = -2.0 * PI * (double)j / (double)root_n;
		fine[j].re = cos(a);
		fine[j].im = sin(a);
		coarse[j].re = cos(b);
		coarse[j].im = sin(b);
	}
}

static double next_random(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(*s >> 11) / 9007199254740992.0 - 0.5;
}

/* Deterministic input: LCG noise plus a slow ramp. */
static void init_data(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (long i = 0; i < n; i++) {
		data[i].re = next_random(&s) + (double)(i & 1023) / 1024.0;
		data[i].im = next_random(&s);
	}
}

static unsigned bit_reverse(unsigned x, int bits)
{
	unsigned r = 0;

	for (int b = 0; b < bits; b++) {
		r = (r << 1) | (x & 1);
		x >>= 1;
	}
	return r;
}

static void permute_row(cplx *row)
{
	for (unsigned i = 0; i < (unsigned)root_n; i++) {
		unsigned j = bit_reverse(i, log_root_n);
		if (j > i) {
			cplx t = row[i];
			row[i] = row[j];
			row[j] = t;
		}
	}
}

static void butterfly(cplx *a, cplx *b, cplx w)
{
	double tr = b->re * w.re - b->im * w.im;
	double ti = b->re * w.im + b->im * w.re;

	b->re = a->re - tr;
	b->im = a->im - ti;
	a->re += tr;
	a->im += ti;
}

/* In-place radix-2 FFT of one row of length root_n; dir = -1 inverse. */
static void fft_row(cplx *row, int dir)
{
	permute_row(row);
	for (long len = 2; len <= root_n; len <<= 1) {
		long half = len / 2, step = root_n / len;
		for (long start = 0; start < root_n; start += len) {
			for (long k = 0; k < half; k++) {
				cplx w = row_roots[k * step];
				if (dir < 0)
					w.im = -w.im;
				butterfly(&row[start + k], &row[start + k + half], w);
			}
		}
	}
}

/* dst[i][j] = src[j][i] for the rows i in [r0, r1), in tiles. */
static void transpose(cplx *dst, const cplx *src, long r0, long r1)
{
	for (long ii = r0; ii < r1; ii += TILE) {
		long iend = ii + TILE < r1 ? ii + TILE : r1;
		for (long jj = 0; jj < root_n; jj += TILE) {
			long jend = jj + TILE < root_n ? jj + TILE : root_n;
			for (long i = ii; i < iend; i++)
				for (long j = jj; j < jend; j++)
					dst[i * root_n + j] = src[j * root_n + i];
		}
	}
}

static void twiddle_rows(cplx *m, long r0, long r1, int dir)
{
	for (long c = r0; c < r1; c++) {
		cplx *row = &m[c * root_n];
		for (long k = 0; k < root_n; k++) {
			long j = c * k;
			cplx f = fine[j & (root_n - 1)], g = coarse[j >> log_root_n], w;
			w.re = f.re * g.re - f.im * g.im;
			w.im = f.re * g.im + f.im * g.re;
			if (dir < 0)
				w.im = -w.im;
			double re = row[k].re * w.re - row[k].im * w.im;
			double im = row[k].re * w.im + row[k].im * w.re;
			row[k].re = re;
			row[k].im = im;
		}
	}
}

static void fft_rows(cplx *m, long r0, long r1, int dir)
{
	for (long r = r0; r < r1; r++)
		fft_row(&m[r * root_n], dir);
}

static void scale_rows(cplx *m, long r0, long r1, double f)
{
	for (long i = r0 * root_n; i < r1 * root_n; i++) {
		m[i].re *= f;
		m[i].im *= f;
	}
}

/* One six-step transform of data into data (via scratch). */
static void fft_once(long r0, long r1, int dir)
{
	transpose(scratch, data, r0, r1);
	pthread_barrier_wait(&barrier);
	fft_rows(scratch, r0, r1, dir);
	twiddle_rows(scratch, r0, r1, dir);
	pthread_barrier_wait(&barrier);
	transpose(data, scratch, r0, r1);
	pthread_barrier_wait(&barrier);
	fft_rows(data, r0, r1, dir);
	pthread_barrier_wait(&barrier);
	transpose(scratch, data, r0, r1);
	pthread_barrier_wait(&barrier);
	/* Copy back so the next transform starts from data. */
	memcpy(&data[r0 * root_n], &scratch[r0 * root_n], (size_t)(r1 - r0) * (size_t)root_n * sizeof(cplx));
	if (dir < 0)
		scale_rows(data, r0, r1, 1.0 / (double)n);
	pthread_barrier_wait(&barrier);
}

static void *worker(void *arg)
{
	long id = (long)(intptr_t)arg;
	long r0 = root_n * id / nthreads, r1 = root_n * (id + 1) / nthreads;

	for (int r = 0; r < reps; r++) {
		fft_once(r0, r1, 1);
		fft_once(r0, r1, -1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	int c;

	while ((c = getopt(argc, argv, "t:m:r:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'm': log_n = atoi(optarg); break;
		case 'r': reps = atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || log_n < 4 || log_n > 28 || log_n % 2 || reps < 1 || nthreads < 1)
		usage(argv[0]);
	n = 1L << log_n;
	log_root_n = log_n / 2;
	root_n = 1L << log_root_n;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if (nthreads > root_n)
		nthreads = (int)root_n;

	data = xmalloc((size_t)n * sizeof(cplx));
	scratch = xmalloc((size_t)n * sizeof(cplx));
	row_roots = xmalloc((size_t)root_n / 2 * sizeof(cplx));
	fine = xmalloc((size_t)root_n * sizeof(cplx));
	coarse = xmalloc((size_t)root_n * sizeof(cplx));
	init_tables();
	init_data();

	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "fft: cannot create thread\n");
			return 1;
		}
	worker((void *)(intptr_t)0);
	for (long i = 1; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&barrier);

	/* The round trip must give back the input. */
	cplx *orig = scratch;
	double err = 0;
	memcpy(orig, data, (size_t)n * sizeof(cplx));
	init_data();
	for (long i = 0; i < n; i++) {
		double e = fabs(orig[i].re - data[i].re) + fabs(orig[i].im - data[i].im);
		if (e > err)
			err = e;
	}
	if (err > 1e-9) {
		fprintf(stderr, "fft: round trip error %g\n", err);
		return 1;
	}
	printf("fft: %ld points, %d reps, %d threads, round trip error %.1e\n", n, reps, nthreads, err);
	printf("checksum %016llx\n", (unsigned long long)fnv1a(0xcbf29ce484222325ull, orig, (size_t)n * sizeof(cplx)));
	free(data);
	free(scratch);
	free(row_roots);
	free(fine);
	free(coarse);
	return 0;
}
