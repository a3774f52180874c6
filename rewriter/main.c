/* loom-rewrite SRC OUT: copy a C source tree, adding Loom's hooks to every
 * C file, and write OUT/loom-manifest.json.  See docs/user-guide.md. */
#include <clang-c/Index.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocking.h"
#include "emit.h"
#include "manifest.h"
#include "util.h"
#include "walk.h"

#define PROG "loom-rewrite"

extern const char loom_runtime_header[];   /* rt/loom.h, embedded at build time */
extern const size_t loom_runtime_header_len;

struct job {
	const char *src, *out;   /* absolute */
	char **cflags;
	int ncflags;
	bool quiet;
	bool hybrid;             /* --emit hybrid (the default) */
	struct loom_manifest *m;
	char **paths;            /* relative paths of the tree, sorted */
	size_t npaths, paths_cap;
	unsigned failed;         /* C files copied unchanged after a parse failure */
	bool runtime_all;        /* --runtime all: every file compiles the runtime */
	unsigned homes;          /* files that define main, where the runtime is compiled */
	char **taken;            /* functions whose address some file takes */
	size_t ntaken, taken_cap;
};

__attribute__((format(printf, 1, 2)))
static int die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the tree under job->src (relative paths, sorted, so that ids and
 * output are the same whatever order the file system returns). */
static int list_tree(struct job *job, const char *rel)
{
	char *dir = rel[0] ? loom_xasprintf("%s/%s", job->src, rel) : loom_xstrdup(job->src);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, PROG ": error: %s: %s\n", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while ((e = readdir(d))) {
		char *path;
		struct stat st;
		char *full;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git"))
			continue;
		path = rel[0] ? loom_xasprintf("%s/%s", rel, e->d_name) : loom_xstrdup(e->d_name);
		full = loom_xasprintf("%s/%s", job->src, path);
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (list_tree(job, path) < 0) {
				free(full);
				free(path);
				closedir(d);
				free(dir);
				return -1;
			}
			free(path);
		} else {
			*LOOM_PUSH(job->paths, job->npaths, job->paths_cap) = path;
		}
		free(full);
	}
	closedir(d);
	free(dir);
	return 0;
}

static int write_out(struct job *job, const char *rel, const void *data, size_t len, mode_t mode)
{
	char *path = loom_xasprintf("%s/%s", job->out, rel);
	char *slash = strrchr(path, '/');
	int ret = 0;

	*slash = '\0';
	if (loom_mkdir_p(path) < 0)
		ret = -1;
	*slash = '/';
	if (!ret && (loom_write_file(path, data, len) < 0 || chmod(path, mode & 07777) < 0))
		ret = -1;
	if (ret)
		fprintf(stderr, PROG ": error: cannot write %s: %s\n", path, strerror(errno));
	free(path);
	return ret;
}

/* Prints libclang's diagnostics for TU in compiler style; returns how many
 * are errors. */
static unsigned report_diagnostics(CXTranslationUnit tu)
{
	unsigned n = clang_getNumDiagnostics(tu), errors = 0;

	for (unsigned i = 0; i < n; i++) {
		CXDiagnostic d = clang_getDiagnostic(tu, i);
		enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);

		if (sev >= CXDiagnostic_Error) {
			CXString s = clang_formatDiagnostic(d, CXDiagnostic_DisplaySourceLocation
			                                       | CXDiagnostic_DisplayColumn);

			fprintf(stderr, "%s\n", clang_getCString(s));
			clang_disposeString(s);
			errors++;
		}
		clang_disposeDiagnostic(d);
	}
	return errors;
}

static char *include_path(const char *rel)
{
	size_t depth = 0;
	char *s;

	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	s = loom_xmalloc(depth * 3 + sizeof "loom-rt/loom.h");
	s[0] = '\0';
	for (size_t i = 0; i < depth; i++)
		strcat(s, "../");
	strcat(s, "loom-rt/loom.h");
	return s;
}

static unsigned count_lines(const char *text, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len && text[len - 1] != '\n');
}

