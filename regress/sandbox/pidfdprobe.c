/*
 * pidfdprobe: what a sandbox's root tries against lens-init (pid 1),
 * whose control channel is its fd 3 (lens-init -f 3).  One line each:
 *	pidfd_open N|errno	pidfd_open(1)
 *	getfd K|errno		pidfd_getfd(that pidfd, fd 3): K the file
 *				type it got ("sock" for the channel)
 *	getfd_any errno|ok	pidfd_getfd(-1, 3): the call itself
 *	procfd N|eERRNO		the entries /proc/1/fd lists (N), or
 *				the errno of opendir
 *	procfdlinks M		how many of them readlink(2) could read
 *	procfd3 ok|errno	readlink /proc/1/fd/3
 * Built static by regress/attack/sandbox-pidfd.t into the rootfs.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	struct stat	 st;
	char		 buf[256];
	DIR		*d;
	long		 pfd, fd;

	if ((pfd = syscall(SYS_pidfd_open, 1, 0)) == -1)
		printf("pidfd_open %d\n", errno);
	else
		printf("pidfd_open ok\n");
	if (pfd != -1) {
		if ((fd = syscall(SYS_pidfd_getfd, (int)pfd, 3, 0)) == -1)
			printf("getfd %d\n", errno);
		else if (fstat((int)fd, &st) == 0 && S_ISSOCK(st.st_mode))
			printf("getfd sock\n");
		else
			printf("getfd other\n");
	} else
		printf("getfd none\n");
	if (syscall(SYS_pidfd_getfd, -1, 3, 0) == -1)
		printf("getfd_any %d\n", errno);
	else
		printf("getfd_any ok\n");
	if ((d = opendir("/proc/1/fd")) == NULL)
		printf("procfd e%d\n", errno);
	else {
		struct dirent	*de;
		int		 n = 0, m = 0;
		char		 path[300];

		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				n++;
				snprintf(path, sizeof(path), "/proc/1/fd/%s",
				    de->d_name);
				if (readlink(path, buf, sizeof(buf)) != -1)
					m++;
			}
		printf("procfd %d\nprocfdlinks %d\n", n, m);
		closedir(d);
	}
	if (readlink("/proc/1/fd/3", buf, sizeof(buf)) == -1)
		printf("procfd3 %d\n", errno);
	else
		printf("procfd3 ok\n");
	return 0;
}
