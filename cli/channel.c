#include "channel.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* The largest listing: LOOM_IMAGE_MAX_TEXT per filter, for many filters. */
#define REPLY_MAX (64u << 20)

/* The effective uid of PID (second field of Uid: in /proc/PID/status). */
static int process_uid(pid_t pid, uid_t *uid)
{
	char path[64], line[256];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned r, e;

		if (sscanf(line, "Uid: %u %u", &r, &e) == 2) {
			*uid = e;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static void process_name(pid_t pid, char *name, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	name[0] = '\0';
	f = fopen(path, "re");
	if (f) {
		if (fgets(name, (int)size, f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
}

/* Where the runtime of PID listens: $XDG_RUNTIME_DIR/loom/PID.sock when the
 * process has XDG_RUNTIME_DIR, else /tmp/loom-UID/PID.sock. */
static void socket_path(pid_t pid, uid_t uid, char *out, size_t size)
{
	char path[64], *env = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(out, size, "/tmp/loom-%u/%d.sock", (unsigned)uid, (int)pid);
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (getdelim(&env, &len, '\0', f) > 0)
		if (!strncmp(env, "XDG_RUNTIME_DIR=/", 17)) {
			snprintf(out, size, "%s/loom/%d.sock", env + 16, (int)pid);
			break;
		}
	free(env);
	fclose(f);
}

/* Asks for the shortest time slice, as the runtime's engine does (see
 * loom__short_slice in rt/loom.h, which cannot use this header-based
 * code): the exchange with the engine is a few short turns each way, and
 * when the target's threads keep every CPU busy, each turn of a CLI with
 * the default slice, woken or preempted by the engine, waited tens of
 * milliseconds for a CPU.  Linux 6.12 and later (an older kernel takes
 * the value and ignores it); policy, nice and reset-on-fork are kept. */
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01 /* <linux/sched.h>, which clashes with <sched.h> */
#endif

static void short_slice(void)
{
#ifdef SYS_sched_setattr
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} a = { 0 };

	if (syscall(SYS_sched_getattr, 0, &a, (unsigned)sizeof a, 0) == 0 && a.policy == SCHED_OTHER) {
		a.size = sizeof a;
		a.flags &= SCHED_FLAG_RESET_ON_FORK;
		a.runtime = 100000; /* ns: the kernel's minimum */
		(void)syscall(SYS_sched_setattr, 0, &a, 0);
	}
#endif
}

int loom_connect(pid_t pid, struct loom_conn *c, struct loom_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct loom_msg_header h;
	unsigned char *payload = NULL;
	char name[64];
	uid_t uid;
	struct stat st;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->pid = pid;
	if (pid <= 0 || process_uid(pid, &uid) < 0)
		return loom_error_set(err, NULL, 0, 0, "no process with pid %d", (int)pid);
	process_name(pid, name, sizeof name);
	socket_path(pid, uid, addr.sun_path, sizeof addr.sun_path);
	if (uid != geteuid() && geteuid() != 0)
		return loom_error_set(err, NULL, 0, 0,
		                      "permission denied: process %d (%s) belongs to uid %u; only that user or root may update it",
		                      (int)pid, name, (unsigned)uid);
	if (stat(addr.sun_path, &st) < 0)
		return loom_error_set(err, NULL, 0, 0,
		                      errno == EACCES
		                      ? "permission denied: cannot reach the update channel of process %d (%s) at %s"
		                      : "process %d (%s) has no Loom runtime: no update channel at %s "
		                        "(was it built from a loom-rewrite tree? is LOOM_DISABLE set?)",
		                      (int)pid, name, addr.sun_path);
	short_slice();
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int e = errno;

		loom_disconnect(c);
		if (e == EACCES || e == EPERM)
			return loom_error_set(err, NULL, 0, 0, "permission denied: cannot connect to %s", addr.sun_path);
		if (e == ECONNREFUSED)
			return loom_error_set(err, NULL, 0, 0,
			                      "process %d (%s) does not listen on %s (a stale socket: its runtime is gone)",
			                      (int)pid, name, addr.sun_path);
		return loom_error_set(err, NULL, 0, 0, "cannot connect to %s: %s", addr.sun_path, strerror(e));
	}
	if (loom_recv(c, &h, &payload, 5000, err) < 0)
		goto fail;
	if (h.type == LOOM_MSG_REPLY && h.length >= sizeof(struct loom_reply)) {
		struct loom_reply r;

		memcpy(&r, payload, sizeof r);
		loom_error_set(err, NULL, 0, 0, "process %d refused the connection: %.*s", (int)pid,
		               (int)(r.text_len <= h.length - sizeof r ? r.text_len : 0), payload + sizeof r);
		goto fail;
	}
	if (h.type != LOOM_MSG_HELLO || h.length < sizeof c->hello
	    || ((struct loom_hello *)(void *)payload)->path_len != h.length - sizeof c->hello) {
		loom_error_set(err, NULL, 0, 0, "process %d sent a malformed hello", (int)pid);
		goto fail;
	}
	memcpy(&c->hello, payload, sizeof c->hello);
	memcpy(c->manifest_id, c->hello.manifest_id, LOOM_ID_LEN);
	c->manifest_path = strndup((char *)payload + sizeof c->hello, c->hello.path_len);
	free(payload);
	return 0;
fail:
	free(payload);
	loom_disconnect(c);
	return -1;
}

void loom_disconnect(struct loom_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->manifest_path);
	c->manifest_path = NULL;
}

int loom_send(struct loom_conn *c, enum loom_msg_type type, const void *payload, size_t len,
              const int *fds, int nfds, struct loom_error *err)
{
	struct loom_msg_header h = { LOOM_WIRE_MAGIC, LOOM_WIRE_VERSION, (loom_u16)type, (loom_u32)len };
	struct iovec iov[2] = { { &h, sizeof h }, { (void *)payload, len } };
	union { struct cmsghdr h; char b[CMSG_SPACE(2 * sizeof(int))]; } control;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	size_t total = sizeof h + len;
	ssize_t w;

	if (nfds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof control);
		msg.msg_control = control.b;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	do
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)total)
		return loom_error_set(err, NULL, 0, 0, "process %d: cannot send: %s", (int)c->pid,
		                      w < 0 ? strerror(errno) : "short write");
	return 0;
}

