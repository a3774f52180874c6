/* conformance-cflags: -std=gnu89 -Wdeclaration-after-statement */
/* blocking_conditions_c90.c: C90 code (declarations only at the start of
 * blocks) whose loops wait in their conditions, right after the
 * declarations: the markers around a condition are expressions, never a
 * statement before a declaration.  blocking_conditions.py also compiles it
 * with -std=c89 -Wpedantic.  Comments as in blocking_conditions.c. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static long count_words(int fd)
{
	char c;
	long words = 0;
	int in_word = 0;

	while (read(fd, &c, 1) == 1) { /* cond: read */
		int space = c == ' ' || c == '\n';

		if (!space && !in_word)
			words++;
		in_word = !space;
	}
	return words;
}

static long lines_of(FILE *f)
{
	char line[16];
	char *p;
	long n = 0;

	do {
		long len;

		p = fgets(line, sizeof line, f); /* stmt: fgets */
		len = p ? (long)strlen(p) : 0;
		n += len > 0;
	} while (p != NULL && !feof(f));
	for (rewind(f); fgets(line, sizeof line, f) != NULL;) /* cond: fgets */
		n += 10;
	return n;
}

int main(void)
{
	int fd = pipe_with("a C90 program\nwaits here\n");
	FILE *f;
	long words, lines;

	words = count_words(fd);
	close(fd);
	f = tmpfile();
	if (!f)
		return 2;
	fputs("one\ntwo\n", f);
	rewind(f);
	lines = lines_of(f);
	fclose(f);
	printf("%ld words, %ld lines\n", words, lines);
	return words == 5 && lines == 22 ? 0 : 1;
}
