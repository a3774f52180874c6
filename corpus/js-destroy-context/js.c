/* Mozilla bug #133773 in miniature (see README.md): a non-last thread in
 * js_DestroyContext marks the atom state while the last one frees it.  The
 * free is only logical, so the program itself stays memory- and race-safe. */
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

#define ATOM_CAPACITY 32
#define ATOM_MARKED 1u
#define ATOM_POISON 0xdeadu
#define MAX_THREADS 64

/* One call each, so that `JS_LOCK_GC(rt);` stays a plain call statement. */
#define JS_LOCK_GC(rt) pthread_mutex_lock(&(rt)->gcLock)
#define JS_UNLOCK_GC(rt) pthread_mutex_unlock(&(rt)->gcLock)

typedef struct JSAtom {
	_Atomic(const char *) name;
	atomic_uint flags;
} JSAtom;

/* The storage is never released: FreeAtomState only poisons it, so a marker
 * that lost the race reads dead but valid memory and can tell. */
typedef struct JSAtomState {
	_Atomic(JSAtom *) table;  /* NULL once freed */
	atomic_size_t count;
	atomic_uint generation;   /* bumped by every init and free */
	atomic_bool live;
	JSAtom storage[ATOM_CAPACITY];
} JSAtomState;

typedef struct JSContext JSContext;

typedef struct JSRuntime {
	pthread_mutex_t gcLock;
	JSContext *contextList;   /* contextList, contextCount, gcNumber: */
	int contextCount;         /* under gcLock */
	unsigned long gcNumber;
	JSAtomState atomState;
	/* The test harness around the runtime. */
	pthread_barrier_t roundStart, contextsUp, roundEnd;
	atomic_bool running;
	atomic_ulong round, bugs;
} JSRuntime;

struct JSContext {
	JSRuntime *runtime;
	JSContext *next;          /* in runtime->contextList */
	int id;
	unsigned long result;
};

void js_InitAtomState(JSRuntime *rt);
void FreeAtomState(JSRuntime *rt);
void MarkAtomState(JSContext *cx);
void js_GC(JSContext *cx);
JSContext *js_NewContext(JSRuntime *rt, int id);
void js_DestroyContext(JSContext *cx);

static const char *const common_atoms[] = {
	"typeof", "void", "null", "true", "false", "undefined", "function",
	"object", "number", "string", "length", "prototype", "constructor",
};
#define N_COMMON (sizeof common_atoms / sizeof common_atoms[0])
static const char *const script_names[] = { "x", "y", "i", "sum", "eval" };
#define N_NAMES (sizeof script_names / sizeof script_names[0])

static JSRuntime runtime = { .gcLock = PTHREAD_MUTEX_INITIALIZER };
static long race_window_us;        /* both set before any thread starts */
static struct timespec race_window;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void js_InitAtomState(JSRuntime *rt)
{
	JSAtomState *state = &rt->atomState;

	for (size_t i = 0; i < N_COMMON; i++) {
		atomic_store(&state->storage[i].name, common_atoms[i]);
		atomic_store(&state->storage[i].flags, 0u);
	}
	atomic_store(&state->count, N_COMMON);
	atomic_fetch_add(&state->generation, 1u);
	atomic_store(&state->table, state->storage);
	atomic_store(&state->live, true);
}

/* Stands in for free(): first make every marker's check fail, then poison. */
void FreeAtomState(JSRuntime *rt)
{
	JSAtomState *state = &rt->atomState;
	size_t count = atomic_load(&state->count);

	atomic_store(&state->live, false);
	atomic_fetch_add(&state->generation, 1u);
	atomic_store(&state->table, NULL);
	for (size_t i = 0; i < count; i++)
		atomic_store(&state->storage[i].flags, ATOM_POISON);
}

static JSAtom *js_Atomize(JSContext *cx, const char *name)
{
	JSAtomState *state = &cx->runtime->atomState;
	size_t i, count;

	JS_LOCK_GC(cx->runtime);
	count = atomic_load(&state->count);
	for (i = 0; i < count; i++)
		if (strcmp(atomic_load(&state->storage[i].name), name) == 0)
			break;
	if (i == count && count < ATOM_CAPACITY) {
		atomic_store(&state->storage[i].name, name);
		atomic_store(&state->storage[i].flags, 0u);
		atomic_store(&state->count, count + 1);
	}
	JS_UNLOCK_GC(cx->runtime);
	return i < ATOM_CAPACITY ? &state->storage[i] : NULL;
}

/* Runs outside the GC lock, as the real marker did, so nothing stops the
 * last context from freeing the table under it.  The walk counts as a use
 * after free if the state is dead or was re-created since the walk began. */
