/* Apache bug #21287 in miniature (see README.md): mod_mem_cache's
 * decrement_refcount decrements a cached object's reference count and then
 * reads it again to decide whether to free the object; two threads that
 * both decrement before either reads both see 0, and both free it.  The free
 * is only logical, so the program itself stays memory- and race-safe. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define BODY_LEN 64
#define CACHE_KEY "http://localhost/index.html"

typedef int apr_status_t;
#define APR_SUCCESS 0

typedef struct cache_object {
	const char *key;
	atomic_uint refcount;         /* the cache's and each request's */
	atomic_int cleanup;           /* set once it has left the cache */
	atomic_bool freed;            /* set by cleanup_cache_object */
	atomic_uchar body[BODY_LEN];  /* the cached response */
} cache_object_t;

typedef struct mem_cache_conf {
	pthread_mutex_t lock;
	cache_object_t *cache_cache;  /* the one cached URL; under lock */
} mem_cache_conf;

/* A request's pool with its one registered cleanup. */
typedef struct request_rec {
	int id;
	apr_status_t (*cleanup)(void *data);
	void *cleanup_data;
	unsigned long bytes_sent;
} request_rec;

void cleanup_cache_object(cache_object_t *obj);
apr_status_t decrement_refcount(void *arg);
cache_object_t *open_entity(request_rec *r, const char *key);
int remove_url(const char *key);

static mem_cache_conf sconf_storage = { .lock = PTHREAD_MUTEX_INITIALIZER };
static mem_cache_conf *sconf = &sconf_storage;
static cache_object_t object;           /* reused, round after round */
static pthread_barrier_t round_start, entities_open, round_end;
static atomic_bool running;
static atomic_ulong round_no, bugs;
static long race_window_us;             /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void apr_atomic_inc(atomic_uint *mem)
{
	atomic_fetch_add(mem, 1u);
}

static void apr_atomic_dec(atomic_uint *mem)
{
	atomic_fetch_sub(mem, 1u);
}

static unsigned apr_atomic_read(atomic_uint *mem)
{
	return atomic_load(mem);
}

static void apr_pool_cleanup_register(request_rec *r, void *data,
				      apr_status_t (*cleanup)(void *))
{
	r->cleanup = cleanup;
	r->cleanup_data = data;
}

/* The end of a request: its pool's cleanups run. */
static void apr_pool_destroy(request_rec *r)
{
	if (r->cleanup)
		r->cleanup(r->cleanup_data);
	r->cleanup = NULL;
}

/* Stands in for free(): the object is poisoned, never released, so the
 * second free of a pair is seen instead of corrupting the heap. */
void cleanup_cache_object(cache_object_t *obj)
{
	if (atomic_exchange(&obj->freed, true)) {
		atomic_fetch_add(&bugs, 1ul);
		printf("BUG %.6f decrement_refcount: double free of the cache "
		       "object for %s (round %lu): another thread saw the "
		       "reference count reach 0 too\n", now_seconds(),
		       obj->key, atomic_load(&round_no));
		fflush(stdout);
		return;
	}
	for (int i = 0; i < BODY_LEN; i++)
		atomic_store(&obj->body[i], 0xa5);
}

/* Registered as each request's pool cleanup, and called by remove_url for
 * the cache's own reference.  The decrement and the test are two steps. */
apr_status_t decrement_refcount(void *arg)
{
	cache_object_t *obj = arg;

	/* Cleanup the cache object: these lines are the region of
	 * specs/apache-21287.loom. */
	apr_atomic_dec(&obj->refcount);
	if (race_window_us > 0)
		nanosleep(&race_window, NULL);
	if (!apr_atomic_read(&obj->refcount) && atomic_load(&obj->cleanup))
		cleanup_cache_object(obj);
	return APR_SUCCESS;
}

/* A cache hit: the request takes a reference under the cache lock and drops
 * it when its pool goes. */
