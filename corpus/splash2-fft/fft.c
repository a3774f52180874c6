/* SPLASH-2 FFT's order violation in miniature (see README.md): process 0
 * transposes rows of the scratch matrix that process 1 has not finished
 * transforming.  The detector looks at process 1's flag instead of reading
 * the unfinished rows, so the program stays free of C data races.
 *
 * FFTs come as a stream of frames.  Process 1 never waits for process 0
 * (frames are paced by a clock and handed over without a lock), and
 * process 0 looks again after it has waited: so an order filter can come
 * in at any moment (docs/filters.md, "Execution order"). */
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

#define M 6                    /* N = 2^M complex points per FFT */
#define N (1 << M)
#define ROOTN 8                /* the points as a ROOTN x ROOTN matrix */
#define P 2                    /* processes; process p owns rows p*ROOTN/P.. */
#define MY_ROWS (ROOTN / P)
#define PERIOD_NS 250000L      /* an input frame every 250 us */
#define PI 3.14159265358979323846

/* One FFT of the stream.  Complex numbers are (re, im) pairs. */
struct frame {
	unsigned long number;
	double x[2 * N];           /* the input, after step 4 the transposed rows */
	double scratch[2 * N];     /* steps 1-3, then the result */
	atomic_bool rowsdone;      /* process 1's SETPAUSE: its rows of scratch are done */
	_Atomic(struct frame *) next;
};

struct GlobalMemory {
	pthread_mutex_t idlock;
	long id;
	pthread_mutex_t lock;      /* for the waits on the pause flags */
	pthread_cond_t done;       /* a rowsdone flag was set */
	/* Frames in flight: process 1 appends, process 0 takes them in order
	 * and frees each once the next has arrived.  No lock: process 1
	 * never waits for process 0. */
	struct frame head;
	sem_t arrived;
	atomic_bool running;
	atomic_ulong frames, bugs;
	double umain[2 * ROOTN];   /* roots of unity for the length-ROOTN FFTs */
	double umain2[2 * N];      /* the twiddle factors */
};

void *SlaveStart(void *arg);
void FFT1D(struct frame *fr, long MyNum);
void Transpose(const double *src, double *dest, long MyFirst, long MyLast);
void FFT1DOnce(double *row);
void TwiddleOneCol(long j, double *row);
void InitX(struct frame *fr);
void InitU(void);

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

void InitU(void)
{
	for (long k = 0; k < ROOTN; k++) {
		Global->umain[2 * k] = cos(2 * PI * k / ROOTN);
		Global->umain[2 * k + 1] = -sin(2 * PI * k / ROOTN);
	}
	for (long k = 0; k < N; k++) {
		Global->umain2[2 * k] = cos(2 * PI * k / N);
		Global->umain2[2 * k + 1] = -sin(2 * PI * k / N);
	}
}

/* Two tones whose phases move with the frame number. */
void InitX(struct frame *fr)
{
	for (long j = 0; j < N; j++) {
		double t = (double)j / N;

		fr->x[2 * j] = cos(2 * PI * (3 * t + 0.01 * fr->number)) +
			       0.5 * sin(2 * PI * 17 * t);
		fr->x[2 * j + 1] = 0.25 * cos(2 * PI * (5 * t - 0.02 * fr->number));
	}
}

/* An in-place radix-2 FFT of one row of ROOTN points. */
void FFT1DOnce(double *row)
{
	for (long i = 1, j = 0; i < ROOTN; i++) {
		long bit = ROOTN >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j |= bit;
		if (i < j) {
			double re = row[2 * i], im = row[2 * i + 1];

			row[2 * i] = row[2 * j];
			row[2 * i + 1] = row[2 * j + 1];
			row[2 * j] = re;
			row[2 * j + 1] = im;
		}
	}
	for (long len = 2; len <= ROOTN; len <<= 1)
		for (long i = 0; i < ROOTN; i += len)
			for (long k = 0; k < len / 2; k++) {
				const double *w = &Global->umain[2 * (k * (ROOTN / len))];
				double *a = &row[2 * (i + k)], *b = &row[2 * (i + k + len / 2)];
				double re = b[0] * w[0] - b[1] * w[1];
				double im = b[0] * w[1] + b[1] * w[0];

				b[0] = a[0] - re;
				b[1] = a[1] - im;
				a[0] += re;
				a[1] += im;
			}
}

/* Row j of the transposed input times w_N^(j*k). */
void TwiddleOneCol(long j, double *row)
{
	for (long k = 0; k < ROOTN; k++) {
		const double *w = &Global->umain2[2 * (j * k % N)];
		double re = row[2 * k] * w[0] - row[2 * k + 1] * w[1];

		row[2 * k + 1] = row[2 * k] * w[1] + row[2 * k + 1] * w[0];
		row[2 * k] = re;
	}
}

/* Rows MyFirst..MyLast-1 of dest from the columns of src, that is from
 * every row of src. */
void Transpose(const double *src, double *dest, long MyFirst, long MyLast)
{
	for (long i = MyFirst; i < MyLast; i++)
		for (long j = 0; j < ROOTN; j++) {
			dest[2 * (i * ROOTN + j)] = src[2 * (j * ROOTN + i)];
			dest[2 * (i * ROOTN + j) + 1] = src[2 * (j * ROOTN + i) + 1];
		}
}

/* Process 1's share of a frame: steps 1-3 of the six-step FFT on its rows,
 * then SETPAUSE.  Static and called from one place, so that with
 * loom-rewrite's hybrid copies process 1 pauses for an update only between
 * frames, never while process 0 waits for its flag. */
