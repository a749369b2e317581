/*
 * lensvmm: sandbox lifecycle.  Process roles, one file each:
 *
 *	lensvmm.c	parent (root, limited capabilities, deny-list seccomp):
 *			sandbox table, state directory, cgroups, audit, and
 *			the fork of one jail process per sandbox; split by
 *			concern into lensvmm.c, reply.c, audit.c, run.c,
 *			state.c, stop.c, slots.c and consolelog.c (parent.h)
 *	control.c	control child (_lensvmm, empty chroot, allow-list
 *			seccomp): lensctl connections, SO_PEERCRED,
 *			request validation
 *	jail.c		namespace, mount and cgroup setup of a sandbox, run
 *			in the jail process while it is still privileged,
 *			and the workload's seccomp filter
 *	jailproc.c	the jail process once set up (the sandbox's host
 *			root uid, no capabilities, chroot, allow-list
 *			seccomp): lens-init channel, attach streams, console
 *			log, exit report
 *	cgroup.c	cgroup v1 and v2 limits, kill, removal, OOM counter
 *	probe.c		can this host boot a Linux microVM (backend auto)
 *	diskimg.c	rootfs directory -> erofs/ext4 image in a bounded LRU
 *			cache (-C), and the per-sandbox writable ext4
 *			image (microvm)
 *	hostpath.c	--rootfs and -v sources: opened once as the
 *			caller, no symlinks, owner and state directories
 *	microvm.c	the microvm backend's replacement of jail.c: builds
 *			the disks, attaches the tap and forks the `vm'
 *			process (the KVM monitor, lensvmm/vm/) as the
 *			sandbox's own uid in a chroot with seccomp per
 *			thread; jailproc.c then drives lens-init over the
 *			console port exactly as it does in a jail
 */
#ifndef LENSVMM_H
#define LENSVMM_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stdint.h>
#include <limits.h>

#include "grammar.h"
#include "lensvmm_imsg.h"
#include "lensinit_proto.h"
#include "lensnetd_imsg.h"
#include "pemcert.h"
#include "proc.h"

#define VMM_USER		"_lensvmm"
#define VMM_GROUP		"lens"
#define VMM_SOCKET		"/run/lens/lensvmm.sock"
#define VMM_POLICY		"/etc/lens/lns-policy.yaml"	/* the default */
#define VMM_STATEDIR		"/var/lib/lens"
#define VMM_AUDITSOCK		"/run/lens/lensauditd.sock"
#define VMM_SLOTDIR		"/run/lens/uid-slots"	/* host-wide */
/* the operator's shared rootfs trees: root-owned ones serve anybody */
#define VMM_ROOTFSLIB		"/var/lib/lens/rootfs"
#define VMM_MAXPROTECT		8	/* -x state directories */
#ifndef VMM_PREFIX
#define VMM_PREFIX		"/usr/local"
#endif
#define VMM_LENSINIT		VMM_PREFIX "/libexec/lens/lens-init"
#define VMM_GUESTDIR		VMM_PREFIX "/share/lens/guest"
#define VMM_GUEST_KERNEL	"vmlinuz"
#define VMM_GUEST_INITRD	"initramfs.cpio"
#define VMM_KVM			"/dev/kvm"
#define VMM_CPUINFO		"/proc/cpuinfo"
#define VMM_IMAGEDIR		"images"	/* under the state directory */
#define VMM_IMAGECACHE		(4ULL << 30)	/* its default limit (-C) */
#define VMM_VM_MEMORY		(512ULL << 20)	/* guest RAM without -m */
#define VMM_VM_MIN_MEMORY	(64ULL << 20)
#define VMM_VM_OVERHEAD		(96ULL << 20)	/* cgroup: RAM + this */
#define VMM_VM_SCRATCH		(2ULL << 30)	/* vdb, sparse */
#define VMM_VM_BOOT_TIMEOUT	60		/* seconds for READY */

#define BACKEND_JAIL		0
#define BACKEND_MICROVM		1

#define VMM_MAXSANDBOXES	1024
#define VMM_UIDBASE		1000000u
#define VMM_UIDRANGE		65536u
#define VMM_DEFAULT_PIDS	4096
#define VMM_MIN_MEMORY		(4ULL << 20)
#define VMM_CONSOLE_MAX		(64ULL << 20)	/* console.log cap */

