/*
 * stage: the nsexec stage microbenchmark driver (issue #2).
 *
 *   stage [-u UNITS] [-w WARM] [-n OPS] NAME=HOST[:clone] ...
 *
 * One op: fork+exec HOST with _LIBCONTAINER_INITPIPE=3 (a socketpair, as
 * runc does) and a ready pipe on fd 4, write a hand-built bootstrap message
 * that joins the net, uts and ipc namespaces of a helper process (NS_PATHS,
 * clone flags 0: what `runc exec` sends), read stage-0's pid JSON, and stop
 * the clock when stage-2's main writes its ready byte. Then all three stages
 * are reaped (they are our children: CLONE_PARENT) and stage-2's exit status
 * says whether it really was in the helper's namespaces.
 *
 * Every host gets _LIBCONTAINER_CLONED_BINARY=1 unless ":clone" is given:
 * runc 1.1's C stage then skips its CVE-2019-5736 copy when the host runs
 * from a read-only mount (bench.sh runs us in one); the current-profile
 * Rust stage never copies and ignores the variable.
 *
 * Units alternate over the hosts; output per kept unit: NAME ROUND NS 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INIT_MSG 62000
#define CLONE_FLAGS_ATTR 27281
#define NS_PATHS_ATTR 27282
#define ROOTLESS_EUID_ATTR 27287

struct host {
	char *name, *path;
	int clone;
};

static char msg[4096];
static size_t msglen;
static char nsenv[512];

static void die(const char *what)
{
	fprintf(stderr, "stage: %s: %s\n", what, errno ? strerror(errno) : "failed");
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Append one attribute (nlattr header, payload, zero pad to 4). */
static void put_attr(uint16_t type, const void *data, uint16_t len)
{
	uint16_t hdr[2] = { (uint16_t)(4 + len), type };

	memcpy(msg + msglen, hdr, 4);
	memcpy(msg + msglen + 4, data, len);
	msglen += (4 + len + 3) & ~3u;
}

/* nsexec-protocol.md §2: header, CLONE_FLAGS, NS_PATHS (+NUL), ROOTLESS. */
static void build_msg(pid_t helper)
{
	char paths[256];
	uint32_t flags = 0, rootless = 0, hdr[4];

	msglen = 16;
	put_attr(CLONE_FLAGS_ATTR, &flags, 4);
	/* Go's order: user ipc uts net pid mnt cgroup. */
	snprintf(paths, sizeof(paths),
		 "ipc:/proc/%d/ns/ipc,uts:/proc/%d/ns/uts,net:/proc/%d/ns/net",
		 helper, helper, helper);
	put_attr(NS_PATHS_ATTR, paths, strlen(paths) + 1);
	put_attr(ROOTLESS_EUID_ATTR, &rootless, 4);
	hdr[0] = msglen;
	hdr[1] = INIT_MSG | (1u << 16); /* type, flags = NLM_F_REQUEST */
	hdr[2] = 1;
	hdr[3] = 0;
	memcpy(msg, hdr, 16);
}

/* A process sitting in fresh net/uts/ipc namespaces until we kill it. */
static pid_t start_helper(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("helper did not start");
	close(p[0]);
	return pid;
}

static void ns_expect(pid_t helper)
{
	static const char *const t[] = { "net", "uts", "ipc" };
	size_t n = 0;
	int i;

	n += snprintf(nsenv, sizeof(nsenv), "BENCH_NS=");
	for (i = 0; i < 3; i++) {
		char path[64], link[128];
		ssize_t r;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", helper, t[i]);
		r = readlink(path, link, sizeof(link) - 1);
		if (r < 0)
			die(path);
		link[r] = 0;
		n += snprintf(nsenv + n, sizeof(nsenv) - n, "%s%s:%s",
			      i ? "," : "", t[i], link);
	}
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return status;
}

static long long one_op(struct host *h)
{
	char *envp[] = { "_LIBCONTAINER_INITPIPE=3", "BENCH_READYFD=4", nsenv,
			 h->clone ? "BENCH_CLONED=1" : "BENCH_CLONED=0",
			 h->clone ? NULL : "_LIBCONTAINER_CLONED_BINARY=1", NULL };
	char *argv[] = { h->path, NULL };
	char line[256], c;
	int sk[2], rp[2], s0, s1, s2;
	long long t0, t;
	pid_t pid, p1 = -1, p2 = -1;
	size_t n = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk) < 0 ||
	    pipe2(rp, O_CLOEXEC) < 0)
		die("socketpair/pipe");
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* dup2 clears CLOEXEC on the copies, so only 3 and 4 survive. */
		if (dup2(sk[1], 3) < 0 || dup2(rp[1], 4) < 0)
			_exit(126);
		execve(h->path, argv, envp);
		_exit(127);
	}
	close(sk[1]);
	close(rp[1]);
	if (write(sk[0], msg, msglen) != (ssize_t)msglen)
		die("write bootstrap");
	/* runc 1.1 sends a 0x00 "past initial setup" byte first; skip it. */
	while (n < sizeof(line) - 1 && read(sk[0], &c, 1) == 1 && c != '\n')
		if (c || n)
			line[n++] = c;
	line[n] = 0;
	if (read(rp[0], &c, 1) != 1) {
		fprintf(stderr, "stage: %s: stage-2 never reached main (pids: '%s')\n",
			h->name, line);
		exit(1);
	}
	t = now_ns() - t0;
	close(sk[0]);
	close(rp[0]);
	if (sscanf(line, "{\"stage1_pid\":%d,\"stage2_pid\":%d}", &p1, &p2) != 2) {
		fprintf(stderr, "stage: %s: bad pid line '%s'\n", h->name, line);
		exit(1);
	}
	s0 = reap(pid);
	s1 = reap(p1);
	s2 = reap(p2);
	if (s0 || s1 || s2) {
		fprintf(stderr, "stage: %s: exit statuses 0x%x 0x%x 0x%x "
			"(stage-2: 3 = not in the helper's namespaces, 4 = clone step "
			"not as expected)\n",
			h->name, s0, s1, s2);
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	int units = 20, warm = 2, ops = 10, opt, nh, r, i, k;
	struct host *hs;
	pid_t helper;

	while ((opt = getopt(argc, argv, "u:w:n:")) != -1) {
		switch (opt) {
		case 'u': units = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'n': ops = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: stage [-u units] [-w warm] [-n ops] NAME=HOST[:clone]...\n");
			return 2;
		}
	}
	nh = argc - optind;
	if (nh < 1 || units < 1 || ops < 1)
		return 2;
	hs = calloc(nh, sizeof(*hs));
	for (i = 0; i < nh; i++) {
		char *s = argv[optind + i], *eq = strchr(s, '='), *c;
		if (!eq)
			return 2;
		*eq = 0;
		hs[i].name = s;
		hs[i].path = eq + 1;
		if ((c = strstr(hs[i].path, ":clone")) && !c[6]) {
			*c = 0;
			hs[i].clone = 1;
		}
	}
	helper = start_helper();
	build_msg(helper);
	ns_expect(helper);

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (r = -warm; r < units; r++)
		for (i = 0; i < nh; i++) {
			long long total = 0;
			for (k = 0; k < ops; k++)
				total += one_op(&hs[i]);
			if (r >= 0)
				printf("%s %d %lld 0\n", hs[i].name, r, total);
		}
	kill(helper, SIGKILL);
	reap(helper);
	return 0;
}
