/* PBZip2 0.9.4's clean-up race in miniature (see README.md): main frees the
 * work queue and its mutex while consumer threads are still on their way
 * out through them.  The free is only logical, so the program itself stays
 * memory- and race-safe. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NUM_CPU 4          /* consumer threads (pbzip2 -p4): the filter counts them */
#define QUEUE_SIZE 4       /* blocks the queue holds */
#define NUM_BLOCKS 8       /* blocks per file */
#define BLOCK_SIZE 1024    /* bytes per block (-b, in 100k units in pbzip2) */
#define RECHECK_NS 1000000L /* a waiting consumer looks at allDone every 1 ms */

typedef struct queue {
	char **buf;
	unsigned int *bufSize;
	int *blockNum;
	long head, tail;
	int full, empty;
	pthread_mutex_t *mut;
	pthread_cond_t *notFull, *notEmpty;
	atomic_int allDone;        /* a global of pbzip2: see queueDelete */
	/* The miniature's detector and allocator, not pbzip2's: */
	atomic_bool freed;         /* queueDelete has freed it (logically) */
	atomic_int users;          /* consumers before their last unlock of mut */
	atomic_int refs;           /* threads that hold it; the last releases it */
	unsigned long file;
} queue;

typedef struct outBuff {
	char *buf;
	unsigned int bufSize;
} outBuff;

queue *queueInit(int queueSize);
void queueDelete(queue *q);
void queueAdd(queue *q, char *in, unsigned int inSize, int blockNum);
void queueDel(queue *q, char **out, unsigned int *outSize, int *blockNum);
void producer(queue *fifo, unsigned long file);
void *consumer(void *q);
void *fileWriter(void *arg);

static outBuff *OutputBuffer;      /* per file; the writer empties it */
static pthread_mutex_t OutMutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t OutReady = PTHREAD_COND_INITIALIZER;
static unsigned long OutBytes;     /* under OutMutex */
static pthread_condattr_t monotonic;
static atomic_ulong files, bugs;
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

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

queue *queueInit(int queueSize)
{
	queue *q = calloc(1, sizeof *q);

	if (!q)
		abort();
	q->buf = xmalloc(queueSize * sizeof *q->buf);
	q->bufSize = xmalloc(queueSize * sizeof *q->bufSize);
	q->blockNum = xmalloc(queueSize * sizeof *q->blockNum);
	q->empty = 1;
	q->mut = xmalloc(sizeof *q->mut);
	pthread_mutex_init(q->mut, NULL);
	q->notFull = xmalloc(sizeof *q->notFull);
	pthread_cond_init(q->notFull, &monotonic);
	q->notEmpty = xmalloc(sizeof *q->notEmpty);
	pthread_cond_init(q->notEmpty, &monotonic);
	atomic_init(&q->users, NUM_CPU);
	atomic_init(&q->refs, NUM_CPU + 1);
	return q;
}

/* What pbzip2's queueDelete did (destroy and free the mutex, the condition
 * variables and the queue) happens here when the last thread lets go, so
 * that a consumer that lost the race touches dead but valid memory. */
static void queue_put(queue *q)
{
	if (atomic_fetch_sub(&q->refs, 1) != 1)
		return;
	pthread_mutex_destroy(q->mut);
	pthread_cond_destroy(q->notFull);
	pthread_cond_destroy(q->notEmpty);
	free(q->mut);
	free(q->notFull);
	free(q->notEmpty);
	free(q->buf);
	free(q->bufSize);
	free(q->blockNum);
	free(q);
}

/* Main calls it once the writer has written the last block.  It raises
 * allDone first (pbzip2 did once the whole input was queued), so the
 * consumers wake up and leave through q->mut just as it goes away: the
 * window of the real bug.  A consumer makes its last use only after
 * allDone, and no pause point lies between allDone and the free, so an
 * order filter pushed at any moment counts all NUM_CPU consumers of one
 * file. */
void queueDelete(queue *q)
{
	struct timespec freed_at;
	int users;

	atomic_store(&q->allDone, 1);
	pthread_cond_broadcast(q->notEmpty);
	/* pthread_mutex_destroy(q->mut); free(q->mut); and so on. */
	atomic_store(&q->freed, true);
	/* Who still uses it, and when, before anything can pause this thread:
	 * a free made before a push is reported with its own time. */
	users = atomic_load(&q->users);
	clock_gettime(CLOCK_MONOTONIC, &freed_at);
	if (users > 0) {
		atomic_fetch_add(&bugs, 1ul);
		printf("BUG %.6f queueDelete: main freed fifo->mut while %d "
		       "consumer thread(s) still use it (file %lu)\n",
		       seconds_of(&freed_at), users, q->file);
		fflush(stdout);
	}
	queue_put(q);
}

/* The caller holds q->mut. */
void queueAdd(queue *q, char *in, unsigned int inSize, int blockNum)
{
	q->buf[q->tail] = in;
	q->bufSize[q->tail] = inSize;
	q->blockNum[q->tail] = blockNum;
	q->tail = (q->tail + 1) % QUEUE_SIZE;
	q->full = q->tail == q->head;
	q->empty = 0;
}

/* The caller holds q->mut. */
void queueDel(queue *q, char **out, unsigned int *outSize, int *blockNum)
{
	*out = q->buf[q->head];
	*outSize = q->bufSize[q->head];
	*blockNum = q->blockNum[q->head];
	q->head = (q->head + 1) % QUEUE_SIZE;
	q->empty = q->head == q->tail;
	q->full = 0;
}

