/*
 * The microvm backend: what jail.c is to a jail.  Runs in the
 * sandbox's jail process while it is still privileged:
 *
 *	- the rootfs as a cached read-only image (vda) and a fresh
 *	  writable ext4 image in the sandbox's directory (vdb, the
 *	  overlay's upper layer in the guest), diskimg.c;
 *	- the tap device from lensnetd (NETD_BACKEND_MICROVM) when the
 *	  sandbox has a network, its address on the kernel command line;
 *	- then forks the `vm' process, the KVM monitor of lensvmm/vm/,
 *	  confined the way Firecracker's jailer confines firecracker: into
 *	  the sandbox's cgroup, every descriptor but its own closed, the
 *	  VM built (guest memory, /dev/kvm, vCPUs, devices), then chroot
 *	  into the sandbox's empty root directory, the sandbox's own host
 *	  uid and gid, no capabilities, NO_NEW_PRIVS, and seccomp: one
 *	  allow-list for the process and a narrower one per vCPU thread
 *	  and for the I/O thread (vm_sandbox.c).
 *
 * The jail process keeps the other end of console port 1 ("lens.control",
 * lens-init's channel in the guest) and the read end of the VM's console
 * output; from there on jailproc.c runs unchanged: lens-init speaks the
 * same protocol, and the vm process stands where lens-init's host pid
 * stands in a jail (SIGKILL ends the sandbox, its exit ends it too).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lensvmm.h"
#include "privsep.h"
#include "vm/vm.h"

/* the sandbox's name as a host name lens-init accepts */
static void
hostname(const char *name, char *out, size_t outlen)
{
	size_t	 i;

	for (i = 0; name[i] != '\0' && i < outlen - 1 && i < 63; i++)
		out[i] = isalnum((unsigned char)name[i]) || name[i] == '-' ?
		    name[i] : '-';
	out[i] = '\0';
	if (i == 0 || out[0] == '-')
		strlcpy(out, "lens", outlen);
}

static __attribute__((noreturn)) void
vm_process(struct jail_conf *c, struct vm_config *vc, pid_t jailpid)
{
	struct privsep_user	 u;
	struct vm		*vm;
	char			 root[PATH_MAX + 8];
	int			 stop;

	log_procinit("vm");
	/*
	 * Into the sandbox's cgroup before the guest's memory exists; the
	 * root-opened cgroup.procs descriptors are closed here, before the
	 * guest runs: a device model taken over by the guest must not be
	 * able to move host processes into the cgroup teardown kills.
	 */
	if (cgroup_join(c->cgprocs, 0) == -1) {
		dprintf(vc->console_fd, "lensvmm: vm process: cgroup: %s\n",
		    strerror(errno));
		_exit(CTL_EXIT_LENS);
	}
	if ((vm = vm_create(vc)) == NULL) {
		dprintf(vc->console_fd, "lensvmm: cannot create the VM "
		    "(%llu MiB, %u vCPUs, kernel %s)\n",
		    (unsigned long long)(vc->memsize >> 20), vc->ncpus,
		    vc->kernel);
		_exit(CTL_EXIT_LENS);
	}
	snprintf(root, sizeof(root), "%s/root", c->dir);
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "sandbox-%u", (unsigned)c->base);
	u.uid = c->base;
	u.gid = c->base;
	privsep_drop(root, &u, NULL, 0);
	privsep_pdeathsig(jailpid);
	stop = vm_run(vm);
	if (stop != VM_STOP_RESET)
		dprintf(vc->console_fd, "lensvmm: the VM stopped: %s (%s)\n",
		    vm_stop_name(stop), vm->stopwhy);
	vm_destroy(vm);
	_exit(stop == VM_STOP_ERROR ? CTL_EXIT_LENS : 0);
}

