/* loom-rewrite SRC OUT: copy a C source tree, adding Loom's hooks to every
 * C file, and write OUT/loom-manifest.json.  See docs/user-guide.md. */
#include <clang-c/CXCompilationDatabase.h>
#include <clang-c/Index.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocking.h"
#include "cursors.h"
#include "emit.h"
#include "manifest.h"
#include "util.h"
#include "walk.h"

#define PROG "loom-rewrite"

extern const char loom_runtime_header[];   /* rt/loom.h, embedded at build time */
extern const size_t loom_runtime_header_len;

struct job {
	const char *src, *out;   /* absolute */
	char **cflags;           /* after --: added to every file's flags */
	int ncflags;
	CXCompilationDatabase db; /* compile_commands.json, or NULL */
	char *db_dir;
	unsigned from_db;        /* C files it lists */
	unsigned inferred;       /* C files it does not list: libclang inferred their flags */
	char **listed;           /* real paths of the files it lists, sorted */
	size_t nlisted, listed_cap;
	unsigned unresolved;     /* files it lists that do not exist (yet) */
	unsigned jobs;           /* parsing threads */
	bool quiet;
	bool hybrid;             /* --emit hybrid (the default) */
	struct loom_manifest *m;
	char **paths;            /* relative paths of the tree, sorted */
	size_t npaths, paths_cap;
	unsigned failed;         /* C files copied unchanged after a parse failure */
	unsigned unnamed;        /* C files copied unchanged because their path is not UTF-8 */
	bool runtime_all;        /* --runtime all: every file compiles the runtime */
	unsigned homes;          /* files that define main, where the runtime is compiled */
	unsigned shared_clients; /* files without the runtime compiled for a shared object */
	unsigned failed_main;    /* files copied unchanged that may define main */
	struct rw_taken *taken;  /* functions whose address some file takes */
	size_t ntaken, taken_cap;
	struct loom_conversion *conversions; /* of function pointers, in any file */
	size_t nconversions, conversions_cap;
	struct rw_taken *fp_params; /* function pointer parameters of the functions */
	size_t nfp_params, fp_params_cap;
	char **unprototyped;        /* functions called without prototype somewhere */
	size_t nunprototyped, unprototyped_cap;
	char *src_real;          /* SRC with symbolic links resolved */
	char **headers;          /* headers of the tree written instrumented, sorted */
	size_t nheaders, headers_cap;
	struct switchless *switchless; /* see find_switchless */
	size_t nswitchless, switchless_cap;
	struct rw_fast_entry *fast; /* see find_fast_entries; sorted by name */
	size_t nfast, fast_cap;
	bool no_fast;             /* --no-fast-entries */
	struct rw_shorts shorts;  /* see find_short_externals */
	size_t shorts_cap;
	bool skip_pure;           /* --skip-pure */
};

/* An external function definition, while choosing fast entries: whether
 * it qualifies. */
struct external {
	const char *name;
	bool qualifies;
};

/* A static function of a tree header without entry switch: HEADER's
 * function NAME, defined at offset DECL_START. */
struct switchless {
	const char *header, *name;
	unsigned decl_start;
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

static bool inside(const char *a, const char *b);

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

/* Prints libclang's error diagnostics for TU in compiler style to OUT;
 * returns how many there are. */
/* Gives OUT/REL the times TIMES (access, modification) of the original:
 * for a file written unchanged, so that the build's make sees the tree's
 * files in their original order.  A generated file (bison's output) stays
 * newer than its source, which make would otherwise run the generator on,
 * replacing a rewritten file with a plain one.  Rewritten files keep the
 * time they were written: newer than the objects of an earlier rewrite. */
static int keep_times(const struct job *job, const char *rel, const struct timespec times[2])
{
	char *dst = loom_xasprintf("%s/%s", job->out, rel);
	int ret = utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW);

	free(dst);
	return ret;
}

static unsigned report_diagnostics(CXTranslationUnit tu, FILE *out)
{
	unsigned n = clang_getNumDiagnostics(tu), errors = 0;

	for (unsigned i = 0; i < n; i++) {
		CXDiagnostic d = clang_getDiagnostic(tu, i);
		enum CXDiagnosticSeverity sev = clang_getDiagnosticSeverity(d);

		if (sev >= CXDiagnostic_Error) {
			CXString s = clang_formatDiagnostic(d, CXDiagnostic_DisplaySourceLocation
			                                       | CXDiagnostic_DisplayColumn);

			fprintf(out, "%s\n", clang_getCString(s));
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

/* A header of the tree (any file but a C file) that a unit includes: its
 * functions (static inline ones, usually) are walked in that unit.  The
 * first unit in path order that walked it instruments it, once for all. */
struct header {
	char *rel;
	char *text;
	size_t len;
	CXFile file;
	unsigned include_off;   /* of the unit's last #include that brings it in */
	struct rw_plan plan;
};

/* A C file of the tree.  Files are parsed and walked by worker threads,
 * then emitted one by one in path order, so that ids and output do not
 * depend on scheduling. */
struct unit {
	char *rel;
	char *full;           /* SRC/REL */
	char *text;
	size_t len;
	mode_t mode;
	struct timespec times[2]; /* its access and modification times */
	char **args;          /* the parse's arguments (see unit_flags) */
	size_t nargs, args_cap;
	unsigned file;        /* its index in the manifest's files */
	struct rw_plan plan;
	struct header *headers; /* the tree's headers it includes */
	size_t nheaders, headers_cap;
	char **unnamed;       /* headers of the tree it includes whose paths are not
	                       * UTF-8: left alone (see unnamed_file) */
	size_t nunnamed, unnamed_cap;
	bool walked;          /* parsed without errors: PLAN holds its hooks */
	bool includes_c;      /* it #includes a C file of the tree */
	bool unlisted;        /* a database is used and does not list it (its build
	                       * may well not compile it) */
	bool shared;          /* one of its commands compiles it for a shared
	                       * object (-fPIC or -fpic, not -fPIE) */
	bool outsider;        /* a C file the database compiles that is not one
	                       * of the tree's (generated in the build directory,
	                       * say): parsed only to see which of the tree's
	                       * functions it uses (find_switchless), never
	                       * written; FULL and REL are its real path */
	char **refs;          /* an outsider's: the functions its code names
	                       * (see outside_refs), sorted */
	size_t nrefs, refs_cap;
	char *messages;       /* its diagnostics, printed when it is emitted */
	size_t messages_len;
};

static void push_arg(struct unit *u, const char *arg)
{
	*LOOM_PUSH(u->args, u->nargs, u->args_cap) = loom_xstrdup(arg);
}

/* Whether ARG, a path relative to DIR unless absolute, names the file whose
 * real path is REAL (the source file of a compile command: it is given to
 * the parser apart). */
static bool same_file(const char *dir, const char *arg, const char *real)
{
	char *path, buf[PATH_MAX];
	bool same;

	if (arg[0] == '-' || !real[0])
		return false;
	path = arg[0] == '/' ? loom_xstrdup(arg) : loom_xasprintf("%s/%s", dir, arg);
	same = realpath(path, buf) && !strcmp(buf, real);
	free(path);
	return same;
}

/* Whether compile command CMD compiles the file whose real path is REAL
 * (libclang answers a file it does not know with a guessed command). */
static bool command_compiles(CXCompileCommand cmd, const char *real)
{
	CXString dir = clang_CompileCommand_getDirectory(cmd);
	CXString file = clang_CompileCommand_getFilename(cmd);
	bool same = same_file(clang_getCString(dir), clang_getCString(file), real);

	clang_disposeString(dir);
	clang_disposeString(file);
	return same;
}


/* ARG, a `-Wp,` option (its comma-separated options go to the preprocessor),
 * without what writes a dependency file (-MD, -MMD and their file, -MF,
 * -MT, -MQ and theirs, -MP): a kernel-style `-Wp,-MMD,dir/.f.o.d` would
 * make the parse write there, relative to loom-rewrite's directory, and
 * fail where that directory does not exist.  NULL when nothing is left. */
static char *preprocessor_options(const char *arg)
{
	char *copy = loom_xstrdup(arg + 4), *kept = loom_xstrdup(arg), *save = NULL;
	size_t n = 3; /* "-Wp", then what stays: never longer than ARG */

	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "-MD") || !strcmp(o, "-MMD") || !strcmp(o, "-MF") || !strcmp(o, "-MT")
		    || !strcmp(o, "-MQ")) {
			strtok_r(NULL, ",", &save); /* its file or target */
			continue;
		}
		if (strcmp(o, "-MP"))
			n += (size_t)sprintf(kept + n, ",%s", o);
	}
	free(copy);
	if (n == 3) {
		free(kept);
		return NULL;
	}
	return kept;
}

/* Does CMD compile for a shared object: -fPIC or -fpic, not overridden by a
 * later -fPIE or -fpie (or -fno-pic)?  Such an object without the runtime
 * links into a shared library only next to the file that has it. */