static int rewrite_c_file(struct job *job, CXIndex index, const char *rel, const char *text,
                          size_t len, mode_t mode, struct loom_file *file)
{
	char *full = loom_xasprintf("%s/%s", job->src, rel);
	char *incsrc = loom_xasprintf("-I%s", job->src);
	const char **argv = loom_xcalloc((size_t)job->ncflags + 2, sizeof *argv);
	CXTranslationUnit tu = NULL;
	enum CXErrorCode rc;
	int argc = 0, ret;

	argv[argc++] = incsrc;
	for (int i = 0; i < job->ncflags; i++)
		argv[argc++] = job->cflags[i];
	rc = clang_parseTranslationUnit2(index, full, argv, argc, NULL, 0,
	                                 CXTranslationUnit_DetailedPreprocessingRecord
	                                 | CXTranslationUnit_KeepGoing, &tu);
	if (rc != CXError_Success || !tu) {
		fprintf(stderr, "%s: error: libclang could not parse the file (code %d)\n", full, (int)rc);
		file->instrumented = false;
	} else if (report_diagnostics(tu)) {
		fprintf(stderr, "%s: note: copied unchanged (not instrumented) because it does not compile\n", full);
		file->instrumented = false;
	} else {
		struct rw_plan plan = { 0 };
		char *inc = include_path(rel), *out;
		size_t outlen;
		bool home = job->runtime_all;

		rw_walk(tu, text, len, &plan);
		for (size_t i = 0; i < plan.nfuncs && !home; i++)
			home = !plan.funcs[i].is_static && !strcmp(plan.funcs[i].name, "main");
		job->homes += home;
		for (size_t i = 0; i < plan.naddress_taken; i++)
			*LOOM_PUSH(job->taken, job->ntaken, job->taken_cap) = loom_xstrdup(plan.address_taken[i]);
		{
			const char *slash = strrchr(rel, '/');

			out = rw_emit(&plan, text, len, inc, home, slash ? slash + 1 : rel, job->hybrid, job->m,
			              (unsigned)(file - job->m->files), &outlen);
		}
		ret = write_out(job, rel, out, outlen, mode);
		free(out);
		free(inc);
		rw_plan_free(&plan);
		file->instrumented = true;
		goto done;
	}
	job->failed++;
	ret = write_out(job, rel, text, len, mode);
done:
	if (tu)
		clang_disposeTranslationUnit(tu);
	free(argv);
	free(incsrc);
	free(full);
	return ret;
}

static int copy_entry(struct job *job, CXIndex index, const char *rel)
{
	char *full = loom_xasprintf("%s/%s", job->src, rel);
	struct stat st;
	int ret = 0;

	if (lstat(full, &st) < 0) {
		ret = -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(full, target, sizeof target - 1);
		char *dst = loom_xasprintf("%s/%s", job->out, rel);

		if (n >= 0) {
			target[n] = '\0';
			unlink(dst);
			ret = symlink(target, dst);
		}
		free(dst);
	} else if (S_ISREG(st.st_mode)) {
		size_t len;
		char *text = loom_read_file(full, &len);

		if (!text) {
			ret = -1;
		} else if (has_suffix(rel, ".c")) {
			struct loom_file *f = LOOM_PUSH(job->m->files, job->m->nfiles, job->m->files_cap);
			char hash[17];

			memset(f, 0, sizeof *f);
			f->path = loom_xstrdup(rel);
			snprintf(hash, sizeof hash, "%016llx",
			         (unsigned long long)loom_fnv64(LOOM_FNV_SEED, text, len));
			memcpy(f->hash, hash, sizeof hash);
			f->lines = count_lines(text, len);
			if (!job->quiet && isatty(2))
				fprintf(stderr, "\r" PROG ": %s\033[K", rel);
			ret = rewrite_c_file(job, index, rel, text, len, st.st_mode, f);
		} else {
			ret = write_out(job, rel, text, len, st.st_mode);
		}
		free(text);
	}
	if (ret < 0)
		fprintf(stderr, PROG ": error: %s: %s\n", full, strerror(errno));
	free(full);
	return ret;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* OUT may be new, empty, or an earlier output of ours (then it is replaced:
 * rewriting is idempotent).  Anything else is refused. */
static int prepare_out(const char *out)
{
	DIR *d = opendir(out);
	struct dirent *e;
	bool empty = true;
	char *manifest;
	int ours;

	if (!d)
		return errno == ENOENT ? loom_mkdir_p(out) : -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	if (empty)
		return 0;
	manifest = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, out);
	ours = access(manifest, F_OK) == 0;
	free(manifest);
	if (!ours) {
		errno = ENOTEMPTY;
		return -1;
	}
	if (nftw(out, remove_entry, 32, FTW_DEPTH | FTW_PHYS) < 0)
		return -1;
	return loom_mkdir_p(out);
}

