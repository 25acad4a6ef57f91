/*
 * The C consumer of libnsexec and the probe of the stage tests.
 *
 * It includes include/nsexec.h and links libnsexec.a like any C runtime
 * would. When the stage returns (stage-2, or at once when
 * _LIBCONTAINER_INITPIPE is unset) main() prints what the kernel says about
 * this process, one `key=value` per line, and exits 0. The Rust tests
 * (tests/stage.rs) drive it with crafted bootstrap messages.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nsexec.h"

static void print_file(const char *key, const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		printf("%s=<error %d>\n", key, errno);
		return;
	}
	buf[n] = '\0';
	/* one line: newlines become '|' */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = '|';
	printf("%s=%s\n", key, buf);
}

int main(int argc, char **argv)
{
	static const char *ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts" };
	char path[64], link[256];
	struct timespec ts;
	clockid_t cid;
	DIR *d;

	/* Normally a no-op: the library's own constructor already ran the stage. */
	nsexec();

	if (argc > 1 && strcmp(argv[1], "plain") == 0) {
		printf("main=plain\n");
		return 0;
	}
	printf("main=reached\n");
	printf("pid=%d\n", getpid());
	printf("ppid=%d\n", getppid());
	printf("uid=%d\ngid=%d\n", getuid(), getgid());
	printf("groups=%d\n", getgroups(0, NULL));
	printf("sid_is_self=%d\n", getsid(0) == getpid());
	printf("dumpable=%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		ssize_t n;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		n = readlink(path, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		printf("ns_%s=%s\n", ns[i], link);
	}
	print_file("comm", "/proc/self/comm");
	print_file("uid_map", "/proc/self/uid_map");
	print_file("gid_map", "/proc/self/gid_map");
	print_file("setgroups", "/proc/self/setgroups");
	print_file("oom_score_adj", "/proc/self/oom_score_adj");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("monotonic=%lld\n", (long long)ts.tv_sec);
	/* glibc's cached tid must be ours (see src/clone.rs). */
	if (pthread_getcpuclockid(pthread_self(), &cid) == 0)
		printf("tid_coherent=%d\n", (pid_t)~(cid >> 3) == (pid_t)syscall(SYS_gettid));
	/* Open fds, except the one opendir uses. */
	printf("fds=");
	d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
				continue;
			printf("%s,", e->d_name);
		}
		closedir(d);
	}
	printf("\n");
	/* Where each of fds 3..15 points, and whether it is close-on-exec. */
	for (int fd = 3; fd < 16; fd++) {
		int fl = fcntl(fd, F_GETFD);
		ssize_t n;
		if (fl < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		printf("fd%d=%s\nfd%d_cloexec=%d\n", fd, link, fd, !!(fl & FD_CLOEXEC));
	}
	{
		const char *m = getenv("_LIBCONTAINER_CLONED_BINARY");
		ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		printf("exe=%s\ncloned_env=%s\n", link, m ? m : "");
	}
	fflush(stdout);
	return 0;
}