static bool for_shared_object(CXCompileCommand cmd)
{
	bool pic = false;

	for (unsigned i = 1; i < clang_CompileCommand_getNumArgs(cmd); i++) {
		CXString a = clang_CompileCommand_getArg(cmd, i);
		const char *arg = clang_getCString(a);

		if (!strcmp(arg, "-fPIC") || !strcmp(arg, "-fpic"))
			pic = true;
		else if (!strcmp(arg, "-fPIE") || !strcmp(arg, "-fpie") || !strcmp(arg, "-fno-pic")
		         || !strcmp(arg, "-fno-PIC"))
			pic = false;
		clang_disposeString(a);
	}
	return pic;
}

/* The flags U is parsed with: its build's own (compile_commands.json,
 * without what only matters to a real compile: the output, dependency
 * files), else -I SRC; then the flags given after --; all after -w.
 *
 * -w because a warning is nothing to the rewrite (only errors are reported)
 * and clang's warnings cost work: its checks of format strings, of calls,
 * of missing returns (a control-flow graph per function); with -w the parse
 * is about 8% cheaper (bfd's elf32-arm.c). It also keeps -Werror, and a gcc
 * build's warning options unknown to clang, from failing or cluttering the
 * parse. Errors by default (an implicit declaration in C99) stay errors.
 * First, because clang's driver lets a later -w cancel -Wwrite-strings,
 * which is no warning option: it makes string literals const (libiberty
 * builds with it). */
static void unit_flags(struct job *job, struct unit *u)
{
	CXCompileCommands cmds = job->db ? clang_CompilationDatabase_getCompileCommands(job->db, u->full) : NULL;
	CXCompileCommand cmd = NULL;
	char real[PATH_MAX];

	push_arg(u, "-w");
	if (!realpath(u->full, real))
		real[0] = '\0';
	for (unsigned i = 0; cmds && i < clang_CompileCommands_getSize(cmds) && !cmd; i++)
		if (command_compiles(clang_CompileCommands_getCommand(cmds, i), real))
			cmd = clang_CompileCommands_getCommand(cmds, i);
	if (cmd) {
		const char *key = real;
		CXString dirs = clang_CompileCommand_getDirectory(cmd);
		const char *dir = clang_getCString(dirs);
		unsigned n = clang_CompileCommand_getNumArgs(cmd);
		char *wd = loom_xasprintf("-working-directory=%s", dir);

		push_arg(u, wd);
		free(wd);
		for (unsigned i = 1; i < n; i++) {
			CXString a = clang_CompileCommand_getArg(cmd, i);
			const char *arg = clang_getCString(a);

			/* After "--" only inputs follow (a command libclang infers
			 * for a file the database does not list ends `-c -- FILE`);
			 * passed on, it would make the flags added below inputs. */
			if (!strcmp(arg, "--")) {
				clang_disposeString(a);
				break;
			}
			if (!strcmp(arg, "-o") || !strcmp(arg, "-MF") || !strcmp(arg, "-MT") || !strcmp(arg, "-MQ")) {
				i++;
			} else if (!strncmp(arg, "-Wp,", 4)) {
				char *kept = preprocessor_options(arg);

				if (kept)
					push_arg(u, kept);
				free(kept);
			} else if (strcmp(arg, "-c") && strcmp(arg, "-MD") && strcmp(arg, "-MMD")
			         && strcmp(arg, "-MP") && !same_file(dir, arg, real))
				push_arg(u, arg);
			clang_disposeString(a);
		}
		clang_disposeString(dirs);
		u->unlisted = !loom_bsearch(&key, job->listed, job->nlisted, sizeof *job->listed, loom_cmp_str);
		if (!u->outsider) {
			job->inferred += u->unlisted;
			job->from_db += !u->unlisted;
		}
	} else {
		char *inc = loom_xasprintf("-I%s", job->src);

		push_arg(u, inc);
		free(inc);
	}
	for (int i = 0; i < job->ncflags; i++)
		push_arg(u, job->cflags[i]);
	for (unsigned i = 0; cmds && i < clang_CompileCommands_getSize(cmds); i++)
		u->shared |= for_shared_object(clang_CompileCommands_getCommand(cmds, i));
	if (cmds)
		clang_CompileCommands_dispose(cmds);
}

struct includes {
	const struct job *job;
	struct unit *u;
};

/* Records a file the unit includes if it is a header of the tree. */
static void collect_header(CXFile file, CXSourceLocation *stack, unsigned depth, CXClientData data)
{
	struct includes *in = data;
	CXString name = clang_getFileName(file);
	char real[PATH_MAX];
	const char *rel;
	struct header *h;
	unsigned off;

	if (!depth || !realpath(clang_getCString(name), real)) {
		clang_disposeString(name);
		return;
	}
	clang_disposeString(name);
	rel = real + strlen(in->job->src_real) + 1;
	if (!inside(real, in->job->src_real)
	    || !loom_bsearch(&rel, in->job->paths, in->job->npaths, sizeof *in->job->paths, loom_cmp_str))
		return;
	if (has_suffix(rel, ".c")) {
		in->u->includes_c = true;
		return;
	}
	/* The manifest could not name it (see unnamed_file): left alone, as a
	 * header from outside the tree would be. */
	if (!loom_utf8_valid(rel)) {
		for (size_t i = 0; i < in->u->nunnamed; i++)
			if (!strcmp(in->u->unnamed[i], rel))
				return;
		*LOOM_PUSH(in->u->unnamed, in->u->nunnamed, in->u->unnamed_cap) = loom_xstrdup(rel);
		return;
	}
	clang_getFileLocation(stack[depth - 1], NULL, NULL, NULL, &off);
	for (size_t i = 0; i < in->u->nheaders; i++)
		if (!strcmp(in->u->headers[i].rel, rel)) {
			/* The last inclusion: a header without a guard may
			 * define a function only in a later one. */
			if (off > in->u->headers[i].include_off)
				in->u->headers[i].include_off = off;
			return;
		}
	h = LOOM_PUSH(in->u->headers, in->u->nheaders, in->u->headers_cap);
	memset(h, 0, sizeof *h);
	h->file = file;
	h->include_off = off;
	h->text = loom_read_file(real, &h->len);
	if (!h->text) {
		in->u->nheaders--;
		return;
	}
	h->rel = loom_xstrdup(rel);
}

/* Frees the string at P (loom_sort_unique). */
static void drop_str(void *p)
{
	free(*(char **)p);
}

/* Records in the unit's refs the functions a cursor of an outside
 * declaration names. */
static enum CXChildVisitResult collect_ref(CXCursor c, CXCursor parent, CXClientData data)
{
	struct unit *u = data;

	(void)parent;
	if (clang_getCursorKind(c) == CXCursor_DeclRefExpr
	    && clang_getCursorKind(clang_getCursorReferenced(c)) == CXCursor_FunctionDecl) {
		CXString name = clang_getCursorSpelling(c);

		*LOOM_PUSH(u->refs, u->nrefs, u->refs_cap) = loom_xstrdup(clang_getCString(name));
		clang_disposeString(name);
	}
	return CXChildVisit_Recurse;
}

/* Visits the top-level declarations of an outsider's code: not in a system
 * header nor in a header of the tree it includes. */
static enum CXChildVisitResult outside_decl(CXCursor c, CXCursor parent, CXClientData data)
{
	struct unit *u = data;
	CXSourceLocation loc = clang_getCursorLocation(c);
	CXFile file;

	(void)parent;
	if (clang_Location_isInSystemHeader(loc))
		return CXChildVisit_Continue;
	clang_getExpansionLocation(loc, &file, NULL, NULL, NULL);
	if (!file)
		return CXChildVisit_Continue;
	for (size_t i = 0; i < u->nheaders; i++)
		if (clang_File_isEqual(file, u->headers[i].file))
			return CXChildVisit_Continue;
	clang_visitChildren(c, collect_ref, u);
	return CXChildVisit_Continue;
}

/* Sets outsider U's refs to the functions its code (TU's, but for system
 * headers and the tree's headers) names: it calls a header's function
 * without switch, and would miss a filter on it (find_switchless).  (In
 * a tree file, rewritten, the walk counts a reference from outside the
 * tree as taking the function's address.) */
static void outside_refs(CXTranslationUnit tu, struct unit *u)
{
	clang_visitChildren(clang_getTranslationUnitCursor(tu), outside_decl, u);
	loom_sort_unique(u->refs, &u->nrefs, sizeof *u->refs, loom_cmp_str, drop_str);
}

/* Parses and walks U, with the tree's headers it includes (in a worker
 * thread: touches nothing but U). */