static void usage(FILE *f)
{
	fputs("usage: " PROG " [--blocking NAME]... [--emit inline|hybrid] [--runtime main|all] [--quiet]\n"
	      "                    SRC OUT [-- CFLAG...]\n"
	      "Copies the C source tree SRC to OUT with Loom hooks in every C file and writes\n"
	      "OUT/" LOOM_MANIFEST_NAME ". CFLAGs (e.g. -DNAME -Idir) are used to parse every file.\n"
	      "--emit hybrid (default): the original body is the fast path, hooks live in\n"
	      "outlined slow copies; inline: hooks in the one copy of each function.\n"
	      "--runtime main (default): the runtime is compiled in the files that define\n"
	      "main (in every file if none does); all: in every file (for a library linked\n"
	      "into a program that is not rewritten).\n"
	      "Exit status: 0 all C files instrumented, 1 some were copied unchanged because\n"
	      "they do not compile, 2 nothing usable was written.\n", f);
}

/* The absolute form of PATH, which need not exist yet (its parent must). */
static char *absolute(const char *path)
{
	char buf[PATH_MAX];
	char *copy, *slash, *res;

	if (realpath(path, buf))
		return loom_xstrdup(buf);
	copy = loom_xstrdup(path);
	slash = strrchr(copy, '/');
	if (slash && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(copy, '/');
	}
	if (!slash)
		res = realpath(".", buf) ? loom_xasprintf("%s/%s", buf, copy) : NULL;
	else {
		*slash = '\0';
		res = realpath(copy[0] ? copy : "/", buf) ? loom_xasprintf("%s/%s", buf, slash + 1) : NULL;
	}
	free(copy);
	return res;
}

static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '/' || a[n] == '\0');
}

/* The runtime's implementation is compiled once per program, in the file
 * that defines main (its definitions are weak, so several such files in one
 * tree are fine), not in every file: a 10 KB copy per object file would be
 * dead weight in the binary and compile time in every build.  Files without
 * main then only declare it.  When no instrumented file defines main (a
 * library) or some C file could not be parsed (it might be the one), every
 * file compiles it, as with --runtime all. */
