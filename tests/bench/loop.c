/*
 * loop: the benchmark's timing driver (static, so its own start-up is tiny).
 *
 *   loop [-u UNITS] [-w WARM] [-n OPS] [-p PAUSE_MS] [-b BUNDLE] [-t TAG]
 *        VARIANT...
 *
 * A VARIANT is one argument "NAME|KIND|NSPATH|WORD WORD ...":
 *   KIND raw   run the words as one command per op; "{id}" in a word is
 *              replaced by a fresh container id (TAG-NAME-N).
 *   KIND life  the words are a runtime prefix; one op is
 *              create --bundle BUNDLE ID, start ID, state ID until the
 *              output says "stopped", delete ID.
 *   NSPATH     empty, or a mount-namespace file the child setns()es into
 *              before exec (crun's hybrid-cgroup workaround, see bench.sh).
 *
 * A unit is OPS ops of one variant in a row. Units alternate over the
 * variants (A B C A B C ...), so that neighbouring units form a pair; WARM
 * rounds are run first and dropped. Before each op the driver sleeps
 * PAUSE_MS (not timed). For every kept unit it prints
 *   NAME ROUND NANOSECONDS MAXRSS_KIB
 * where MAXRSS is the largest ru_maxrss that wait4() reported for any
 * command of the unit (wait4 folds in the descendants the command reaped, so
 * it is the largest single process of the runtime's tree).
 * Any command failing stops the driver with exit status 1.
 * The driver is a child subreaper (LOOP_NO_SUBREAPER=1 turns that off), see
 * reap_orphans().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 64

struct variant {
	char *name;
	int life;
	int nsfd;
	int argc;
	char *argv[MAXW];
};

static const char *bundle = ".";
static const char *tag = "bench";
static unsigned long counter;

static void die(const char *what)
{
	fprintf(stderr, "loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void parse_variant(struct variant *v, char *spec)
{
	char *kind, *ns, *words, *w;

	v->name = strsep(&spec, "|");
	kind = strsep(&spec, "|");
	ns = strsep(&spec, "|");
	words = spec;
	if (!kind || !ns || !words) {
		fprintf(stderr, "loop: bad variant (want NAME|KIND|NS|CMD)\n");
		exit(2);
	}
	v->life = !strcmp(kind, "life");
	if (!v->life && strcmp(kind, "raw")) {
		fprintf(stderr, "loop: bad kind %s\n", kind);
		exit(2);
	}
	v->nsfd = -1;
	if (*ns) {
		v->nsfd = open(ns, O_RDONLY | O_CLOEXEC);
		if (v->nsfd < 0)
			die(ns);
	}
	v->argc = 0;
	while ((w = strsep(&words, " ")) && v->argc < MAXW - 8)
		if (*w)
			v->argv[v->argc++] = w;
	v->argv[v->argc] = NULL;
}

/*
 * Run argv (fork, optional setns, exec, wait4). If out is not NULL, the
 * child's stdout is captured into it (NUL-terminated, truncated). Returns the
 * exit status as wait4 gave it; *rss gets max(*rss, ru_maxrss).
 */
