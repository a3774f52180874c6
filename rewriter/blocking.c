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

/* Calls that return after work bounded by their arguments, without waiting
 * for a peer and without calling back into the program (loom_is_brief): no
 * qsort, no I/O on streams or descriptors, no printf family (a program may
 * register conversions), no strerror (gettext may read catalogs), no
 * assert (it writes, then abort runs the program's handler).  The
 * allocator's waits are short, for its own locks.  The compiler's builtins
 * are found under their names without `__builtin_`; glibc's static inline
 * byte-order helpers (which be32toh and, under __OPTIMIZE__, ntohl call)
 * under theirs. */
static const char *const brief[] = {
	"__bswap_16", "__bswap_32", "__bswap_64", "__ctype_b_loc", "__ctype_get_mb_cur_max", "__ctype_tolower_loc", "__ctype_toupper_loc",
	"__errno_location", "__uint16_identity", "__uint32_identity", "__uint64_identity", "abs", "acos", "add_overflow", "add_overflow_p", "aligned_alloc",
	"alloca", "alloca_with_align", "asin", "assume_aligned", "atan", "atan2", "atan2f",
	"atanf", "atof", "atoi", "atol", "atoll", "bcmp", "bcopy", "bswap128", "bswap16",
	"bswap32", "bswap64", "bzero", "calloc", "cbrt", "cbrtf", "ceil", "ceilf", "ceill",
	"clock", "clock_gettime", "clrsb", "clrsbl", "clrsbll", "clz", "clzl", "clzll",
	"constant_p", "copysign", "copysignf", "cos", "cosf", "cosh", "ctz", "ctzl", "ctzll",
	"div", "dynamic_object_size", "exp", "exp2", "exp2f", "expect", "expect_with_probability",
	"expf", "explicit_bzero", "expm1", "fabs", "fabsf", "fabsl", "ffs", "ffsl", "ffsll",
	"floor", "floorf", "floorl", "fma", "fmaf", "fmax", "fmaxf", "fmin", "fminf", "fmod",
	"fmodf", "fpclassify", "free", "frexp", "frexpf", "getenv", "gettimeofday", "htonl",
	"htons", "huge_val", "huge_valf", "hypot", "hypotf", "imaxabs", "inf", "inff", "isalnum",
	"isalpha", "isblank", "iscntrl", "isdigit", "isfinite", "isgraph", "isinf", "isinf_sign",
	"islower", "isnan", "isnormal", "isprint", "ispunct", "isspace", "isupper", "isxdigit",
	"labs", "ldexp", "ldexpf", "ldiv", "llabs", "lldiv", "llrint", "llround", "log", "log10",
	"log10f", "log1p", "log2", "log2f", "logf", "lrint", "lrintf", "lround", "lroundf",
	"malloc", "memalign", "memccpy", "memchr", "memcmp", "memcpy", "memmem", "memmove",
	"mempcpy", "memrchr", "memset", "modf", "modff", "mul_overflow", "mul_overflow_p", "nan",
	"nanf", "nearbyint", "ntohl", "ntohs", "object_size", "parity", "parityl", "parityll",
	"popcount", "popcountl", "popcountll", "posix_memalign", "pow", "powf", "prefetch",
	"pthread_getspecific", "pthread_self", "pthread_setspecific", "rawmemchr", "realloc",
	"reallocarray", "remainder", "rint", "rintf", "round", "roundf", "sadd_overflow",
	"saddl_overflow", "saddll_overflow", "secure_getenv", "signbit", "sin", "sinf", "sinh",
	"smul_overflow", "smull_overflow", "smulll_overflow", "sqrt", "sqrtf", "sqrtl", "sscanf",
	"ssub_overflow", "ssubl_overflow", "ssubll_overflow", "stpcpy", "stpncpy", "strcasecmp",
	"strcasestr", "strcat", "strchr", "strchrnul", "strcmp", "strcpy", "strcspn", "strdup",
	"strlen", "strncasecmp", "strncat", "strncmp", "strncpy", "strndup", "strnlen", "strpbrk",
	"strrchr", "strsep", "strspn", "strstr", "strtod", "strtof", "strtoimax", "strtok_r",
	"strtol", "strtold", "strtoll", "strtoul", "strtoull", "strtoumax", "sub_overflow",
	"sub_overflow_p", "tan", "tanf", "tanh", "time", "tolower", "toupper", "trunc", "truncf",
	"uadd_overflow", "uaddl_overflow", "uaddll_overflow", "umul_overflow", "umull_overflow",
	"umulll_overflow", "unreachable", "usub_overflow", "usubl_overflow", "usubll_overflow",
	"vsscanf", "wcschr", "wcscmp", "wcscpy", "wcslen", "wcsncmp", "wcsncpy", "wcsnlen",
	"wcsrchr", "wmemchr", "wmemcmp", "wmemcpy", "wmemmove", "wmemset",
};

static char **extra;
static size_t nextra, extra_cap;

/* NAME's entry in the sorted array V of N names, or NULL. */
static const char *find_sorted(const char *const *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(name, v[mid]);

		if (!c)
			return v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *loom_blocking_canonical(const char *name)
{
	const char *found = find_sorted(builtin, sizeof builtin / sizeof builtin[0], name);

	if (found)
		return found;
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

bool loom_is_atomic_builtin(const char *name)
{
	return !strncmp(name, "__atomic_", 9) || !strncmp(name, "__sync_", 7) || !strncmp(name, "__c11_atomic_", 13);
}

bool loom_is_brief(const char *name)
{
	/* The atomic builtins a C11 <stdatomic.h> and the __sync family call
	 * (fences, fetch-and-op, compare-and-swap: one instruction or a short
	 * retry loop of the compiler's). */
	if (loom_is_atomic_builtin(name) || !strcmp(name, "atomic_thread_fence") || !strcmp(name, "atomic_signal_fence"))
		return true;
	if (!strncmp(name, "__builtin_", 10))
		name += 10;
	return find_sorted(brief, sizeof brief / sizeof brief[0], name) && !loom_is_blocking(name);
}
