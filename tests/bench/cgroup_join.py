#!/usr/bin/env python3
"""The cgroup step's cost, back to back and isolated, for one or more nsrun
binaries side by side (paired, alternating, so machine load hits them alike).

    tests/bench/cgroup_join.py [-n ROUNDS] NSRUN_BIN [OTHER_NSRUN_BIN ...]

Isolated = 1 s of quiet before each run, so that the first pid written to a
v1 cgroup.procs (or tasks) pays the RCU grace period of
cgroup_threadgroup_rwsem; back to back = runs following each other at once.
Per binary: wall time of `run` (busybox `true`, memory+pids limits, explicit
cgroupsPath) and of `exec true` into a running container; medians. Run as
root; ids and cgroup paths are prefixed cg2-bench; nothing is left behind.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

def main():
    args = sys.argv[1:]
    rounds = 15
    if args[:1] == ["-n"]:
        rounds, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="cg2-bench.")
    try:
        bench(args, rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if os.stat("/dev/null").st_uid != 0:
        sys.exit("ALERT: /dev/null is no longer owned by root")

def bench(bins, rounds, work):
    b = os.path.join(work, "bundle")
    os.makedirs(os.path.join(b, "rootfs/bin"))
    shutil.copy("/bin/busybox", os.path.join(b, "rootfs/bin/busybox"))
    for x in ("sh", "true", "sleep"):
        os.symlink("busybox", os.path.join(b, "rootfs/bin", x))
    subprocess.run(["runc", "spec"], cwd=b, check=True)
    cfg = json.load(open(os.path.join(b, "config.json")))
    cfg["process"]["terminal"] = False
    cfg["linux"]["resources"] = {"memory": {"limit": 256 << 20}, "pids": {"limit": 100}}

    def config(args, path):
        cfg["process"]["args"] = args
        cfg["linux"]["cgroupsPath"] = path
        json.dump(cfg, open(os.path.join(b, "config.json"), "w"))

    def rt(i, *a):
        return [bins[i], "--root", os.path.join(work, f"root{i}"), *a]

    def timed(cmd):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=b, check=True, stdin=subprocess.DEVNULL)
        return (time.perf_counter() - t) * 1e3

    # One running container per binary for exec.
    for i in range(len(bins)):
        config(["sleep", "999"], f"/cg2-bench-exec{i}")
        subprocess.run(rt(i, "run", "-d", f"cg2-bench-exec{i}"), cwd=b, check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config(["true"], "/cg2-bench-run")
    res = {}
    try:
        for mode, quiet in (("back to back", 0), ("isolated", 1.0)):
            for op in ("run", "exec"):
                for _ in range(2 if quiet == 0 else 0):  # warm-up
                    for i in range(len(bins)):
                        timed(rt(i, "run", "cg2-bench-run") if op == "run" else rt(i, "exec", f"cg2-bench-exec{i}", "true"))
                for _ in range(rounds):
                    for i in range(len(bins)):
                        time.sleep(quiet)
                        cmd = rt(i, "run", "cg2-bench-run") if op == "run" else rt(i, "exec", f"cg2-bench-exec{i}", "true")
                        res.setdefault((op, mode, i), []).append(timed(cmd))
    finally:
        for i in range(len(bins)):
            subprocess.run(rt(i, "delete", "-f", f"cg2-bench-exec{i}"), stderr=subprocess.DEVNULL)
    for (op, mode, i), v in sorted(res.items()):
        print(f"{op:4} {mode:12} {bins[i]}: median {statistics.median(v):6.2f} ms "
              f"(min {min(v):.2f}, {len(v)} runs)")

main()