static void parse_unit(CXIndex index, const struct job *job, struct unit *u)
{
	CXTranslationUnit tu = NULL;
	FILE *msg = open_memstream(&u->messages, &u->messages_len);
	enum CXErrorCode rc;

	if (!msg)
		abort();
	rc = clang_parseTranslationUnit2(index, u->full, (const char *const *)u->args, (int)u->nargs, NULL, 0,
	                                 CXTranslationUnit_DetailedPreprocessingRecord
	                                 | CXTranslationUnit_KeepGoing, &tu);
	if (rc != CXError_Success || !tu) {
		fprintf(msg, "%s: error: libclang could not parse the file (code %d)\n", u->full, (int)rc);
	} else if (report_diagnostics(tu, msg)) {
		fprintf(msg, "%s: note: copied unchanged (not instrumented) because it does not compile\n", u->full);
	} else {
		struct includes in = { job, u };
		struct rw_source *src;

		clang_getInclusions(tu, collect_header, &in);
		src = loom_xcalloc(u->nheaders + 1, sizeof *src);
		src[0] = (struct rw_source){ clang_getFile(tu, u->full), u->text, u->len, &u->plan };
		for (size_t i = 0; i < u->nheaders; i++)
			src[i + 1] = (struct rw_source){ u->headers[i].file, u->headers[i].text, u->headers[i].len,
			                                 &u->headers[i].plan };
		rw_walk(tu, src, u->nheaders + 1, job->skip_pure);
		free(src);
		if (u->outsider)
			outside_refs(tu, u);
		u->walked = true;
	}
	if (tu)
		clang_disposeTranslationUnit(tu);
	fclose(msg);
}

struct pool {
	struct job *job;
	struct unit *units;
	size_t nunits;
	size_t next, done;       /* under LOCK */
	pthread_mutex_t lock;
};

static void *parse_worker(void *arg)
{
	struct pool *pool = arg;
	CXIndex index = clang_createIndex(0, 0);

	for (;;) {
		struct unit *u;

		pthread_mutex_lock(&pool->lock);
		u = pool->next < pool->nunits ? &pool->units[pool->next++] : NULL;
		pthread_mutex_unlock(&pool->lock);
		if (!u)
			break;
		parse_unit(index, pool->job, u);
		pthread_mutex_lock(&pool->lock);
		pool->done++;
		if (!pool->job->quiet && isatty(2))
			fprintf(stderr, "\r" PROG ": [%zu/%zu] %s\033[K", pool->done, pool->nunits, u->rel);
		pthread_mutex_unlock(&pool->lock);
	}
	clang_disposeIndex(index);
	return NULL;
}

/* Parses every unit, on JOB->jobs threads. */
static void parse_all(struct job *job, struct unit *units, size_t n)
{
	struct pool pool = { .job = job, .units = units, .nunits = n };
	size_t nthreads = job->jobs < n ? job->jobs : n;
	pthread_t *threads = loom_xcalloc(nthreads ? nthreads : 1, sizeof *threads);
	size_t started = 0;

	pthread_mutex_init(&pool.lock, NULL);
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, parse_worker, &pool))
			break;
	if (!started)
		parse_worker(&pool); /* no thread to be had: parse here */
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&pool.lock);
	free(threads);
	if (!job->quiet && isatty(2))
		fputs("\r\033[K", stderr);
}

/* Adds the file REL (content TEXT, LEN bytes) to the manifest; returns its
 * index. */
static unsigned add_file(struct job *job, const char *rel, const char *text, size_t len)
{
	struct loom_file *f = LOOM_PUSH(job->m->files, job->m->nfiles, job->m->files_cap);
	char hash[17];

	memset(f, 0, sizeof *f);
	f->path = loom_xstrdup(rel);
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)loom_fnv64(LOOM_FNV_SEED, text, len));
	memcpy(f->hash, hash, sizeof hash);
	f->lines = count_lines(text, len);
	return (unsigned)(f - job->m->files);
}

static int cmp_switchless(const void *a, const void *b)
{
	const struct switchless *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->header, y->header);
}