/* Reads the input in blocks and queues them for the consumers. */
void producer(queue *fifo, unsigned long file)
{
	for (int blockNum = 0; blockNum < NUM_BLOCKS; blockNum++) {
		char *block = xmalloc(BLOCK_SIZE);

		/* Runs of one byte, as bzip2's first stage likes them. */
		for (int i = 0; i < BLOCK_SIZE; i++)
			block[i] = (char)('a' + (file + blockNum + i / 37) % 26);
		pthread_mutex_lock(fifo->mut);
		while (fifo->full)
			pthread_cond_wait(fifo->notFull, fifo->mut);
		queueAdd(fifo, block, BLOCK_SIZE, blockNum);
		pthread_mutex_unlock(fifo->mut);
		pthread_cond_signal(fifo->notEmpty);
	}
}

/* Run-length coding in place of BZ2_bzBuffToBuffCompress: byte, count. */
static unsigned int compress_block(const char *in, unsigned int inSize, char *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < inSize;) {
		unsigned int run = 1;

		while (i + run < inSize && run < 255 && in[i + run] == in[i])
			run++;
		out[n++] = in[i];
		out[n++] = (char)run;
		i += run;
	}
	return n;
}

/* One per CPU, detached: takes blocks until the queue is empty and allDone
 * is set, then leaves.  Nobody waits for it to be gone. */
void *consumer(void *q)
{
	queue *fifo = q;
	struct timespec until;
	char *FileData, *CompressedData;
	unsigned int inSize, outSize;
	int blockNum;

	for (;;) {
		pthread_mutex_lock(fifo->mut);
		while (fifo->empty) {
			if (atomic_load(&fifo->allDone)) {
				/* The miniature's guard: queueDelete already
				 * freed the queue and reported it (pbzip2
				 * would unlock freed memory here).  It skips
				 * the last use's line too, so a consumer whose
				 * file was freed before a filter came in does
				 * not count for the next file's free. */
				if (atomic_load(&fifo->freed)) {
					pthread_mutex_unlock(fifo->mut);
					queue_put(fifo);
					return NULL;
				}
				atomic_fetch_sub(&fifo->users, 1);
				pthread_mutex_unlock(fifo->mut); /* the last use */
				queue_put(fifo);
				return NULL;
			}
			/* allDone is raised without the mutex: wake up
			 * now and then rather than miss it. */
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += RECHECK_NS;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(fifo->notEmpty, fifo->mut, &until);
		}
		queueDel(fifo, &FileData, &inSize, &blockNum);
		pthread_mutex_unlock(fifo->mut);
		pthread_cond_signal(fifo->notFull);

		CompressedData = xmalloc(2 * inSize);
		outSize = compress_block(FileData, inSize, CompressedData);
		free(FileData);
		pthread_mutex_lock(&OutMutex);
		OutputBuffer[blockNum].buf = CompressedData;
		OutputBuffer[blockNum].bufSize = outSize;
		pthread_cond_broadcast(&OutReady);
		pthread_mutex_unlock(&OutMutex);
		/* A consumer slow to come back to the queue after a block. */
		if (race_window_us > 0)
			nanosleep(&race_window, NULL);
	}
}

/* Writes the compressed blocks in order and ends after the last one. */
void *fileWriter(void *arg)
{
	(void)arg;
	for (int currBlock = 0; currBlock < NUM_BLOCKS; currBlock++) {
		outBuff out;

		pthread_mutex_lock(&OutMutex);
		while (!OutputBuffer[currBlock].buf)
			pthread_cond_wait(&OutReady, &OutMutex);
		out = OutputBuffer[currBlock];
		OutputBuffer[currBlock].buf = NULL;
		OutBytes += out.bufSize;
		pthread_mutex_unlock(&OutMutex);
		free(out.buf);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] pbzip2 [-t SECONDS] [-h]\n");
	return status;
}

int main(int argc, char **argv)
{
	double seconds = -1, deadline;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	long us = 0;
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
		fprintf(stderr, "pbzip2: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_condattr_init(&monotonic);
	pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);

	/* One file per iteration, as `pbzip2 -p4 FILE...` would run them. */
	deadline = now_seconds() + seconds;
	while (seconds < 0 || now_seconds() < deadline) {
		queue *fifo = queueInit(QUEUE_SIZE);
		pthread_t con, output;

		fifo->file = atomic_fetch_add(&files, 1ul) + 1;
		OutputBuffer = calloc(NUM_BLOCKS, sizeof *OutputBuffer);
		if (!OutputBuffer)
			abort();
		for (int i = 0; i < NUM_CPU; i++) {
			if (pthread_create(&con, NULL, consumer, fifo)) {
				fprintf(stderr, "pbzip2: pthread_create failed\n");
				return 1;
			}
			pthread_detach(con);
		}
		if (pthread_create(&output, NULL, fileWriter, NULL)) {
			fprintf(stderr, "pbzip2: pthread_create failed\n");
			return 1;
		}
		producer(fifo, fifo->file);
		pthread_join(output, NULL);
		queueDelete(fifo);
		free(OutputBuffer);
	}
	printf("files %lu bytes %lu bugs %lu\n", atomic_load(&files),
	       OutBytes, atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
