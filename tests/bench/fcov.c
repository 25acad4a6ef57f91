/* fcov: which functions of one ELF binary a command tree executes, in the
 * order they first run. Used by hot-order.sh to make src/hot.order.
 *
 *   fcov SYMS OUT -- command args...
 *
 * SYMS holds "hexaddr name" lines (nm of the binary: its function symbols);
 * OUT receives the names of the functions that ran, first-run order. The
 * command runs under ptrace with every fork, clone and exec followed. In each
 * process image of the binary (matched by the inode of /proc/PID/exe, so the
 * runtime's sealed re-exec counts too) an int3 goes on the entry of every
 * function not yet seen; the first hit records the function and puts the
 * original byte back. Images of other programs (the container's payload) are
 * let go at their exec. Breakpoints, not sampling: a function that runs once
 * for a microsecond still counts, and those are what scatter page faults.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct fn { uint64_t addr; char *name; unsigned char orig; int have_orig, seen; };
static struct fn *fns;
static size_t nfns;
static ino_t target_ino;
static dev_t target_dev;

#define MAXP 4096
static struct proc { pid_t pid; uint64_t base; int started; } procs[MAXP];

static int cmp(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct fn *find(uint64_t a)
{
	size_t lo = 0, hi = nfns;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (fns[m].addr == a) return &fns[m];
		if (fns[m].addr < a) lo = m + 1; else hi = m;
	}
	return NULL;
}

static struct proc *proc(pid_t pid)
{
	for (int i = 0; i < MAXP; i++)
		if (procs[i].pid == pid) return &procs[i];
	for (int i = 0; i < MAXP; i++)
		if (procs[i].pid == 0) { procs[i] = (struct proc){ pid, 0, 0 }; return &procs[i]; }
	fprintf(stderr, "fcov: too many processes\n");
	exit(2);
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAXP; i++)
		if (procs[i].pid == pid) procs[i].pid = 0;
}

/* Load address of the target binary in pid, or 0 if pid runs another one. */
static uint64_t image_base(pid_t pid)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/proc/%d/exe", pid);
	if (stat(p, &st) || st.st_ino != target_ino || st.st_dev != target_dev) return 0;
	snprintf(p, sizeof p, "/proc/%d/maps", pid);
	FILE *f = fopen(p, "re");
	if (!f) return 0;
	char line[512];
	uint64_t base = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, off, ino;
		unsigned maj, min;
		if (sscanf(line, "%lx-%*x %*s %lx %x:%x %lu", &lo, &off, &maj, &min, &ino) == 5 &&
		    ino == target_ino && off == 0) { base = lo; break; }
	}
	fclose(f);
	return base;
}

/* Write byte b at address at of pid; returns the byte that was there, or -1. */
static int poke_byte(pid_t pid, uint64_t at, unsigned char b)
{
	uint64_t w = at & ~7ULL;
	errno = 0;
	long v = ptrace(PTRACE_PEEKTEXT, pid, (void *)w, 0);
	if (errno) return -1;
	int old = ((unsigned char *)&v)[at - w];
	((unsigned char *)&v)[at - w] = b;
	ptrace(PTRACE_POKETEXT, pid, (void *)w, (void *)v);
	return old;
}

/* A fresh image is pristine: the first one also gives the original bytes. */
static void arm(pid_t pid, uint64_t base)
{
	for (size_t i = 0; i < nfns; i++) {
		if (fns[i].seen) continue;
		int old = poke_byte(pid, base + fns[i].addr, 0xcc);
		if (old >= 0 && !fns[i].have_orig) { fns[i].orig = old; fns[i].have_orig = 1; }
	}
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: fcov SYMS OUT -- command args...\n");
		return 2;
	}
	FILE *sf = fopen(argv[1], "re");
	if (!sf) { perror(argv[1]); return 2; }
	size_t cap = 0;
	char line[4096];
	while (fgets(line, sizeof line, sf)) {
		char name[4000];
		unsigned long a;
		if (sscanf(line, "%lx %3999s", &a, name) != 2 || !a) continue;
		if (nfns == cap) fns = realloc(fns, (cap = cap ? cap * 2 : 4096) * sizeof *fns);
		fns[nfns++] = (struct fn){ a, strdup(name), 0, 0 };
	}
	fclose(sf);
	qsort(fns, nfns, sizeof *fns, cmp);
	/* One breakpoint per address (aliases share one). */
	size_t w = 0;
	for (size_t i = 0; i < nfns; i++)
		if (!w || fns[w - 1].addr != fns[i].addr) fns[w++] = fns[i];
	nfns = w;
	FILE *out = fopen(argv[2], "we");
	if (!out) { perror(argv[2]); return 2; }

	struct stat st;
	if (stat(argv[4], &st) == 0) { target_ino = st.st_ino; target_dev = st.st_dev; }
	const char *bin = getenv("FCOV_BINARY");
	if (bin && stat(bin, &st) == 0) { target_ino = st.st_ino; target_dev = st.st_dev; }

	pid_t child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	int status;
	waitpid(child, &status, 0);
	ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
	ptrace(PTRACE_CONT, child, 0, 0);
	proc(child)->started = 1;
	int rc = 0;
	for (;;) {
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) { if (errno == EINTR) continue; break; } /* ECHILD: all done */
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child) rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			forget(pid);
			continue;
		}
		if (!WIFSTOPPED(status)) continue;
		struct proc *p = proc(pid);
		int sig = WSTOPSIG(status), ev = status >> 16, deliver = 0;
		if (sig == SIGTRAP && ev) {
			if (ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_CLONE) {
				unsigned long np;
				ptrace(PTRACE_GETEVENTMSG, pid, 0, &np);
				proc((pid_t)np)->base = p->base;
			} else if (ev == PTRACE_EVENT_EXEC) {
				/* Other programs stay traced (a shell may start the binary). */
				p->base = image_base(pid);
				if (p->base) arm(pid, p->base);
			}
		} else if (sig == SIGTRAP) {
			struct user_regs_struct r;
			ptrace(PTRACE_GETREGS, pid, 0, &r);
			struct fn *f = p->base ? find(r.rip - 1 - p->base) : NULL;
			if (f && f->have_orig) {
				if (!f->seen) { f->seen = 1; fprintf(out, "%s\n", f->name); }
				poke_byte(pid, r.rip - 1, f->orig);
				r.rip -= 1;
				ptrace(PTRACE_SETREGS, pid, 0, &r);
			} else {
				deliver = sig;
			}
		} else if (sig == SIGSTOP && !p->started) {
			/* An auto-attached child's first stop: swallow it. */
		} else {
			deliver = sig;
		}
		p->started = 1;
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)deliver);
	}
	fclose(out);
	return rc;
}
