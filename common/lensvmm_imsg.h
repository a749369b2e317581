/*
 * lensctl <-> lensvmm on /run/lens/lensvmm.sock (root and members of
 * group "lens", checked with SO_PEERCRED).  Framing is common/imsg.h.
 *
 * One request per connection.  RUN and EXEC turn the connection into
 * an attach stream for that process: the client sends STDIN,
 * STDIN_EOF, RESIZE and SIGNAL; lensvmm sends STDOUT and STDERR, then
 * EXIT and closes.  RUN's first answer is BACKEND (which one and why).  With RUN_DETACH, RUN answers CREATED and closes.
 * Every other request is answered by zero or more data messages and
 * then OK, or by ERROR.
 *
 * Sandboxes are named by id (64 hex), by name, or by a unique id prefix.
 */
#ifndef LENS_LENSVMM_IMSG_H
#define LENS_LENSVMM_IMSG_H

#include <stdint.h>

#define CTL_ID_SIZE	65		/* 64 hex + NUL */
#define CTL_NAME_SIZE	64
#define CTL_PATH_SIZE	1024
#define CTL_USER_SIZE	64
#define CTL_CWD_SIZE	256
#define CTL_MAXSTRINGS	1024		/* argv + env + volumes */

enum lensvmm_imsg {
	/* lensctl -> lensvmm */
	IMSG_CTL_RUN = 0x56000001,	/* struct ctl_run + strings */
	IMSG_CTL_EXEC,			/* struct ctl_exec + strings */
	IMSG_CTL_PS,			/* struct ctl_ps */
	IMSG_CTL_STOP,			/* struct ctl_stop */
	IMSG_CTL_RM,			/* struct ctl_rm */
	IMSG_CTL_LOGS,			/* struct ctl_logs */
	IMSG_CTL_INSPECT,		/* struct ctl_ref */
	IMSG_CTL_STDIN,			/* 1..IMSG_MAXPAYLOAD bytes */
	IMSG_CTL_STDIN_EOF,		/* empty */
	IMSG_CTL_RESIZE,		/* struct ctl_winsize */
	IMSG_CTL_SIGNAL,		/* struct ctl_signal */
	/* lensvmm -> lensctl */
	IMSG_CTL_CREATED,		/* struct ctl_created */
	IMSG_CTL_STDOUT,		/* bytes */
	IMSG_CTL_STDERR,		/* bytes */
	IMSG_CTL_EXIT,			/* struct ctl_exit */
	IMSG_CTL_PS_ENTRY,		/* struct ctl_sandbox */
	IMSG_CTL_JSON,			/* inspect: a JSON object, bytes */
	IMSG_CTL_OK,			/* empty: request done */
	IMSG_CTL_ERROR,			/* struct ctl_error, then close */
	IMSG_CTL_BACKEND,		/* RUN: struct ctl_backend, first */
};

#define RUN_DETACH	0x01	/* -d */
#define RUN_STDIN	0x02	/* -i */
#define RUN_TTY		0x04	/* -t */
#define RUN_RM		0x08	/* --rm */
#define RUN_ROOT	0x10	/* -u root */
#define RUN_READONLY	0x20	/* --read-only: the root file system */
#define RUN_IMAGE	0x40	/* rootfs is an image reference (run IMAGE) */
#define RUN_ENTRYPOINT	0x80	/* --entrypoint: argv is the whole command */

#define CTL_HOSTNAME_SIZE	64		/* HOST_NAME_MAX + 1 */