/* The first of the N candidates C (sorted by name) named NAME, or C + N. */
static struct switchless *first_named(struct switchless *c, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(c[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return c + lo;
}

static const struct header *unit_header(const struct unit *u, const char *rel)
{
	for (size_t i = 0; i < u->nheaders; i++)
		if (!strcmp(u->headers[i].rel, rel))
			return &u->headers[i];
	return NULL;
}

/* Which functions have their address taken, and as which types, is a
 * property of the program, not of one file: JOB's lists of every file go
 * into its manifest (by name: conservative for static functions of the
 * same name), with the conversions between function pointer types, and
 * are freed. */
static void record_taken(struct job *job)
{
	rw_taken_unique(job->taken, &job->ntaken);
	for (size_t i = 0; i < job->m->nfunctions; i++) {
		struct loom_function *f = &job->m->functions[i];
		size_t lo = 0, hi = job->ntaken;

		while (lo < hi) { /* the first entry of the name */
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(job->taken[mid].name, f->name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		f->address_taken = lo < job->ntaken && !strcmp(job->taken[lo].name, f->name);
		/* An entry of unknown type comes first: then none counts. */
		for (size_t j = lo; f->address_taken && job->taken[lo].type && j < job->ntaken
		     && !strcmp(job->taken[j].name, f->name); j++)
			*LOOM_PUSH(f->taken_as, f->ntaken_as, f->taken_as_cap) = loom_xstrdup(job->taken[j].type);
	}
	for (size_t j = 0; j < job->ntaken; j++) {
		free(job->taken[j].name);
		free(job->taken[j].type);
	}
	free(job->taken);
	/* A function called without prototype reads what it is passed (an
	 * opaque argument) as its parameters' types. */
	loom_sort(job->unprototyped, job->nunprototyped, sizeof *job->unprototyped, loom_cmp_str);
	for (size_t j = 0; j < job->nfp_params; j++) {
		const char *name = job->fp_params[j].name;

		if (loom_bsearch(&name, job->unprototyped, job->nunprototyped, sizeof *job->unprototyped, loom_cmp_str))
			*LOOM_PUSH(job->conversions, job->nconversions, job->conversions_cap) =
				(struct loom_conversion){ loom_xstrdup(LOOM_OPAQUE_TYPE), loom_xstrdup(job->fp_params[j].type) };
		free(job->fp_params[j].name);
		free(job->fp_params[j].type);
	}
	for (size_t j = 0; j < job->nunprototyped; j++)
		free(job->unprototyped[j]);
	free(job->fp_params);
	free(job->unprototyped);
	loom_conversions_unique(job->conversions, &job->nconversions);
	job->m->typed = true;
	job->m->conversions = job->conversions;
	job->m->nconversions = job->nconversions;
	job->m->conversions_cap = job->conversions_cap;
}

/* Marks BAD the candidates named NAME, of header REL (or of any header if
 * REL is NULL). */
static void mark_named(struct switchless *c, size_t n, bool *bad, const char *name, const char *rel)
{
	for (struct switchless *k = first_named(c, n, name); k < c + n && !strcmp(k->name, name); k++)
		if (!rel || !strcmp(k->header, rel))
			bad[k - c] = true;
}

/* Marks BAD the candidates named in NAMES (functions whose address a file
 * takes). */
static void mark_taken(struct switchless *c, size_t n, bool *bad, const struct rw_taken *taken, size_t ntaken)
{
	for (size_t i = 0; i < ntaken; i++)
		mark_named(c, n, bad, taken[i].name, NULL);
}

/* Marks BAD the candidates called in PLAN (of unit U, or of its header H)
 * where the call cannot go to the slow copy, nor, from a function whose
 * hooks stay inline, to the switch entry. */
static void mark_calls(struct switchless *c, size_t n, bool *bad, const struct unit *u, const struct header *h,
                       const struct rw_plan *plan)
{
	for (size_t i = 0; i < plan->nfuncs; i++)
		for (size_t j = 0; j < plan->funcs[i].ncalls; j++) {
			const struct rw_call *call = &plan->funcs[i].calls[j];

			for (struct switchless *k = call->callee ? first_named(c, n, call->callee) : c + n;
			     k < c + n && !strcmp(k->name, call->callee); k++) {
				const struct header *kh = unit_header(u, k->header);
				struct rw_slow_callee sc = { k->name, h ? 0 : kh ? kh->include_off : 0,
				                             h && strcmp(h->rel, k->header) };
				struct rw_emit_opts o = { .header = h != NULL, .slow_callees = &sc, .nslow_callees = 1 };

				/* A file that does not include K's header calls
				 * another function of that name; but a header it
				 * includes, written once for all, would call K's
				 * slow copy there.  A header calls K's slow copy
				 * only where K's definition comes first. */
				if (!kh) {
					bad[k - c] |= h && strcmp(h->rel, k->header);
					continue;
				}
				if ((h && strcmp(h->rel, k->header) && !call->defined_above)
				    || !(rw_calls_slow_copy(plan, &plan->funcs[i], call, &o)
				         || rw_calls_switch_entry(plan, &plan->funcs[i], call, &o)))
					bad[k - c] = true;
			}
		}
}

/* Whether a unit saw function G of a header as the unit that writes the
 * header saw F: the same definition, outlined alike, making the same calls.
 * (Under other macros a body may call another function, which the written
 * slow copy would call unrenamed.) */
static bool same_function(const struct rw_func *f, const struct rw_func *g)
{
	if (strcmp(f->name, g->name) || f->decl_start != g->decl_start || !f->inline_reason != !g->inline_reason
	    || f->is_static != g->is_static || f->ncalls != g->ncalls || f->nva_starts != g->nva_starts
	    || f->nhoists != g->nhoists
	    || (f->nva_starts && memcmp(f->va_starts, g->va_starts, f->nva_starts * sizeof *f->va_starts)))
		return false;
	for (size_t c = 0; c < f->ncalls; c++)
		if (f->calls[c].name_off != g->calls[c].name_off || f->calls[c].macro_name != g->calls[c].macro_name
		    || !f->calls[c].callee != !g->calls[c].callee
		    || (f->calls[c].callee && strcmp(f->calls[c].callee, g->calls[c].callee)))
			return false;
	return true;
}

/* OWNER's function defined at DECL_START and named NAME, or NULL. */
static const struct rw_func *func_at(const struct rw_plan *owner, unsigned decl_start, const char *name)
{
	for (size_t i = 0; i < owner->nfuncs; i++)
		if (owner->funcs[i].decl_start == decl_start && !strcmp(owner->funcs[i].name, name))
			return &owner->funcs[i];
	return NULL;
}

/* Whether every definition named NAME of the header as OWNER sees it says
 * `#define NAME__slow NAME` after its group (rw_func.group_end), or after
 * its prototype's copy of the groups, for a unit that takes another
 * branch. */
static bool falls_back(const struct rw_plan *owner, const char *name)
{
	size_t n;
	const size_t *named = rw_plan_named(owner, name, &n);

	for (size_t k = 0; k < n; k++)
		if (!owner->funcs[named[k]].group_end)
			return false;
	return n > 0;
}

/* Whether VIEW defines NAME, and not as OWNER does (another branch). */
static bool defined_otherwise(const struct rw_plan *view, const struct rw_plan *owner, const char *name)
{
	size_t n;
	const size_t *named = rw_plan_named(view, name, &n);

	for (size_t k = 0; k < n; k++)
		if (func_at(owner, view->funcs[named[k]].decl_start, name))
			return false;
	return n > 0;
}

/* A unit saw header REL as VIEW, the unit that writes it as OWNER: marks
 * BAD what that leaves uncertain.  Every function a function it saw
 * otherwise calls keeps its switch: with another body under other macros,
 * the written slow copy calls it unrenamed; in a definition the writer did
 * not see (another branch of a group, left uninstrumented) the fast body
 * calls it, unless that branch defines it too.  The function itself keeps
 * its switch only when neither its written slow copy nor its group's
 * fallback (rw_func.group_end) serves the calls of F__slow there, and so
 * does a function of OWNER this unit does not see where OWNER does.
 * Functions seen alike lose nothing (Open vSwitch's hash.h has two
 * branches for SSE 4.2, taken by its AVX-512 files alone; hash_int, outside
 * them, is the same in both). */
static void mark_view(struct switchless *c, size_t n, bool *bad, const char *rel, const struct rw_plan *view,
                      const struct rw_plan *owner)
{
	size_t alike = 0;

	/* Mostly all alike, in order. */
	while (alike < view->nfuncs && view->nfuncs == owner->nfuncs
	       && same_function(&owner->funcs[alike], &view->funcs[alike]))
		alike++;
	if (alike == owner->nfuncs && alike == view->nfuncs)
		return;
	for (size_t i = 0; i < view->nfuncs; i++) {
		const struct rw_func *g = &view->funcs[i], *f = func_at(owner, g->decl_start, g->name);

		if (f && same_function(f, g))
			continue;
		/* The same definition with another body (a branch inside
		 * it: util.h's count_1bits under -mpopcnt): the unit compiles
		 * the written text, slow copy included, so F's callers can
		 * switch for it there too; only what the other branch calls,
		 * unrenamed in the copy, keeps its switch.  Another
		 * definition of it, in another branch of a group: the calls of
		 * F__slow go to it there (rw_func.group_end).  It is not
		 * instrumented, and calls the functions the view shares with
		 * the owner without switch, but not those it defines
		 * otherwise. */
		if (!f && !falls_back(owner, g->name))
			mark_named(c, n, bad, g->name, rel);
		for (size_t j = 0; j < g->ncalls; j++)
			if (g->calls[j].callee && (f || !defined_otherwise(view, owner, g->calls[j].callee)))
				mark_named(c, n, bad, g->calls[j].callee, NULL);
	}
	for (size_t i = 0; i < owner->nfuncs; i++)
		if (!func_at(view, owner->funcs[i].decl_start, owner->funcs[i].name)
		    && !falls_back(owner, owner->funcs[i].name))
			mark_named(c, n, bad, owner->funcs[i].name, rel);
}

/* Whether REAL, a real path, is one of the tree's C files. */
static bool tree_c_file(const struct job *job, const char *real)
{
	return inside(real, job->src_real) && has_suffix(real, ".c")
	       && loom_bsearch(&(const char *){ real + strlen(job->src_real) + 1 }, job->paths, job->npaths,
	                       sizeof *job->paths, loom_cmp_str);
}

/* The tree's files that sources the rewrite does not walk may include
 * (find_switchless), by file name: their include paths are unknown. */
struct unseen {
	const struct job *job;
	bool *mark;       /* per job->paths entry */
	size_t *queue;    /* marked, not scanned yet */
	size_t nqueue, queue_cap;
};

/* Marks tree file P (job->paths index) and queues it to be scanned. */
static void queue_unseen(struct unseen *u, size_t p)
{
	if (!u->mark[p]) {
		u->mark[p] = true;
		*LOOM_PUSH(u->queue, u->nqueue, u->queue_cap) = p;
	}
}

/* Marks the tree's files named like what TEXT's #include (and
 * #include_next) lines name, and queues them to be scanned in turn.
 * Every such line counts, whatever conditional or comment it is in.
 * False if a line does not write the name out (a macro names it). */
static bool mark_includes(struct unseen *u, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		size_t j = i, k, base;
		char close;

		if (i && text[i - 1] != '\n')
			continue;
		while (j < len && (text[j] == ' ' || text[j] == '\t'))
			j++;
		if (j >= len || text[j++] != '#')
			continue;
		while (j < len && (text[j] == ' ' || text[j] == '\t'))
			j++;
		if (len - j < 7 || memcmp(text + j, "include", 7))
			continue;
		j += 7;
		if (len - j >= 5 && !memcmp(text + j, "_next", 5))
			j += 5;
		while (j < len && (text[j] == ' ' || text[j] == '\t'))
			j++;
		if (j >= len || (text[j] != '"' && text[j] != '<'))
			return false;
		close = text[j] == '"' ? '"' : '>';
		for (k = ++j, base = j; k < len && text[k] != close && text[k] != '\n'; k++)
			if (text[k] == '/')
				base = k + 1;
		if (k >= len || text[k] != close)
			return false;
		for (size_t p = 0; p < u->job->npaths; p++) {
			const char *path = u->job->paths[p], *slash = strrchr(path, '/');
			const char *name = slash ? slash + 1 : path;

			if (strlen(name) == k - base && !memcmp(name, text + base, k - base))
				queue_unseen(u, p);
		}
	}
	return true;
}

/* Reads the file PATH and marks what it may include (mark_includes);
 * false if it cannot be read or names an include by a macro. */
static bool scan_unseen(struct unseen *u, const char *path)
{
	size_t len;
	char *text = loom_read_file(path, &len);
	bool ok = text && mark_includes(u, text, len);

	free(text);
	return ok;
}

/* Scans the queued tree files, and those they queue in turn. */
static bool drain_unseen(struct unseen *u)
{
	bool ok = true;

	while (ok && u->nqueue) {
		char *full = loom_xasprintf("%s/%s", u->job->src, u->job->paths[u->queue[--u->nqueue]]);

		ok = scan_unseen(u, full);
		free(full);
	}
	return ok;
}

/* Finds the static functions of the tree's headers that need no entry
 * switch because every call of them switches instead, as a static
 * function's callers in its own file do (see rw_emit): a switch would be
 * repeated wherever the compiler inlines the function, and it makes the
 * compiler inline it less (bench/interp: 2.5% more instructions).  That
 * takes every C file the build compiles to have been read and parsed (a
 * file copied unchanged would call the fast function), the header's
 * function and its callers to be seen where the writer saw them in each
 * file that includes it, or to fall back after their group, and nothing
 * seen otherwise to call it (mark_view),
 * the function's address never taken (rewriter/walk.c counts cleanup and
 * alias attributes and references from outside the tree), every call of it able
 * to call its slow copy (made by a function with a slow copy, spelled in a
 * C file after the header's last #include or in the header below the
 * definition, or written there by a macro that the caller's copies can
 * rename (rw_call.macro_name); not in another header), no reference
 * to it from code no file of the rewrite writes (the walk counts one from
 * a header outside the tree as taking the address; the OUTSIDERS, the
 * NOUT C files the compilation database lists outside the tree's,
 * generated in the build directory say, count by what they name,
 * outside_refs, and their views of the header as the tree's files'), and nothing
 * that could include the header unseen: no C++, Objective-C or parser-
 * generator source of the tree, no outsider that did not parse or that
 * includes a C file, no other file of the compilation database that
 * is not one of the tree's C files, no C file whose path is not UTF-8
 * (copied unchanged, see
 * unnamed_file) and no C file that includes another includes it, directly
 * or through other files of the tree, going by their #include lines and
 * file names (mark_includes).  A program
 * outside the tree that includes the rewritten header runs these functions
 * fast (docs/design.md). */
static void find_switchless(struct job *job, const struct unit *units, size_t n, const struct unit *outsiders,
                            size_t nout, bool all_read)
{
	struct switchless *c = NULL;
	size_t nc = 0, cap = 0;
	/* The tree's headers, as the unit that writes each walked it. */
	struct seen {
		const char *rel;
		const struct rw_plan *owner;
	} *seen = NULL;
	size_t nseen = 0, seen_cap = 0;
	bool *bad;

	/* Sources whose code may include the header without being walked:
	 * other languages, and parser generators' input (their C is made at
	 * build time). */
	static const char *const unwalked[] = {
		".cc", ".cp", ".cpp", ".cxx", ".c++", ".C", ".CPP", ".cppm", ".ixx", ".cu",
		".m", ".mm", ".M", ".y", ".yy", ".l", ".ll",
	};
	struct unseen unseen = { job, NULL, NULL, 0, 0 };
	bool ok = true;

	if (!job->hybrid || !all_read || job->unresolved)
		return;
	for (size_t i = 0; i < n; i++)
		if (!units[i].walked && !units[i].unlisted)
			return;
	unseen.mark = loom_xcalloc(job->npaths + 1, sizeof *unseen.mark);
	/* A C file that includes another: the included file's code, written
	 * once as its own unit saw it, is compiled here under other macros
	 * too, and may call what this file includes. */
	for (size_t i = 0; i < n && ok; i++)
		if (units[i].includes_c)
			ok = scan_unseen(&unseen, units[i].full);
	for (size_t i = 0; i < job->npaths; i++) {
		for (size_t j = 0; j < sizeof unwalked / sizeof *unwalked; j++)
			if (has_suffix(job->paths[i], unwalked[j]))
				queue_unseen(&unseen, i);
		/* A C file copied unchanged because its path is not UTF-8. */
		if (has_suffix(job->paths[i], ".c") && !loom_utf8_valid(job->paths[i]))
			queue_unseen(&unseen, i);
	}
	/* A file the database compiles that is not one of the tree's C files
	 * (generated in the build directory, say): its references count
	 * (outside_refs) if it parsed, else whatever it may include. */
	for (size_t i = 0; i < job->nlisted && ok; i++)
		if (!tree_c_file(job, job->listed[i])) {
			size_t o = 0;

			while (o < nout && strcmp(outsiders[o].full, job->listed[i]))
				o++;
			if (o == nout || !outsiders[o].walked || outsiders[o].includes_c)
				ok = scan_unseen(&unseen, job->listed[i]);
		}
	ok = ok && drain_unseen(&unseen);
	free(unseen.queue);
	if (!ok) {
		free(unseen.mark);
		return;
	}
	/* The candidates, as the unit that writes each header saw them. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; units[i].walked && j < units[i].nheaders; j++) {
			const struct header *h = &units[i].headers[j];
			size_t s = 0;

			while (s < nseen && strcmp(seen[s].rel, h->rel))
				s++;
			if (s < nseen)
				continue;
			*LOOM_PUSH(seen, nseen, seen_cap) = (struct seen){ h->rel, &h->plan };
			for (size_t f = 0; f < h->plan.nfuncs; f++)
				if (h->plan.funcs[f].is_static && rw_slow_callable(&h->plan.funcs[f]))
					*LOOM_PUSH(c, nc, cap) = (struct switchless){ h->rel, h->plan.funcs[f].name,
					                                              h->plan.funcs[f].decl_start };
		}
	loom_sort(c, nc, sizeof *c, cmp_switchless);
	bad = loom_xcalloc(nc + 1, 1);
	for (size_t j = 0; j < nc; j++) {
		char **at = loom_bsearch(&c[j].header, job->paths, job->npaths, sizeof *job->paths, loom_cmp_str);

		bad[j] = !at || unseen.mark[at - job->paths];
	}
	/* The outsiders' views count as the tree's files' do; a header only
	 * outsiders include is not written. */
	for (size_t i = 0; i < n + nout && nc; i++) {
		const struct unit *u = i < n ? &units[i] : &outsiders[i - n];

		for (size_t j = 0; u->walked && j < u->nheaders; j++) {
			const struct header *h = &u->headers[j];
			size_t s = 0;

			while (s < nseen && strcmp(seen[s].rel, h->rel))
				s++;
			if (s < nseen && seen[s].owner != &h->plan)
				mark_view(c, nc, bad, h->rel, &h->plan, seen[s].owner);
		}
	}
	free(unseen.mark);
	free(seen);
	for (size_t i = 0; i < n + nout && nc; i++) {
		const struct unit *u = i < n ? &units[i] : &outsiders[i - n];

		if (!u->walked)
			continue;
		for (size_t j = 0; j < u->nrefs; j++)
			mark_named(c, nc, bad, u->refs[j], NULL);
		mark_taken(c, nc, bad, u->plan.address_taken, u->plan.naddress_taken);
		if (!u->outsider)
			mark_calls(c, nc, bad, u, NULL, &u->plan);
		for (size_t j = 0; j < u->nheaders; j++) {
			mark_taken(c, nc, bad, u->headers[j].plan.address_taken, u->headers[j].plan.naddress_taken);
			mark_calls(c, nc, bad, u, &u->headers[j], &u->headers[j].plan);
		}
	}
	for (size_t j = 0; j < nc; j++)
		if (!bad[j])
			*LOOM_PUSH(job->switchless, job->nswitchless, job->switchless_cap) =
				(struct switchless){ loom_xstrdup(c[j].header), loom_xstrdup(c[j].name), c[j].decl_start };
	free(bad);
	free(c);
}

/* The name element J of the elements of SIZE bytes at V begins with (a
 * `const char *`). */
static const char *name_at(const void *v, size_t size, size_t j)
{
	return *(const char *const *)(const void *)((const char *)v + j * size);
}

/* Whether element J of the N elements of SIZE bytes at V, sorted by the
 * name each begins with, is the only one so named (a function the tree
 * defines once, not in two programs). */
static bool named_once(const void *v, size_t n, size_t size, size_t j)
{
	const char *name = name_at(v, size, j);

	return (j == 0 || strcmp(name_at(v, size, j - 1), name)) && (j + 1 == n || strcmp(name_at(v, size, j + 1), name));
}

/* The plans of the headers unit U includes, as it sees them.  Free the
 * result. */
static const struct rw_plan **header_views(const struct unit *u)
{
	const struct rw_plan **views = loom_xcalloc(u->nheaders + 1, sizeof *views);

	for (size_t i = 0; i < u->nheaders; i++)
		views[i] = &u->headers[i].plan;
	return views;
}

/* An external function definition, while finding those that cannot run
 * long: function FI of units[UNIT]. */
struct short_candidate {
	const char *name;
	size_t unit, fi;
	bool listed, is_short;
};

static int cmp_short_candidate(const void *a, const void *b)
{
	return strcmp(((const struct short_candidate *)a)->name, ((const struct short_candidate *)b)->name);
}

/* Finds the tree's external functions that cannot run long (struct
 * rw_shorts), for the twin analysis: defined once, in a parsed C file the
 * compilation database (if any) lists, whose loops and calls cannot run
 * long (rw_runs_long), calls of one another included.  A least fixed
 * point: a function joins only once all it calls have, so recursion runs
 * long.  A call by name may reach another function of that name in a
 * program that does not link this one; as for fast entries, a name the
 * tree defines twice (two programs) counts for neither, and a function
 * outside the tree of a name the tree defines once is taken for it: a
 * loop calling it then has no twin, and a thread that never leaves it
 * picks up a filter on the loop at the function's next entry only. */
static void find_short_externals(struct job *job, const struct unit *units, size_t n)
{
	struct short_candidate *c = NULL;
	size_t nc = 0, cap = 0, kept = 0;
	const struct rw_plan ***views;
	bool changed = true;

	if (!job->hybrid)
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; units[i].walked && f < units[i].plan.nfuncs; f++)
			if (!units[i].plan.funcs[f].is_static)
				*LOOM_PUSH(c, nc, cap) = (struct short_candidate){ units[i].plan.funcs[f].name, i, f,
				                                                   !units[i].unlisted, false };
	loom_sort(c, nc, sizeof *c, cmp_short_candidate);
	for (size_t j = 0; j < nc; j++)
		if (c[j].listed && named_once(c, nc, sizeof *c, j))
			c[kept++] = c[j];
	nc = kept;
	views = loom_xcalloc(n + 1, sizeof *views);
	for (size_t i = 0; i < n; i++)
		views[i] = units[i].walked ? header_views(&units[i]) : NULL;
	while (changed) {
		changed = false;
		job->shorts.n = 0;
		for (size_t j = 0; j < nc; j++)
			if (c[j].is_short)
				*LOOM_PUSH(job->shorts.names, job->shorts.n, job->shorts_cap) = (char *)c[j].name;
		for (size_t j = 0; j < nc; j++) {
			const struct unit *u = &units[c[j].unit];

			if (!c[j].is_short && !rw_runs_long(&u->plan, views[c[j].unit], u->nheaders, c[j].fi, &job->shorts))
				changed = c[j].is_short = true;
		}
	}
	/* The names are the plans': copies outlive them. */
	for (size_t j = 0; j < job->shorts.n; j++)
		job->shorts.names[j] = loom_xstrdup(job->shorts.names[j]);
	for (size_t i = 0; i < n; i++)
		free(views[i]);
	free(views);
	free(c);
}

/* Which loops get twins, in every unit and the headers as it sees them,
 * knowing the headers' helpers and the tree's external functions that
 * cannot run long (rw_settle_twins), for the emitter. */
static void settle_twins(const struct job *job, struct unit *units, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct unit *u = &units[k];
		const struct rw_plan **views;

		if (!u->walked)
			continue;
		views = header_views(u);
		rw_settle_twins(&u->plan, views, u->nheaders, &job->shorts);
		for (size_t i = 0; i < u->nheaders; i++)
			rw_settle_twins(&u->headers[i].plan, views, u->nheaders, &job->shorts);
		free(views);
	}
}

static int cmp_external(const void *a, const void *b)
{
	return strcmp(((const struct external *)a)->name, ((const struct external *)b)->name);
}

/* Chooses the functions that get a fast entry (struct rw_fast_entry):
 * those with external linkage and a
 * slow copy, defined once in the tree (not in a header), neither main nor
 * noreturn, with a prototype, and declared at file scope above the
 * definition (the renamed body and the slow copy may still name the
 * function; adding the declaration would lose a -Wmissing-prototypes
 * warning of the original), in a file the compilation database (if any)
 * lists (__func__ written in the body, or by a macro such as assert, still
 * names the function: emit.c keep_func_name, `#define __func__`).  Their public
 * entry keeps its switch, so callers outside the tree, in files that do not
 * parse and through pointers stay exact; a program or shared library that
 * links a caller but not the function's NAME__fast gets the caller's weak
 * fallback (rt/loom.h LOOM_FAST_FALLBACK).  Whatever their size: their
 * callers in the tree skip the switch, and the compiler inlines the body
 * where it inlined the original (Open vSwitch's random_init into
 * random_uint32, csum_continue into csum, both with loops). */
static void find_fast_entries(struct job *job, const struct unit *units, size_t n)
{
	struct external *c = NULL;
	size_t nc = 0, cap = 0;
	char **headers = NULL; /* names of the headers' external functions */
	size_t nheaders = 0, headers_cap = 0;

	if (!job->hybrid || job->no_fast)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct rw_plan *plan = &units[i].plan;

		if (!units[i].walked)
			continue;
		for (size_t j = 0; j < units[i].nheaders; j++)
			for (size_t f = 0; f < units[i].headers[j].plan.nfuncs; f++)
				if (!units[i].headers[j].plan.funcs[f].is_static)
					*LOOM_PUSH(headers, nheaders, headers_cap) = units[i].headers[j].plan.funcs[f].name;
		for (size_t f = 0; f < plan->nfuncs; f++) {
			const struct rw_func *rf = &plan->funcs[f];

			/* Every external definition goes in, so that a name
			 * defined twice (two programs of the tree) drops out. */
			if (rf->is_static)
				continue;
			*LOOM_PUSH(c, nc, cap) = (struct external){
				rf->name, !units[i].unlisted && rw_slow_callable(rf) && !rf->name_macro && !rf->noreturn && !rf->no_prototype
				          && rf->declared_above && strcmp(rf->name, "main") };
		}
	}
	loom_sort(c, nc, sizeof *c, cmp_external);
	loom_sort(headers, nheaders, sizeof *headers, loom_cmp_str);
	for (size_t j = 0; j < nc; j++)
		if (named_once(c, nc, sizeof *c, j) && c[j].qualifies
		    && !loom_bsearch(&c[j].name, headers, nheaders, sizeof *headers, loom_cmp_str))
			*LOOM_PUSH(job->fast, job->nfast, job->fast_cap) = (struct rw_fast_entry){ loom_xstrdup(c[j].name) };
	free(headers);
	free(c);
}

