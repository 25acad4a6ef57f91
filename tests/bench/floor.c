/*
 * floor: the least a runtime must do, as a reference point for the bench.
 *
 *   floor run ROOTFS   clone with the bundle's namespaces (pid net ipc uts
 *                      mount), make / private, bind the rootfs, mount proc,
 *                      pivot_root, exec /bin/true; wait for it.
 *   floor exec PID     setns into PID's namespaces, fork, exec /bin/true;
 *                      wait for it.
 *
 * Exit status is the payload's. Built with gcc -static by bench.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int do_run(const char *rootfs)
{
	const int flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			  CLONE_NEWUTS | CLONE_NEWNS;
	char proc[4096];
	pid_t pid;

	/* fork-like clone: the child is pid 1 of the new pid namespace. */
	pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		die("clone");
	if (pid > 0)
		return wait_child(pid);

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind rootfs");
	snprintf(proc, sizeof(proc), "%s/proc", rootfs);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("mount proc");
	if (chdir(rootfs) < 0)
		die("chdir rootfs");
	/* pivot_root(".", ".") stacks the old root under the new one; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount old root");
	execl("/bin/true", "true", (char *)NULL);
	die("exec /bin/true");
	return 1;
}

static int do_exec(const char *target)
{
	/* user first would matter for userns; mnt last so /proc paths resolve. */
	static const char *const ns[] = { "ipc", "uts", "net", "pid", "mnt" };
	int fds[5], i;
	pid_t pid;

	for (i = 0; i < 5; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/ns/%s", target, ns[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die(path);
	}
	for (i = 0; i < 5; i++) {
		if (setns(fds[i], 0) < 0)
			die("setns");
		close(fds[i]);
	}
	/* setns(pid) only applies to children: fork once more. */
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid > 0)
		return wait_child(pid);
	execl("/bin/true", "true", (char *)NULL);
	die("exec /bin/true");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "run"))
		return do_run(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "exec"))
		return do_exec(argv[2]);
	fprintf(stderr, "usage: floor run ROOTFS | floor exec PID\n");
	return 2;
}