struct ctl_run {
	uint32_t	flags;
	uint16_t	rows, cols;
	char		name[CTL_NAME_SIZE];	/* "" = generated */
	char		rootfs[CTL_PATH_SIZE];
	char		backend[16];		/* "jail", "microvm", "auto" */
	uint64_t	memory;			/* bytes, 0 = default */
	uint32_t	cpu_millis;		/* 1500 = 1.5 cpus, 0 = none */
	uint32_t	pids;			/* 0 = default */
	char		user[CTL_USER_SIZE];	/* "" = 1000 */
	char		cwd[CTL_CWD_SIZE];
	char		hostname[CTL_HOSTNAME_SIZE];	/* "" = the name */
	uint32_t	argc, envc, nvolumes;
	uint32_t	npublish;		/* -p, 0 = none */
	uint32_t	policylen;		/* --policy: bytes, 0 = none */
	uint32_t	nlabels;		/* --label, 0 = none */
	/* --policy's file, absolute ("" none): lensctl policy reload and
	 * approve --always find it here (NUL-terminated) */
	char		policypath[CTL_PATH_SIZE];
	uint32_t	ntmpfs;			/* --tmpfs, 0 = none */
	uint32_t	nulimits;		/* --ulimit, 0 = none */
	/*
	 * followed by argc, envc, nvolumes NUL-terminated strings
	 * ("SRC:DST[:ro]"), then npublish ("[ADDR:]HOSTPORT:PORT[/tcp]"),
	 * then nlabels ("KEY=VALUE"), then ntmpfs ("PATH[:size=N,mode=M]",
	 * grammar.h gr_tmpfs), then nulimits ("NAME=SOFT[:HARD]",
	 * gr_ulimit), then policylen bytes of policy (lns-policy.yaml text), exactly
	 * filling the payload
	 */
};
#define CTL_MAXPUBLISH	32

struct ctl_exec {
	char		sandbox[CTL_NAME_SIZE + 1];	/* id, name or prefix */
	uint8_t		pad0[3];
	uint32_t	flags;			/* RUN_STDIN, RUN_TTY, RUN_ROOT */
	uint16_t	rows, cols;
	char		user[CTL_USER_SIZE];
	char		cwd[CTL_CWD_SIZE];
	uint32_t	argc, envc;
	uint32_t	pad1;			/* 8-byte multiple: 408 */
	/* followed by argc then envc NUL-terminated strings */
};

struct ctl_ref {
	char		sandbox[CTL_NAME_SIZE + 1];
	uint8_t		pad[7];
};

#define CTL_LABEL_SIZE	256
#define CTL_MAXLABELS	64
struct ctl_ps {
	uint32_t	all;			/* -a: stopped ones too */
	uint32_t	pad;
	char		label[CTL_LABEL_SIZE];	/* "KEY[=VALUE]", "" = all */
};

struct ctl_stop {
	struct ctl_ref	ref;
	uint32_t	timeout_secs;		/* then SIGKILL */
	uint32_t	pad;
};

struct ctl_rm {
	struct ctl_ref	ref;
	uint32_t	force;			/* stop it first */
	uint32_t	pad;
};

struct ctl_logs {
	struct ctl_ref	ref;
	uint32_t	follow;
	uint32_t	flags;		/* LOGS_* */
	uint32_t	tail;		/* LOGS_TAIL: the last tail lines */
	uint32_t	pad;
	int64_t		since_ms;	/* LOGS_SINCE: records from then */
};
#define LOGS_TIMESTAMPS	0x1	/* STDOUT/STDERR: int64 ms, then bytes */
#define LOGS_TAIL	0x2
#define LOGS_SINCE	0x4

struct ctl_winsize {
	uint16_t	rows, cols;
	uint32_t	pad;
};

struct ctl_signal {
	int32_t		sig;
	uint32_t	pad;
};

struct ctl_created {
	char		id[CTL_ID_SIZE];
	char		name[CTL_NAME_SIZE];
	char		backend[16];
	uint8_t		pad[7];
};

/* the backend a RUN got and why, before anything else on the stream */
struct ctl_backend {
	char		backend[16];	/* "jail" or "microvm" */
	uint32_t	chosen;		/* 1: named by --backend, not auto */
	uint32_t	pad;
	char		why[232];
};

struct ctl_exit {
	int32_t		code;		/* as the shell reports it */
	int32_t		sig;		/* killed by, or 0 */
	uint32_t	oom;		/* killed by the OOM killer */
	uint32_t	pad;
};

#define SANDBOX_CREATED	1
#define SANDBOX_RUNNING	2
#define SANDBOX_STOPPED	3

