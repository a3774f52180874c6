/* interp: a call-heavy workload, like SQLite.
 *
 * A register bytecode VM (vm.c) runs a small program that, per iteration,
 * computes a key, turns it into text, hashes it, looks it up in a B+tree and
 * inserts it when missing, and every few iterations scans a few rows through
 * a cursor in a bytecode subroutine.  The bigger opcodes call out-of-line
 * helpers (values in value.c, the B+tree in btree.c), so the hot loop makes a
 * C call every few dozen instructions.  The work is a fixed number of tasks,
 * each with its own VM and tree, shared out to the threads; the checksum
 * combines the tasks in order and does not depend on the number of threads. */
#define _POSIX_C_SOURCE 200809L

#include "interp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_CODE 256
#define NTASKS 16

typedef struct task_result {
	int64_t result;
	long rows, steps;
	uint64_t digest;
	int failed;
} task_result;

static long iterations = 1200000; /* -n: VM loop iterations over all tasks */
static int nthreads = 1;         /* -t */
static instr program[MAX_CODE];
static int ncode, entry_main;
static task_result results[NTASKS];
static int next_task;
static pthread_mutex_t task_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t THREADS] [-n ITERATIONS]\n", prog);
	exit(2);
}

/* ---- a tiny assembler ---- */

static int emit(int op, int a, int b, int c, int64_t imm)
{
	if (ncode == MAX_CODE) {
		fprintf(stderr, "interp: program too long\n");
		exit(1);
	}
	program[ncode] = (instr){ .op = (uint8_t)op, .a = a, .b = b, .c = c, .imm = imm };
	return ncode++;
}

static void emit_string(int a, const char *s)
{
	program[emit(OP_STRING, a, 0, 0, 0)].s = s;
}

static void patch(int at, int target)
{
	program[at].c = target;
}

/* Registers of the main routine. */
enum { R_I, R_N, R_ACC, R_KEY, R_TEXT, R_HASH, R_TMP, R_SEED, R_VAL, R_PREV, R_SUFFIX, R_CALL = 32 };
/* Registers of the scan subroutine, relative to its frame. */
enum { S_KEY, S_COUNT, S_SUM, S_VAL };

