/* loom: push, list and remove execution filters in live processes, and check
 * filters offline.  See docs/user-guide.md and docs/filters.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "filter.h"
#include "manifest.h"
#include "manifest_cmd.h"
#include "util.h"

#define PROG "loom"
#define DEFAULT_TIMEOUT_MS 1000u

static const char usage_text[] =
	"usage: loom push [--manifest M] [--timeout MS] PID SPEC   install the filter in SPEC\n"
	"       loom ls PID                                      list installed filters\n"
	"       loom pop [--timeout MS] PID ID                    remove filter ID\n"
	"       loom check --manifest M SPEC                      resolve SPEC offline\n"
	"       loom manifest stat M                              slots and functions per file\n"
	"       loom manifest show [--source DIR] M FILE          FILE's source with its hooks\n"
	"       loom manifest diff OLD NEW [SPEC...]              what changed between two rewrites\n"
	"SPEC is a file of execution filters (docs/filters.md), or - for standard input.\n"
	"M, OLD and NEW are a loom-manifest.json or the rewritten tree that holds it.\n";

static int fail(const struct loom_error *err)
{
	loom_error_print(err, PROG);
	return 1;
}

static int parse_uint(const char *s, const char *what, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v == 0 || v > max) {
		fprintf(stderr, PROG ": error: invalid %s '%s' (expected 1..%u)\n", what, s, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* "WORD X ms after the request": when the update of reply R took effect in
 * the process, counted from T0 (the request, CLOCK_MONOTONIC), into BUF.
 * The process's clock is this one unless it runs in another time
 * namespace: a time before the request or after the reply (REPLY_MS) says
 * so, and is not shown. */
static const char *in_force_text(char *buf, size_t size, const char *word, const struct timespec *t0,
                                 const struct loom_reply *r, double reply_ms)
{
	double ms = ((double)r->in_force_ns - ((double)t0->tv_sec * 1e9 + (double)t0->tv_nsec)) / 1e6;

	if (r->in_force_ns && ms >= 0 && ms <= reply_ms)
		snprintf(buf, size, "%s %.1f ms after the request", word, ms);
	else
		snprintf(buf, size, "%s (the process's clock is not this one: when, unknown)", word);
	return buf;
}

/* Prints a REPLY; for an evacuation timeout, where each thread was, by the
 * manifest (M may be NULL), and, with the filter pushed (COMP, or NULL), how
 * a thread's place came to be inside its dangerous region.  Returns 0 for
 * LOOM_OK. */
static int print_reply(const struct loom_conn *c, const unsigned char *p, size_t len,
                       const struct loom_manifest *m, const struct loom_compiled *comp, struct loom_reply *out)
{
	struct loom_reply r;

	if (len < sizeof r) {
		fprintf(stderr, PROG ": error: process %d sent a malformed reply\n", (int)c->pid);
		return -1;
	}
	memcpy(&r, p, sizeof r);
	if (r.text_len > len - sizeof r
	    || r.nthreads > (len - sizeof r - r.text_len) / sizeof(struct loom_thread_report)) {
		fprintf(stderr, PROG ": error: process %d sent a malformed reply\n", (int)c->pid);
		return -1;
	}
	if (out)
		*out = r;
	if (r.status == LOOM_OK)
		return 0;
	fprintf(stderr, PROG ": error: process %d: %.*s\n", (int)c->pid, (int)r.text_len, p + sizeof r);
	for (loom_u32 i = 0; i < r.nthreads; i++) {
		struct loom_thread_report t;
		const struct loom_slot *s;
		static const char *const what[] = { "?", "running", "blocked in a call", "waiting for a filter lock" };

		memcpy(&t, p + sizeof r + r.text_len + i * sizeof t, sizeof t);
		s = m ? loom_manifest_slot(m, t.hook) : NULL;
		if (s) {
			char *why = comp ? loom_compiled_why(comp, m, t.hook) : NULL;

			fprintf(stderr, "  thread %u: %s at %s:%u (%s, in %s)\n", t.tid, what[t.state < 4 ? t.state : 0],
			        m->files[s->file].path, s->line, loom_kind_name(s->kind), m->functions[s->function].name);
			if (why)
				fprintf(stderr, "      reached: %s\n", why);
			free(why);
		} else
			fprintf(stderr, "  thread %u: %s%s\n", t.tid, what[t.state < 4 ? t.state : 0],
			        t.hook ? " (unknown hook)" : " outside instrumented code or not seen yet");
	}
	return -1;
}

