#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int loom_error_set(struct loom_error *err, const char *file, unsigned line,
                   unsigned column, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->set)
		return -1;
	err->set = true;
	snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
	return -1;
}

void loom_error_print(const struct loom_error *err, const char *prog)
{
	if (!err->file[0])
		fprintf(stderr, "%s: error: %s\n", prog, err->text);
	else if (!err->line)
		fprintf(stderr, "%s: error: %s\n", err->file, err->text);
	else if (!err->column)
		fprintf(stderr, "%s:%u: error: %s\n", err->file, err->line, err->text);
	else
		fprintf(stderr, "%s:%u:%u: error: %s\n", err->file, err->line,
		        err->column, err->text);
}

uint64_t loom_fnv64(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

size_t loom_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row = loom_xcalloc(lb + 1, sizeof *row), d;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

size_t loom_utf8_length(const unsigned char *p, const unsigned char *end)
{
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4 || (size_t)(end - p) < n)
		return 0;
	cp = p[0] & (n == 2 ? 0x1fu : n == 3 ? 0x0fu : 0x07u);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool loom_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

	for (size_t n; p < end; p += n)
		if (!(n = loom_utf8_length(p, end)))
			return false;
	return true;
}

char *loom_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t have = 0, cap;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto err;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto err;
	}
	cap = (size_t)st.st_size + 1;
	buf = loom_xmalloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (have == cap) {
			cap *= 2;
			buf = loom_xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto err;
		if (r == 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	buf[have] = '\0';
	if (len)
		*len = have;
	return buf;
err:
	{
		int e = errno;
		free(buf);
		close(fd);
		errno = e;
	}
	return NULL;
}

int loom_write_file(const char *path, const void *data, size_t len)
{
	char *tmp = loom_xasprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		goto err;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			goto err_unlink;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto err_unlink;
	free(tmp);
	return 0;
err_unlink:
	{
		int e = errno;
		unlink(tmp);
		errno = e;
	}
err:
	free(tmp);
	return -1;
}

int loom_mkdir_p(const char *path)
{
	char *p = loom_xstrdup(path);
	int ret = 0;

	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';

		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			ret = -1;
			break;
		}
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return ret;
}

static void oom(void)
{
	fputs("loom: out of memory\n", stderr);
	abort();
}

void *loom_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

int loom_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void loom_sort_unique(void *base, size_t *n, size_t size, int (*cmp)(const void *, const void *),
                      void (*drop)(void *))
{
	unsigned char *e = base;
	size_t out = 0;

	loom_sort(base, *n, size, cmp);
	for (size_t i = 0; i < *n; i++) {
		if (out && !cmp(e + i * size, e + (out - 1) * size))
			drop(e + i * size);
		else if (out++ != i)
			memcpy(e + (out - 1) * size, e + i * size, size);
	}
	*n = out;
}

void *loom_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *loom_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *loom_xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		oom();
	return d;
}

char *loom_decimal(char *end, unsigned long long v)
{
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

/* Appends the decimal digits of V to BUF at *N (if they fit in CAP). */
static bool put_digits(char *buf, size_t cap, size_t *n, unsigned long long v, bool negative)
{
	char digits[LOOM_DECIMAL_MAX + 1], *end = digits + sizeof digits, *d = loom_decimal(end, v);
	size_t k;

	if (negative)
		*--d = '-';
	k = (size_t)(end - d);
	if (*n + k >= cap)
		return false;
	memcpy(buf + *n, d, k);
	*n += k;
	return true;
}

int loom_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;

	if (!cap)
		return -1;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			const char *pc = strchr(p, '%');
			size_t run = pc ? (size_t)(pc - p) : strlen(p);

			if (n + run >= cap)
				return -1;
			memcpy(buf + n, p, run);
			n += run;
			p += run - 1;
			continue;
		}
		switch (*++p) {
		case '%':
			if (n + 1 >= cap)
				return -1;
			buf[n++] = '%';
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t len;

			if (!s)
				return -1; /* glibc's "(null)" is vsnprintf's to write */
			len = strlen(s);

			if (n + len >= cap)
				return -1;
			memcpy(buf + n, s, len);
			n += len;
			break;
		}
		case 'u':
			if (!put_digits(buf, cap, &n, va_arg(ap, unsigned), false))
				return -1;
			break;
		case 'd': {
			int v = va_arg(ap, int);

			if (!put_digits(buf, cap, &n, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0))
				return -1;
			break;
		}
		case 'z':
			if (p[1] != 'u' || !put_digits(buf, cap, &n, va_arg(ap, size_t), false))
				return -1;
			p++;
			break;
		case 'l':
			if (p[1] == 'u') {
				if (!put_digits(buf, cap, &n, va_arg(ap, unsigned long), false))
					return -1;
			} else if (p[1] == 'd') {
				long v = va_arg(ap, long);

				if (!put_digits(buf, cap, &n, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
				                v < 0))
					return -1;
			} else {
				return -1;
			}
			p++;
			break;
		default:
			return -1;
		}
	}
	buf[n] = '\0';
	return (int)n;
}

char *loom_xasprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap, again;
	char *s;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = loom_vformat(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= 0) {
		s = loom_xmalloc((size_t)n + 1);
		memcpy(s, buf, (size_t)n + 1);
	} else if (vasprintf(&s, fmt, again) < 0) {
		oom();
	}
	va_end(again);
	return s;
}

void loom_grow(void **items, size_t *cap, size_t count, size_t size)
{
	if (count < *cap)
		return;
	*cap = *cap ? *cap * 2 : 16;
	*items = loom_xrealloc(*items, *cap * size);
}
