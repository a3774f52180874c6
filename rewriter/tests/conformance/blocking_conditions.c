#define _GNU_SOURCE
/* blocking_conditions.c: blocking calls (read, write, poll, fgets) in the
 * conditions of while, do-while, for and if, as server loops write them:
 * assignments inside the condition, pointer and floating values, && and ||,
 * the comma operator, conditions spanning lines or written by macros, and a
 * loop a macro writes whole.  Each is evaluated once and means the same once
 * marked; the program checks its own results.
 *
 * The comments say which blocking markers loom-rewrite must add
 * (blocking_conditions.py checks the manifest against them): `cond: F` is a
 * condition calling F, marked on that line, `twin` if the loop gets a slow
 * twin (its marker is in the twin too), `stmt: F` a statement's marker.  A
 * line without such a comment must get no blocking marker. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define READ_ONE(fd, c) read(fd, c, 1)
#define GOT_LINE(b, f) (fgets(b, sizeof b, f) != NULL)
#define DRAIN(fd, c, n) while (read(fd, c, 1) == 1) (n)++

static int failures;

static void expect(const char *what, long got, long want)
{
	printf("%-28s %ld\n", what, got);
	if (got != want) {
		printf("  FAIL: want %ld\n", want);
		failures++;
	}
}

/* A pipe holding TEXT, its write end closed: reads end with 0 (EOF). */
static int pipe_with(const char *text)
{
	int fds[2];
	size_t n = strlen(text);

	if (pipe(fds) != 0)
		return -1;
	if (write(fds[1], text, n) != (ssize_t)n) /* cond: write */
		n = 0;
	close(fds[1]);
	return fds[0];
}

/* A temporary file holding TEXT, read from its start. */
static FILE *file_with(const char *text)
{
	FILE *f = tmpfile();

	if (f) {
		fputs(text, f);
		rewind(f);
	}
	return f;
}

/* Not static: a call that may run long, so loops calling it get a twin. */
long weigh(const char *s)
{
	long w = 0;

	while (*s && *s != '\n')
		w += *s++;
	return w;
}

static long while_read(void)
{
	int fd = pipe_with("hello, world\n");
	char buf[4];
	ssize_t n;
	long total = 0, chunks = 0;

	while ((n = read(fd, buf, sizeof buf)) > 0) { /* cond: read */
		total += n;
		chunks++;
	}
	close(fd);
	return total * 100 + chunks;
}

static long while_fgets(void)
{
	FILE *f = file_with("one\ntwo\nthree\n.\nafter\n");
	char line[32], *p;
	long lines = 0, weight = 0;

	if (!f)
		return -1;
	/* A pointer as the condition. */
	while (fgets(line, sizeof line, f)) /* cond: fgets, twin */
		weight += weigh(line);
	rewind(f);
	/* An assignment, && and a pointer again. */
	while ((p = fgets(line, sizeof line, f)) && *p != '.') /* cond: fgets */
		lines++;
	/* The condition is one macro invocation. */
	while (GOT_LINE(line, f)) /* cond: fgets */
		lines += 10;
	rewind(f);
	strcpy(line, "x");
	do
		weight += weigh(line);
	while (fgets(line, sizeof line, f)); /* cond: fgets, twin */
	fclose(f);
	return weight * 100 + lines;
}

static long poll_if(void)
{
	int fd = pipe_with("xy");
	struct pollfd pfd;
	char c = 0;
	long r = 0;

	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) /* cond: poll */
		r += 1;
	if (read(fd, &c, 1) != 1 || c != 'x') /* cond: read */
		r += 100;
	else if (read(fd, &c, 1) == 1 && c == 'y') /* cond: read */
		r += 10;
	/* At EOF: poll reports the pipe readable (hung up), read gives 0. */
	if (poll(&pfd, 1, 0) == 1) /* cond: poll */
		if (read(fd, &c, 1)) /* cond: read */
			r += 1000;
	close(fd);
	return r;
}

