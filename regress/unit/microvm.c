/*
 * Unit test of the microvm backend's host side (TAP): the probe that
 * lets `auto' pick microvm (lensvmm/probe.c) against fake /dev/kvm,
 * cpuinfo and guest directories, and the disk images
 * (lensvmm/diskimg.c): a rootfs directory to erofs and ext4 images,
 * the cache by content key, bad rootfs directories, the writable
 * layer.  The images are read back with fsck.erofs --extract and
 * debugfs.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../lensvmm/probe.c"
#include "../../lensvmm/diskimg.c"

static char	 dir[] = "/tmp/lens-unit-microvm.XXXXXX";



/* a path in the test directory, freed at the end */
static char	*paths[256];
static int	 npaths;

static const char *
at(const char *fmt, ...)
{
	char		 rel[PATH_MAX / 2], *p;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (npaths == (int)(sizeof(paths) / sizeof(paths[0])) ||
	    asprintf(&p, "%s/%s", dir, rel) == -1) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	paths[npaths++] = p;
	return p;
}

static void
put(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static uint32_t
le32_at(const char *path, off_t off)
{
	unsigned char	 b[4] = { 0 };
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	if (pread(fd, b, 4, off) != 4)
		memset(b, 0, 4);
	close(fd);
	return b[0] | b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int
sh(const char *cmd)
{
	int	 st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_probe(void)
{
	char		 why[256];
	const char	*which;
	int		 r;

	r = probe_kvm(at("no-such-kvm"), why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "no ") == why && strstr(why, "no-such-kvm"),
	    "probe: a missing /dev/kvm is named", why);
	r = probe_kvm("/dev/null", why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "/dev/null: not KVM") != NULL,
	    "probe: a device that is not KVM", why);

	put(at("cpu-none"), "processor\t: 0\nflags\t\t: fpu vme de pse tsc "
	    "msr pae vmxe svmx hypervisor\n\n");
	r = probe_cpuinfo(at("cpu-none"), &which, why, sizeof(why));
	ok_detail(r == 0 && strstr(why, "neither vmx nor svm") != NULL,
	    "probe: flags without vmx or svm (whole words only)", why);
	put(at("cpu-vmx"), "processor\t: 0\nflags\t\t: fpu vme\n\n"
	    "processor\t: 1\nflags\t\t: fpu vmx ept\n");
	r = probe_cpuinfo(at("cpu-vmx"), &which, why, sizeof(why));
	ok_detail(r == 1 && strcmp(which, "vmx") == 0, "probe: vmx found", which);
	put(at("cpu-svm"), "flags\t\t: fpu svm npt\n");
	r = probe_cpuinfo(at("cpu-svm"), &which, why, sizeof(why));
	ok_detail(r == 1 && strcmp(which, "svm") == 0, "probe: svm found", which);
	put(at("cpu-noflags"), "processor\t: 0\nmodel name\t: x\n");
	r = probe_cpuinfo(at("cpu-noflags"), &which, why, sizeof(why));
	ok_detail(r == 0 && strstr(why, "no flags line") != NULL,
	    "probe: cpuinfo without a flags line", why);
	r = probe_cpuinfo(at("cpu-missing"), &which, why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "cpu-missing: No such file") != NULL,
	    "probe: a missing cpuinfo", why);

	mkdir(at("guest"), 0755);
	r = probe_guest(at("guest"), why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "no guest kernel") != NULL &&
	    strstr(why, "guest/vmlinuz") != NULL,
	    "probe: no guest kernel", why);
	put(at("guest/vmlinuz"), "k");
	r = probe_guest(at("guest"), why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "no guest initramfs") != NULL &&
	    strstr(why, "initramfs.cpio") != NULL,
	    "probe: no guest initramfs", why);
	mkdir(at("guest/initramfs.cpio"), 0755);
	r = probe_guest(at("guest"), why, sizeof(why));
	ok_detail(r == -1 && strstr(why, "no guest initramfs") != NULL,
	    "probe: an initramfs that is a directory does not count", why);
	rmdir(at("guest/initramfs.cpio"));
	put(at("guest/initramfs.cpio"), "i");
	why[0] = '\0';
	r = probe_guest(at("guest"), why, sizeof(why));
	ok_detail(r == 0 && why[0] == '\0', "probe: kernel and initramfs there",
	    why);

	/* the order: KVM first, then the CPU, then the guest */
	r = microvm_probe(at("no-such-kvm"), at("cpu-vmx"), at("guest"), why,
	    sizeof(why));
	ok_detail(r == -1 && strstr(why, "no-such-kvm") != NULL,
	    "probe: without /dev/kvm nothing else matters", why);
	if (probe_kvm("/dev/kvm", why, sizeof(why)) == 0) {
		r = microvm_probe("/dev/kvm", at("cpu-none"), at("guest"),
		    why, sizeof(why));
		ok_detail(r == -1 && strstr(why, "neither vmx nor svm") != NULL,
		    "probe: /dev/kvm without vmx/svm (PVM) is refused", why);
		r = microvm_probe("/dev/kvm", at("cpu-svm"), at("guest"),
		    why, sizeof(why));
		ok_detail(r == 0 && strstr(why, "/dev/kvm with svm") != NULL,
		    "probe: /dev/kvm, svm and a guest: microvm", why);
	} else {
		tap_skip(1, "probe: /dev/kvm without vmx/svm (PVM) is refused", why);
		tap_skip(1, "probe: /dev/kvm, svm and a guest: microvm", why);
	}
}

