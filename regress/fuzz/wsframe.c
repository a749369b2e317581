/*
 * libFuzzer target for lensnetd/wsframe.c, the client frames of a
 * judged GraphQL websocket.  Whatever the bytes: no fault (ASan,
 * UBSan); the judged connection decides the same whether the bytes
 * come at once or a few at a time (what goes upstream, what goes back,
 * the verdicts); what goes upstream is made of the client's own frames,
 * unchanged, each of them valid (re-parsed here), and it holds no
 * message the judge denied; the server's side never passes more bytes
 * than it was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
judge(void *arg, const char *id, const char *payload, char *why,
    size_t whylen)
{
	int	*calls = arg;

	(*calls)++;
	snprintf(why, whylen, "denied %s", id);
	return strstr(payload, "mutation") == NULL;
}

/* the input through a judged connection, step bytes at a time */
static void
run(const uint8_t *buf, size_t len, size_t step, struct wsbuf *up,
    struct wsbuf *down, int *calls, int *dead)
{
	struct wsj	 j;
	size_t		 i = 0, have = 0, used;

	memset(&j, 0, sizeof(j));
	j.in.max = 256;
	j.proto = (len & 1) ? WSG_LEGACY : WSG_TRANSPORT;
	j.judge = judge;
	j.arg = calls;
	while (i < len && !j.dead) {
		have = have + step > len - i ? len - i : have + step;
		(void)wsj_client(&j, buf + i, have, &used);
		if (used > have)
			abort();
		i += used;
		have -= used;
		if (j.up.len > 0 && wsbuf_add(up, j.up.b + j.up.off,
		    j.up.len) == -1)
			abort();
		wsbuf_free(&j.up);
		if (j.down.len > 0 && wsbuf_add(down, j.down.b + j.down.off,
		    j.down.len) == -1)
			abort();
		wsbuf_free(&j.down);
		if (used == 0 && have == len - i)
			break;
	}
	*dead = j.dead;
	wsj_free(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct wsbuf	 up1, down1, up2, down2, msg;
	char		 w[300], *id, *pl;
	int		 rv;
	struct wsout	 o;
	struct wsf	 f;
	uint8_t		*d;
	const char	*why;
	size_t		 off, k;
	int		 c1 = 0, c2 = 0, dead1, dead2, code;

	memset(&up1, 0, sizeof(up1));
	memset(&down1, 0, sizeof(down1));
	memset(&up2, 0, sizeof(up2));
	memset(&down2, 0, sizeof(down2));
	run(buf, len, len, &up1, &down1, &c1, &dead1);
	run(buf, len, 1 + len % 7, &up2, &down2, &c2, &dead2);
	if (c1 != c2 || dead1 != dead2 || up1.len != up2.len ||
	    down1.len != down2.len || (up1.len > 0 && memcmp(up1.b + up1.off,
	    up2.b + up2.off, up1.len) != 0) || (down1.len > 0 &&
	    memcmp(down1.b + down1.off, down2.b + down2.off, down1.len) != 0))
		abort();
	/* upstream: whole valid client frames, no denied message */
	memset(&msg, 0, sizeof(msg));
	for (off = 0; off < up1.len; off += f.hlen + f.len) {
		if (wsf_header(up1.b + up1.off + off, up1.len - off, 1, &f,
		    &why, &code) != 1 || f.hlen + f.len > up1.len - off)
			abort();
		if (f.op != WS_TEXT && f.op != WS_CONT)
			continue;
		if ((d = malloc(f.len + 1)) == NULL)
			abort();
		wsf_unmask(d, up1.b + up1.off + off + f.hlen, f.len, f.mask, 0);
		if (wsbuf_add(&msg, d, f.len) == -1)
			abort();
		free(d);
		if (!f.fin)
			continue;
		rv = wsg_message(msg.b != NULL ? msg.b + msg.off :
		    (const uint8_t *)"", msg.len, (len & 1) ? WSG_LEGACY :
		    WSG_TRANSPORT, &id, &pl, w, sizeof(w));
		if (rv == -1 || (rv == WSG_JUDGE && strstr(pl, "mutation") !=
		    NULL))
			abort();
		if (rv == WSG_JUDGE) {
			free(id);
			free(pl);
		}
		wsbuf_free(&msg);
	}
	wsbuf_free(&msg);
	wsbuf_free(&up1);
	wsbuf_free(&down1);
	wsbuf_free(&up2);
	wsbuf_free(&down2);
	/* the server's side */
	memset(&o, 0, sizeof(o));
	k = wsout_pass(&o, buf, len, len & 2);
	if (k > len)
		abort();
	return 0;
}
