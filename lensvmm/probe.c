/*
 * Can this host boot a Linux microVM?  The `auto' backend asks this
 * before every sandbox; `--backend microvm' is refused with the answer.
 *
 * Three things must hold:
 *	- /dev/kvm opens read-write and speaks KVM API version 12;
 *	- /proc/cpuinfo's flags have vmx or svm: a /dev/kvm without them
 *	  is a software-nested one (PVM here) that runs small guests but
 *	  cannot boot a Linux kernel (doc/DESIGN.md, Sandboxes);
 *	- the guest directory has the kernel (vmlinuz) and the initramfs
 *	  (initramfs.cpio) that `make guest' builds.
 * Runs in the parent; paths are arguments so that the unit test can
 * hand it fakes.
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lensvmm.h"

/* 1: a "flags" line of cpuinfo names vmx or svm (sets *which) */
int
probe_cpuinfo(const char *path, const char **which, char *why, size_t whylen)
{
	FILE	*f;
	char	 line[8192], *p, *w, *save;
	int	 found = 0, flags = 0;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0 ||
		    (p = strchr(line, ':')) == NULL)
			continue;
		flags = 1;
		for (w = strtok_r(p + 1, " \t\n", &save); w != NULL;
		    w = strtok_r(NULL, " \t\n", &save))
			if (strcmp(w, "vmx") == 0 || strcmp(w, "svm") == 0) {
				*which = w[0] == 'v' ? "vmx" : "svm";
				found = 1;
				break;
			}
	}
	fclose(f);
	if (!found)
		snprintf(why, whylen, flags ? "%s has neither vmx nor svm "
		    "(a /dev/kvm without them cannot boot a Linux guest)" :
		    "%s has no flags line", path);
	return found ? 1 : 0;
}

int
probe_kvm(const char *kvmpath, char *why, size_t whylen)
{
	int	 fd, v;

	if ((fd = open(kvmpath, O_RDWR | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			snprintf(why, whylen, "no %s", kvmpath);
		else
			snprintf(why, whylen, "%s: %s", kvmpath,
			    strerror(errno));
		return -1;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		if (v == -1)
			snprintf(why, whylen, "%s: not KVM (%s)", kvmpath,
			    strerror(errno));
		else
			snprintf(why, whylen, "%s: KVM API version %d, want "
			    "%d", kvmpath, v, KVM_API_VERSION);
		return -1;
	}
	return 0;
}

int
probe_guest(const char *guestdir, char *why, size_t whylen)
{
	static const char *const files[] = { VMM_GUEST_KERNEL,
	    VMM_GUEST_INITRD };
	struct stat	 st;
	char		 path[PATH_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", guestdir,
		    files[i]) >= sizeof(path)) {
			snprintf(why, whylen, "guest directory %s: path too "
			    "long", guestdir);
			return -1;
		}
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "no guest %s %s (make guest; "
			    "make install)", i == 0 ? "kernel" : "initramfs",
			    path);
			return -1;
		}
	}
	return 0;
}

int
microvm_probe(const char *kvmpath, const char *cpuinfo, const char *guestdir,
    char *why, size_t whylen)
{
	const char	*which = NULL;

	if (probe_kvm(kvmpath, why, whylen) == -1 ||
	    probe_cpuinfo(cpuinfo, &which, why, whylen) != 1 ||
	    probe_guest(guestdir, why, whylen) == -1)
		return -1;
	snprintf(why, whylen, "%s with %s, guest %s", kvmpath, which,
	    guestdir);
	return 0;
}
