/*
 * libnsexec: runc's nsexec stage in Rust, as a C-callable static library.
 *
 * Link:   cc prog.c -Iinclude -Ltarget/release -lnsexec -lpthread -ldl -lm -lgcc_s -lc
 * (for a static program drop -lgcc_s). The library carries its own
 * .init_array constructor, but the linker only keeps it when the program
 * references a symbol of the library: call nsexec() (from main or from your
 * own constructor, as runc's nsenter.go does). The stage runs at most once
 * per process image however often it is called.
 *
 * The stage is inert unless _LIBCONTAINER_INITPIPE is set. Otherwise it
 * reads runc's bootstrap message from that fd, and returns only in stage-2
 * ("runc:[2:INIT]"), inside the container's namespaces. Stages 0 and 1 exit.
 *
 * Wire profile: the current runc (>= 1.4) by default; runc 1.1.x when built
 * with `--features runc-1-1` (NSEXEC_PROFILE_RUNC_1_1 below is a reminder
 * only: the header cannot see how the archive was built).
 */
#ifndef NSEXEC_H
#define NSEXEC_H

#ifdef __cplusplus
extern "C" {
#endif

/* Run the nsexec stage (see above). Never unwinds; fatal paths exit(1). */
void nsexec(void);

/* runc's JSON string escaper (takes ownership of a malloc'ed string). */
char *escape_json_string(char *s);

/* Environment variables read by the stage. */
#define NSEXEC_ENV_INITPIPE  "_LIBCONTAINER_INITPIPE"
#define NSEXEC_ENV_LOGPIPE   "_LIBCONTAINER_LOGPIPE"
#define NSEXEC_ENV_LOGLEVEL  "_LIBCONTAINER_LOGLEVEL"
#define NSEXEC_ENV_MOUNT_FDS "_LIBCONTAINER_MOUNT_FDS"      /* runc 1.1 only */
#define NSEXEC_ENV_CLONED_BINARY "_LIBCONTAINER_CLONED_BINARY" /* runc 1.1 only */

/* Netlink message type of the bootstrap message. */
#define NSEXEC_INIT_MSG 62000

/* Attribute ids. */
#define NSEXEC_CLONE_FLAGS_ATTR    27281 /* u32 */
#define NSEXEC_NS_PATHS_ATTR       27282 /* "type:path[,type:path...]" + NUL */
#define NSEXEC_UIDMAP_ATTR         27283 /* "inside outside count\n"... + NUL */
#define NSEXEC_GIDMAP_ATTR         27284
#define NSEXEC_SETGROUP_ATTR       27285 /* bool (first byte read) */
#define NSEXEC_OOM_SCORE_ADJ_ATTR  27286 /* decimal + NUL */
#define NSEXEC_ROOTLESS_EUID_ATTR  27287 /* bool */
#define NSEXEC_UIDMAPPATH_ATTR     27288 /* absolute path of newuidmap + NUL */
#define NSEXEC_GIDMAPPATH_ATTR     27289 /* absolute path of newgidmap + NUL */
#define NSEXEC_MOUNT_SOURCES_ATTR  27290 /* runc 1.1 profile */
#define NSEXEC_TIMENSOFFSET_ATTR   27290 /* current profile: "clock secs nsecs\n"... */

/* Sync codes between the stages (4-byte native ints). */
#define NSEXEC_SYNC_USERMAP_PLS      0x40
#define NSEXEC_SYNC_USERMAP_ACK      0x41
#define NSEXEC_SYNC_RECVPID_PLS      0x42
#define NSEXEC_SYNC_RECVPID_ACK      0x43
#define NSEXEC_SYNC_GRANDCHILD       0x44
#define NSEXEC_SYNC_CHILD_FINISH     0x45
#define NSEXEC_SYNC_MOUNTSOURCES_PLS 0x46 /* runc 1.1 profile */
#define NSEXEC_SYNC_MOUNTSOURCES_ACK 0x47 /* runc 1.1 profile */
#define NSEXEC_SYNC_TIMEOFFSETS_PLS  0x46 /* current profile */
#define NSEXEC_SYNC_TIMEOFFSETS_ACK  0x47 /* current profile */

/* Clone flags understood in NSEXEC_CLONE_FLAGS_ATTR. */
#define NSEXEC_CLONE_NEWNS     0x00020000
#define NSEXEC_CLONE_NEWCGROUP 0x02000000
#define NSEXEC_CLONE_NEWUTS    0x04000000
#define NSEXEC_CLONE_NEWIPC    0x08000000
#define NSEXEC_CLONE_NEWUSER   0x10000000
#define NSEXEC_CLONE_NEWPID    0x20000000
#define NSEXEC_CLONE_NEWNET    0x40000000
#define NSEXEC_CLONE_NEWTIME   0x00000080 /* unshare() only */

#ifdef __cplusplus
}
#endif
#endif /* NSEXEC_H */
