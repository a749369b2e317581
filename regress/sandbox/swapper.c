/*
 * swapper A B SECONDS: exchange the directory entries A and B
 * (renameat2 RENAME_EXCHANGE, atomic) as fast as it can, for at most
 * SECONDS or until killed.  regress/attack/sandbox-volume-symlink.t
 * swaps a real directory with a symbolic link to / under lensvmm's
 * feet.  Prints the number of swaps when it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t	 stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char *argv[])
{
	unsigned long	 n = 0;
	time_t		 end;

	if (argc != 4) {
		fprintf(stderr, "usage: swapper a b seconds\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	end = time(NULL) + atoi(argv[3]);
	while (!stop && time(NULL) < end) {
		if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2],
		    RENAME_EXCHANGE) == -1) {
			fprintf(stderr, "swapper: %s\n", strerror(errno));
			return 1;
		}
		n++;
	}
	printf("%lu\n", n);
	return 0;
}