/*
 * console.log is a sequence of records, each a header and len bytes,
 * so that `lensctl logs` gives stdout and stderr back apart and in
 * order.  lens-init's own messages are LOG_STDERR.  The jail process
 * writes it; the parent reads it and checks every header (the jail
 * process runs as the sandbox's host uid, so the file is not trusted).
 */
#define LOG_STDOUT		1
#define LOG_STDERR		2
#define LOG_RECMAX		65536
struct logrec {
	uint8_t		stream;		/* LOG_STDOUT or LOG_STDERR */
	uint8_t		timed;		/* LOGREC_TIMED: a logtime follows */
	uint8_t		pad[2];
	uint32_t	len;		/* 1..LOG_RECMAX */
};
/*
 * A record written since lensctl logs --timestamps/--since: the header,
 * then when it was written (int64 ms since the epoch, CLOCK_REALTIME),
 * then its bytes.  Records of older logs have timed 0 and no time.
 */
#define LOGREC_TIMED		1
#define VMM_READY_TIMEOUT	10		/* seconds for lens-init */
#define VMM_MAXVOLUMES		64
#define VMM_MAXGROUPMEMBERS	256

/* control -> parent: the validated request, hdr.type = IMSG_CTL_*,
 * hdr.peerid = the peer's uid, with the client connection as the fd */

/* parent <-> jail process */
enum vmm_jail_imsg {
	IMSG_J_READY = 0x4a000001,	/* jail: struct j_ready + CA PEM;
					 * fd: the sandbox's network
					 * namespace (jail with a network) */
	IMSG_J_FAILED,			/* jail: struct ctl_error; setup failed */
	IMSG_J_EXEC,			/* parent: struct init_exec + strings,
					 * peerid = exec id, fd = client or none */
	IMSG_J_EXEC_EXIT,		/* jail: struct j_exec_exit */
	IMSG_J_STOP,			/* parent: struct j_stop */
	IMSG_J_EXIT,			/* jail: struct ctl_exit; sandbox ended */
	IMSG_J_FINISH,			/* parent: empty; answer clients, exit */
	IMSG_J_NETLOST,			/* jail: empty; lensnetd closed the
					 * sandbox's connection */
};

struct j_ready {
	int32_t		initpid;	/* host pid of lens-init */
	uint32_t	net;		/* 1: attached to lensnetd */
	struct in_addr	addr, gateway;	/* the sandbox's, its gateway's */
	uint16_t	proxyport;	/* HTTP(S)_PROXY on the gateway */
	uint16_t	pad[3];
	uint32_t	calen;		/* bytes of the sandbox CA's PEM that
					 * follow (pemcert_check), or 0 */
	uint32_t	pad2;
	char		instance[NETD_INSTANCE_SIZE];	/* lensnetd's -n */
};

struct j_exec_exit {
	int32_t		code;
	int32_t		sig;
	int32_t		err;		/* !0: start failed (ctl exit code) */
	uint32_t	pad;
};

struct j_stop {
	uint32_t	grace_ms;
	uint32_t	pad;
};

struct volume {
	char		src[PATH_MAX];
	char		dst[CTL_PATH_SIZE];
	int		ro;
	int		fd;		/* O_PATH, opened as the caller */
};