struct ctl_sandbox {
	char		id[CTL_ID_SIZE];
	char		name[CTL_NAME_SIZE];
	char		backend[16];
	uint8_t		net_lost;	/* lensnetd closed its connection */
	uint8_t		pad[6];
	uint32_t	state;
	int32_t		exit_code;
	int64_t		created;	/* unix seconds */
	char		command[256];	/* argv joined, truncated */
};

/* exit codes of lensctl run/exec, as users know them from docker */
#define CTL_EXIT_LENS		125	/* Lens could not run it */
#define CTL_EXIT_NOEXEC		126	/* found but not executable */
#define CTL_EXIT_NOTFOUND	127	/* command not found */

struct ctl_error {
	int32_t		code;		/* CTL_EXIT_* */
	uint32_t	pad;
	char		msg[512];
};

/*
 * Images (lensctl pull, images, rmi, image prune): numbered apart from
 * the sandbox requests above.  PULL is answered by PROGRESS messages,
 * then PULLED and OK (or ERROR); IMAGES by IMAGE_ENTRY messages and OK;
 * RMI and PRUNE by IMAGE_REMOVED messages and OK.
 */
enum lensvmm_image_imsg {
	IMSG_CTL_PULL = 0x56000100,	/* struct ctl_pull */
	IMSG_CTL_IMAGES,		/* struct ctl_images */
	IMSG_CTL_RMI,			/* struct ctl_rmi */
	IMSG_CTL_PRUNE,			/* struct ctl_images (unused: 0) */
	IMSG_CTL_PROGRESS,		/* struct ctl_progress */
	IMSG_CTL_PULLED,		/* struct ctl_pulled */
	IMSG_CTL_IMAGE_ENTRY,		/* struct ctl_image */
	IMSG_CTL_IMAGE_REMOVED,		/* struct ctl_removed */
};

#define CTL_IMGREF_SIZE	384		/* NAME:TAG + NUL */
#define CTL_DIGEST_SIZE	72		/* sha256:<64 hex> + NUL */

struct ctl_pull {
	char		source[CTL_PATH_SIZE];	/* oci:DIR[:TAG] or a registry's
						 * HOST/REPO[:TAG|@DIGEST] */
	char		platform[64];		/* "" = linux/amd64 */
	char		cafile[CTL_PATH_SIZE];	/* registry: "" system store */
	uint32_t	flags;			/* CTL_PULL_* */
	uint32_t	pad;
};
#define CTL_PULL_INSECURE	0x1	/* --insecure-registry: http allowed */

#define PROGRESS_START	1		/* a blob begins: total known */
#define PROGRESS_BYTES	2
#define PROGRESS_DONE	3		/* verified and stored */
#define PROGRESS_CACHED	4		/* was in the store */
struct ctl_progress {
	char		digest[CTL_DIGEST_SIZE];
	char		what[16];		/* "manifest", "config", "layer" */
	uint64_t	done, total;
	uint32_t	state;			/* PROGRESS_* */
	uint32_t	index;			/* layers: 0.., count of them */
	uint32_t	count;
	uint32_t	pad;
};

struct ctl_pulled {
	char		ref[CTL_IMGREF_SIZE];
	char		digest[CTL_DIGEST_SIZE];
	uint32_t	nlayers;
	uint32_t	pad;
};

struct ctl_images {
	uint32_t	flags;			/* 0 */
	uint32_t	pad;
};

struct ctl_image {
	char		ref[CTL_IMGREF_SIZE];	/* "" for a dangling manifest */
	char		digest[CTL_DIGEST_SIZE];
	uint64_t	size;			/* manifest + config + layers */
	int64_t		created;		/* the ref's mtime, unix s */
	uint32_t	nlayers;
	uint32_t	pad;
};

struct ctl_rmi {
	char		ref[CTL_IMGREF_SIZE];	/* NAME[:TAG] or sha256: */
};

struct ctl_removed {
	char		what[16];		/* "ref", "blob", "partial", "layer" */
	char		name[CTL_IMGREF_SIZE];
};

#endif
