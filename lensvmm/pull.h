/*
 * Images in lensvmm: the requests (pull.c, in the parent) and the fetch
 * process (fetch.c) that does a pull.
 */
#ifndef LENSVMM_PULL_H
#define LENSVMM_PULL_H

#include <sys/types.h>

#include "imgstore.h"
#include "lensvmm.h"

#define VMM_FETCH_USER	"_lensfetch"	/* the fetch process, the store */
#define PULL_RESULT_MAX	(64 * 1024)

struct imsg;
struct reply;

/* control.c and the parent: NULL if im is a well-formed image request */
const char *image_request_check(struct imsg *im);

/* pull.c, the parent */
void	pull_init(void);		/* the store's directories */
void	req_pull(struct reply *, struct imsg *, uid_t by);
void	req_images(struct reply *, struct imsg *);
void	req_rmi(struct reply *, struct imsg *, uid_t by);
void	req_prune(struct reply *, struct imsg *, uid_t by);
int	pull_open_store(const char *sub);	/* blobs or refs, or -1 */
int	pull_active(void);			/* fetch processes running */
struct json_t;
void	pull_audit(const char *type, struct json_t *details);
/* SIGCHLD: 1 if pid was a fetch process (then it is taken care of) */
int	pull_reaped(pid_t pid, int status);

/*
 * oci:DIR[:TAG] split: DIR (absolute), the tag ("" none) and the image
 * name the store gives it (DIR's last component, lowercased); -1 with
 * err.
 */
int	pull_source_oci(const char *source, char *dir, size_t dirlen,
	    char *tag, size_t taglen, char *name, size_t namelen, char *err,
	    size_t errlen);

/* fetch.c: what the fetch process gets (forked by the parent) */
#define FETCH_OCI	0
#define FETCH_REGISTRY	1
#define FETCH_DARCHIVE	2	/* docker-archive:FILE, srcfd its O_PATH */
#define REG_AUTH_SIZE	1024
struct fetch_conf {
	int		 kind;		/* FETCH_* */
	int		 resfd;		/* the result, to the parent */
	int		 clientfd;	/* PROGRESS to lensctl */
	int		 srcfd;		/* oci: the layout directory, O_PATH */
	int		 blobsfd, refsfd;
	struct caller	 caller;
	char		 name[IMG_REF_SIZE];
	char		 tag[IMG_TAG_MAX + 1];
	char		 platform[64];
	pid_t		 parent;
	/* FETCH_REGISTRY: srcfd is --ca-file's O_PATH descriptor or -1 */
	int		 insecure;
	char		 host[256];	/* HOST[:PORT] of the API */
	char		 repo[256];
	char		 reference[80];	/* the tag or the digest pulled */
	char		 auth[REG_AUTH_SIZE];	/* base64 USER:PASS, "" */
};
void	fetch_main(struct fetch_conf *) __attribute__((noreturn));

#endif
