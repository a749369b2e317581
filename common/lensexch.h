/*
 * The credential exchange's stream (issue 13, doc/DESIGN.md, Network): one
 * request and its response between lensnetd's proxy and lenscredd's
 * exchange child over a socketpair that lensnetd's parent made and
 * lenscredd's listener handed on.  imsg framing (common/imsg.h); one
 * request per socketpair; either side closes it when done.
 *
 *	EXCH_REQ_HEAD	proxy -> exchange: struct exch_head, the method
 *			(mlen bytes), the target (tlen), then nhdr headers
 *			each as u16 nlen, u16 vlen (host order: both ends
 *			are on one machine), name, value.  The target is
 *			origin form, path[?query] as the sandbox sent it;
 *			the headers in order as sent, without hop-by-hop
 *			or framing fields (EXCH_HOPBYHOP, Content-Length):
 *			the exchange writes the framing itself.
 *	EXCH_REQ_BODY	proxy -> exchange: 1 to EXCH_BODY_MAX decoded body
 *			bytes
 *	EXCH_REQ_END	proxy -> exchange: empty, the body is complete
 *	EXCH_RESP_HEAD	exchange -> proxy: struct exch_resp, the reason
 *			(rlen bytes), nhdr headers as above (framing and
 *			hop-by-hop removed, echoes of the secret scrubbed)
 *	EXCH_RESP_BODY	exchange -> proxy: 1 to EXCH_BODY_MAX decoded,
 *			scrubbed bytes
 *	EXCH_RESP_END	exchange -> proxy: empty
 *	EXCH_ERROR	exchange -> proxy: struct exch_error, any time
 *			before RESP_END; the proxy answers status and msg
 *			(before RESP_HEAD) or cuts the connection (after)
 *
 * A head message is at most EXCH_HEAD_MAX bytes with at most
 * EXCH_MAXHDR headers; the method is a token (RFC 9110 5.6.2) of at
 * most EXCH_METHOD_MAX bytes; the target starts with '/' and holds only
 * visible ASCII (0x21-0x7e); header names are tokens, values hold no
 * control character other than HTAB (no CR, LF, NUL, DEL); at most one
 * Host; the reason holds no control character other than HTAB.  body
 * says how the body follows: EXCH_BODY_NONE (no BODY, END follows at
 * once), EXCH_BODY_LENGTH (exactly length bytes in BODY messages),
 * EXCH_BODY_STREAM (BODY messages until END); length is 0 unless
 * EXCH_BODY_LENGTH.  Every pad byte is 0.  A response's status is 200
 * to 599 (interim responses are the exchange's own business).  An
 * error's status is 403, 502 or 504 and its msg one line of printable
 * text, NUL-terminated.
 *
 * Every message is hostile input to its receiver: the decoders check
 * all of the above, take any bytes (regress/fuzz/lensexch.c) and refuse
 * with why.  The encoders check the same before they queue anything, so
 * that neither end ever sends what the other must refuse.
 */
#ifndef LENS_LENSEXCH_H
#define LENS_LENSEXCH_H

#include <stddef.h>
#include <stdint.h>

#include "imsg.h"
#include "lenscredd_imsg.h"

#define EXCH_HEAD_MAX	16384		/* a head message's payload */
#define EXCH_MAXHDR	100
#define EXCH_BODY_MAX	16384		/* a BODY message's payload */
#define EXCH_METHOD_MAX	32
#define EXCH_MSG_SIZE	256		/* exch_error's msg */
/* what the exchange buffers of a body it must hash (sigv4, hmac) */
#define EXCH_BUFFER_MAX	(8 * 1024 * 1024)

enum exch_imsg {
	EXCH_REQ_HEAD = 0x45000001,	/* struct exch_head + strings */
	EXCH_REQ_BODY,			/* bytes */
	EXCH_REQ_END,			/* nothing */
	EXCH_RESP_HEAD,			/* struct exch_resp + strings */
	EXCH_RESP_BODY,			/* bytes */
	EXCH_RESP_END,			/* nothing */
	EXCH_ERROR,			/* struct exch_error */
};

enum exch_body {
	EXCH_BODY_NONE = 0,
	EXCH_BODY_LENGTH = 1,
	EXCH_BODY_STREAM = 2,		/* until END */
};