static void SlaveFrame(struct frame *fr, long MyNum)
{
	long MyFirst = MyNum * MY_ROWS, MyLast = MyFirst + MY_ROWS;

	Transpose(fr->x, fr->scratch, MyFirst, MyLast);
	for (long j = MyFirst; j < MyLast; j++) {
		FFT1DOnce(&fr->scratch[2 * j * ROOTN]);
		/* Process 1 is slower than process 0 at its rows. */
		if (j == MyFirst && race_window_us > 0)
			nanosleep(&race_window, NULL);
		TwiddleOneCol(j, &fr->scratch[2 * j * ROOTN]);
	}
	pthread_mutex_lock(&Global->lock);
	atomic_store(&fr->rowsdone, true);
	pthread_cond_broadcast(&Global->done);
	pthread_mutex_unlock(&Global->lock);
}

/* Process 0's share: steps 1-3 on its rows, then steps 4-6 on the whole
 * matrix.  SPLASH-2 puts a barrier before step 4; here process 0 goes on
 * without waiting for process 1, and transposes its rows too early.  Not
 * static, so that its callers may pause while they wait for a frame. */
void FFT1D(struct frame *fr, long MyNum)
{
	long MyFirst = MyNum * MY_ROWS, MyLast = MyFirst + MY_ROWS;
	struct timespec seen;
	bool ready;

	Transpose(fr->x, fr->scratch, MyFirst, MyLast);
	for (long j = MyFirst; j < MyLast; j++) {
		FFT1DOnce(&fr->scratch[2 * j * ROOTN]);
		TwiddleOneCol(j, &fr->scratch[2 * j * ROOTN]);
	}
again:
	/* Step 4 starts on the rows of process 1.  Rather than transpose
	 * half-transformed numbers, the detector looks at process 1's flag,
	 * and notes when, before anything else can happen. */
	ready = atomic_load(&fr->rowsdone);
	clock_gettime(CLOCK_MONOTONIC, &seen);
	if (!ready) {
		atomic_fetch_add(&Global->bugs, 1ul);
		printf("BUG %.6f FFT1D: process 0 reached the transpose of frame "
		       "%lu before process 1 transformed rows %d-%d\n",
		       seconds_of(&seen), fr->number, MY_ROWS, ROOTN - 1);
		fflush(stdout);
		/* WAITPAUSE, then the transpose again. */
		pthread_mutex_lock(&Global->lock);
		while (!atomic_load(&fr->rowsdone))
			pthread_cond_wait(&Global->done, &Global->lock);
		pthread_mutex_unlock(&Global->lock);
		goto again;
	}
	Transpose(fr->scratch, fr->x, 0, ROOTN);
	for (long j = 0; j < ROOTN; j++)
		FFT1DOnce(&fr->x[2 * j * ROOTN]);
	Transpose(fr->x, fr->scratch, 0, ROOTN);
}

/* The result must be the DFT of the input: check two bins directly. */
static void CheckResult(const struct frame *fr)
{
	static const long bins[] = { 3, 47 };
	struct frame in = { .number = fr->number };

	InitX(&in);
	for (size_t b = 0; b < sizeof bins / sizeof bins[0]; b++) {
		double re = 0, im = 0;

		for (long j = 0; j < N; j++) {
			double c = cos(2 * PI * j * bins[b] / N), s = -sin(2 * PI * j * bins[b] / N);

			re += in.x[2 * j] * c - in.x[2 * j + 1] * s;
			im += in.x[2 * j] * s + in.x[2 * j + 1] * c;
		}
		if (fabs(re - fr->scratch[2 * bins[b]]) > 1e-9 ||
		    fabs(im - fr->scratch[2 * bins[b] + 1]) > 1e-9) {
			fprintf(stderr, "fft: frame %lu: wrong result in bin %ld\n",
				fr->number, bins[b]);
			exit(1);
		}
	}
}

/* Process 1: frames arrive on it; it never waits for process 0. */
void *SlaveStart(void *arg)
{
	struct frame *last = &Global->head;
	struct timespec next;
	long MyNum;

	(void)arg;
	pthread_mutex_lock(&Global->idlock);
	MyNum = Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long n = 1; atomic_load(&Global->running); n++) {
		struct frame *fr = calloc(1, sizeof *fr);

		if (!fr)
			abort();
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		fr->number = n;
		InitX(fr);
		atomic_store(&last->next, fr);
		last = fr;
		sem_post(&Global->arrived);
		SlaveFrame(fr, MyNum);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] splash2-fft [-t SECONDS] [-h]\n");
	return status;
}

int main(int argc, char **argv)
{
	double seconds = -1, deadline;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	struct frame *fr = &Global->head;
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
		fprintf(stderr, "splash2-fft: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	InitU();
	sem_init(&Global->arrived, 0, 0);

	/* Main is process 0, as in SPLASH-2. */
	pthread_mutex_lock(&Global->idlock);
	MyNum = Global->id++;
	pthread_mutex_unlock(&Global->idlock);
	if (pthread_create(&slave, NULL, SlaveStart, NULL)) {
		fprintf(stderr, "splash2-fft: pthread_create failed\n");
		return 1;
	}
	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline) {
		struct frame *done = fr;

		while (sem_wait(&Global->arrived))
			;
		fr = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
		FFT1D(fr, MyNum);
		CheckResult(fr);
		atomic_fetch_add(&Global->frames, 1ul);
	}
	atomic_store(&Global->running, false);
	pthread_join(slave, NULL);
	while (fr) {
		struct frame *done = fr;

		fr = atomic_load(&done->next);
		if (done != &Global->head)
			free(done);
	}
	printf("frames %lu bugs %lu\n", atomic_load(&Global->frames),
	       atomic_load(&Global->bugs));
	fflush(stdout);
	return 0;
}
