/*
 * lens-init in a microVM: the kernel command line (vmconf.c), the
 * machine setup before the agent loop (vm.c) and the network (netcfg.c).
 *
 * Device conventions agreed with the VMM: virtio-console port 1 named
 * "lens.control" is the control channel (port 0 the console log),
 * /dev/vda the read-only rootfs image (ext4 or erofs), /dev/vdb the
 * writable layer (ext4) when there is one, else a tmpfs, eth0 the
 * virtio-net device, the log on the kernel console (console=ttyS0).
 */
#ifndef LENS_INIT_VM_H
#define LENS_INIT_VM_H

#include <netinet/in.h>
#include <stddef.h>

#define VM_CTL_PORT		"lens.control"
#define VM_MODLIST		"/lib/modules/load"
#define VM_HOSTNAME_SIZE	65
#define VM_TIMEOUT_S		10	/* devices and the host to appear */
#define VM_CMDLINE_MAX		4096

struct vmconf {
	int		 has_ip;
	struct in_addr	 ip;
	int		 prefix;
	int		 has_gw;
	struct in_addr	 gw;
	int		 mtu;			/* 0: leave the default */
	char		 hostname[VM_HOSTNAME_SIZE];	/* "" = leave it */
	char		 rootfstype[16];	/* "" = ext4, then erofs */
	int		 timeout_s;
	int		 verbose;
};

/* vmconf.c: no system calls, fuzzed (regress/fuzz/vmconf.c) */
/*
 * Parse a kernel command line (len bytes, not necessarily NUL-ended) for
 * the lens.* keys.  0 on success; -1 with a message naming the key and
 * the value in err.  Unknown lens.* keys are an error too: the VMM and
 * lens-init come from the same build.
 */
int	 vmconf_parse(struct vmconf *, const char *, size_t, char *err,
	    size_t errlen);

/* vm.c */
/* set the machine up; returns the control channel descriptor */
int	 vm_setup(int *verbose, const char *hostname);
/* sync, and reset the machine (the VMM or QEMU -no-reboot ends then) */
void	 vm_end(void) __attribute__((noreturn));

/* netcfg.c: 0, or -1 with a message logged */
int	 net_config(const struct vmconf *, int timeout_ms);

#endif