struct exch_head {
	uint16_t	mlen, tlen, nhdr, pad;
	uint8_t		body;		/* enum exch_body */
	uint8_t		pad2[7];
	uint64_t	length;		/* EXCH_BODY_LENGTH */
};

struct exch_resp {
	uint16_t	status, rlen, nhdr;
	uint8_t		body;		/* enum exch_body */
	uint8_t		pad;
	uint64_t	length;		/* EXCH_BODY_LENGTH */
};

struct exch_error {
	uint16_t	status;		/* 403, 502, 504 */
	char		msg[EXCH_MSG_SIZE];	/* NUL-terminated */
	uint8_t		pad[6];
};

/*
 * A header.  For the encoders name and value are nlen and vlen bytes
 * (need not be NUL-terminated); the decoders set both and make each a
 * NUL-terminated copy in the message's store.
 */
struct exch_hdr {
	const char	*name, *value;
	size_t		 nlen, vlen;
};

/*
 * A request head.  The decoder's strings (method, target, every header)
 * are NUL-terminated copies in store: they live as long as the struct,
 * not as long as the payload.
 */
struct exch_msg_head {
	const char	*method, *target;
	size_t		 mlen, tlen;
	size_t		 nhdr;
	struct exch_hdr	 hdr[EXCH_MAXHDR];
	int		 body;		/* enum exch_body */
	uint64_t	 length;
	char		 store[EXCH_HEAD_MAX + 2 * EXCH_MAXHDR + 2];
};

struct exch_msg_resp {
	int		 status;
	const char	*reason;	/* may be "" */
	size_t		 rlen;
	size_t		 nhdr;
	struct exch_hdr	 hdr[EXCH_MAXHDR];
	int		 body;
	uint64_t	 length;
	char		 store[EXCH_HEAD_MAX + 2 * EXCH_MAXHDR + 1];
};

/*
 * Encoders: 0 queued on the imsgbuf, -1 with why when the message would
 * break a rule above (nothing queued) or the queue refused it (errno
 * EMSGSIZE, ENOBUFS; why says so too).
 */
int	exch_put_head(struct imsgbuf *, const struct exch_msg_head *,
	    char *why, size_t);
int	exch_put_resp(struct imsgbuf *, const struct exch_msg_resp *,
	    char *why, size_t);
/* type EXCH_REQ_BODY or EXCH_RESP_BODY; 1 to EXCH_BODY_MAX bytes */
int	exch_put_body(struct imsgbuf *, uint32_t type, const void *, size_t,
	    char *why, size_t);
/* type EXCH_REQ_END or EXCH_RESP_END */
int	exch_put_end(struct imsgbuf *, uint32_t type, char *why, size_t);
/* msg: printable text, cut at EXCH_MSG_SIZE - 1 bytes */
int	exch_put_error(struct imsgbuf *, int status, const char *msg,
	    char *why, size_t);

/* Decoders: 0 and the message, -1 with why (nothing else to be used) */
int	exch_get_head(const void *, size_t, struct exch_msg_head *,
	    char *why, size_t);
int	exch_get_resp(const void *, size_t, struct exch_msg_resp *,
	    char *why, size_t);
int	exch_get_body(const void *, size_t, char *why, size_t);
int	exch_get_end(const void *, size_t, char *why, size_t);
int	exch_get_error(const void *, size_t, struct exch_error *,
	    char *why, size_t);

/* a header the stream never carries (hop-by-hop or framing): 1 if so */
int	exch_hopbyhop(const char *name, size_t nlen);
/* 1 if s (len bytes) is an HTTP token */
int	exch_token(const char *s, size_t len);

/*
 * IMSG_CRED_EXCHANGE (common/lenscredd_imsg.h) as its receiver checks
 * it: exactly sizeof(struct cred_exchange) + calen bytes, every string
 * NUL-terminated and in its grammar (sandbox gr_ref, cred gr_cred,
 * placeholder ph_valid, host gr_hostname or an address in its canonical
 * form, the injection's strings without control characters), port not
 * 0, family AF_INET or AF_INET6, inj_type one of enum inj_type, calen
 * at most CRED_PEM_MAX, every pad byte 0.  0, or -1 with why.
 */
int	exch_cred_check(const void *, size_t, char *why, size_t);

#endif