static struct loom_manifest *load_manifest_for(const struct loom_conn *c, const char *path,
                                               struct loom_error *err)
{
	struct loom_manifest *m;

	if (!path)
		path = c->manifest_path;
	if (!path || !path[0]) {
		loom_error_set(err, NULL, 0, 0, "process %d does not say which manifest it was built from: use --manifest",
		               (int)c->pid);
		return NULL;
	}
	m = loom_manifest_open(path, err);
	if (m && strcmp(m->id, c->manifest_id)) {
		loom_error_set(err, path, 0, 0, "stale manifest: its id is %s, but process %d was built from manifest %s",
		               m->id, (int)c->pid, c->manifest_id);
		loom_manifest_free(m);
		return NULL;
	}
	return m;
}

static int cmd_push(pid_t pid, const char *spec, const char *manifest_path, unsigned timeout_ms)
{
	struct loom_error err = { 0 };
	struct loom_filter *f;
	struct loom_manifest *m = NULL;
	struct loom_compiled comp = { 0 };
	struct loom_conn c = { .fd = -1 };
	struct loom_msg_header h;
	struct loom_reply r;
	unsigned char *reply = NULL;
	int fds[2] = { -1, -1 }, ret = 1;
	uint64_t one = 1;
	struct timespec t0;

	/* Syntax first: a malformed filter never reaches the process. */
	f = loom_filter_read(spec, &err);
	if (!f)
		return fail(&err);
	if (loom_connect(pid, &c, &err) < 0)
		goto out;
	m = load_manifest_for(&c, manifest_path, &err);
	if (!m || loom_filter_compile(f, m, &comp, &err) < 0)
		goto out;
	fds[0] = eventfd(0, EFD_CLOEXEC);
	fds[1] = loom_image_memfd(f, m, &comp, timeout_ms);
	if (fds[0] < 0 || fds[1] < 0) {
		loom_error_set(&err, NULL, 0, 0, "cannot create the update: %s", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (loom_send(&c, LOOM_MSG_PUSH, NULL, 0, fds, 2, &err) < 0)
		goto out;
	/* The commit: until this signal the process has changed nothing. */
	if (write(fds[0], &one, sizeof one) != sizeof one) {
		loom_error_set(&err, NULL, 0, 0, "cannot signal the update: %s", strerror(errno));
		goto out;
	}
	if (loom_recv(&c, &h, &reply, timeout_ms + 10000, &err) < 0)
		goto out;
	if (h.type != LOOM_MSG_REPLY) {
		loom_error_set(&err, NULL, 0, 0, "process %d sent an unexpected message", (int)pid);
		goto out;
	}
	if (print_reply(&c, reply, h.length, m, &comp, &r) == 0) {
		printf("%u\n", r.filter_id);
		double reply_ms = ms_since(&t0);
		char when[96];

		fprintf(stderr, PROG ": filter %u installed in process %d: %s, reply after %.1f ms (%zu ops, "
		        "%zu hooks unsafe to pause at)\n", r.filter_id, (int)pid,
		        in_force_text(when, sizeof when, "in force", &t0, &r, reply_ms), reply_ms, comp.nops,
		        comp.ndanger);
		ret = 0;
	}
out:
	if (err.set)
		loom_error_print(&err, PROG);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(reply);
	loom_disconnect(&c);
	loom_compiled_free(&comp);
	loom_manifest_free(m);
	loom_filter_free(f);
	return ret;
}

static int cmd_ls(pid_t pid)
{
	struct loom_error err = { 0 };
	struct loom_conn c;
	struct loom_msg_header h;
	unsigned char *p = NULL;
	loom_u32 count;
	size_t off = 4;
	int ret = 1;

	if (loom_connect(pid, &c, &err) < 0)
		return fail(&err);
	if (loom_send(&c, LOOM_MSG_LIST, NULL, 0, NULL, 0, &err) < 0
	    || loom_recv(&c, &h, &p, 5000, &err) < 0)
		goto out;
	if (h.type == LOOM_MSG_REPLY) {
		print_reply(&c, p, h.length, NULL, NULL, NULL);
		goto out;
	}
	if (h.type != LOOM_MSG_LISTING || h.length < 4) {
		loom_error_set(&err, NULL, 0, 0, "process %d sent a malformed listing", (int)pid);
		goto out;
	}
	memcpy(&count, p, 4);
	printf("%-4s %12s %10s %12s  %s\n", "ID", "HITS", "WAITS", "WAITED_MS", "FILTER");
	for (loom_u32 i = 0; i < count; i++) {
		struct loom_listing l;
		char *text;

		if (h.length - off < sizeof l) {
			loom_error_set(&err, NULL, 0, 0, "process %d sent a truncated listing", (int)pid);
			goto out;
		}
		memcpy(&l, p + off, sizeof l);
		off += sizeof l;
		if (l.text_len > h.length - off) {
			loom_error_set(&err, NULL, 0, 0, "process %d sent a truncated listing", (int)pid);
			goto out;
		}
		text = strndup((char *)p + off, l.text_len);
		off += l.text_len;
		/* One line per filter: newlines in the source become "; ". */
		for (char *s = text; *s; s++)
			if (*s == '\n')
				*s = s[1] ? ';' : '\0';
		printf("%-4u %12" PRIu64 " %10" PRIu64 " %12.3f  %s\n", l.filter_id, (uint64_t)l.hits,
		       (uint64_t)l.waits, (double)l.wait_ns / 1e6, text);
		free(text);
	}
	ret = 0;
out:
	if (err.set)
		loom_error_print(&err, PROG);
	free(p);
	loom_disconnect(&c);
	return ret;
}

static int cmd_pop(pid_t pid, unsigned id, unsigned timeout_ms)
{
	struct loom_error err = { 0 };
	struct loom_conn c;
	struct loom_msg_header h;
	struct loom_pop pop = { id, timeout_ms };
	struct loom_reply r;
	struct loom_manifest *m;
	unsigned char *p = NULL;
	int ret = 1;
	struct timespec t0;

	if (loom_connect(pid, &c, &err) < 0)
		return fail(&err);
	/* Only to name where threads were, should the removal time out. */
	m = c.manifest_path ? loom_manifest_load(c.manifest_path, &(struct loom_error){ 0 }) : NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (loom_send(&c, LOOM_MSG_POP, &pop, sizeof pop, NULL, 0, &err) < 0
	    || loom_recv(&c, &h, &p, timeout_ms + 10000, &err) < 0)
		goto out;
	if (h.type != LOOM_MSG_REPLY) {
		loom_error_set(&err, NULL, 0, 0, "process %d sent an unexpected message", (int)pid);
		goto out;
	}
	if (print_reply(&c, p, h.length, m, NULL, &r) == 0) {
		double reply_ms = ms_since(&t0);
		char when[96];

		fprintf(stderr, PROG ": filter %u removed from process %d: %s, reply after %.1f ms\n", id, (int)pid,
		        in_force_text(when, sizeof when, "gone", &t0, &r, reply_ms), reply_ms);
		ret = 0;
	}
out:
	if (err.set)
		loom_error_print(&err, PROG);
	free(p);
	loom_manifest_free(m);
	loom_disconnect(&c);
	return ret;
}

/* One line: WHAT, then the functions of C.fns with flag WRAP (0 or
 * LOOM_FN_WRAP), at most ten of them by name.  Nothing if there are none. */
static void print_functions(const struct loom_manifest *m, const struct loom_compiled *c, unsigned wrap,
                            const char *what)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nfns; i++) {
		if ((c->fns[i] & LOOM_FN_WRAP) != wrap)
			continue;
		if (n < 10)
			printf("%s%s", n ? ", " : what, m->functions[c->fns[i] & ~LOOM_FN_WRAP].name);
		n++;
	}
	if (n > 10)
		printf(" and %zu more", n - 10);
	if (n)
		printf("\n");
}

