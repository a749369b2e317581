/*
 * credpeer: a lenscredd client for the regress suite, well-behaved or
 * not.  It prints one line per answer: "ca created|existing SANDBOX
 * NOTAFTER", "leaf SANDBOX NOTAFTER", "destroyed SANDBOX", "error
 * TYPE MESSAGE", or "closed" when lenscredd dropped the connection.
 *
 *   credpeer SOCKET create|get SANDBOX [CA.pem]
 *   credpeer SOCKET destroy SANDBOX
 *   credpeer SOCKET leaf SANDBOX NAME [CHAIN.pem KEY.pem]
 *   credpeer SOCKET leaves SANDBOX NAME N	N leaves on one connection;
 *					"N ok" and the first error
 *   credpeer SOCKET creates PREFIX N	CA_CREATE PREFIX1..PREFIXN on one
 *					connection; "N ok" and the first error
 *   credpeer SOCKET raw TYPE SIZE SANDBOX	a request of any type and
 *					size, then CA_GET SANDBOX on the same
 *					connection
 *   credpeer SOCKET badframe		a header whose length is short
 *   credpeer cakey MASTERKEY CAFILE	the CA's private scalar (hex) of a
 *					sealed CA file (lenscredd/vault.c)
 *   credpeer credval MASTERKEY FILE	a credential record opened by the
 *					format of lenscredd/seal.h, read here
 *					anew: "NAME CREATED ROTATED HEXVALUE"
 *   credpeer memscan PID HEX		how often the bytes HEX are in the
 *					memory of PID (/proc/PID/mem)
 */
#include <sys/socket.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "lenscredd_imsg.h"
#include "unixsock.h"

