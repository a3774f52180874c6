/* exclusion: an installed mutual-exclusion filter against the hand-written
 * mutex it stands for (DESIGN.md section 8: at most 1.2x).
 *
 * Threads count words into one shared hash table.  Word i of the input is a
 * function of i alone; each thread takes a contiguous share of the input,
 * generates its words and hashes them (private work, in a few small calls),
 * then calls tally() for each, which looks the word up in the shared table,
 * inserts it if new and counts it: the critical section.
 *
 * Built with -DHAND_LOCK, tally() takes a pthread mutex around its body, as
 * the programmer would write it.  Built without, tally() has no lock and is
 * racy; bench/run runs the rewritten build with `tally <> self` pushed into
 * the live process.  The program prints "ready" and waits for a line on its
 * standard input before it starts the threads (bench/run pushes the filter
 * meanwhile), times the counting alone (wall time and process CPU time, one
 * "work" line) and prints a checksum of the final counts, which depends only
 * on -n, -v and -w: a lost update (two tally() calls overlapping) changes it. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_WORD 24
#define NBUCKETS 4096

struct entry {
	struct entry *next;
	uint64_t hash;
	long count;
	size_t len;
	char word[MAX_WORD];
};

struct share {
	pthread_t thread;
	long first, end;
};

static long nwords = 2000000;  /* -n: words in the input */
static long vocabulary = 3000; /* -v: distinct words */
static int rounds = 4;         /* -w: private work per word (hash rounds) */
static int nthreads = 1;       /* -t */
static int static_words;       /* -s: words from make_word_static */
/* The shared table, apart from the read-mostly settings above (false
 * sharing would cost more than the lock). */
static _Alignas(64) struct entry *buckets[NBUCKETS];
static struct entry *pool;
static long npool, total;
#ifdef HAND_LOCK
static _Alignas(64) pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
#endif

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n WORDS] [-v VOCABULARY] [-w ROUNDS] [-s]\n", prog);
	exit(2);
}

static uint64_t scramble(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Word number I of the input: one of the vocabulary, skewed towards the
 * first words as in text. */
static const char letters[] = "etaoinshrdlucmfwypvbgkjqxz";

static size_t make_word(char *out, long i)
{
	uint64_t x = scramble((uint64_t)i);
	uint64_t w = (x % (uint64_t)vocabulary) * ((x >> 32) % (uint64_t)vocabulary) / (uint64_t)vocabulary;
	size_t len = 3 + (size_t)(scramble(w + 1) % (MAX_WORD - 4));

	x = scramble(w ^ 0x5bd1e995u);
	for (size_t k = 0; k < len; k++) {
		out[k] = letters[x % 26];
		x = x / 26 ? x / 26 : scramble(x + k);
	}
	out[len] = '\0';
	return len;
}

/* The same words (-s), from a function with a static local: loom-rewrite
 * cannot give it a slow copy (two copies would be two objects), so its hooks
 * stay inline in its one body, as in much real code. */
static size_t make_word_static(char *out, long i)
{
	static const char table[] = "etaoinshrdlucmfwypvbgkjqxz";
	uint64_t x = scramble((uint64_t)i);
	uint64_t w = (x % (uint64_t)vocabulary) * ((x >> 32) % (uint64_t)vocabulary) / (uint64_t)vocabulary;
	size_t len = 3 + (size_t)(scramble(w + 1) % (MAX_WORD - 4));

	x = scramble(w ^ 0x5bd1e995u);
	for (size_t k = 0; k < len; k++) {
		out[k] = table[x % 26];
		x = x / 26 ? x / 26 : scramble(x + k);
	}
	out[len] = '\0';
	return len;
}

static uint64_t hash_word(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int r = 0; r < rounds; r++)
		for (size_t k = 0; k < len; k++) {
			h ^= (unsigned char)s[k];
			h *= 0x100000001b3ull;
		}
	return h;
}

/* The critical section: count WORD in the shared table. */
void tally(const char *word, size_t len, uint64_t h)
{
#ifdef HAND_LOCK
	pthread_mutex_lock(&table_lock);
#endif
	unsigned b = (unsigned)(h % NBUCKETS);
	struct entry *e;

	for (e = buckets[b]; e; e = e->next)
		if (e->hash == h && e->len == len && !memcmp(e->word, word, len))
			break;
	if (!e) {
		e = &pool[npool++];
		e->hash = h;
		e->len = len;
		memcpy(e->word, word, len);
		e->next = buckets[b];
		buckets[b] = e;
	}
	e->count++;
	total++;
#ifdef HAND_LOCK
	pthread_mutex_unlock(&table_lock);
#endif
}

static void *count_words(void *arg)
{
	struct share *s = arg;
	char word[MAX_WORD];

	for (long i = s->first; i < s->end; i++) {
		size_t len = static_words ? make_word_static(word, i) : make_word(word, i);
		tally(word, len, hash_word(word, len));
	}
	return NULL;
}

static double seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct share shares[MAX_THREADS];
	char line[64];
	int c;

	while ((c = getopt(argc, argv, "t:n:v:w:s")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': nwords = atol(optarg); break;
		case 'v': vocabulary = atol(optarg); break;
		case 'w': rounds = atoi(optarg); break;
		case 's': static_words = 1; break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || nthreads < 1 || nwords < 1 || vocabulary < 1 || rounds < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	pool = calloc((size_t)vocabulary, sizeof *pool);
	if (!pool) {
		fprintf(stderr, "exclusion: out of memory\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 1;

	double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
	for (int t = 0; t < nthreads; t++) {
		shares[t].first = nwords * t / nthreads;
		shares[t].end = nwords * (t + 1) / nthreads;
		if (pthread_create(&shares[t].thread, NULL, count_words, &shares[t])) {
			fprintf(stderr, "exclusion: cannot create thread\n");
			return 1;
		}
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(shares[t].thread, NULL);
	wall = seconds(CLOCK_MONOTONIC) - wall;
	cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;

	/* The pool's order depends on the threads, the sum over it does not. */
	uint64_t sum = 0xcbf29ce484222325ull;
	for (long i = 0; i < npool; i++) {
		const struct entry *e = &pool[i];
		sum += scramble(e->hash ^ (uint64_t)e->count);
	}
	sum ^= scramble((uint64_t)total) ^ (uint64_t)npool;
	printf("exclusion: %ld words (%ld distinct), %d threads\n", total, npool, nthreads);
	printf("work %.6f s wall %.6f s cpu\n", wall, cpu);
	printf("checksum %016llx\n", (unsigned long long)sum);
	return 0;
}