static int run_cmd(struct variant *v, char **argv, char *out, size_t outlen,
		   long *rss)
{
	int p[2] = { -1, -1 }, status;
	struct rusage ru;
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		/* crun must see the mount namespace where cgroups are v1 only. */
		if (v->nsfd >= 0 && setns(v->nsfd, CLONE_NEWNS) < 0) {
			perror("loop: setns");
			_exit(126);
		}
		dup2(null, 0);
		dup2(out ? p[1] : null, 1);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (out) {
		size_t n = 0;
		ssize_t r;
		close(p[1]);
		while ((r = read(p[0], out + n, outlen - 1 - n)) > 0)
			if ((n += r) >= outlen - 1)
				break;
		out[n] = 0;
		close(p[0]);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4");
	if (ru.ru_maxrss > *rss)
		*rss = ru.ru_maxrss;
	return status;
}

static void must(struct variant *v, char **argv, int status)
{
	int i;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	fprintf(stderr, "loop: variant %s: command failed (status 0x%x):",
		v->name, status);
	for (i = 0; argv[i]; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, "\n");
	exit(1);
}

/*
 * We are a child subreaper (main): the container process that `create`
 * orphaned is reparented to us, not to pid 1, which reaps lazily on this
 * machine. Reaping it here, between commands, lets `state` see it stopped
 * as soon as it has exited.
 */
static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* One op of a variant; returns its duration in ns. */
static long long one_op(struct variant *v, long *rss)
{
	char id[128], buf[8192];
	char *argv[MAXW + 8];
	long long t0;
	int i, n = v->argc;

	snprintf(id, sizeof(id), "%s-%s-%lu", tag, v->name, counter++);
	for (i = 0; i < n; i++)
		argv[i] = strcmp(v->argv[i], "{id}") ? v->argv[i] : id;

	t0 = now_ns();
	if (!v->life) {
		argv[n] = NULL;
		must(v, argv, run_cmd(v, argv, NULL, 0, rss));
		return now_ns() - t0;
	}
	argv[n] = "create"; argv[n + 1] = "--bundle"; argv[n + 2] = (char *)bundle;
	argv[n + 3] = id; argv[n + 4] = NULL;
	must(v, argv, run_cmd(v, argv, NULL, 0, rss));
	argv[n] = "start"; argv[n + 1] = id; argv[n + 2] = NULL;
	must(v, argv, run_cmd(v, argv, NULL, 0, rss));
	argv[n] = "state";
	for (i = 0;; i++) {
		reap_orphans();
		must(v, argv, run_cmd(v, argv, buf, sizeof(buf), rss));
		if (strstr(buf, "stopped"))
			break;
		if (i > 10000) {
			fprintf(stderr, "loop: %s never stopped\n", id);
			exit(1);
		}
	}
	argv[n] = "delete";
	must(v, argv, run_cmd(v, argv, NULL, 0, rss));
	t0 = now_ns() - t0;
	reap_orphans();
	return t0;
}

int main(int argc, char **argv)
{
	int units = 20, warm = 2, ops = 10, pause_ms = 0, opt, nv, r, i, k;
	struct variant *vs;

	while ((opt = getopt(argc, argv, "u:w:n:p:b:t:")) != -1) {
		switch (opt) {
		case 'u': units = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'n': ops = atoi(optarg); break;
		case 'p': pause_ms = atoi(optarg); break;
		case 'b': bundle = optarg; break;
		case 't': tag = optarg; break;
		default:
			fprintf(stderr, "usage: loop [-u units] [-w warm] [-n ops] "
				"[-p pause_ms] [-b bundle] [-t tag] VARIANT...\n");
			return 2;
		}
	}
	nv = argc - optind;
	if (nv < 1 || units < 1 || ops < 1) {
		fprintf(stderr, "loop: nothing to do\n");
		return 2;
	}
	vs = calloc(nv, sizeof(*vs));
	for (i = 0; i < nv; i++)
		parse_variant(&vs[i], argv[optind + i]);

	if (getenv("LOOP_NO_SUBREAPER") == NULL &&
	    prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("PR_SET_CHILD_SUBREAPER");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (r = -warm; r < units; r++) {
		for (i = 0; i < nv; i++) {
			long long total = 0;
			long rss = 0;
			for (k = 0; k < ops; k++) {
				if (pause_ms) {
					struct timespec ts = { pause_ms / 1000,
						(pause_ms % 1000) * 1000000L };
					while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
						;
				}
				total += one_op(&vs[i], &rss);
			}
			if (r >= 0)
				printf("%s %d %lld %ld\n", vs[i].name, r, total, rss);
		}
	}
	return 0;
}