/* what the jail process needs, filled by the parent before the fork */
struct jail_conf {
	char		 id[CTL_ID_SIZE];
	char		 name[CTL_NAME_SIZE];
	char		 hostname[CTL_HOSTNAME_SIZE];	/* run --hostname, or name */
	char		 dir[PATH_MAX];		/* STATEDIR/sandboxes/ID */
	char		 rootfs[PATH_MAX];
	int		 rootfd;		/* O_PATH, opened as the caller */
	const char	*layers;	/* run IMAGE (rootfd -1): nlayers diff
					 * ids 72 bytes apart, bottom first */
	uint32_t	 nlayers;
	char		 emptydir[PATH_MAX];
	uid_t		 base;			/* host uid of sandbox root */
	uint32_t	 flags;			/* RUN_* */
	struct volume	*volumes;
	int		 nvolumes;
	int		 initfd;		/* lens-init binary, O_RDONLY */
	int		 consolefd;		/* console.log, O_APPEND */
	int		 cgprocs[4];		/* cgroup.procs, -1 ended */
	int		 oomfd;			/* OOM counter file or -1 */
	int		 cgv2;
	uint64_t	 memory;
	uint32_t	 pids;
	/* run --read-only, --tmpfs (sizes resolved), --ulimit */
	int		 readonly;
	struct gr_tmpfs	 tmpfs[GR_MAXTMPFS];
	int		 ntmpfs;
	struct gr_ulimit ulimits[GR_MAXULIMITS];
	int		 nulimits;
	pid_t		 parent;
	volatile int32_t *sigsys;
	/* lensnetd: socket ("" none), the policy's binary model (NULL:
	 * the default policy), -p strings; the answer */
	char		 netdsock[108];
	const void	*model;
	size_t		 modellen;
	const char	*publish;		/* npublish strings */
	uint32_t	 npublish;
	const char	*ph;			/* nph placeholders of PH_SIZE */
	uint32_t	 nph;			/* (common/phscan.h) bytes */
	int		 netdfd;		/* held for the sandbox's life */
	int		 netnsfd;		/* jail: its network namespace,
						 * to the parent on READY */
	struct netd_attached net;		/* when netdfd != -1 */
	char		 ca[PEMCERT_MAX];	/* the sandbox CA's PEM */
	size_t		 calen;			/* 0: none */
	/* microvm */
	int		 backend;		/* BACKEND_* */
	char		 guestdir[PATH_MAX];
	char		 imagedir[PATH_MAX];	/* the image cache */
	uint64_t	 imagecache;		/* its limit in bytes (-C) */
	char		 fstype[8];		/* erofs or ext4 */
	unsigned int	 ncpus;
	uint32_t	 boot_timeout;		/* seconds */
	char		 kernel_args[512];	/* more kernel words */
};

/* control.c */
struct control_conf {
	int		 listen_fd;
	gid_t		 lens_gid;
	pid_t		 parent;
};
int	control_main(int fd, void *arg);
/* NULL if im is a well-formed request of its type, else why not */
struct imsg;
const char *control_request_check(struct imsg *im);

/*
 * netd.c.  netd_connect: attach a sandbox to lensnetd at sockpath (jail:
 * nsfd its network namespace, kept by the caller; microvm: nsfd -1 and
 * *tapfd gets the tap; model: the policy's binary model, or NULL and 0
 * for the default policy).  Returns the connection, to hold for the
 * sandbox's life (closing it removes the network), or -1 with err.
 */
int	netd_connect(const char *sockpath, const char *id, uint32_t backend,
	    int nsfd, const void *model, size_t modellen,
	    const char *publish, uint32_t npublish, const char *ph,
	    uint32_t nph, struct netd_attached *,
	    int *tapfd, char *ca, size_t *calen, char *err, size_t errlen);
/* netd.c, the pieces of netd_connect (the parent's re-attach uses
 * them too): the socket, connected, its listener checked to be root;
 * the ATTACH queued on ibuf (reattach 0 and instance NULL for a new
 * sandbox); the answer checked, the CA copied (PEMCERT_MAX) */
int	netd_dial(const char *sockpath, char *err, size_t errlen);
struct imsgbuf;
int	netd_request(struct imsgbuf *, const char *id, uint32_t backend,
	    int nsfd, const void *model, size_t modellen, const char *publish,
	    uint32_t npublish, const char *ph, uint32_t nph,
	    struct in_addr reattach, const char *instance, char *err,
	    size_t errlen);
int	netd_answer(struct imsg *, uint32_t backend, struct netd_attached *,
	    int *tapfd, char *ca, size_t *calen, char *err, size_t errlen);
/* netd.c: attach the sandbox whose first process is pid to lensnetd
 * (c->netdfd, c->net, c->netnsfd); -1 with a message in err: the sandbox must not
 * start (fail closed) */
int	netd_attach(struct jail_conf *c, pid_t pid, char *err, size_t errlen);

/*
 * policy.c: parse a policy's YAML in a short-lived unprivileged process
 * and return the model it sent, checked: *polp decoded from it and
 * *modelp its bytes (both to free); -1 with the parser's error in err.
 */
struct policy;
int	policy_model_parse(const char *name, const char *text, size_t len,
	    struct policy **polp, void **modelp, size_t *modellenp, char *err,
	    size_t errlen);

/* run.c: close every descriptor above stderr but the nkeep (<= 16)
 * in keep (the jail and vm processes start that way) */
int	close_except(const int *keep, int nkeep);