static long for_loops(void)
{
	int fd = pipe_with("abcdefghij");
	char c;
	int i;
	long r = 0;

	/* Short-circuit: no read once i reaches 3. */
	for (i = 0; i < 3 && read(fd, &c, 1) == 1; i++) /* cond: read */
		r = r * 10 + (c - 'a');
	for (; READ_ONE(fd, &c) == 1 && c != 'f';) /* cond: read */
		r = r * 10 + (c - 'a');
	/* Its declaration is hoisted into a block shared with the twin. */
	for (int k = 0; read(fd, &c, 1) == 1; k++) /* cond: read, twin */
		r += weigh("a") * k;
	/* No condition: nothing to mark. */
	for (;;)
		break;
	close(fd);
	return r;
}

static long do_while(void)
{
	int fd = pipe_with("1234567");
	char c = '0';
	long sum = 0, calls = 0;

	do {
		sum += c - '0';
		if (c == '3')
			continue; /* to the condition */
		sum += 100;
	} while (read(fd, &c, 1) == 1); /* cond: read */
	/* The comma operator: calls counts every evaluation. */
	do
		sum += 1000;
	while (calls++, read(fd, &c, 1) > 0); /* cond: read */
	close(fd);
	return sum * 10 + calls;
}

static long values(void)
{
	int fd = pipe_with("abc\ndef");
	char c;
	long r = 0;
	int retries = 2;
	double half;

	/* A floating value, assigned: 0.5 is true. */
	if ((half = read(fd, &c, 1) / 2.0)) /* cond: read */
		r += (long)(half * 2);
	/* || : once read fails, retries run down. */
	while (read(fd, &c, 1) == 1 || retries-- > 0) /* cond: read */
		r += 10;
	close(fd);
	fd = pipe_with("line one\nrest");
	/* Over two lines, with comments inside. */
	while (read(fd, &c, 1) == 1 /* cond: read */
	       && c != '\n') // until the end of the line
		r += 100;
	/* Behind a macro using a builtin. */
	while (likely(read(fd, &c, 1) == 1)) /* cond: read */
		r += 1000;
	close(fd);
	return r;
}

static int compare_chars(const void *a, const void *b)
{
	return *(const char *)a - *(const char *)b;
}

/* A helper of this file runs instrumented code: its caller's condition
 * gets no marker, its own statement does. */
static int next_byte(int fd)
{
	unsigned char c;
	ssize_t n = read(fd, &c, 1); /* stmt: read */

	return n == 1 ? c : -1;
}

/* Conditions that must stay unmarked. */
static long unmarked(void)
{
	int fd = pipe_with("hello");
	char c;
	long r = 0, n = 0;

	while (next_byte(fd) >= 0)
		r++;
	close(fd);
	fd = pipe_with("abc");
	/* The value counts, not only its truth. */
	switch (read(fd, &c, 1)) {
	case 1:
		r += 10;
		break;
	default:
		r += 20;
	}
	/* A function of this file passed on: bsearch calls it. */
	if (read(fd, &c, 1) == 1 && bsearch(&c, "abc", 3, 1, compare_chars))
		r += 30;
	/* A loop written whole by a macro. */
	DRAIN(fd, &c, n);
	/* A statement expression that may return: the end marker would be
	 * skipped. */
	while (({ int got = read(fd, &c, 1); if (got < 0) return -1; got; }) > 0)
		r += 1000;
	close(fd);
	return r * 100 + n;
}

static long retried(void)
{
	int fd = pipe_with("0123456789");
	char buf[3];
	ssize_t n;
	long r = 0;

	/* glibc's retry macro is a statement expression that does not jump. */
	while ((n = TEMP_FAILURE_RETRY(read(fd, buf, sizeof buf))) > 0) /* cond: read */
		r = r * 10 + n;
	close(fd);
	return r;
}

int main(void)
{
	expect("while read", while_read(), 1300 + 4);
	expect("while fgets", while_fgets(), (2 * (322L + 346 + 536 + 46 + 530) + 120) * 100 + 3 + 10);
	expect("poll if", poll_if(), 11);
	expect("for loops", for_loops(), 1234 + 97 * (0 + 1 + 2 + 3));
	expect("do while", do_while(), (728 + 1000) * 10 + 1);
	expect("values", values(), 1 + 8 * 10 + 8 * 100 + 4 * 1000);
	expect("unmarked", unmarked(), (5 + 10 + 30) * 100 + 1);
	expect("retried", retried(), 3331);
	printf("%s\n", failures ? "FAILED" : "all as expected");
	return failures != 0;
}