/* diskimg_rootfs, its descriptor closed: 0 or -1 */
static int
rootfs(const char *cache, const char *root, const char *fstype, char *img,
    size_t imglen, int *cached, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = diskimg_rootfs(cache, 4ULL << 30, root, fstype, img,
	    imglen, cached, err, errlen)) == -1)
		return -1;
	close(fd);
	return 0;
}

static void
test_images(void)
{
	char		 img[PATH_MAX], img2[PATH_MAX], img3[PATH_MAX];
	char		 err[512], cmd[3 * PATH_MAX], key[65], key2[65];
	const char	*root = at("rootfs");
	struct stat	 st;
	int		 r, cached;

	mkdir(root, 0755);
	mkdir(at("rootfs/etc"), 0755);
	mkdir(at("rootfs/bin"), 0755);
	put(at("rootfs/etc/hello"), "hello from the image\n");
	put(at("rootfs/bin/tool"), "#!/bin/sh\necho tool\n");
	chmod(at("rootfs/bin/tool"), 0755);
	if (symlink("etc/hello", at("rootfs/link")) == -1)
		printf("Bail out! symlink: %s\n", strerror(errno));

	r = diskimg_key(root, "erofs", key, NULL, err, sizeof(err));
	r |= diskimg_key(root, "erofs", key2, NULL, err, sizeof(err));
	ok_detail(r == 0 && strlen(key) == 64 && strcmp(key, key2) == 0,
	    "key: the same tree gives the same key", key);
	r = diskimg_key(root, "ext4", key2, NULL, err, sizeof(err));
	ok_detail(r == 0 && strcmp(key, key2) != 0,
	    "key: another image type, another key", key2);

	if (tool(erofs_tools, 4) == NULL || access("/usr/bin/fsck.erofs",
	    X_OK) == -1) {
		for (r = 0; r < 4; r++)
			tap_skip(1, "erofs image", "no mkfs.erofs/fsck.erofs "
			    "(erofs-utils)");
	} else {
		r = rootfs(at("cache"), root, "erofs", img, sizeof(img),
		    &cached, err, sizeof(err));
		ok_detail(r == 0 && !cached && le32_at(img, 1024) == 0xe0f5e1e2U,
		    "erofs: built, erofs superblock magic", r ? err : img);
		snprintf(cmd, sizeof(cmd), "fsck.erofs --extract=%s %s "
		    ">/dev/null 2>&1 && grep -qx 'hello from the image' "
		    "%s/etc/hello && [ -x %s/bin/tool ] && "
		    "[ \"$(readlink %s/link)\" = etc/hello ]", at("x-erofs"),
		    img, at("x-erofs"), at("x-erofs"), at("x-erofs"));
		ok_detail(sh(cmd) == 0, "erofs: the files, modes and symlink are "
		    "in it (fsck.erofs --extract)", NULL);
		r = rootfs(at("cache"), root, "erofs", img2,
		    sizeof(img2), &cached, err, sizeof(err));
		ok_detail(r == 0 && cached && strcmp(img, img2) == 0,
		    "erofs: an unchanged tree reuses the cached image", img2);
		sleep(1);	/* a visibly later mtime, whatever the fs */
		put(at("rootfs/etc/hello"), "changed\n");
		r = rootfs(at("cache"), root, "erofs", img3,
		    sizeof(img3), &cached, err, sizeof(err));
		ok_detail(r == 0 && !cached && strcmp(img, img3) != 0 &&
		    stat(img, &st) == 0,
		    "erofs: a changed file makes a new image", img3);
	}

	if (tool(ext4_tools, 4) == NULL || access("/usr/sbin/debugfs",
	    X_OK) == -1) {
		for (r = 0; r < 2; r++)
			tap_skip(1, "ext4 image", "no mkfs.ext4/debugfs (e2fsprogs)");
	} else {
		r = rootfs(at("cache"), root, "ext4", img, sizeof(img),
		    &cached, err, sizeof(err));
		ok_detail(r == 0 && !cached && (le32_at(img, 1024 + 56) & 0xffff) ==
		    0xef53, "ext4: built with mkfs.ext4 -d, ext4 magic",
		    r ? err : img);
		snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /etc/hello' %s "
		    "2>/dev/null | grep -qx changed", img);
		ok_detail(sh(cmd) == 0, "ext4: the file's content is in it (debugfs)",
		    NULL);
	}

	/*
	 * The microvm backend's way (lensvmm/microvm.c): the rootfs as
	 * the descriptor lensvmm opened as the caller, through
	 * /proc/self/fd/N/., which the image tools inherit: the same key
	 * as by its path, and an image built from it
	 */
	{
		char	 fdpath[64];
		int	 rfd;

		rfd = open(root, O_PATH | O_DIRECTORY);
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d/.", rfd);
		r = diskimg_key(root, "ext4", key, NULL, err, sizeof(err));
		r |= diskimg_key(fdpath, "ext4", key2, NULL, err, sizeof(err));
		ok_detail(rfd != -1 && r == 0 && strcmp(key, key2) == 0,
		    "key: the same through the rootfs's descriptor", fdpath);
		put(at("rootfs/etc/byfd"), "through the descriptor\n");
		if (tool(ext4_tools, 4) == NULL || access("/usr/sbin/debugfs",
		    X_OK) == -1)
			tap_skip(1, "ext4 image through the descriptor",
			    "no mkfs.ext4/debugfs (e2fsprogs)");
		else {
			r = rootfs(at("cache"), fdpath, "ext4", img,
			    sizeof(img), &cached, err, sizeof(err));
			snprintf(cmd, sizeof(cmd), "debugfs -R 'cat /etc/byfd' "
			    "%s 2>/dev/null | grep -qx 'through the "
			    "descriptor'", img);
			ok_detail(r == 0 && !cached && sh(cmd) == 0, "ext4: "
			    "built through the descriptor, with its files",
			    r ? err : img);
		}
		if (tool(erofs_tools, 4) == NULL || access("/usr/bin/fsck.erofs",
		    X_OK) == -1)
			tap_skip(1, "erofs image through the descriptor",
			    "no mkfs.erofs/fsck.erofs (erofs-utils)");
		else {
			r = rootfs(at("cache"), fdpath, "erofs", img,
			    sizeof(img), &cached, err, sizeof(err));
			snprintf(cmd, sizeof(cmd), "fsck.erofs --extract=%s "
			    "%s >/dev/null 2>&1 && grep -qx 'through the "
			    "descriptor' %s/etc/byfd", at("x-fd"), img,
			    at("x-fd"));
			ok_detail(r == 0 && !cached && sh(cmd) == 0, "erofs: "
			    "built through the descriptor, with its files",
			    r ? err : img);
		}
		if (rfd != -1)
			close(rfd);
	}

	r = rootfs(at("cache"), at("none"), "erofs", img, sizeof(img),
	    &cached, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "none: No such file or directory") != NULL,
	    "bad rootfs: a missing directory is named", err);
	r = rootfs(at("cache"), at("rootfs/etc/hello"), "erofs", img,
	    sizeof(img), &cached, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "hello: not a directory") != NULL,
	    "bad rootfs: a file is not a directory", err);
	r = rootfs(at("cache"), root, "xfs", img, sizeof(img),
	    &cached, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "image type xfs: want erofs or ext4"),
	    "bad image type is named", err);
	put(at("cachefile"), "");
	r = rootfs(at("cachefile/sub"), root, "ext4", img,
	    sizeof(img), &cached, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "cachefile/sub") != NULL,
	    "an unusable cache directory is named", err);

	if (tool(ext4_tools, 4) != NULL) {
		r = diskimg_scratch(at("vdb.ext4"), 64ULL << 20, err,
		    sizeof(err));
		ok_detail(r == 0 && stat(at("vdb.ext4"), &st) == 0 &&
		    st.st_size == (64 << 20) &&
		    (uint64_t)st.st_blocks * 512 < (16ULL << 20) &&
		    (le32_at(at("vdb.ext4"), 1024 + 56) & 0xffff) == 0xef53,
		    "writable layer: a sparse 64 MiB ext4", r ? err : NULL);
	} else
		tap_skip(1, "writable layer", "no mkfs.ext4");
	r = diskimg_scratch(at("tiny.ext4"), 1 << 20, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "too small") != NULL,
	    "writable layer: too small is refused", err);
}

int
main(void)
{
	char	 cmd[PATH_MAX];

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	tap_plan(14 + 17);
	test_probe();
	test_images();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)sh(cmd);
	while (npaths > 0)
		free(paths[--npaths]);
	return tap_done();
}