/* The rw_slow_callee list for a file: for a header REL (U NULL), the
 * functions without switch, its own and the other headers' (whose calls
 * there mark_calls checked); for unit U, those of the headers it includes,
 * after their #include.  Free the result. */
static struct rw_slow_callee *slow_callees(const struct job *job, const struct unit *u, const char *rel, size_t *n)
{
	struct rw_slow_callee *sc = loom_xcalloc(job->nswitchless + 1, sizeof *sc);

	*n = 0;
	for (size_t i = 0; i < job->nswitchless; i++) {
		const struct header *h = u ? unit_header(u, job->switchless[i].header) : NULL;

		if (!u || h)
			sc[(*n)++] = (struct rw_slow_callee){ job->switchless[i].name, h ? h->include_off : 0,
			                                      !u && strcmp(job->switchless[i].header, rel) };
	}
	return sc;
}

static bool header_written(const struct job *job, const char *rel)
{
	return loom_bsearch(&rel, job->headers, job->nheaders, sizeof *job->headers, loom_cmp_str) != NULL;
}

/* Writes header H instrumented, unless it has no function or an earlier
 * unit wrote it (see struct rw_emit_opts for what differs in a header). */
static int emit_header(struct job *job, const struct header *h)
{
	char *inc, *out;
	size_t outlen, i, nsc;
	struct rw_slow_callee *sc;
	unsigned file;
	struct stat st;
	char *full;
	int ret;

	if (!h->plan.nfuncs || header_written(job, h->rel))
		return 0;
	full = loom_xasprintf("%s/%s", job->src, h->rel);
	if (lstat(full, &st) < 0)
		st.st_mode = 0644;
	free(full);
	file = add_file(job, h->rel, h->text, h->len);
	job->m->files[file].instrumented = true;
	inc = include_path(h->rel);
	sc = slow_callees(job, NULL, h->rel, &nsc);
	out = rw_emit(&h->plan, h->text, h->len,
	              &(struct rw_emit_opts){ .include = inc, .runtime_home = true, .hybrid = job->hybrid,
	                                      .header = true, .slow_callees = sc, .nslow_callees = nsc,
	                                      .fast_entries = job->fast, .nfast_entries = job->nfast },
	              job->m, file, &outlen);
	free(sc);
	ret = write_out(job, h->rel, out, outlen, st.st_mode);
	free(out);
	free(inc);
	/* Kept sorted: later paths of the tree are checked against it. */
	for (i = job->nheaders; i > 0 && strcmp(job->headers[i - 1], h->rel) > 0; i--)
		;
	LOOM_PUSH(job->headers, job->nheaders, job->headers_cap);
	memmove(job->headers + i + 1, job->headers + i, (job->nheaders - 1 - i) * sizeof *job->headers);
	job->headers[i] = loom_xstrdup(h->rel);
	return ret;
}

