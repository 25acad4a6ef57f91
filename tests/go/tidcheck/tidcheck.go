// Package tidcheck checks, in stage-2 after nsexec has returned into Go, that
// glibc's idea of the calling thread is coherent (nsexec-protocol.md §6.4).
//
// glibc caches the kernel tid in its struct pthread and only fork() refreshes
// it; a process made by clone() keeps its parent's. Go >= 1.22 calls
// pthread_getattr_np(pthread_self()) at start-up, which aborts on some glibc
// versions when the cache is stale (runc issue #4233).
package tidcheck

/*
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// pthread_getcpuclockid() returns MAKE_THREAD_CPUCLOCK(pd->tid, CPUCLOCK_SCHED)
// = (~tid << 3) | 6, so it shows glibc's cached tid from outside glibc.
static int tid_check(char *buf, size_t len) {
	long tid = syscall(SYS_gettid);
	long cached = -1;
	clockid_t cid = 0;
	pthread_attr_t attr;
	int rc_cid = pthread_getcpuclockid(pthread_self(), &cid);
	if (rc_cid == 0)
		cached = (long)~(cid >> 3);
	int rc_attr = pthread_getattr_np(pthread_self(), &attr);
	if (rc_attr == 0)
		pthread_attr_destroy(&attr);
	snprintf(buf, len, "pid=%d gettid=%ld cached_tid=%ld getcpuclockid=%d getattr_np=%d",
		 getpid(), tid, cached, rc_cid, rc_attr);
	return rc_cid == 0 && rc_attr == 0 && cached == tid;
}
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"

	_ "nsexectest/nsenter"
)

// Stage2Arg0 is the argv[0] the test gives its re-executed self.
const Stage2Arg0 = "tidcheck-stage2"

// Package init runs on the main thread (the Go runtime locks the main
// goroutine to it during initialisation), which is the thread nsexec cloned.
func init() {
	if os.Args[0] != Stage2Arg0 {
		return
	}
	var buf [256]C.char
	ok := C.tid_check(&buf[0], C.size_t(len(buf)))
	fmt.Printf("tidcheck: %s\n", C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
	if ok == 0 {
		os.Exit(1)
	}
	os.Exit(0)
}