cache_object_t *open_entity(request_rec *r, const char *key)
{
	cache_object_t *obj;

	pthread_mutex_lock(&sconf->lock);
	obj = sconf->cache_cache;
	if (obj && strcmp(obj->key, key) == 0)
		apr_atomic_inc(&obj->refcount);
	else
		obj = NULL;
	pthread_mutex_unlock(&sconf->lock);
	if (obj)
		apr_pool_cleanup_register(r, obj, decrement_refcount);
	return obj;
}

/* The URL leaves the cache (expired, or purged to make room): the object
 * is marked for cleanup and the cache's reference dropped. */
int remove_url(const char *key)
{
	cache_object_t *obj;

	pthread_mutex_lock(&sconf->lock);
	obj = sconf->cache_cache;
	if (obj && strcmp(obj->key, key) == 0) {
		sconf->cache_cache = NULL;
		atomic_store(&obj->cleanup, 1);
	} else {
		obj = NULL;
	}
	pthread_mutex_unlock(&sconf->lock);
	if (obj)
		decrement_refcount(obj);
	return obj != NULL;
}

/* The cache fill: a fresh object, holding the cache's reference. */
static void create_entity(cache_object_t *obj, const char *key)
{
	obj->key = key;
	atomic_store(&obj->refcount, 1u);
	atomic_store(&obj->cleanup, 0);
	atomic_store(&obj->freed, false);
	for (int i = 0; i < BODY_LEN; i++)
		atomic_store(&obj->body[i], (unsigned char)('a' + i % 26));
	pthread_mutex_lock(&sconf->lock);
	sconf->cache_cache = obj;
	pthread_mutex_unlock(&sconf->lock);
}

static void serve(request_rec *r, cache_object_t *obj)
{
	for (int i = 0; i < BODY_LEN; i++)
		r->bytes_sent += atomic_load(&obj->body[i]) != 0;
}

/* A worker thread: one request for the cached URL per round. */
static void *worker(void *arg)
{
	request_rec r = { .id = (int)(intptr_t)arg };
	cache_object_t *obj;

	for (;;) {
		pthread_barrier_wait(&round_start);
		if (!atomic_load(&running))
			break;
		obj = open_entity(&r, CACHE_KEY);
		pthread_barrier_wait(&entities_open);
		if (obj)
			serve(&r, obj);
		apr_pool_destroy(&r);
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] apache-21287 [-t SECONDS]"
		" [-n THREADS (1..%d, default 4)] [-h]\n", MAX_THREADS);
	return status;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	double seconds = -1, deadline;
	long nthreads = 4, us = 0;
	const char *env = getenv("RACE_WINDOW_US");
	char *end = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:h")) != -1) {
		if (opt == 'h')
			return usage(stdout, 0);
		if (opt == 't' && (seconds = strtod(optarg, &end)) > 0 &&
		    end != optarg && !*end)
			continue;
		if (opt == 'n' && (nthreads = strtol(optarg, &end, 10)) >= 1 &&
		    nthreads <= MAX_THREADS && end != optarg && !*end)
			continue;
		return usage(stderr, 2);
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (env && *env && ((us = strtol(env, &end, 10)) < 0 || *end)) {
		fprintf(stderr, "apache-21287: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	pthread_barrier_init(&round_start, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&entities_open, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&round_end, NULL, (unsigned)nthreads + 1);
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i)) {
			fprintf(stderr, "apache-21287: pthread_create failed\n");
			return 1;
		}

	/* Each round: the URL is cached, every worker opens it, then it is
	 * removed from the cache while the workers serve it and drop their
	 * references.  A worker that sees running at round_start goes on to
	 * the other two barriers, where main always meets it. */
	deadline = now_seconds() + seconds;
	for (;;) {
		bool go = seconds < 0 || now_seconds() < deadline;

		if (go) {
			atomic_fetch_add(&round_no, 1ul);
			create_entity(&object, CACHE_KEY);
		}
		atomic_store(&running, go);
		pthread_barrier_wait(&round_start);
		if (!go)
			break;
		pthread_barrier_wait(&entities_open);
		remove_url(CACHE_KEY);
		pthread_barrier_wait(&round_end);
	}
	for (long i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("rounds %lu bugs %lu\n", atomic_load(&round_no),
	       atomic_load(&bugs));
	fflush(stdout);
	return 0;
}