static void assemble(void)
{
	/* scan(key): the sum of the values of up to 8 rows from key on. */
	int scan = ncode;
	emit(OP_SEEK, 0, S_KEY, 0, 0);
	emit(OP_INT, S_COUNT, 0, 0, 0);
	emit(OP_INT, S_SUM, 0, 0, 0);
	int sloop = emit(OP_JGEI, S_COUNT, 0, 0, 8);
	int scol = emit(OP_COLUMN, S_VAL, 0, 0, 0);
	emit(OP_ADD, S_SUM, S_SUM, S_VAL, 0);
	emit(OP_NEXT, 0, 0, 0, 0);
	emit(OP_ADDI, S_COUNT, S_COUNT, 0, 1);
	emit(OP_JUMP, 0, 0, sloop, 0);
	int send = emit(OP_MOVE, S_KEY, S_SUM, 0, 0);
	emit(OP_RETURN, 0, 0, 0, 0);
	patch(sloop, send);
	patch(scol, send);

	entry_main = ncode;
	emit(OP_INT, R_I, 0, 0, 0);
	emit(OP_ARG, R_N, 0, 0, 0);
	emit(OP_ARG, R_SEED, 0, 0, 1);
	emit(OP_INT, R_ACC, 0, 0, 0);
	emit_string(R_SUFFIX, ":row");
	emit_string(R_PREV, "");
	int loop = emit(OP_JGE, R_I, R_N, 0, 0);
	emit(OP_MULI, R_KEY, R_I, 0, 2654435761);
	emit(OP_ADD, R_KEY, R_KEY, R_SEED, 0);
	emit(OP_MODI, R_KEY, R_KEY, 0, 200003);
	emit(OP_TOTEXT, R_TEXT, R_KEY, 0, 0);
	emit(OP_CONCAT, R_TEXT, R_TEXT, R_SUFFIX, 0);
	emit(OP_HASH, R_HASH, R_TEXT, 0, 0);
	emit(OP_MODI, R_HASH, R_HASH, 0, 1 << 17);
	int find = emit(OP_FIND, R_VAL, R_HASH, 0, 0);
	emit(OP_ADD, R_ACC, R_ACC, R_VAL, 0);
	int jnext = emit(OP_JUMP, 0, 0, 0, 0);
	int miss = emit(OP_INSERT, R_HASH, R_I, 0, 0);
	int next = emit(OP_ANDI, R_TMP, R_I, 0, 15);
	patch(find, miss);
	patch(jnext, next);
	int jskip = emit(OP_JNZ, R_TMP, 0, 0, 0);
	emit(OP_MOVE, R_CALL, R_HASH, 0, 0);
	emit(OP_CALL, 0, R_CALL, scan, 0);
	emit(OP_ADD, R_ACC, R_ACC, R_CALL, 0);
	int skip = emit(OP_LENGTH, R_TMP, R_TEXT, 0, 0);
	patch(jskip, skip);
	emit(OP_MULI, R_ACC, R_ACC, 0, 31);
	emit(OP_ADD, R_ACC, R_ACC, R_TMP, 0);
	emit(OP_COMPARE, R_TMP, R_TEXT, R_PREV, 0);
	emit(OP_ADD, R_ACC, R_ACC, R_TMP, 0);
	emit(OP_COPY, R_PREV, R_TEXT, 0, 0);
	emit(OP_ADDI, R_I, R_I, 0, 1);
	emit(OP_JUMP, 0, 0, loop, 0);
	int end = emit(OP_RESULT, R_ACC, 0, 0, 0);
	emit(OP_HALT, 0, 0, 0, 0);
	patch(loop, end);
}

/* ---- tasks over threads ---- */

static void run_task(int t)
{
	vm *m = calloc(1, sizeof *m);

	if (!m) {
		fprintf(stderr, "interp: out of memory\n");
		exit(1);
	}
	m->code = program;
	m->tree = btree_new();
	m->args[0] = iterations / NTASKS + (t < iterations % NTASKS);
	m->args[1] = 1000003 * (int64_t)t;
	if (vm_run(m, entry_main) < 0) {
		fprintf(stderr, "interp: task %d: %s\n", t, vm_error());
		results[t].failed = 1;
	}
	results[t].result = m->result;
	results[t].rows = btree_count(m->tree);
	results[t].steps = m->steps;
	results[t].digest = btree_digest(m->tree);
	btree_free(m->tree);
	free(m);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&task_lock);
		int t = next_task < NTASKS ? next_task++ : -1;
		pthread_mutex_unlock(&task_lock);
		if (t < 0)
			return NULL;
		run_task(t);
	}
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	int c;

	while ((c = getopt(argc, argv, "t:n:")) != -1) {
		switch (c) {
		case 't': nthreads = atoi(optarg); break;
		case 'n': iterations = atol(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc || iterations < 1 || nthreads < 1)
		usage(argv[0]);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	assemble();

	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL)) {
			fprintf(stderr, "interp: cannot create thread\n");
			return 1;
		}
	worker(NULL);
	for (int i = 1; i < nthreads; i++)
		pthread_join(threads[i], NULL);

	uint64_t h = 0xcbf29ce484222325ull;
	long rows = 0, steps = 0;
	for (int t = 0; t < NTASKS; t++) {
		if (results[t].failed)
			return 1;
		h = (h ^ (uint64_t)results[t].result) * 0x100000001b3ull;
		h = (h ^ results[t].digest) * 0x100000001b3ull;
		rows += results[t].rows;
		steps += results[t].steps;
	}
	printf("interp: %ld iterations in %d tasks, %d threads: %ld bytecodes, %ld rows\n",
	       iterations, NTASKS, nthreads, steps, rows);
	printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