/* Might TEXT define main: is `main` followed by '(' anywhere in it (a
 * call or a comment counts too)? */
static bool may_define_main(const char *text, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++) {
		size_t j = i + 4;

		if (memcmp(text + i, "main", 4) || (i && (isalnum((unsigned char)text[i - 1]) || text[i - 1] == '_')))
			continue;
		while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
			j++;
		if (j < len && text[j] == '(')
			return true;
	}
	return false;
}

/* Writes U's rewritten text (or, if it did not parse, its original text)
 * and records its functions and hooks in the manifest. */
static int emit_unit(struct job *job, struct unit *u)
{
	struct loom_file *file = &job->m->files[u->file];
	int ret;

	fwrite(u->messages, 1, u->messages_len, stderr);
	if (u->walked) {
		char *inc = include_path(u->rel), *out;
		bool home = job->runtime_all;
		size_t outlen, nsc;
		struct rw_slow_callee *sc;
		for (size_t i = 0; i < u->plan.nfuncs && !home; i++)
			home = !u->plan.funcs[i].is_static && !strcmp(u->plan.funcs[i].name, "main");
		job->homes += home;
		/* A C file that includes another may have main from there (its
		 * functions are not walked as this unit's).  It does not count
		 * as a home: in a tree without main (a library) every file
		 * compiles the runtime. */
		home = home || u->includes_c;
		job->shared_clients += u->shared && !home;
		for (size_t i = 0; i < u->plan.naddress_taken; i++) {
			const struct rw_taken *t = &u->plan.address_taken[i];

			*LOOM_PUSH(job->taken, job->ntaken, job->taken_cap) =
				(struct rw_taken){ loom_xstrdup(t->name), t->type ? loom_xstrdup(t->type) : NULL };
		}
		for (size_t i = 0; i < u->plan.nconversions; i++)
			*LOOM_PUSH(job->conversions, job->nconversions, job->conversions_cap) = (struct loom_conversion){
				loom_xstrdup(u->plan.conversions[i].from), loom_xstrdup(u->plan.conversions[i].to) };
		for (size_t i = 0; i < u->plan.nfp_params; i++)
			*LOOM_PUSH(job->fp_params, job->nfp_params, job->fp_params_cap) = (struct rw_taken){
				loom_xstrdup(u->plan.fp_params[i].name), loom_xstrdup(u->plan.fp_params[i].type) };
		for (size_t i = 0; i < u->plan.nunprototyped; i++)
			*LOOM_PUSH(job->unprototyped, job->nunprototyped, job->unprototyped_cap) =
				loom_xstrdup(u->plan.unprototyped[i]);
		sc = slow_callees(job, u, NULL, &nsc);
		out = rw_emit(&u->plan, u->text, u->len,
		              &(struct rw_emit_opts){ .include = inc, .runtime_home = home, .hybrid = job->hybrid,
		                                      .slow_callees = sc, .nslow_callees = nsc,
		                                      .fast_entries = job->fast, .nfast_entries = job->nfast },
		              job->m, u->file, &outlen);
		free(sc);
		ret = write_out(job, u->rel, out, outlen, u->mode);
		free(out);
		free(inc);
		file->instrumented = true;
		for (size_t i = 0; i < u->nheaders && !ret; i++)
			ret = emit_header(job, &u->headers[i]);
	} else {
		job->failed++;
		job->failed_main += !u->unlisted && may_define_main(u->text, u->len);
		file->instrumented = false;
		ret = write_out(job, u->rel, u->text, u->len, u->mode);
		if (ret == 0 && keep_times(job, u->rel, u->times) < 0) {
			fprintf(stderr, PROG ": error: %s/%s: %s\n", job->out, u->rel, strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

static void unit_free(struct unit *u)
{
	for (size_t i = 0; i < u->nargs; i++)
		free(u->args[i]);
	free(u->args);
	free(u->full);
	free(u->text);
	free(u->messages);
	if (u->walked)
		rw_plan_free(&u->plan);
	for (size_t i = 0; i < u->nheaders; i++) {
		rw_plan_free(&u->headers[i].plan);
		free(u->headers[i].rel);
		free(u->headers[i].text);
	}
	free(u->headers);
	for (size_t i = 0; i < u->nrefs; i++)
		free(u->refs[i]);
	free(u->refs);
	for (size_t i = 0; i < u->nunnamed; i++)
		free(u->unnamed[i]);
	free(u->unnamed);
	free(u->rel);
}

/* Warns, once each, of the headers the N units include that are left
 * alone because their paths are not UTF-8. */
static void warn_unnamed_headers(const struct job *job, const struct unit *units, size_t n)
{
	const char **warned = NULL;
	size_t nwarned = 0, cap = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < units[i].nunnamed; j++) {
			size_t k = 0;

			while (k < nwarned && strcmp(warned[k], units[i].unnamed[j]))
				k++;
			if (k < nwarned)
				continue;
			*LOOM_PUSH(warned, nwarned, cap) = units[i].unnamed[j];
			fprintf(stderr, PROG ": warning: %s/%s: header left alone (not instrumented): its path is "
			        "not UTF-8, which the manifest cannot hold\n", job->src, units[i].unnamed[j]);
		}
	free(warned);
}

/* The C file REL, whose path is not UTF-8: JSON strings are Unicode, so
 * the manifest cannot name it, and it is copied unchanged like a file that
 * does not parse.  If it may define main, the runtime goes everywhere. */
static void unnamed_file(struct job *job, const char *rel)
{
	char *full = loom_xasprintf("%s/%s", job->src, rel);
	size_t len;
	char *text = loom_read_file(full, &len);

	fprintf(stderr, PROG ": warning: %s: copied unchanged (not instrumented): its path is not UTF-8, "
	        "which the manifest cannot hold\n", full);
	job->unnamed++;
	job->failed_main += !text || may_define_main(text, len);
	free(text);
	free(full);
}

/* Whether REL is a C file to instrument (a regular file named *.c). */
static bool is_c_file(const struct job *job, const char *rel, struct stat *st)
{
	char *full = loom_xasprintf("%s/%s", job->src, rel);
	bool c = has_suffix(rel, ".c") && lstat(full, st) == 0 && S_ISREG(st->st_mode);

	free(full);
	return c;
}

/* Copies REL to OUT as it is (a symbolic link stays a link). */
static int copy_entry(struct job *job, const char *rel)
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

		ret = text ? write_out(job, rel, text, len, st.st_mode) : -1;
		free(text);
	}
	if (ret == 0)
		ret = keep_times(job, rel, (struct timespec[2]){ st.st_atim, st.st_mtim });
	if (ret < 0)
		fprintf(stderr, PROG ": error: %s: %s\n", full, strerror(errno));
	free(full);
	return ret;
}

/* Reads the C file REL into U and adds it to the manifest (files are in
 * path order).  Returns -1 if it cannot be read. */
static int load_unit(struct job *job, const char *rel, const struct stat *st, struct unit *u)
{
	memset(u, 0, sizeof *u);
	u->rel = loom_xstrdup(rel);
	u->full = loom_xasprintf("%s/%s", job->src, rel);
	u->mode = st->st_mode;
	u->times[0] = st->st_atim;
	u->times[1] = st->st_mtim;
	u->text = loom_read_file(u->full, &u->len);
	if (!u->text) {
		fprintf(stderr, PROG ": error: %s: %s\n", u->full, strerror(errno));
		unit_free(u);
		return -1;
	}
	u->file = add_file(job, rel, u->text, u->len);
	unit_flags(job, u);
	return 0;
}

/* Reads into OUT the outsiders (struct unit): the C files the
 * compilation database lists that are not the tree's, so that
 * find_switchless can see what they call.  Returns how many; one that
 * cannot be read is left out (find_switchless then goes by its name). */
static size_t load_outsiders(struct job *job, struct unit *out)
{
	size_t n = 0;

	for (size_t i = 0; i < job->nlisted; i++) {
		struct unit *u = &out[n];

		if (!has_suffix(job->listed[i], ".c") || tree_c_file(job, job->listed[i]))
			continue;
		memset(u, 0, sizeof *u);
		u->outsider = true;
		u->rel = loom_xstrdup(job->listed[i]);
		u->full = loom_xstrdup(job->listed[i]);
		u->text = loom_read_file(u->full, &u->len);
		if (!u->text) {
			unit_free(u);
			continue;
		}
		unit_flags(job, u);
		n++;
	}
	return n;
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
	fputs("usage: " PROG " [-p BUILD_DIR] [-j N] [--blocking NAME]... [--emit inline|hybrid]\n"
	      "                    [--runtime main|all] [--no-fast-entries] [--skip-pure] [--quiet]\n"
	      "                    SRC OUT [-- CFLAG...]\n"
	      "Copies the C source tree SRC to OUT with Loom hooks in every C file and writes\n"
	      "OUT/" LOOM_MANIFEST_NAME ". Each file is parsed with its flags from\n"
	      "BUILD_DIR/compile_commands.json (default: SRC's or SRC/build's, if there is one),\n"
	      "else with -I SRC; CFLAGs (e.g. -DNAME -Idir) are added to every file's flags.\n"
	      "-j N: parse with N threads (default: one per processor).\n"
	      "--emit hybrid (default): the original body is the fast path, hooks live in\n"
	      "outlined slow copies; inline: hooks in the one copy of each function.\n"
	      "--runtime main (default): the runtime is compiled in the files that define\n"
	      "main (in every file if none does); all: in every file (for a library linked\n"
	      "into a program that is not rewritten).\n"
	      "--no-fast-entries: every call of a small external function goes through its\n"
	      "entry switch (by default the tree's callers call its unchecked NAME__fast and\n"
	      "run slow while a filter needs the function; see docs/design.md).\n"
	      "--skip-pure: no hooks in functions that touch no memory but their own\n"
	      "parameters and locals and call only such functions (no race can involve\n"
	      "them; their callers' statements stay events; filters may not name them).\n"
	      "Exit status: 0 all C files instrumented, 1 some were copied unchanged because\n"
	      "they do not compile (or their path is not UTF-8), 2 nothing usable was written.\n", f);
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
		res = realpath(copy[0] ? copy : "/", buf)
		      ? loom_xasprintf("%s%s%s", buf, buf[1] ? "/" : "", slash + 1) : NULL;
	}
	free(copy);
	return res;
}


