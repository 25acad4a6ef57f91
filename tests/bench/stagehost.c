/*
 * stagehost: the C program the nsexec stage benchmark spawns. It is linked
 * once with runc 1.1.5's C nsexec and once with libnsexec.a (bench.sh).
 *
 * Like runc's nsenter.go, a constructor calls nsexec() before main. Only
 * stage-2 reaches main. main writes one byte on $BENCH_READYFD (the timing
 * point), then checks that /proc/self/ns/<type> matches the "type:link"
 * list in $BENCH_NS and exits 0 (match) or 3 (mismatch); and, when
 * $BENCH_CLONED is set, that /proc/self/exe is something other than argv[0]
 * (runc 1.1's CVE-2019-5736 clone: a bind-mounted or sealed copy) exactly
 * when it is "1", else exits 4.
 *
 * With -DSIZE_ONLY it is the program of the size report instead: main only
 * references nsexec(), and -DNO_NSEXEC drops even that (the baseline).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef NO_NSEXEC
void nsexec(void);

__attribute__((constructor)) static void init(void)
{
	nsexec();
}
#endif

#ifdef SIZE_ONLY
int main(void)
{
	return 0;
}
#else
int main(int argc, char **argv)
{
	const char *fd = getenv("BENCH_READYFD"), *ns = getenv("BENCH_NS");
	const char *cloned = getenv("BENCH_CLONED");
	char list[1024], *tok, *save = NULL, exe[256];
	ssize_t len;

	if (!fd || !ns || write(atoi(fd), "r", 1) != 1)
		return 2;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len < 0 ? 0 : len] = 0;
	if (cloned && argc > 0 && (strcmp(exe, argv[0]) != 0) != (*cloned == '1'))
		return 4;
	snprintf(list, sizeof(list), "%s", ns);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), path[64], link[128];
		ssize_t n;

		if (!colon)
			return 3;
		*colon = 0;
		snprintf(path, sizeof(path), "/proc/self/ns/%s", tok);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			return 3;
		link[n] = 0;
		if (strcmp(link, colon + 1))
			return 3;
	}
	return 0;
}
#endif
