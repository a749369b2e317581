/*
 * layerunpack: lensvmm's layer unpacker (lensvmm/layer.c) on one blob,
 * without the image child around it, for regress/attack/image-layers.t.
 *
 *   layerunpack [-b max-bytes] [-e max-entries] [-f max-file] BLOB
 *	LAYERSDIR DIFFID
 *
 * Unpacks BLOB into LAYERSDIR/sha256/<hex of DIFFID> (through
 * LAYERSDIR/tmp/), the limits those of lensvmm -L, -E and -F.  Prints
 * one line of counts and exits 0, or prints the error and exits 1.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "grammar.h"
#include "../../lensvmm/layer.h"

static void
size_opt(const char *flag, const char *arg, uint64_t *out)
{
	char	 why[GR_ERRSIZE];

	if (gr_size(flag, arg, 1, UINT64_MAX, out, why, sizeof(why)) == -1)
		errx(2, "%s", why);
}

int
main(int argc, char *argv[])
{
	struct layer_limits	 lim = { LAYER_MAX_BYTES, LAYER_MAX_ENTRIES,
	    LAYER_MAX_FILE };
	struct layer_stats	 st;
	char			 why[LAYER_PATHMAX + 512];
	int			 ch, blob, dir;

	while ((ch = getopt(argc, argv, "b:e:f:")) != -1) {
		switch (ch) {
		case 'b':
			size_opt("-b", optarg, &lim.max_bytes);
			break;
		case 'e':
			size_opt("-e", optarg, &lim.max_entries);
			break;
		case 'f':
			size_opt("-f", optarg, &lim.max_file);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		goto usage;
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	if ((blob = open(argv[0], O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s", argv[0]);
	if ((dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(1, "%s", argv[1]);
	if ((mkdirat(dir, "tmp", 0700) == -1 && errno != EEXIST) ||
	    (mkdirat(dir, "sha256", 0755) == -1 && errno != EEXIST))
		err(1, "%s: tmp, sha256", argv[1]);
	if (layer_unpack(blob, dir, argv[2], &lim, &st, why, sizeof(why)) ==
	    -1) {
		printf("refused: %s\n", why);
		return 1;
	}
	printf("unpacked: entries %llu bytes %llu files %llu dirs %llu "
	    "symlinks %llu hardlinks %llu whiteouts %llu dropped %llu "
	    "setid %llu xattrs-dropped %llu\n",
	    (unsigned long long)st.entries, (unsigned long long)st.bytes,
	    (unsigned long long)st.files, (unsigned long long)st.dirs,
	    (unsigned long long)st.symlinks, (unsigned long long)st.hardlinks,
	    (unsigned long long)st.whiteouts, (unsigned long long)st.dropped,
	    (unsigned long long)st.setid,
	    (unsigned long long)st.xattrs_dropped);
	return 0;
usage:
	fprintf(stderr, "usage: layerunpack [-b max-bytes] [-e max-entries] "
	    "[-f max-file] blob layersdir diffid\n");
	return 2;
}
