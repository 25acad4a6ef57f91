package escapetest

// runc's test/escape.go and escape_test.go are copied beside this file by
// tests/go_consumer.rs; instead of compiling escape.c they link the
// escape_json_string exported by libnsexec.a.

// #cgo LDFLAGS: -L@LIBDIR@ -lnsexec -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
import "C"