static int write_config(struct job *job)
{
	char *manifest = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, job->out);
	bool everywhere = job->runtime_all || !job->homes || job->failed;
	char *config = loom_xasprintf(
		"/* Generated by " PROG ": the manifest this tree was rewritten with. */\n"
		"#define LOOM_MANIFEST_ID \"%s\"\n"
		"#define LOOM_MANIFEST_PATH \"%s\"\n"
		"#define LOOM_NHOOKS %zuu\n"
		"#define LOOM_NFUNCS %zuu\n"
		"/* 1: every file compiles the runtime, not only those that define main */\n"
		"#define LOOM_RT_EVERYWHERE %d\n", job->m->id, manifest, job->m->nslots,
		job->m->nfunctions, everywhere);
	int ret = write_out(job, "loom-rt/loom-config.h", config, strlen(config), 0644);

	ret = ret ? ret : write_out(job, "loom-rt/loom.h", loom_runtime_header,
	                            loom_runtime_header_len, 0644);
	free(config);
	free(manifest);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "blocking", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "emit", required_argument, NULL, 'e' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct job job = { .hybrid = true };
	struct loom_error err = { 0 };
	char *src, *out, *probe;
	CXIndex index;
	int c, ret = 0;
	struct stat st;

	while ((c = getopt_long(argc, argv, "+b:e:r:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			loom_blocking_add(optarg);
			break;
		case 'q':
			job.quiet = true;
			break;
		case 'e':
			if (strcmp(optarg, "inline") && strcmp(optarg, "hybrid"))
				return die("--emit takes inline or hybrid, not '%s'", optarg);
			job.hybrid = !strcmp(optarg, "hybrid");
			break;
		case 'r':
			if (strcmp(optarg, "main") && strcmp(optarg, "all"))
				return die("--runtime takes main or all, not '%s'", optarg);
			job.runtime_all = !strcmp(optarg, "all");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2 || (argc - optind > 2 && strcmp(argv[optind + 2], "--"))) {
		usage(stderr);
		return 2;
	}
	if (argc - optind > 2) {
		job.cflags = argv + optind + 3;
		job.ncflags = argc - optind - 3;
	}
	if (stat(argv[optind], &st) < 0)
		return die("%s: %s", argv[optind], strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return die("%s: not a directory (SRC is the root of a C source tree)", argv[optind]);
	src = absolute(argv[optind]);
	out = absolute(argv[optind + 1]);
	if (!src || !out)
		return die("%s: %s", argv[optind + 1], strerror(errno));
	if (inside(out, src) || inside(src, out))
		return die("OUT (%s) and SRC (%s) must not contain each other", out, src);
	probe = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, src);
	if (access(probe, F_OK) == 0)
		return die("%s is already a loom-rewrite output (it has %s); rewrite the original tree",
		           src, LOOM_MANIFEST_NAME);
	free(probe);
	if (prepare_out(out) < 0) {
		if (errno == ENOTEMPTY)
			return die("%s: exists and is not a loom-rewrite output; refusing to overwrite it", out);
		return die("%s: %s", out, strerror(errno));
	}
	job.src = src;
	job.out = out;
	job.m = loom_manifest_new("loom-rewrite " LOOM_VERSION, src);
	if (list_tree(&job, "") < 0)
		return 2;
	qsort(job.paths, job.npaths, sizeof *job.paths, cmp_path);
	index = clang_createIndex(0, 0);
	for (size_t i = 0; i < job.npaths; i++) {
		if (copy_entry(&job, index, job.paths[i]) < 0)
			ret = 2;
		free(job.paths[i]);
	}
	clang_disposeIndex(index);
	if (!job.quiet && isatty(2))
		fputs("\r\033[K", stderr);
	/* Address-taken is a property of the program, not of one file (by
	 * name: conservative for static functions of the same name). */
	for (size_t i = 0; i < job.m->nfunctions; i++)
		for (size_t j = 0; j < job.ntaken && !job.m->functions[i].address_taken; j++)
			job.m->functions[i].address_taken = !strcmp(job.m->functions[i].name, job.taken[j]);
	for (size_t j = 0; j < job.ntaken; j++)
		free(job.taken[j]);
	free(job.taken);
	{
		char *path = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, out);

		if (loom_manifest_save(job.m, path, &err) < 0 || write_config(&job) < 0) {
			loom_error_print(&err, PROG);
			ret = 2;
		}
		free(path);
	}
	if (!job.quiet || job.failed)
		fprintf(stderr, PROG ": %zu C files (%u not instrumented), %zu functions, %zu hooks, "
		        "%zu statements skipped inside macros -> %s\n", job.m->nfiles, job.failed,
		        job.m->nfunctions, job.m->nslots, job.m->nskips, out);
	if (!ret && job.failed)
		ret = 1;
	loom_manifest_free(job.m);
	free(job.paths);
	free(src);
	free(out);
	return ret;
}
