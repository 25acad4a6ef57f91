//go:build linux && !gccgo
// +build linux,!gccgo

// runc's libcontainer/nsenter/nsenter.go, with nsexec.c replaced by
// libnsexec.a: the preamble and constructor are runc's, only the #cgo LDFLAGS
// line is added. @LIBDIR@ is replaced by tests/go_consumer.rs with the absolute
// directory of the archive (${SRCDIR} is no use: the archive is elsewhere).
package nsenter

/*
#cgo CFLAGS: -Wall
#cgo LDFLAGS: -L@LIBDIR@ -lnsexec -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
extern void nsexec();
void __attribute__((constructor)) init(void) {
	nsexec();
}
*/
import "C"
