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
 *   sleep:N   sleeps N seconds
 *   exit:N    exits with N
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
        else if (!strcmp(a, "pid")) printf("pid=%d\nppid=%d\n", getpid(), getppid());
        else if (!strcmp(a, "tty")) printf("tty=%s\n", isatty(0) ? ttyname(0) : "none");
        else if (!strncmp(a, "write:", 6)) {
            int fd = open(a + 6, O_WRONLY | O_CREAT | O_EXCL, 0600);
            printf("write.%s=%s\n", a + 6, fd >= 0 ? "ok" : strerror(errno));
            if (fd >= 0) close(fd), unlink(a + 6);
        } else if (!strncmp(a, "cat:", 4)) catf(a + 4);
        else if (!strncmp(a, "sleep:", 6)) {
            fflush(stdout);
            sleep(atoi(a + 6));
        } else if (!strncmp(a, "exit:", 5)) {
            fflush(stdout);
            return atoi(a + 5);
        } else {
            fprintf(stderr, "payload: unknown check %s\n", a);
            return 99;
        }
    }
    fflush(stdout);
    return 0;
}