/* jail.c: set the sandbox up and start lens-init; the init channel in
 * *initfd and its host pid in *initpid; -1 with a message in err */
int	jail_start(struct jail_conf *, int *chan, int *console,
	    pid_t *initpid, char *err, size_t errlen);
/* the parent's deny-list filter, inherited by every sandbox */
int	jail_seccomp_parent(void);
int	jail_user_collides(uid_t base, uid_t range);

/* probe.c: 0 if a Linux microVM can boot here, else -1; why says
 * which (or what was found) */
int	microvm_probe(const char *kvm, const char *cpuinfo,
	    const char *guestdir, char *why, size_t whylen);
int	probe_kvm(const char *kvm, char *why, size_t whylen);
int	probe_cpuinfo(const char *path, const char **which, char *why,
	    size_t whylen);
int	probe_guest(const char *guestdir, char *why, size_t whylen);

/* diskimg.c */
const char *diskimg_default_fstype(void);
int	diskimg_key(const char *rootfs, const char *fstype, char key[65],
	    uint64_t *bytes, char *err, size_t errlen);
/* the image open read-only (its path, was it cached), the cache then
 * evicted down to limit bytes; -1 with err */
int	diskimg_rootfs(const char *cachedir, uint64_t limit,
	    const char *rootfs, const char *fstype, char *path,
	    size_t pathlen, int *cached, char *err, size_t errlen);
int	diskimg_evict(const char *cachedir, uint64_t limit,
	    const char *keep);
int	diskimg_cache_clean(const char *cachedir, uint64_t limit);
int	diskimg_scratch(const char *path, uint64_t size, char *err,
	    size_t errlen);

/* microvm.c: like jail_start, for the microvm backend: *chan is the
 * lens-init channel (console port 1), *console the VM's console
 * output, *pid the vm process */
int	microvm_start(struct jail_conf *, int *chan, int *console,
	    pid_t *pid, char *err, size_t errlen);

/* jailproc.c: the jail process once set up */
int	sandbox_main(int fd, void *arg);

/* hostpath.c: --rootfs and -v sources, opened as the caller */
struct caller {
	uid_t		 uid;
	gid_t		 gid;
	gid_t		 groups[VMM_MAXGROUPMEMBERS];
	int		 ngroups;
};
#define HOSTPATH_DIR	 0	/* a rootfs: a directory */
#define HOSTPATH_VOLUME	 1	/* a -v source: directory or regular file */
int	caller_get(int sock, struct caller *);	/* SO_PEERCRED, GROUPS */
/* an O_PATH descriptor, or -1 with why filled */
#define HOSTPATH_TIMEOUT 10	/* seconds for all the opens of a request */
int	hostpath_open(const struct caller *, const char *path, int kind,
	    int timeout_ms, char *why, size_t whylen);
/* 0, or -1 with why: state directories, and a rootfs's owner */
int	hostpath_check(const struct caller *, int fd, int kind,
	    const char *const *state, int nstate, char *why, size_t whylen);

/* cgroup.c */
struct cgroup {
	int		 v2;
	char		 paths[4][PATH_MAX];	/* per hierarchy, "" unused */
	int		 n;
};
#define CGROUP_NAME_MAX	64
#define VMM_CGROUP		"lens"
int	cgroup_name_ok(const char *);
int	cgroup_init(const char *parent);	/* detect v1/v2; 0 or -1 */
void	cgroup_fini(void);	/* remove the parent cgroups if empty */
const char *cgroup_parent(void);
int	cgroup_is_v2(void);
int	cgroup_write_str(const char *path, const char *s);
int	cgroup_create(struct cgroup *, const char *id, uint64_t memory,
	    uint32_t cpu_millis, uint32_t pids, char *err, size_t errlen);
void	cgroup_path(struct cgroup *, const char *id);
int	cgroup_open_procs(const struct cgroup *, int fds[4]);
int	cgroup_join(int fds[4], pid_t);	/* write pid, close all */
int	cgroup_open_oom(const struct cgroup *);
uint64_t cgroup_oom_count(int fd);
int	cgroup_kill(const struct cgroup *);	/* count of live procs */
int	cgroup_destroy(const struct cgroup *);	/* 0 all removed */
/* the ids of the cgroups this instance's parent holds: callback per id */
void	cgroup_scan(void (*)(const char *id, void *), void *);

#endif