static int
dial(const char *path)
{
	int	 fd;

	if ((fd = unixsock_connect(path, 0)) == -1) {
		fprintf(stderr, "credpeer: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void
send_msg(int fd, uint32_t type, const void *data, size_t len)
{
	struct imsg_hdr	 h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = IMSG_HDRSZ + len;
	/* a closed peer is an answer too */
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) == -1 ||
	    (len > 0 && send(fd, data, len, MSG_NOSIGNAL) == -1))
		return;
}

static void
put_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || close(fd) == -1) {
		fprintf(stderr, "credpeer: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* one answer; 0 ok, 1 error reply, -1 closed; quiet 1 prints only
 * errors, 2 nothing */
static int
answer(struct imsgbuf *ib, const char *out1, const char *out2, int quiet)
{
	struct imsg		 im;
	struct cred_ca		 ca;
	struct cred_leaf	 lf;
	struct cred_sandbox	 sb;
	struct cred_error	 e;
	ssize_t			 n;
	int			 rc;

	while ((rc = imsg_get(ib, &im)) == 0) {
		if ((n = imsg_read(ib)) == 0 || (n == -1 && errno != EAGAIN)) {
			printf("closed\n");
			return -1;
		}
	}
	if (rc == -1) {
		printf("bad frame from lenscredd\n");
		exit(1);
	}
	rc = 0;
	switch (im.hdr.type) {
	case IMSG_CRED_CA:
		memcpy(&ca, im.data, sizeof(ca));
		if (im.datalen < sizeof(ca) ||
		    im.datalen != sizeof(ca) + ca.pemlen) {
			printf("bad CA reply\n");
			exit(1);
		}
		if (quiet == 0)
			printf("ca %s %.64s %lld\n", ca.created ? "created" :
			    "existing", ca.sandbox, (long long)ca.notafter);
		if (out1 != NULL)
			put_file(out1, (char *)im.data + sizeof(ca),
			    ca.pemlen, 0644);
		break;
	case IMSG_CRED_LEAF:
		memcpy(&lf, im.data, sizeof(lf));
		if (im.datalen < sizeof(lf) || im.datalen != sizeof(lf) +
		    (size_t)lf.chainlen + lf.keylen) {
			printf("bad LEAF reply\n");
			exit(1);
		}
		if (quiet == 0)
			printf("leaf %.64s %lld\n", lf.sandbox,
			    (long long)lf.notafter);
		if (out1 != NULL)
			put_file(out1, (char *)im.data + sizeof(lf),
			    lf.chainlen, 0644);
		if (out2 != NULL)
			put_file(out2, (char *)im.data + sizeof(lf) +
			    lf.chainlen, lf.keylen, 0600);
		break;
	case IMSG_CRED_STORED:
		printf("stored\n");
		break;
	case IMSG_CRED_LIST:
		printf("list\n");
		break;
	case IMSG_CRED_DESTROYED:
		memcpy(&sb, im.data, sizeof(sb));
		printf("destroyed %.64s\n", sb.sandbox);
		break;
	case IMSG_CRED_ERROR:
		if (im.datalen != sizeof(e)) {
			printf("bad ERROR reply\n");
			exit(1);
		}
		memcpy(&e, im.data, sizeof(e));
		e.msg[sizeof(e.msg) - 1] = '\0';
		if (quiet < 2)
			printf("error %#x %s\n", e.request, e.msg);
		rc = 1;
		break;
	default:
		printf("unknown reply %#x\n", im.hdr.type);
		exit(1);
	}
	imsg_free(&im);
	return rc;
}

static void
sandbox_req(int fd, uint32_t type, const char *sandbox)
{
	struct cred_sandbox	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.sandbox, sandbox, sizeof(r.sandbox));
	send_msg(fd, type, &r, sizeof(r));
}

static void
leaf_req(int fd, const char *sandbox, const char *name)
{
	struct cred_leaf_req	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.sandbox, sandbox, sizeof(r.sandbox));
	/* a name that does not fit is sent unterminated, as a bad peer would */
	if (strlen(name) >= sizeof(r.name))
		memcpy(r.name, name, sizeof(r.name));
	else
		strlcpy(r.name, name, sizeof(r.name));
	send_msg(fd, IMSG_CRED_LEAF_REQ, &r, sizeof(r));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#define CHUNK	(1024 * 1024)

static int
memscan(const char *pid, const char *hex)
{
	uint8_t		 needle[64], *buf;
	char		 path[64], line[512];
	size_t		 nlen = strlen(hex) / 2, i, size;
	unsigned long	 lo, hi;
	FILE		*maps;
	ssize_t		 n;
	long		 found = 0;
	int		 fd;

	if (nlen == 0 || nlen > sizeof(needle) || strlen(hex) % 2)
		return 2;
	for (i = 0; i < nlen; i++) {
		if (hexval(hex[2 * i]) < 0 || hexval(hex[2 * i + 1]) < 0)
			return 2;
		needle[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	if ((maps = fopen(path, "r")) == NULL) {
		perror(path);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", pid);
	if ((fd = open(path, O_RDONLY)) == -1) {
		perror(path);
		return 1;
	}
	if ((buf = malloc(CHUNK + sizeof(needle))) == NULL)
		return 1;
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 ||
		    strstr(line, "[vvar") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		/* a sanitizer's shadow reservations (terabytes) hold no key */
		if (hi - lo > (1UL << 30))
			continue;
		/* every mapping, PROT_NONE ones too (sodium_malloc's), in
		 * chunks that overlap by the needle's length */
		for (; lo < hi; lo += CHUNK) {
			size = hi - lo < CHUNK + nlen - 1 ? hi - lo :
			    CHUNK + nlen - 1;
			n = pread(fd, buf, size, (off_t)lo);
			for (i = 0; n >= (ssize_t)nlen &&
			    i <= (size_t)n - nlen && i < CHUNK; i++)
				if (buf[i] == needle[0] &&
				    memcmp(buf + i, needle, nlen) == 0)
					found++;
		}
	}
	free(buf);
	fclose(maps);
	close(fd);
	printf("%ld\n", found);
	return 0;
}

/* the scalar of a sealed CA file, in hex */
static int
cakey(const char *keyfile, const char *cafile)
{
	uint8_t		 key[crypto_secretbox_KEYBYTES], file[8192], *plain;
	ssize_t		 n;
	size_t		 i, hdr = 8 + crypto_secretbox_NONCEBYTES;
	int		 fd;

	if (sodium_init() < 0)
		return 1;
	if ((fd = open(keyfile, O_RDONLY)) == -1 ||
	    read(fd, key, sizeof(key)) != sizeof(key)) {
		perror(keyfile);
		return 1;
	}
	close(fd);
	if ((fd = open(cafile, O_RDONLY)) == -1 ||
	    (n = read(fd, file, sizeof(file))) < (ssize_t)(hdr +
	    crypto_secretbox_MACBYTES + CRED_SANDBOX_SIZE + 32)) {
		perror(cafile);
		return 1;
	}
	close(fd);
	if ((plain = malloc(n)) == NULL)
		return 1;
	if (crypto_secretbox_open_easy(plain, file + hdr, n - hdr, file + 8,
	    key) != 0) {
		fprintf(stderr, "credpeer: %s: does not open\n", cafile);
		free(plain);
		return 1;
	}
	for (i = 0; i < 32; i++)
		printf("%02x", plain[CRED_SANDBOX_SIZE + i]);
	printf("\n");
	free(plain);
	return 0;
}

/* a credential record: LENSCR1, nonce, box(LENSCR1, name, times, value) */
static int
credval(const char *keyfile, const char *file)
{
	uint8_t		 key[crypto_secretbox_KEYBYTES], *buf, *plain;
	uint64_t	 t[2];
	size_t		 hdr = 8 + crypto_secretbox_NONCEBYTES, i, pre;
	ssize_t		 n;
	int		 fd;

	if (sodium_init() < 0)
		return 1;
	pre = 8 + CRED_ID_SIZE + sizeof(t);
	if ((fd = open(keyfile, O_RDONLY)) == -1 ||
	    read(fd, key, sizeof(key)) != sizeof(key)) {
		perror(keyfile);
		return 1;
	}
	close(fd);
	if ((buf = malloc(2 * CRED_SECRET_MAX)) == NULL ||
	    (plain = malloc(2 * CRED_SECRET_MAX)) == NULL)
		return 1;
	if ((fd = open(file, O_RDONLY)) == -1 ||
	    (n = read(fd, buf, 2 * CRED_SECRET_MAX)) < (ssize_t)(hdr +
	    crypto_secretbox_MACBYTES + pre) || memcmp(buf, "LENSCR1\n", 8)) {
		fprintf(stderr, "credpeer: %s: not a record\n", file);
		return 1;
	}
	close(fd);
	if (crypto_secretbox_open_easy(plain, buf + hdr, n - hdr, buf + 8,
	    key) != 0 || memcmp(plain, "LENSCR1\n", 8) != 0) {
		fprintf(stderr, "credpeer: %s: does not open\n", file);
		return 1;
	}
	memcpy(t, plain + 8 + CRED_ID_SIZE, sizeof(t));
	printf("%.64s %llu %llu ", (char *)plain + 8,
	    (unsigned long long)be64toh(t[0]),
	    (unsigned long long)be64toh(t[1]));
	for (i = pre; i < n - hdr - crypto_secretbox_MACBYTES; i++)
		printf("%02x", plain[i]);
	printf("\n");
	free(buf);
	free(plain);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct imsgbuf	 ib;
	uint8_t		 raw[IMSG_MAXPAYLOAD];
	struct imsg_hdr	 h;
	const char	*op;
	long		 i, n, nok = 0;
	int		 fd, rc, first = 1;

	if (argc == 4 && strcmp(argv[1], "memscan") == 0)
		return memscan(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "cakey") == 0)
		return cakey(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "credval") == 0)
		return credval(argv[2], argv[3]);
	if (argc < 3)
		goto usage;
	op = argv[2];
	fd = dial(argv[1]);
	imsg_init(&ib, fd);
	if ((strcmp(op, "create") == 0 || strcmp(op, "get") == 0) &&
	    (argc == 4 || argc == 5)) {
		sandbox_req(fd, op[0] == 'c' ? IMSG_CRED_CA_CREATE :
		    IMSG_CRED_CA_GET, argv[3]);
		rc = answer(&ib, argc == 5 ? argv[4] : NULL, NULL, 0);
	} else if (strcmp(op, "destroy") == 0 && argc == 4) {
		sandbox_req(fd, IMSG_CRED_CA_DESTROY, argv[3]);
		rc = answer(&ib, NULL, NULL, 0);
	} else if (strcmp(op, "leaf") == 0 && (argc == 5 || argc == 7)) {
		leaf_req(fd, argv[3], argv[4]);
		rc = answer(&ib, argc == 7 ? argv[5] : NULL,
		    argc == 7 ? argv[6] : NULL, 0);
	} else if (strcmp(op, "leaves") == 0 && argc == 6) {
		n = strtol(argv[5], NULL, 10);
		for (i = 0; i < n; i++)
			leaf_req(fd, argv[3], argv[4]);
		for (i = 0; i < n; i++) {
			if ((rc = answer(&ib, NULL, NULL, first ? 1 : 2)) == 0)
				nok++;
			else if (rc == -1)
				break;
			else
				first = 0;
		}
		printf("%ld ok\n", nok);
		rc = nok == n ? 0 : 1;
	} else if (strcmp(op, "creates") == 0 && argc == 5) {
		char	 sb[CRED_SANDBOX_SIZE];

		n = strtol(argv[4], NULL, 10);
		for (i = 0; i < n; i++) {
			snprintf(sb, sizeof(sb), "%s%ld", argv[3], i + 1);
			sandbox_req(fd, IMSG_CRED_CA_CREATE, sb);
		}
		for (i = 0; i < n; i++) {
			if ((rc = answer(&ib, NULL, NULL, first ? 1 : 2)) == 0)
				nok++;
			else if (rc == -1)
				break;
			else
				first = 0;
		}
		printf("%ld ok\n", nok);
		rc = nok == n ? 0 : 1;
	} else if (strcmp(op, "raw") == 0 && argc == 6) {
		n = strtol(argv[4], NULL, 10);
		if (n < 0 || n > IMSG_MAXPAYLOAD)
			goto usage;
		memset(raw, 0, sizeof(raw));
		strlcpy((char *)raw, argv[5], CRED_SANDBOX_SIZE);
		send_msg(fd, (uint32_t)strtoul(argv[3], NULL, 16), raw, n);
		(void)answer(&ib, NULL, NULL, 0);
		sandbox_req(fd, IMSG_CRED_CA_GET, argv[5]);
		rc = answer(&ib, NULL, NULL, 0);
	} else if (strcmp(op, "badframe") == 0 && argc == 3) {
		memset(&h, 0, sizeof(h));
		h.type = IMSG_CRED_CA_GET;
		h.len = IMSG_HDRSZ - 1;
		(void)send(fd, &h, sizeof(h), MSG_NOSIGNAL);
		rc = answer(&ib, NULL, NULL, 0);
	} else
		goto usage;
	close(fd);
	return rc == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: credpeer SOCKET create|get|destroy|leaf|"
	    "leaves|raw|badframe ...; credpeer cakey|memscan ...\n");
	return 2;
}
