/*
 * GraphQL over WebSocket, judged (issue 21): after a 101 on an
 * endpoint where a graphql: rule with websocket: true applies, the
 * client's frames are parsed strictly (RFC 6455), its text messages
 * reassembled and each graphql-transport-ws "subscribe" (graphql-ws
 * "start") judged before it goes on; the server's frames are relayed
 * as they come, only their boundaries tracked so that the proxy's own
 * messages (an error, a close) go between two of them.
 *
 * No I/O here: httpx.c feeds bytes and moves the queues.
 */
#ifndef LENSNETD_WSFRAME_H
#define LENSNETD_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#define WS_CTRL_MAX	125	/* a control frame's payload */
#define WS_HDR_MAX	14	/* a frame's header, mask included */
#define WS_CLOSE_POLICY	4403	/* the proxy's close: denied twice, or
				   a message it cannot judge */
#define WS_OFFENCES	2	/* denied subscribes before 4403 */

enum { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8,
    WS_PING = 9, WS_PONG = 10 };

/* the subprotocols judged (bits) */
#define WSG_TRANSPORT	0x01	/* graphql-transport-ws */
#define WSG_LEGACY	0x02	/* graphql-ws (subscriptions-transport-ws) */

struct wsf {
	int		 fin, op, masked;
	uint64_t	 len;		/* payload bytes */
	uint8_t		 mask[4];
	size_t		 hlen;		/* header bytes, mask included */
};

/*
 * A frame's header at p (n bytes): 1 parsed, 0 more bytes needed, -1
 * refused (why, *code the close code).  client: a client's frame, held
 * to RFC 6455 strictly (masked, reserved bits 0, a known opcode,
 * control frames unfragmented and at most 125 bytes, lengths in their
 * shortest form); else only its lengths are read (a server's).
 */
int	wsf_header(const uint8_t *p, size_t n, int client, struct wsf *,
	    const char **why, int *code);
/* is p strict UTF-8 (no overlong form, surrogate, nor past U+10FFFF)? */
int	wsf_utf8(const uint8_t *p, size_t n);
/* p (n) unmasked into dst; off: the payload offset of p[0] */
void	wsf_unmask(uint8_t *dst, const uint8_t *p, size_t n,
	    const uint8_t mask[4], uint64_t off);
/* a whole frame (FIN set) into out: its length, 0 when it does not fit;
   mask NULL: unmasked (the server's direction) */
size_t	wsf_build(uint8_t *out, size_t outsize, int op, const void *payload,
	    size_t n, const uint8_t *mask);

/*
 * The head's header field name removed, every line of it, from the
 * request head h (n bytes, CRLF lines, a blank line at the end): its
 * new length.
 */
size_t	ws_strip_field(uint8_t *h, size_t n, const char *name);
/*
 * The subprotocols of a Sec-WebSocket-Protocol value (a list of
 * tokens) as WSG_* bits, added to *bits; -1 when one is another (its
 * name in why), or the list is not a list of tokens.
 */
int	ws_subprotocols(const char *v, size_t len, unsigned int *bits,
	    char *why, size_t whylen);

struct wsbuf {
	uint8_t		*b;
	size_t		 off, len, size;
};
int	wsbuf_add(struct wsbuf *, const void *, size_t);
void	wsbuf_consume(struct wsbuf *, size_t);
void	wsbuf_free(struct wsbuf *);

/* the client's direction: frames in, whole messages out */
enum { WSI_MORE, WSI_CONTROL, WSI_MESSAGE, WSI_BAD };
struct wsin {
	uint64_t	 max;		/* a message's data at most */
	int		 infr;		/* within a data frame's payload */
	int		 fin;
	uint64_t	 left, moff;
	uint8_t		 mask[4];
	int		 op;		/* the message under way, 0 none */
	struct wsbuf	 raw;		/* its frames as sent */
	struct wsbuf	 data;		/* its data, unmasked */
	int		 closed;	/* a close frame was seen */
	int		 ctlop;		/* WSI_CONTROL: its opcode */
	int		 code;		/* WSI_BAD: the close code */
};
/*
 * The client's bytes p (n): *used of them taken.  WSI_MORE: nothing
 * whole yet; WSI_CONTROL: p[0..*used) is one control frame, whole and
 * valid, to send on as it is; WSI_MESSAGE: a text message is whole
 * (data: the text, raw: its frames as sent), taken by wsin_taken();
 * WSI_BAD: refused (why, code).
 */
int	wsin_feed(struct wsin *, const uint8_t *p, size_t n, size_t *used,
	    char *why, size_t whylen);
void	wsin_taken(struct wsin *);
void	wsin_free(struct wsin *);

/* the server's direction: only its frame boundaries */
struct wsout {
	int		 infr;
	uint64_t	 left;
	int		 frag;		/* a data message is open (FIN 0) */
};
/*
 * Of the server's n bytes at p, how many go to the client now: all
 * there is, or (stop) only up to the next point where a message of the
 * proxy may go in (a frame's end, no fragmented message open).
 */
size_t	wsout_pass(struct wsout *, const uint8_t *p, size_t n, int stop);
/* may a message of the proxy go to the client now? */
int	wsout_between(const struct wsout *);

/*
 * One text message of the client under subprotocol proto (WSG_*):
 * WSG_PASS to send on, WSG_JUDGE (a subscribe: *id its id, *payload
 * its payload's JSON text, malloc'd), -1 refused (why): not strict
 * JSON, not an object, an unknown type, a subscribe without a string
 * id or an object payload.
 */
enum { WSG_PASS = 0, WSG_JUDGE = 1 };
int	wsg_message(const uint8_t *data, size_t len, unsigned int proto,
	    char **id, char **payload, char *why, size_t whylen);
/* the proxy's error message for subscribe id as a frame to the client,
   into b; -1 out of memory */
int	wsg_error(struct wsbuf *b, unsigned int proto, const char *id,
	    const char *msg);
/* a close frame (code, reason) to the client, into b; -1 out of memory */
int	ws_close(struct wsbuf *b, int code, const char *reason);

#endif

/*
 * A judged connection's state after the 101: the client's frames in,
 * what goes upstream (up: frames as the client sent them) and to the
 * client (down: the proxy's error messages, its close).
 */
struct wsj {
	struct wsin	 in;
	struct wsout	 out;
	unsigned int	 proto;		/* WSG_TRANSPORT or WSG_LEGACY */
	int		 offences;	/* subscribes denied */
	int		 dead;		/* the client's side is done: a close
					   frame is queued in down */
	char		 why[300];
	struct wsbuf	 up, down;
	/* a subscribe's payload judged: 1 allow, 0 deny (why) */
	int		(*judge)(void *arg, const char *id,
			    const char *payload, char *why, size_t whylen);
	void		*arg;
};
/*
 * The client's bytes p (n): *used taken; what may go on is in up, the
 * proxy's answers in down.  -1 when the client's side is done (dead:
 * a frame refused, a second subscribe denied, out of memory).
 */
int	wsj_client(struct wsj *, const uint8_t *p, size_t n, size_t *used);
/* the client's side done: close code and why queued; -1 */
int	wsj_fail(struct wsj *, int code, const char *why);
void	wsj_free(struct wsj *);