/* Records the real paths of the files the database lists (libclang answers
 * any other file with a command inferred from a similar one). */
static void list_database(struct job *job)
{
	CXCompileCommands all = clang_CompilationDatabase_getAllCompileCommands(job->db);
	char buf[PATH_MAX];

	for (unsigned i = 0; all && i < clang_CompileCommands_getSize(all); i++) {
		CXCompileCommand cmd = clang_CompileCommands_getCommand(all, i);
		CXString dir = clang_CompileCommand_getDirectory(cmd), file = clang_CompileCommand_getFilename(cmd);
		const char *f = clang_getCString(file);
		char *path = f[0] == '/' ? loom_xstrdup(f) : loom_xasprintf("%s/%s", clang_getCString(dir), f);

		if (realpath(path, buf))
			*LOOM_PUSH(job->listed, job->nlisted, job->listed_cap) = loom_xstrdup(buf);
		else
			job->unresolved++;
		free(path);
		clang_disposeString(dir);
		clang_disposeString(file);
	}
	if (all)
		clang_CompileCommands_dispose(all);
	loom_sort(job->listed, job->nlisted, sizeof *job->listed, loom_cmp_str);
}

/* Opens the compilation database of DIR (-p), or else the first of SRC and
 * SRC/build that holds a compile_commands.json.  Returns -1 (reported) if
 * DIR has none or it cannot be read. */
