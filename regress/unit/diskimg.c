/*
 * Unit test of the microvm rootfs image cache (lensvmm/diskimg.c, TAP):
 * lensvmm refusing a bad -C size (common/grammar.c), build and cache
 * hit, a new key for a changed tree, LRU eviction by mtime (a hit counts
 * as a use), the image just built kept even alone over the limit, a key
 * locked by another process never evicted, the lock file that is
 * removed while a waiter waits on it, and the clean-up at start (the
 * temporary images of dead processes, lock files without an image or a
 * holder).  Runs mkfs.erofs (and mkfs.ext4 once) as the jail process
 * would; skips the image tests with the reason when they are missing.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "../../lensvmm/diskimg.c"

#define NPARSE		1	/* lensvmm -C refusing a bad size */
#define NIMAGE		13	/* tests that need mkfs.erofs */
#define NCLEAN		8	/* the clean-up at start */

#define BIG		(1ULL << 40)

static char	 dir[] = "/tmp/lens-unit-diskimg.XXXXXX";
static char	 logbuf[8192];
static int	 logsave = -1;



static void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* a path in the test directory (a ring of buffers) */
static const char *
at(const char *fmt, ...)
{
	static char	 ring[16][PATH_MAX];
	static int	 next;
	char		 rel[PATH_MAX / 2], *p = ring[next++ % 16];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, PATH_MAX, "%s/%s", dir, rel);
	return p;
}

static void
put(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		bail(path);
}

