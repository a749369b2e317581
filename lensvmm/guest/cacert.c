/*
 * The sandbox CA (IMSG_INIT_CA, from the host before the first EXEC):
 * appended to the image's trust bundle and written beside it, in the
 * sandbox's own root (a jail's writable layer is a tmpfs over the
 * read-only image; a microVM's root is its own disk), so that TLS
 * clients in the sandbox trust the hosts lensnetd intercepts.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "lensinit_proto.h"
#include "pemcert.h"

static int installed;

static int
cerr(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

static int
mkdirs(const char *const *dirs, char *err, size_t errlen)
{
	for (; *dirs != NULL; dirs++)
		if (mkdir(*dirs, 0755) == -1 && errno != EEXIST)
			return cerr(err, errlen, *dirs);
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ca_install(const void *pem, size_t len, char *err, size_t errlen)
{
	static const char *const dirs[] = { "/etc", "/etc/ssl",
	    "/etc/ssl/certs", "/etc/lens", NULL };
	struct stat	 st;
	char		 last;
	int		 fd;

	if (installed) {
		snprintf(err, errlen, "a second sandbox CA");
		return -1;
	}
	if (pemcert_check(pem, len, err, errlen) == -1)
		return -1;
	installed = 1;
	if (mkdirs(dirs, err, errlen) == -1)
		return -1;
	/* the bundle: the image's, with the CA at its end */
	if ((fd = open(INIT_CA_BUNDLE, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return cerr(err, errlen, INIT_CA_BUNDLE);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = errno ? errno : EINVAL;
		return cerr(err, errlen, INIT_CA_BUNDLE " (not a file)");
	}
	if ((st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
	    (last != '\n' && write_all(fd, "\n", 1) == -1))) ||
	    write_all(fd, pem, len) == -1) {
		close(fd);
		return cerr(err, errlen, INIT_CA_BUNDLE);
	}
	close(fd);
	/* the CA alone (NODE_EXTRA_CA_CERTS) */
	if (unlink(INIT_CA_FILE) == -1 && errno != ENOENT)
		return cerr(err, errlen, INIT_CA_FILE);
	if ((fd = open(INIT_CA_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1)
		return cerr(err, errlen, INIT_CA_FILE);
	if (write_all(fd, pem, len) == -1) {
		close(fd);
		return cerr(err, errlen, INIT_CA_FILE);
	}
	close(fd);
	return 0;
}
