package tidcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// TestCachedTidInStage2 starts itself as runc init would, asks nsexec for a
// new pid namespace, and lets stage-2 report glibc's cached tid next to the
// kernel's. Stage-2 is our child (nsexec clones with CLONE_PARENT), so its
// exit status is ours to read.
func TestCachedTidInStage2(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_LOCAL, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal("socketpair failed:", err)
	}
	parent := os.NewFile(uintptr(fds[1]), "parent")
	child := os.NewFile(uintptr(fds[0]), "child")
	defer parent.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()

	cmd := &exec.Cmd{
		Path:       os.Args[0],
		Args:       []string{Stage2Arg0},
		ExtraFiles: []*os.File{child},
		Env:        []string{"_LIBCONTAINER_INITPIPE=3"},
		Stdout:     outW,
		Stderr:     os.Stderr,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("nsenter failed to start: %v", err)
	}
	child.Close()
	outW.Close()

	r := nl.NewNetlinkRequest(int(libcontainer.InitMsg), 0)
	r.AddData(&libcontainer.Int32msg{
		Type:  libcontainer.CloneFlagsAttr,
		Value: uint32(unix.CLONE_NEWPID),
	})
	if _, err := io.Copy(parent, bytes.NewReader(r.Serialize())); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(parent)
	// runc 1.1 sends one \0 before parsing; runc >= 1.2 does not.
	if b, err := br.Peek(1); err == nil && b[0] == 0 {
		_, _ = br.Discard(1)
	}
	var pid struct {
		Pid2 int `json:"stage2_pid"`
		Pid1 int `json:"stage1_pid"`
	}
	if err := json.NewDecoder(br).Decode(&pid); err != nil {
		t.Fatal("decoding the stage pids:", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stage-0: %v", err)
	}
	if pid.Pid1 == 0 || pid.Pid2 == 0 {
		t.Fatal("got pids:", pid)
	}
	_, _ = unix.Wait4(pid.Pid1, nil, 0, nil)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid.Pid2, &ws, 0, nil); err != nil {
		t.Fatal("wait4 stage-2:", err)
	}
	out, _ := io.ReadAll(outR)
	report := strings.TrimSpace(string(out))
	t.Logf("stage-2 (host pid %d): %s", pid.Pid2, report)

	if !strings.Contains(report, "tidcheck: pid=1 gettid=1 ") {
		t.Fatalf("stage-2 did not report from the main thread of a new pid namespace: %q (status %v)", report, ws)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("stale glibc cached tid in stage-2: %q (status %#x)", report, int(ws))
	}
}
