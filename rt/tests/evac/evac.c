/* Test program for evacuation and exclusion (rt/tests/evacuation.py).
 *
 * Workers call critical() and run a critical section inline in a loop; a
 * detector prints "BUG overlap ..." when two threads are inside one at once.
 * The holder thread reads commands from stdin (a safe blocking site):
 * 'h' makes it enter hold() and stay there, sleeping, until SIGUSR1; 'H'
 * makes it spin in hold_spin() (a loop with no blocking call) until SIGUSR1; 's'
 * prints how many functions run their slow copy (Loom's switch flags: weak,
 * so that the original program links too); 'g' starts the gate threads (see
 * gated()). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static atomic_int in_function, in_lines, in_static;
static atomic_ulong rounds;
static volatile sig_atomic_t release;
extern unsigned char loom__slow[] __attribute__((weak));
extern const unsigned loom__nfuncs __attribute__((weak));
/* Through volatile pointers: null in the original program, and no
 * "address always true" warning in the rewritten one. */
static unsigned char *const volatile slow_flags = loom__slow;
static const unsigned *const volatile slow_count = &loom__nfuncs;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what)
{
	printf("BUG %.6f overlap in %s\n", now(), what);
	fflush(stdout);
}

void critical(void)
{
	if (atomic_fetch_add(&in_function, 1) != 0)
		report("critical");
	usleep(300);
	atomic_fetch_sub(&in_function, 1);
}

/* Static and never address-taken: with --emit hybrid it has no entry switch
 * of its own; a filter on it makes its caller switch. */
static void bump(void)
{
	if (atomic_fetch_add(&in_static, 1) != 0)
		report("bump");
	usleep(200);
	atomic_fetch_sub(&in_static, 1);
}

void hold(void)
{
	printf("HOLDING\n");
	fflush(stdout);
	while (!release)
		usleep(1000);
	release = 0;
}

static volatile unsigned long spins;

void spin(void)
{
	spins++;
}

void hold_spin(void)
{
	printf("SPINNING\n");
	fflush(stdout);
	while (!release)
		spin();
	release = 0;
}

/* The program's own mutex GATE, held by the gate keeper for 30 ms at a
 * time, napping 1 ms at a time meanwhile (places safe to pause at for a
 * filter on gated()), then left free for 10 ms; gated() takes it briefly,
 * called in a loop by a second thread.  An evacuation for such a filter
 * that pauses the keeper while it holds GATE, with the other thread waiting
 * for GATE inside gated(), can only finish if it lets the keeper run on. */
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong gate_passes;
static volatile unsigned long gate_ticks;

void gated(void)
{
	pthread_mutex_lock(&gate);
	atomic_fetch_add(&gate_passes, 1);
	pthread_mutex_unlock(&gate);
}

static void *gate_user(void *arg)
{
	(void)arg;
	for (;;) {
		gated();
		usleep(200);
	}
	return NULL;
}

static void *gate_keeper(void *arg)
{
	(void)arg;
	for (;;) {
		double end = now() + 0.03;

		pthread_mutex_lock(&gate);
		while (now() < end) {
			gate_ticks++;
			usleep(1000);
		}
		pthread_mutex_unlock(&gate);
		usleep(10000);
	}
	return NULL;
}

static void start_gate(void)
{
	pthread_t user, keeper;

	pthread_create(&keeper, NULL, gate_keeper, NULL);
	pthread_create(&user, NULL, gate_user, NULL);
	printf("GATE\n");
	fflush(stdout);
}

static void on_usr1(int sig)
{
	(void)sig;
	release = 1;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		critical();
		int was = atomic_fetch_add(&in_lines, 1);   /* LINES-START */
		if (was != 0)
			report("lines");
		usleep(300);
		atomic_fetch_sub(&in_lines, 1);             /* LINES-END */
		bump();
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

static void report_slow(void)
{
	unsigned n = 0;

	for (unsigned i = 0; slow_flags && slow_count && i < *slow_count; i++)
		n += slow_flags[i] != 0;
	printf("SLOW %u\n", n);
	fflush(stdout);
}

static void *holder(void *arg)
{
	char c;

	(void)arg;
	for (;;) {
		ssize_t n;

		n = read(0, &c, 1);
		if (n <= 0)
			exit(0);
		if (c == 'h')
			hold();
		if (c == 'H')
			hold_spin();
		if (c == 's')
			report_slow();
		if (c == 'g')
			start_gate();
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];

	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_create(&t[3], NULL, holder, NULL);
	pthread_join(t[3], NULL);
	return 0;
}