static int cmd_check(const char *spec, const char *manifest_path)
{
	struct loom_error err = { 0 };
	struct loom_filter *f = loom_filter_read(spec, &err);
	struct loom_manifest *m = NULL;
	struct loom_compiled comp = { 0 };
	size_t breaks = 0, unsafe_breaks = 0;
	char *why;
	int ret = 1;

	if (!f)
		return fail(&err);
	if (!manifest_path) {
		loom_error_set(&err, NULL, 0, 0, "check needs --manifest M (the loom-manifest.json of a rewritten tree)");
		goto out;
	}
	m = loom_manifest_open(manifest_path, &err);
	if (!m || loom_filter_compile(f, m, &comp, &err) < 0)
		goto out;
	printf("%s: %zu constraint%s, %u lock%s, %zu operations:\n", spec, f->nconstraints,
	       f->nconstraints == 1 ? "" : "s", comp.nlocks, comp.nlocks == 1 ? "" : "s", comp.nops);
	for (size_t i = 0; i < comp.nops; i++) {
		const struct loom_slot *s = loom_manifest_slot(m, comp.ops[i].hook);

		printf("  %-15s lock %u at %s:%u:%u (%s, in %s)\n", loom_op_name(comp.ops[i].kind),
		       comp.ops[i].lock, m->files[s->file].path, s->line, s->column, loom_kind_name(s->kind),
		       m->functions[s->function].name);
	}
	for (size_t i = 0; i < m->nslots; i++)
		breaks += loom_kind_is_break(m->slots[i].kind) || m->slots[i].kind == LOOM_KIND_BLOCKING;
	printf("unsafe pause points (inside the dangerous region):\n");
	for (size_t i = 0; i < comp.ndanger; i++) {
		const struct loom_slot *s = loom_manifest_slot(m, comp.danger[i]);

		if (!loom_kind_is_break(s->kind) && s->kind != LOOM_KIND_BLOCKING)
			continue;
		unsafe_breaks++;
		printf("  %s:%u (%s%s%s, in %s)\n", m->files[s->file].path, s->line,
		       loom_kind_is_break(s->kind) ? "cond_break" : "blocking call ",
		       s->callee ? s->callee : "", "", m->functions[s->function].name);
		/* A thread waiting there holds up every push: say why. */
		if (s->kind == LOOM_KIND_BLOCKING && (why = loom_compiled_why(&comp, m, comp.danger[i]))) {
			printf("      reached: %s\n", why);
			free(why);
		}
	}
	printf("%zu of %zu pause points are safe\n", breaks - unsafe_breaks, breaks);
	print_functions(m, &comp, 0, "functions that run their slow copy: ");
	print_functions(m, &comp, LOOM_FN_WRAP,
	                "functions that run wrapped (their own code between the operations at entry and exit): ");
	for (size_t i = 0; i < comp.nwarnings; i++)
		printf("%s\n", comp.warnings[i]);
	ret = 0;
out:
	if (err.set)
		loom_error_print(&err, PROG);
	loom_compiled_free(&comp);
	loom_manifest_free(m);
	loom_filter_free(f);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *manifest = NULL;
	unsigned timeout = DEFAULT_TIMEOUT_MS, pid = 0, id;
	int c;

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	/* Its subcommands take their own options. */
	if (!strcmp(cmd, "manifest"))
		return loom_manifest_cmd(argc - 1, argv + 1, usage_text);
	optind = 2;
	while ((c = getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			manifest = optarg;
			break;
		case 't':
			if (parse_uint(optarg, "timeout", LOOM_TIMEOUT_MAX_MS, &timeout) < 0)
				return 2;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "check") && argc == 1)
		return cmd_check(argv[0], manifest);
	if ((!strcmp(cmd, "push") && argc == 2) || (!strcmp(cmd, "ls") && argc == 1)
	    || (!strcmp(cmd, "pop") && argc == 2)) {
		if (parse_uint(argv[0], "pid", 0x3fffffff, &pid) < 0)
			return 2;
		if (!strcmp(cmd, "push"))
			return cmd_push((pid_t)pid, argv[1], manifest, timeout);
		if (!strcmp(cmd, "ls"))
			return cmd_ls((pid_t)pid);
		if (parse_uint(argv[1], "filter id", 0xffffffffu, &id) < 0)
			return 2;
		return cmd_pop((pid_t)pid, id, timeout);
	}
	if (!strcmp(cmd, "push") || !strcmp(cmd, "pop") || !strcmp(cmd, "ls") || !strcmp(cmd, "check"))
		fprintf(stderr, PROG ": error: %s takes %s (%d argument%s given)\n", cmd,
		        !strcmp(cmd, "push") ? "PID SPEC" : !strcmp(cmd, "pop") ? "PID ID"
		        : !strcmp(cmd, "ls") ? "PID" : "SPEC", argc, argc == 1 ? "" : "s");
	else
		fprintf(stderr, PROG ": error: unknown command '%s'\n", cmd);
	fputs(usage_text, stderr);
	return 2;
}
