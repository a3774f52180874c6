#include "blocking.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Calls that can wait for another thread, a peer or a timer. */
static const char *const builtin[] = {
	"accept", "accept4", "clock_nanosleep", "connect", "epoll_pwait", "epoll_pwait2",
	"epoll_wait", "fgetc", "fgets", "flock", "fread", "getc", "getchar", "getline",
	"lockf", "mq_receive", "mq_timedreceive", "msgrcv", "nanosleep", "pause", "poll",
	"ppoll", "pselect", "pthread_barrier_wait", "pthread_cond_clockwait",
	"pthread_cond_timedwait", "pthread_cond_wait", "pthread_join", "pthread_mutex_clocklock",
	"pthread_mutex_lock", "pthread_mutex_timedlock", "pthread_rwlock_clockrdlock",
	"pthread_rwlock_clockwrlock", "pthread_rwlock_rdlock", "pthread_rwlock_timedrdlock",
	"pthread_rwlock_timedwrlock", "pthread_rwlock_wrlock", "read", "readv", "recv",
	"recvfrom", "recvmmsg", "recvmsg", "select", "sem_clockwait", "sem_timedwait",
	"sem_wait", "send", "sendmsg", "sendto", "sigsuspend", "sigtimedwait", "sigwait",
	"sigwaitinfo", "sleep", "thrd_join", "thrd_sleep", "usleep", "wait", "wait3", "wait4",
	"waitid", "waitpid", "write", "writev",
};

static char **extra;
static size_t nextra, extra_cap;

const char *loom_blocking_canonical(const char *name)
{
	size_t lo = 0, hi = sizeof builtin / sizeof builtin[0];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, builtin[mid]);

		if (!c)
			return builtin[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = 0; i < nextra; i++)
		if (!strcmp(extra[i], name))
			return extra[i];
	return NULL;
}

bool loom_is_blocking(const char *name)
{
	return loom_blocking_canonical(name) != NULL;
}

void loom_blocking_add(const char *name)
{
	if (!loom_is_blocking(name))
		*LOOM_PUSH(extra, nextra, extra_cap) = loom_xstrdup(name);
}