static int read_exact(struct loom_conn *c, void *buf, size_t len, unsigned timeout_ms,
                      struct loom_error *err)
{
	char *p = buf;

	while (len) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		ssize_t r;
		int n = poll(&pfd, 1, (int)timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return loom_error_set(err, NULL, 0, 0, "process %d did not answer within %u ms",
			                      (int)c->pid, timeout_ms);
		r = read(c->fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return loom_error_set(err, NULL, 0, 0, "process %d closed the update channel%s%s",
			                      (int)c->pid, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int loom_recv(struct loom_conn *c, struct loom_msg_header *h, unsigned char **payload,
              unsigned timeout_ms, struct loom_error *err)
{
	*payload = NULL;
	if (read_exact(c, h, sizeof *h, timeout_ms, err) < 0)
		return -1;
	if (h->magic != LOOM_WIRE_MAGIC || h->version != LOOM_WIRE_VERSION)
		return loom_error_set(err, NULL, 0, 0, "process %d speaks another protocol (magic %#x, version %u)",
		                      (int)c->pid, h->magic, h->version);
	if (h->length > REPLY_MAX)
		return loom_error_set(err, NULL, 0, 0, "process %d sent a message of %u bytes (at most %u accepted)",
		                      (int)c->pid, h->length, REPLY_MAX);
	*payload = loom_xmalloc(h->length + 1);
	if (read_exact(c, *payload, h->length, timeout_ms, err) < 0) {
		free(*payload);
		*payload = NULL;
		return -1;
	}
	return 0;
}
