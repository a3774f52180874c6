#define _GNU_SOURCE
/* threads.c: a few POSIX threads: partial sums joined in order, a mutex
 * protected counter, a barrier, pthread_once, _Thread_local storage and
 * thread return values; the result is printed only after every join.
 * Blocking calls appear as unbraced if/else bodies and as the value of a
 * statement expression.  Uses strchrnul (glibc: _GNU_SOURCE only). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NTHREADS 4
#define PER_THREAD 25000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static long shared_counter;
static int init_calls;
static _Thread_local long private_count;

static void init_once(void) { init_calls++; }

static void *worker(void *arg)
{
    long id = (long)arg, local = 0;
    pthread_once(&once, init_once);
    for (long i = id * PER_THREAD; i < (id + 1) * PER_THREAD; i++) {
        local += i;
        private_count++;
        if (i % 1000 == 0) {
            pthread_mutex_lock(&lock);
            shared_counter++;
            pthread_mutex_unlock(&lock);
        }
    }
    pthread_barrier_wait(&barrier);
    return (void *)(local + private_count);
}

int main(void)
{
    pthread_t tid[NTHREADS];
    long results[NTHREADS], total = 0;
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (long t = 0; t < NTHREADS; t++)
        if (pthread_create(&tid[t], NULL, worker, (void *)t) != 0)
            return 2;
    for (int t = 0; t < NTHREADS; t++) {
        void *ret = NULL;
        int rc = 0;
        if (t == 0)
            pthread_join(tid[t], &ret);
        else
            rc = pthread_join(tid[t], &ret);
        results[t] = rc ? -1 : (long)ret;
        total += results[t];
    }
    pthread_barrier_destroy(&barrier);
    int locked = ({ shared_counter += 0; pthread_mutex_lock(&lock); });
    pthread_mutex_unlock(&lock);
    const char *msg = "threads:done";
    size_t colon = (size_t)(strchrnul(msg, ':') - msg);
    for (int t = 0; t < NTHREADS; t++)
        printf("thread %d -> %ld\n", t, results[t]);
    printf("total=%ld counter=%ld init=%d main_private=%ld colon=%zu "
           "locked=%d\n", total, shared_counter, init_calls, private_count,
           colon, locked);
    if (total != 4999950000L + NTHREADS * PER_THREAD || shared_counter != 100
        || init_calls != 1 || private_count != 0 || colon != 7
        || locked != 0) {
        printf("FAIL\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