/* a tree with one file of that text */
static const char *
tree(const char *name, const char *text)
{
	char	 root[PATH_MAX];

	strlcpy(root, at("%s", name), sizeof(root));
	if ((mkdir(root, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(at("%s/etc", name), 0755) == -1 && errno != EEXIST))
		bail(root);
	put(at("%s/etc/hello", name), text);
	return at("%s", name);
}

static int
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

static uint64_t
usage_of(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void
set_mtime(const char *path, time_t t)
{
	struct timespec	 ts[2] = { { t, 0 }, { t, 0 } };

	if (utimensat(AT_FDCWD, path, ts, 0) == -1)
		bail(path);
}

/* the log lines (stderr) from here to log_end() */
static void
log_begin(void)
{
	int	 fd;

	fflush(stderr);
	if ((logsave = dup(STDERR_FILENO)) == -1 ||
	    (fd = open(at("log"), O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		bail("log");
	close(fd);
}

static const char *
log_end(void)
{
	ssize_t	 n;
	int	 fd;

	dup2(logsave, STDERR_FILENO);
	close(logsave);
	logsave = -1;
	logbuf[0] = '\0';
	if ((fd = open(at("log"), O_RDONLY)) == -1)
		bail("log");
	n = read(fd, logbuf, sizeof(logbuf) - 1);
	logbuf[n > 0 ? n : 0] = '\0';
	close(fd);
	/* shown with the test output */
	fputs(logbuf, stderr);
	return logbuf;
}

/* the image of root in cache: its descriptor, path in img */
static int
image(const char *cache, uint64_t limit, const char *root, const char *type,
    char *img, int *cached)
{
	char	 err[512];
	int	 fd;

	fd = diskimg_rootfs(cache, limit, root, type, img, PATH_MAX, cached,
	    err, sizeof(err));
	if (fd == -1)
		strlcpy(img, err, PATH_MAX);
	return fd;
}

/*
 * A child that holds flock(LOCK_EX) on path (through lock_key if
 * viakey) until *release is closed; its pid, -1 if it could not lock.
 * With wait 0 the parent does not wait for the lock (the child may
 * still be waiting for it); *ready then reads one byte when it has it.
 */
static pid_t
holder(const char *path, int viakey, int wait, int *release, int *ready)
{
	char	 c;
	pid_t	 pid;
	int	 go[2], rd[2], fd;

	if (pipe(go) == -1 || pipe(rd) == -1)
		bail("pipe");
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0) {
		/* not another holder's pipes: its release would not end it */
		for (fd = 3; fd < 256; fd++)
			if (fd != go[0] && fd != rd[1])
				close(fd);
		if (viakey)
			fd = lock_key(path, LOCK_EX);
		else if ((fd = open(path, O_RDWR | O_CREAT, 0600)) != -1 &&
		    flock(fd, LOCK_EX) == -1)
			fd = -1;
		if (fd == -1)
			_exit(1);
		(void)!write(rd[1], "r", 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	close(rd[1]);
	*release = go[1];
	if (ready != NULL)
		*ready = rd[0];
	if (wait) {
		if (read(rd[0], &c, 1) != 1) {
			waitpid(pid, NULL, 0);
			pid = -1;
		}
		if (ready == NULL)
			close(rd[0]);
	}
	return pid;
}

static void
release(pid_t pid, int fd)
{
	close(fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void
test_parse(const char *argv0)
{
	char		 cmd[PATH_MAX + 64], out[512], bin[PATH_MAX];
	size_t		 n;
	FILE		*p;
	int		 st;

	/* the size grammar itself: regress/unit/grammar.c */
	/* the program next to this one's build directory */
	strlcpy(bin, argv0, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "%s/../../lensvmm", dirname(bin));
	if (access(cmd, X_OK) == -1) {
		tap_skip(1, "lensvmm -C 4X is refused", "no lensvmm built");
		return;
	}
	strlcat(cmd, " -C 4X 2>&1", sizeof(cmd));
	if ((p = popen(cmd, "r")) == NULL)
		bail("popen");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	ok_detail(WIFEXITED(st) && WEXITSTATUS(st) == 2 &&
	    strstr(out, "-C 4X: unknown unit") != NULL,
	    "lensvmm -C 4X is refused at start, naming option and value",
	    out);
}

static void
test_images(void)
{
	char		 a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX];
	char		 e[PATH_MAX], x[PATH_MAX], lock[PATH_MAX + 8];
	char		 cache[256];
	const char	*l;
	struct stat	 st1, st2;
	uint64_t	 ua, ub, uc;
	time_t		 start = time(NULL);
	unsigned char	 magic[4];
	pid_t		 pid, pid2;
	int		 fa, fb, fc, fd, fe, fx, cached, rel, rel2, rdy;
	int		 r, seen, i;

	strlcpy(cache, at("cache"), sizeof(cache));
	/* build, then hit: the same file */
	fa = image(cache, BIG, tree("ta", "a\n"), "erofs", a, &cached);
	ok_detail(fa != -1 && !cached && exists(a) && strstr(a, ".erofs") != NULL,
	    "build: a new image in the cache", a);
	fx = image(cache, BIG, at("ta"), "erofs", x, &cached);
	ok_detail(fx != -1 && cached && strcmp(a, x) == 0 && fstat(fa, &st1) == 0 &&
	    fstat(fx, &st2) == 0 && st1.st_ino == st2.st_ino,
	    "hit: the same tree returns the same image, open", x);
	close(fx);
	if (tool(ext4_tools, 4) != NULL) {
		fd = image(cache, BIG, at("ta"), "ext4", d, &cached);
		fx = image(cache, BIG, at("ta"), "ext4", x, &cached);
		ok_detail(fd != -1 && fx != -1 && cached && strcmp(d, x) == 0 &&
		    fstat(fd, &st1) == 0 && fstat(fx, &st2) == 0 &&
		    st1.st_ino == st2.st_ino && (uint64_t)st1.st_blocks *
		    512 < (uint64_t)st1.st_size, "ext4: build then hit, "
		    "sparse (usage below its size)", x);
		close(fd);
		close(fx);
		(void)unlink(d);
		(void)unlink(at("cache/%.64s.lock", strrchr(d, '/') + 1));
	} else
		tap_skip(1, "ext4: build then hit", "no mkfs.ext4 (e2fsprogs)");

	/* a changed file: a new key, the old image still there */
	fb = image(cache, BIG, tree("ta", "changed\n"), "erofs", b, &cached);
	ok_detail(fb != -1 && !cached && strcmp(a, b) != 0 && exists(a),
	    "a changed file in the tree gives a new image", b);
	fc = image(cache, BIG, tree("tc", "c\n"), "erofs", c, &cached);
	if (fc == -1)
		printf("Bail out! %s\n", c);

	/* LRU by explicit times: a oldest, then b, then c */
	set_mtime(a, 1000);
	set_mtime(b, 2000);
	set_mtime(c, 3000);
	ua = usage_of(a);
	ub = usage_of(b);
	uc = usage_of(c);
	r = diskimg_evict(cache, ua + ub + uc - 1, NULL);
	snprintf(lock, sizeof(lock), "%s/%.64s.lock", cache,
	    strrchr(a, '/') + 1);
	ok_detail(r == 1 && !exists(a) && !exists(lock) && exists(b) && exists(c),
	    "LRU: one byte over the limit removes the least recently used "
	    "image (and its lock file)", NULL);
	/* the descriptor of the removed image still reads it */
	ok_detail(pread(fa, magic, 4, 1024) == 4 && magic[0] == 0xe2 &&
	    magic[1] == 0xe1 && magic[2] == 0xf5 && magic[3] == 0xe0,
	    "an image open (a running VM) reads on after its eviction",
	    NULL);
	close(fa);

	/* a hit is a use: b becomes the most recent, c goes */
	fx = image(cache, BIG, at("ta"), "erofs", x, &cached);
	ok_detail(fx != -1 && cached && strcmp(x, b) == 0 && stat(b, &st1) == 0 &&
	    st1.st_mtime >= start, "hit: marks the image used (mtime now)",
	    x);
	close(fx);
	r = diskimg_evict(cache, ub + uc - 1, NULL);
	ok_detail(r == 1 && exists(b) && !exists(c),
	    "LRU: after a hit on the older image, the other one goes", NULL);
	close(fb);
	close(fc);

	/* the image just built stays, even alone over the limit */
	log_begin();
	fd = image(cache, 0, tree("td", "d\n"), "erofs", d, &cached);
	l = log_end();
	ok_detail(fd != -1 && !cached && exists(d) && !exists(b) &&
	    strstr(l, "alone uses") != NULL &&
	    strstr(l, "over the limit of 0 KiB") != NULL,
	    "limit 0: the image just built stays (logged), the others go",
	    fd == -1 ? d : NULL);
	ok_detail(strstr(l, "removed") != NULL && strstr(l, strrchr(b, '/') + 1) !=
	    NULL, "the removal is logged with the image's name", NULL);
	close(fd);

	/* a key locked by another process is not evicted */
	fe = image(cache, BIG, tree("te", "e\n"), "erofs", e, &cached);
	set_mtime(e, 1000);
	set_mtime(d, 2000);
	snprintf(lock, sizeof(lock), "%s/%.64s.lock", cache,
	    strrchr(e, '/') + 1);
	pid = holder(lock, 0, 1, &rel, NULL);
	log_begin();
	r = diskimg_evict(cache, 0, NULL);
	l = log_end();
	ok_detail(pid != -1 && r == 1 && exists(e) && !exists(d) &&
	    strstr(l, "busy, kept") != NULL,
	    "a key another process holds locked is skipped, the next goes",
	    NULL);
	release(pid, rel);
	r = diskimg_evict(cache, 0, NULL);
	ok_detail(r == 1 && !exists(e) && !exists(lock),
	    "once unlocked it is evicted", NULL);
	close(fe);

	/*
	 * A lock file removed while someone waits on it: the waiter must
	 * not end up holding the removed file while a newcomer locks a new
	 * one at the same name.
	 */
	snprintf(lock, sizeof(lock), "%s/%064d.lock", cache, 0);
	pid = holder(lock, 1, 1, &rel, NULL);
	pid2 = holder(lock, 1, 0, &rel2, &rdy);
	/* the second one waits in flock: /proc/locks says "->" */
	for (seen = 0, i = 0; !seen && i < 500; i++) {
		FILE	*f;
		char	 line[256], pids[32];

		snprintf(pids, sizeof(pids), " %d ", (int)pid2);
		if ((f = fopen("/proc/locks", "r")) == NULL)
			break;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "->") != NULL &&
			    strstr(line, pids) != NULL)
				seen = 1;
		fclose(f);
		if (!seen)
			usleep(10000);
	}
	if (unlink(lock) == -1)		/* as an eviction does, locked */
		bail(lock);
	release(pid, rel);		/* the waiter gets the old file */
	{
		struct pollfd	 pfd = { rdy, POLLIN, 0 };
		char		 ch;

		r = poll(&pfd, 1, 5000) == 1 && read(rdy, &ch, 1) == 1;
	}
	fd = lock_key(lock, LOCK_EX | LOCK_NB);
	ok_detail(pid != -1 && seen && r && fd == -1 && errno == EWOULDBLOCK,
	    "a waiter on a removed lock file locks the new one: a newcomer "
	    "finds the key busy", !seen ? "the waiter was not seen waiting" :
	    !r ? "the waiter never got the lock" : fd != -1 ?
	    "two holders of one key" : NULL);
	if (fd != -1)
		close(fd);
	release(pid2, rel2);
	close(rdy);
	(void)unlink(lock);
}

static void
test_clean(void)
{
	char		 k1[65], k2[65], k3[65], k4[65], dead[PATH_MAX];
	char		 live[PATH_MAX], notes[PATH_MAX], img[PATH_MAX];
	char		 stale[PATH_MAX], held[PATH_MAX], withimg[PATH_MAX];
	char		 cache[256], gone[64];
	const char	*l;
	pid_t		 pid;
	int		 rel, r;

	strlcpy(cache, at("clean"), sizeof(cache));
	memset(k1, '1', 64);
	memset(k2, '2', 64);
	memset(k3, '3', 64);
	memset(k4, 'a', 64);
	k1[64] = k2[64] = k3[64] = k4[64] = '\0';
	if (mkdir(cache, 0700) == -1)
		bail(cache);
	/* a process that is gone */
	if ((pid = fork()) == -1)
		bail("fork");
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(gone, sizeof(gone), "left by process %d", (int)pid);
	snprintf(dead, sizeof(dead), "%s/%s.erofs.%d", cache, k1, (int)pid);
	snprintf(live, sizeof(live), "%s/%s.ext4.%d", cache, k1,
	    (int)getpid());
	snprintf(stale, sizeof(stale), "%s/%s.lock", cache, k2);
	snprintf(held, sizeof(held), "%s/%s.lock", cache, k3);
	snprintf(withimg, sizeof(withimg), "%s/%s.lock", cache, k4);
	snprintf(img, sizeof(img), "%s/%s.ext4", cache, k4);
	snprintf(notes, sizeof(notes), "%s/notes.txt", cache);
	put(dead, "half an image\n");
	put(live, "half an image\n");
	put(stale, "");
	put(withimg, "");
	put(img, "not really ext4\n");
	put(notes, "not ours\n");
	pid = holder(held, 0, 1, &rel, NULL);

	log_begin();
	r = diskimg_cache_clean(cache, BIG);
	l = log_end();
	ok_detail(r == 0 && !exists(dead), "clean: the temporary image of a dead "
	    "process is removed", dead);
	ok_detail(exists(live), "clean: the temporary image of a live process "
	    "stays", live);
	ok_detail(strstr(l, gone) != NULL && strstr(l, k1) != NULL,
	    "clean: the removal is logged with the file's name", NULL);
	ok_detail(!exists(stale) && strstr(l, "a lock without an image") != NULL,
	    "clean: a lock file without image nor holder is removed "
	    "(logged)", stale);
	ok_detail(pid != -1 && exists(held), "clean: a held lock file stays (a "
	    "build)", held);
	ok_detail(exists(withimg) && exists(img), "clean: the lock file of an "
	    "image stays", withimg);
	ok_detail(exists(notes), "clean: other files are not touched", notes);
	release(pid, rel);
	r = diskimg_cache_clean(cache, 0);
	ok_detail(r == 1 && !exists(img) && !exists(withimg) && exists(live),
	    "clean: then evicts down to the limit", NULL);
}

int
main(int argc, char *argv[])
{
	char	 cmd[PATH_MAX];
	int	 st;

	(void)argc;
	if (mkdtemp(dir) == NULL)
		bail("mkdtemp");
	log_init(1, LOG_DAEMON);
	tap_plan(NPARSE + NIMAGE + NCLEAN);
	test_parse(argv[0]);
	if (tool(erofs_tools, 4) == NULL)
		tap_skip(NIMAGE, "image cache", "no mkfs.erofs (erofs-utils)");
	else if (geteuid() != 0)
		tap_skip(NIMAGE, "image cache", "not root (the jail process is)");
	else
		test_images();
	test_clean();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	st = system(cmd);
	(void)st;
	return tap_done();
}