void MarkAtomState(JSContext *cx)
{
	JSAtomState *state = &cx->runtime->atomState;
	unsigned generation = atomic_load(&state->generation);
	JSAtom *table = atomic_load(&state->table);
	size_t count = atomic_load(&state->count);
	bool freed = (table == NULL);

	for (size_t i = 0; i < count && !freed; i++) {
		if (i == count / 2 && race_window_us > 0) {
			nanosleep(&race_window, NULL);
		}
		freed = !atomic_load(&state->live) ||
			atomic_load(&state->generation) != generation;
		if (!freed)
			atomic_fetch_or(&table[i].flags, ATOM_MARKED);
	}
	if (!freed)
		return;
	atomic_fetch_add(&cx->runtime->bugs, 1ul);
	printf("BUG %.6f js_DestroyContext: MarkAtomState saw the atom state "
	       "freed by the last thread (round %lu)\n", now_seconds(),
	       atomic_load(&cx->runtime->round));
	fflush(stdout);
}

void js_GC(JSContext *cx)
{
	JS_LOCK_GC(cx->runtime);
	cx->runtime->gcNumber++;
	JS_UNLOCK_GC(cx->runtime);
	MarkAtomState(cx);
}

JSContext *js_NewContext(JSRuntime *rt, int id)
{
	JSContext *cx = calloc(1, sizeof *cx);
	bool first;

	if (!cx)
		abort();
	cx->runtime = rt;
	cx->id = id;
	JS_LOCK_GC(rt);
	first = (rt->contextCount++ == 0);
	cx->next = rt->contextList;
	rt->contextList = cx;
	JS_UNLOCK_GC(rt);
	/* Outside the lock as in SpiderMonkey; safe here because no script runs
	 * before every context of the round exists (barrier contextsUp). */
	if (first)
		js_InitAtomState(rt);
	return cx;
}

/* The bug: `last` is decided under the GC lock, but what each thread does
 * with it (mark, or free what others mark) happens after the lock is gone. */
void js_DestroyContext(JSContext *cx)
{
	JSRuntime *rt = cx->runtime;
	bool last;

	JS_LOCK_GC(rt);
	for (JSContext **link = &rt->contextList; *link; link = &(*link)->next)
		if (*link == cx) {
			*link = cx->next;
			break;
		}
	last = (--rt->contextCount == 0);
	JS_UNLOCK_GC(rt);

	if (last)
		FreeAtomState(rt);
	else
		js_GC(cx);
	free(cx);
}

/* A few name lookups and some arithmetic, in place of an interpreter. */
static void js_RunScript(JSContext *cx)
{
	for (int i = 0; i < 3; i++) {
		JSAtom *atom = js_Atomize(cx, script_names[(cx->id + i) % N_NAMES]);
		for (int k = 0; k < 200; k++)
			cx->result = cx->result * 31 + (unsigned long)k + !!atom;
	}
}

static void *worker(void *arg)
{
	JSRuntime *rt = &runtime;
	JSContext *cx;

	for (;;) {
		pthread_barrier_wait(&rt->roundStart);
		if (!atomic_load(&rt->running))
			break;
		cx = js_NewContext(rt, (int)(intptr_t)arg);
		pthread_barrier_wait(&rt->contextsUp);
		js_RunScript(cx);
		js_DestroyContext(cx);
		pthread_barrier_wait(&rt->roundEnd);
	}
	return NULL;
}

static int usage(FILE *out, int status)
{
	fprintf(out, "usage: [RACE_WINDOW_US=N] js-destroy-context [-t SECONDS]"
		" [-n THREADS (1..%d, default 4)] [-h]\n", MAX_THREADS);
	return status;
}

int main(int argc, char **argv)
{
	JSRuntime *rt = &runtime;
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
		fprintf(stderr, "js-destroy-context: bad RACE_WINDOW_US\n");
		return 2;
	}
	race_window_us = us;
	race_window.tv_sec = us / 1000000;
	race_window.tv_nsec = us % 1000000 * 1000;
	setvbuf(stdout, NULL, _IOLBF, 0);

	pthread_barrier_init(&rt->roundStart, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&rt->contextsUp, NULL, (unsigned)nthreads);
	pthread_barrier_init(&rt->roundEnd, NULL, (unsigned)nthreads + 1);
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i)) {
			fprintf(stderr, "js-destroy-context: pthread_create failed\n");
			return 1;
		}

	/* A worker that sees running at roundStart goes on to contextsUp and
	 * roundEnd, where main always meets it; once running is false nobody
	 * waits again.  Hence no thread is ever left at a barrier. */
	deadline = now_seconds() + seconds;
	for (;;) {
		bool go = seconds < 0 || now_seconds() < deadline;
		if (go)
			atomic_fetch_add(&rt->round, 1ul);
		atomic_store(&rt->running, go);
		pthread_barrier_wait(&rt->roundStart);
		if (!go)
			break;
		pthread_barrier_wait(&rt->roundEnd);
	}
	for (long i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	printf("rounds %lu bugs %lu\n", atomic_load(&rt->round),
	       atomic_load(&rt->bugs));
	fflush(stdout);
	return 0;
}