int
microvm_start(struct jail_conf *c, int *chan, int *console, pid_t *pidp,
    char *err, size_t errlen)
{
	struct vm_config vc;
	char		 img[PATH_MAX], scratch[PATH_MAX + 16];
	char		 kernel[PATH_MAX + 16], initrd[PATH_MAX + 16];
	char		 cmdline[VM_CMDLINE_MAX], host[64], rootpath[64];
	char		 a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	int		 cached, rofd = -1, rwfd = -1, tapfd = -1;
	int		 sv[2] = { -1, -1 }, cp[2] = { -1, -1 }, keep[12], n = 0;
	pid_t		 pid, self = getpid();
	size_t		 i;

	c->netdfd = c->netnsfd = -1;
	/*
	 * The rootfs the parent opened as the caller, never its path
	 * again: through our descriptor, which the image tools inherit
	 * (run() forks them from here) at the same number.  Opened under
	 * the key's lock: eviction cannot come in between.
	 */
	snprintf(rootpath, sizeof(rootpath), "/proc/self/fd/%d/.", c->rootfd);
	if (fcntl(c->rootfd, F_SETFD, 0) == -1) {
		snprintf(err, errlen, "rootfs %s: %s", c->rootfs,
		    strerror(errno));
		return -1;
	}
	rofd = diskimg_rootfs(c->imagedir, c->imagecache, rootpath,
	    c->fstype, img, sizeof(img), &cached, err, errlen);
	(void)fcntl(c->rootfd, F_SETFD, FD_CLOEXEC);
	if (rofd == -1)
		return -1;
	log_info("rootfs %s: %s image %s", c->rootfs, cached ? "cached" :
	    "built", img);
	snprintf(scratch, sizeof(scratch), "%s/writable.ext4", c->dir);
	if (diskimg_scratch(scratch, VMM_VM_SCRATCH, err, errlen) == -1)
		goto fail;
	if ((rwfd = open(scratch, O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", scratch, strerror(errno));
		goto fail;
	}
	snprintf(kernel, sizeof(kernel), "%s/%s", c->guestdir,
	    VMM_GUEST_KERNEL);
	snprintf(initrd, sizeof(initrd), "%s/%s", c->guestdir,
	    VMM_GUEST_INITRD);
	hostname(c->hostname, host, sizeof(host));
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0 quiet panic=-1 "
	    "reboot=k lens.rootfstype=%s lens.hostname=%s", c->fstype, host);
	if (c->kernel_args[0] != '\0') {
		i = strlen(cmdline);
		snprintf(cmdline + i, sizeof(cmdline) - i, " %s",
		    c->kernel_args);
	}
	if (c->netdsock[0] != '\0') {
		c->netdfd = netd_connect(c->netdsock, c->id,
		    NETD_BACKEND_MICROVM, -1, c->model, c->modellen,
		    c->publish, c->npublish, c->ph, c->nph, &c->net, &tapfd,
		    c->ca, &c->calen,
		    err, errlen);
		if (c->netdfd == -1)
			goto fail;
		if (tapfd == -1) {
			snprintf(err, errlen, "lensnetd sent no tap device");
			goto fail;
		}
		inet_ntop(AF_INET, &c->net.addr, a, sizeof(a));
		inet_ntop(AF_INET, &c->net.gateway, g, sizeof(g));
		i = strlen(cmdline);
		snprintf(cmdline + i, sizeof(cmdline) - i, " lens.ip=%s/%u "
		    "lens.gw=%s lens.mtu=%u", a, (unsigned)c->net.prefixlen,
		    g, (unsigned)(c->net.mtu ? c->net.mtu : 1500));
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(cp, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		goto fail;
	}

	memset(&vc, 0, sizeof(vc));
	vc.memsize = c->memory ? c->memory : VMM_VM_MEMORY;
	vc.ncpus = c->ncpus ? c->ncpus : 1;
	vc.kernel = kernel;
	vc.initrd = initrd;
	vc.cmdline = cmdline;
	vc.console_fd = cp[1];
	vc.uart_in_fd = -1;
	vc.disk_fd[0] = rofd;
	vc.disk_ro[0] = 1;
	vc.disk_fd[1] = rwfd;
	vc.disk_ro[1] = 0;
	vc.tap_fd = tapfd;
	/* locally administered, from the sandbox id */
	vc.mac[0] = 0x52;
	vc.mac[1] = 0x54;
	for (i = 2; i < 6; i++) {
		unsigned int	 b;

		sscanf(c->id + 2 * i, "%2x", &b);
		vc.mac[i] = b;
	}
	vc.control_fd = sv[0];
	vc.rng = 1;
	vc.sandbox = 1;

	switch ((pid = fork())) {
	case -1:
		snprintf(err, errlen, "fork the vm process: %s",
		    strerror(errno));
		goto fail;
	case 0:
		keep[n++] = sv[0];
		keep[n++] = cp[1];
		keep[n++] = rofd;
		keep[n++] = rwfd;
		if (tapfd != -1)
			keep[n++] = tapfd;
		for (i = 0; i < 4 && c->cgprocs[i] != -1; i++)
			keep[n++] = c->cgprocs[i];
		if (close_except(keep, n) == -1) {
			log_warn("vm process: close its other descriptors");
			_exit(1);
		}
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		vm_process(c, &vc, self);
	}
	close(sv[0]);
	close(cp[1]);
	close(rofd);
	close(rwfd);
	if (tapfd != -1)
		close(tapfd);
	*chan = sv[1];
	*console = cp[0];
	*pidp = pid;
	log_info("vm process %d: %llu MiB, %u vCPUs, %s, vda %s (%s), "
	    "vdb %s", (int)pid, (unsigned long long)(vc.memsize >> 20),
	    vc.ncpus, kernel, img, c->fstype, scratch);
	return 0;
fail:
	if (rofd != -1)
		close(rofd);
	if (rwfd != -1)
		close(rwfd);
	if (tapfd != -1)
		close(tapfd);
	if (c->netdfd != -1) {
		close(c->netdfd);
		c->netdfd = -1;
	}
	for (i = 0; i < 2; i++) {
		if (sv[i] != -1)
			close(sv[i]);
		if (cp[i] != -1)
			close(cp[i]);
	}
	return -1;
}