static int open_compile_commands(struct job *job, const char *dir)
{
	const char *const defaults[] = { "", "/build" };
	int ret = 0;

	for (size_t i = 0; i < (dir ? 1 : 2) && !job->db && !ret; i++) {
		char *d = dir ? absolute(dir) : loom_xasprintf("%s%s", job->src, defaults[i]);
		char *file = d ? loom_xasprintf("%s/compile_commands.json", d) : NULL;
		CXCompilationDatabase_Error e = CXCompilationDatabase_NoError;
		json_error_t jerr;
		json_t *j;

		if (!file || access(file, R_OK) < 0) {
			if (dir) {
				fprintf(stderr, PROG ": error: %s: %s (-p names the build directory that holds it)\n",
				        file ? file : dir, strerror(errno));
				ret = -1;
			}
		} else if (!(j = json_load_file(file, 0, &jerr)) || !json_is_array(j)) {
			/* libclang's own complaint about a malformed file is a YAML
			 * parser's: check it here first, for a located error. */
			fprintf(stderr, "%s:%d:%d: error: %s\n", file, j ? 1 : jerr.line, j ? 1 : jerr.column,
			        j ? "a compilation database is a JSON array of compile commands" : jerr.text);
			json_decref(j);
			ret = -1;
		} else {
			json_decref(j);
			job->db = clang_CompilationDatabase_fromDirectory(d, &e);
			if (e != CXCompilationDatabase_NoError || !job->db) {
				fprintf(stderr, PROG ": error: %s: cannot be read as a compilation database\n", file);
				job->db = NULL;
				ret = -1;
			} else {
				job->db_dir = d;
				d = NULL;
				list_database(job);
			}
		}
		free(file);
		free(d);
	}
	return ret;
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
 * library) or a C file that could not be parsed may define it (its text
 * has `main (`, and the compilation database, if any, lists it: the build
 * does not compile the files it does not list), every file compiles it, as
 * with --runtime all.  (A tree
 * often holds files its build does not compile, for other hosts, which do
 * not parse: binutils has 209.  Counting those made every object of
 * objdump carry the runtime and its tables, 65 MB of bss.) */
static int write_config(struct job *job)
{
	char *manifest = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, job->out);
	bool everywhere = job->runtime_all || !job->homes || job->failed_main;
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
		{ "no-fast-entries", no_argument, NULL, 'F' },
		{ "skip-pure", no_argument, NULL, 'P' },
		{ "build-dir", required_argument, NULL, 'p' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct job job = { .hybrid = true };
	struct loom_error err = { 0 };
	char *src, *out, *probe, *end;
	const char *build_dir = NULL;
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int c, ret = 0;
	struct stat st;

	/* A unit's parse and walk allocate and free tens of megabytes; kept
	 * for the next allocations instead of given back to the kernel at
	 * each free, they need no new page faults (a tenth of elf32-arm.c's). */
#ifdef M_TOP_PAD /* glibc's */
	mallopt(M_TOP_PAD, 16 << 20);
#endif
	job.jobs = nproc > 0 ? (unsigned)(nproc < 64 ? nproc : 64) : 1;
	if (getenv(RW_NO_CURSOR_TREE_ENV))
		fprintf(stderr, PROG ": note: " RW_NO_CURSOR_TREE_ENV " is set: libclang answers every visit of the walk "
		                "(slower, the same output)\n");
	while ((c = getopt_long(argc, argv, "+b:e:r:p:j:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			loom_blocking_add(optarg);
			break;
		case 'q':
			job.quiet = true;
			break;
		case 'P':
			job.skip_pure = true;
			break;
		case 'F':
			job.no_fast = true;
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
		case 'p':
			build_dir = optarg;
			break;
		case 'j':
			errno = 0;
			job.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || job.jobs < 1 || job.jobs > 256)
				return die("--jobs takes a number of threads from 1 to 256, not '%s'", optarg);
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
	/* The manifest records SRC: a JSON string, which holds Unicode only. */
	if (!loom_utf8_valid(src))
		return die("%s: the path is not UTF-8, which the manifest (JSON) cannot hold", src);
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
	job.src_real = realpath(src, NULL);
	if (!job.src_real)
		return die("%s: %s", src, strerror(errno));
	job.out = out;
	if (open_compile_commands(&job, build_dir) < 0)
		return 2;
	job.m = loom_manifest_new("loom-rewrite " LOOM_VERSION, src);
	if (list_tree(&job, "") < 0)
		return 2;
	loom_sort(job.paths, job.npaths, sizeof *job.paths, loom_cmp_str);
	{
		/* What each path is: 0 copied as it is, 1 a C file (the next unit),
		 * 2 a C file that could not be read (reported). */
		struct unit *units = loom_xcalloc(job.npaths + job.nlisted + 1, sizeof *units);
		char *what = loom_xcalloc(job.npaths + 1, 1);
		size_t nunits = 0;

		for (size_t i = 0; i < job.npaths; i++) {
			struct stat cst;

			if (!is_c_file(&job, job.paths[i], &cst))
				continue;
			if (!loom_utf8_valid(job.paths[i])) {
				unnamed_file(&job, job.paths[i]);
				continue;
			}
			what[i] = load_unit(&job, job.paths[i], &cst, &units[nunits]) < 0 ? 2 : 1;
			nunits += what[i] == 1;
			ret = what[i] == 2 ? 2 : ret;
		}
		size_t nout = job.hybrid ? load_outsiders(&job, units + nunits) : 0;

		parse_all(&job, units, nunits + nout);
		warn_unnamed_headers(&job, units, nunits);
		find_switchless(&job, units, nunits, units + nunits, nout, !memchr(what, 2, job.npaths));
		for (size_t i = 0; i < nout; i++)
			unit_free(&units[nunits + i]);
		find_short_externals(&job, units, nunits);
		settle_twins(&job, units, nunits);
		find_fast_entries(&job, units, nunits);
		for (size_t i = 0, k = 0; i < job.npaths; i++) {
			if (what[i] == 1) {
				if (emit_unit(&job, &units[k]) < 0)
					ret = 2;
				unit_free(&units[k++]);
			} else if (what[i] == 0 && !header_written(&job, job.paths[i])
			           && copy_entry(&job, job.paths[i]) < 0) {
				ret = 2;
			}
			free(job.paths[i]);
		}
		free(units);
		free(what);
	}
	if (job.db)
		clang_CompilationDatabase_dispose(job.db);
	record_taken(&job);
	{
		char *path = loom_xasprintf("%s/" LOOM_MANIFEST_NAME, out);

		if (loom_manifest_save(job.m, path, &err) < 0 || write_config(&job) < 0) {
			loom_error_print(&err, PROG);
			ret = 2;
		}
		free(path);
	}
	if (!job.quiet || job.failed || job.unnamed)
		fprintf(stderr, PROG ": %zu C files (%u not instrumented), %zu headers with functions, "
		        "%zu functions, %zu hooks, %zu statements skipped (in macros, across #if groups) -> %s\n",
		        job.m->nfiles - job.nheaders + job.unnamed, job.failed + job.unnamed, job.nheaders,
		        job.m->nfunctions,
		        job.m->nslots, job.m->nskips, out);
	if (!job.quiet && !job.runtime_all && job.homes && job.shared_clients)
		fprintf(stderr, PROG ": note: %u C files without main are compiled for a shared object (-fPIC); "
		        "a shared library of them that does not link the file with main lacks the runtime "
		        "(\"undefined hidden symbol loom__slow\"): rewrite with --runtime all\n",
		        job.shared_clients);
	if (job.db_dir && (!job.quiet || job.failed))
		fprintf(stderr, PROG ": flags of %u of %zu C files from %s/compile_commands.json%s\n",
		        job.from_db, job.m->nfiles - job.nheaders, job.db_dir,
		        job.inferred ? " (the others' inferred from similar files)" : "");
	if (!ret && (job.failed || job.unnamed))
		ret = 1;
	loom_manifest_free(job.m);
	free(job.db_dir);
	for (size_t i = 0; i < job.nlisted; i++)
		free(job.listed[i]);
	free(job.listed);
	free(job.paths);
	for (size_t i = 0; i < job.nheaders; i++)
		free(job.headers[i]);
	free(job.headers);
	for (size_t i = 0; i < job.nswitchless; i++) {
		free((char *)job.switchless[i].header);
		free((char *)job.switchless[i].name);
	}
	free(job.switchless);
	for (size_t i = 0; i < job.nfast; i++)
		free((char *)job.fast[i].name);
	free(job.fast);
	for (size_t i = 0; i < job.shorts.n; i++)
		free(job.shorts.names[i]);
	free(job.shorts.names);
	free(job.src_real);
	free(src);
	free(out);
	return ret;
}
