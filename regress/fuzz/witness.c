/*
 * libFuzzer target for the remote witness's line parser
 * (common/syslogwit.c): a collector's file as lensctl audit verify
 * --witness reads it.
 *
 * The input goes whole to syslogwit_extract, and line by line to
 * syslogwit_parse; a head line that comes out must be inside the line
 * and is handed to chain_head_parse.  Whatever parses must agree with
 * the extraction (same lines, same order).  The input is also taken as
 * one head line: if syslogwit_format makes a message of it, that
 * message must parse back to exactly it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "syslogwit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*text = (const char *)data, *p, *end, *nl;
	const char		*msg, *why;
	char			*heads, err[256], out[SYSLOGWIT_MAX];
	size_t			 hlen, msglen, off = 0;
	struct chain_head	 h;
	struct timespec		 ts = { 1700000000, 123456789 };
	int			 all, n;

	all = syslogwit_extract(text, size, &heads, &hlen, err,
	    sizeof(err)) == 0;
	for (p = text, end = text + size; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (syslogwit_parse(p, (size_t)(nl - p), &msg, &msglen,
		    &why) == -1) {
			if (why == NULL)
				abort();	/* every refusal says why */
			continue;
		}
		if (msg < p || msg + msglen != nl || msglen == 0)
			abort();
		(void)chain_head_parse(msg, msglen, &h, &why);
		if (all && nl != end) {
			if (off + msglen + 1 > hlen ||
			    memcmp(heads + off, msg, msglen) != 0 ||
			    heads[off + msglen] != '\n')
				abort();
			off += msglen + 1;
		}
	}
	if (all) {
		if (off != hlen)
			abort();
		free(heads);
	}
	if ((n = syslogwit_format(out, sizeof(out), "fuzz.test", 4242, &ts,
	    text, size)) != -1) {
		while (size > 0 && text[size - 1] == '\n')
			size--;
		if (syslogwit_parse(out, (size_t)n, &msg, &msglen, &why) == -1 ||
		    msglen != size || memcmp(msg, text, size) != 0)
			abort();
	}
	return 0;
}
