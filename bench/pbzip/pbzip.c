/* pbzip: a PBZip2-like parallel block compressor.
 *
 * A producer thread "reads" the input (generated: deterministic pseudo-random
 * text over a small vocabulary, so it compresses like real text), cuts it
 * into blocks and puts them on a bounded queue (mutex + two condition
 * variables).  Consumer threads take blocks, compress each into a
 * stand-alone bzip2 stream with libbz2, and hand the result to a writer
 * thread, which puts the streams back in input order (as PBZip2 does,
 * concatenated bzip2 streams) and checksums them.  The output, and so the
 * checksum, does not depend on the number of threads. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bzlib.h>

#define MAX_THREADS 256

typedef struct block {
	long seq;
	char *data;
	unsigned len;
} block;

typedef struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	block *slots;
	int cap, head, count;
	int closed;
} queue;

typedef struct done_table {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	block *out;             /* out[seq].data != NULL once compressed */
} done_table;

static long input_kb = 6144;    /* -n: input size in KiB */
static long block_kb = 256;     /* -b: block size in KiB */
static int level = 9;           /* -l: bzip2 block size level */
static int nthreads = 1;        /* -t: compressor threads */
static long nblocks;
static queue work;
static done_table done;

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
	"by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
	"an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
	"there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "thread",
	"filter", "race", "mutex", "barrier", "signal", "queue", "block", "compress", "server",
	"request", "kernel", "memory", "process", "update", "install", "runtime", "pointer",
};
#define NWORDS (sizeof words / sizeof words[0])

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n INPUT_KIB] [-b BLOCK_KIB] [-l LEVEL]\n", prog);
	exit(2);
}

static void die(const char *msg)
{
	fprintf(stderr, "pbzip: %s\n", msg);
	exit(1);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die("out of memory");
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

static uint32_t next_random(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* A skewed word choice: short common words most of the time. */
static const char *pick_word(uint64_t *s)
{
	uint32_t r = next_random(s);
	uint32_t a = r % NWORDS, b = (r >> 8) % NWORDS;
	return words[a < b ? a : b];
}

/* Block seq of the input, generated from its own seed so any block can be
 * made independently. */
static unsigned generate_block(long seq, char *buf, unsigned len)
{
	uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)seq * 0xbf58476d1ce4e5b9ull;
	unsigned pos = 0, line = 0;

	while (pos < len) {
		const char *w = pick_word(&s);
		size_t wl = strlen(w);
		if (pos + wl + 1 > len)
			break;
		memcpy(buf + pos, w, wl);
		pos += (unsigned)wl;
		if (next_random(&s) % 97 == 0) {
			pos += (unsigned)snprintf(buf + pos, len - pos, " %u", next_random(&s) % 10000);
			if (pos >= len)
				pos = len - 1;
		}
		line += (unsigned)wl + 1;
		if (line > 60 + next_random(&s) % 20) {
			buf[pos++] = '\n';
			line = 0;
		} else {
			buf[pos++] = ' ';
		}
	}
	while (pos < len)
		buf[pos++] = '\n';
	return pos;
}

static void queue_init(queue *q, int cap)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->slots = xmalloc((size_t)cap * sizeof *q->slots);
	q->cap = cap;
	q->head = q->count = q->closed = 0;
}

static void queue_put(queue *q, block b)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->slots[(q->head + q->count) % q->cap] = b;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static void queue_close(queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* Returns 0 once the queue is closed and empty. */
static int queue_get(queue *q, block *b)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->count == 0) {
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	*b = q->slots[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return 1;
}

static void *producer(void *arg)
{
	(void)arg;
	long total = input_kb * 1024;

	for (long seq = 0; seq < nblocks; seq++) {
		long left = total - seq * block_kb * 1024;
		block b = { .seq = seq, .len = (unsigned)(left < block_kb * 1024 ? left : block_kb * 1024) };
		b.data = xmalloc(b.len);
		generate_block(seq, b.data, b.len);
		queue_put(&work, b);
	}
	queue_close(&work);
	return NULL;
}

static block compress_block(block in)
{
	/* bzip2's worst case: 1% + 600 bytes. */
	unsigned cap = in.len + in.len / 100 + 600;
	block out = { .seq = in.seq, .data = xmalloc(cap), .len = cap };
	int rc = BZ2_bzBuffToBuffCompress(out.data, &out.len, in.data, in.len, level, 0, 30);

	if (rc != BZ_OK)
		die("BZ2_bzBuffToBuffCompress failed");
	return out;
}

static void *consumer(void *arg)
{
	(void)arg;
	block in;

	while (queue_get(&work, &in)) {
		block out = compress_block(in);
		free(in.data);
		pthread_mutex_lock(&done.lock);
		done.out[out.seq] = out;
		pthread_cond_broadcast(&done.ready);
		pthread_mutex_unlock(&done.lock);
	}
	return NULL;
}

typedef struct writer_result {
	uint64_t hash;
	long bytes;
} writer_result;

static void *writer(void *arg)
{
	writer_result *r = arg;

	r->hash = 0xcbf29ce484222325ull;
	r->bytes = 0;
	for (long seq = 0; seq < nblocks; seq++) {
		pthread_mutex_lock(&done.lock);
		while (!done.out[seq].data)
			pthread_cond_wait(&done.ready, &done.lock);
		block b = done.out[seq];
		pthread_mutex_unlock(&done.lock);
		r->hash = fnv1a(r->hash, b.data, b.len);
		r->bytes += b.len;
		free(b.data);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t prod, wr, threads[MAX_THREADS];
	writer_result result;
	int c;

	while ((c = getopt(argc, argv, "t:n:b:l:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': input_kb = atol(optarg); break;
		case 'b': block_kb = atol(optarg); break;
		case 'l': level = atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || input_kb < 1 || block_kb < 1 || block_kb > 1 << 20 || level < 1 || level > 9
	    || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	nblocks = (input_kb + block_kb - 1) / block_kb;

	queue_init(&work, 2 * nthreads);
	pthread_mutex_init(&done.lock, NULL);
	pthread_cond_init(&done.ready, NULL);
	done.out = calloc((size_t)nblocks, sizeof *done.out);
	if (!done.out)
		die("out of memory");

	if (pthread_create(&prod, NULL, producer, NULL) || pthread_create(&wr, NULL, writer, &result))
		die("cannot create thread");
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, consumer, NULL))
			die("cannot create thread");
	pthread_join(prod, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_join(wr, NULL);
	free(done.out);
	free(work.slots);

	printf("pbzip: %ld KiB in %ld blocks of %ld KiB, level %d, %d threads -> %ld bytes (%.2f%%)\n",
	       input_kb, nblocks, block_kb, level, nthreads, result.bytes,
	       100.0 * (double)result.bytes / (double)(input_kb * 1024));
	printf("checksum %016llx\n", (unsigned long long)result.hash);
	return 0;
}
