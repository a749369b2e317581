/*
 * Unit test of lenscredd/sign.c (TAP): AWS's published SigV4 examples
 * (aws-sig-v4-test-suite get-vanilla, get-vanilla-query-order-key-case,
 * post-vanilla: the key pair AKIDEXAMPLE, us-east-1, service "service",
 * 20150830T123600Z; each signature also checked with botocore), the
 * canonical request of get-vanilla as published, AWS's encoding of the
 * path and query, and the refusals: header templates that would carry
 * CR/LF/NUL, basic users with ':', the hmac canonical string as
 * lenscredd(8) defines it.  regress/sign-botocore.t compares more
 * requests with botocore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lenscredd/sign.c"
#include "tap.h"

#define EMPTY256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AWSPRE	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/" \
		"service/aws4_request, SignedHeaders=host;x-amz-date, Signature="

static const struct sign_aws ex = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	"us-east-1", "service", "20150830T123600Z"
};
static const struct sign_hdr exh[] = {
	{ "Host", "example.amazonaws.com" },
	{ "X-Amz-Date", "20150830T123600Z" },
};

static void
aws(const char *what, const char *method, const char *path, const char *q,
    const char *sig)
{
	struct sign_req	 r = { method, path, q, exh, 2, EMPTY256 };
	char		*a = NULL, why[256] = "", want[512];

	snprintf(want, sizeof(want), AWSPRE "%s", sig);
	if (sign_sigv4(&ex, &r, &a, why, sizeof(why)) == -1)
		ok_detail(0, what, why);
	else
		ok_detail(strcmp(a, want) == 0, what, a);
	free(a);
}

static void
tmpl(const char *what, const char *t, const char *s, size_t slen,
    const char *want, const char *err)
{
	char	*o = NULL, why[256] = "";
	int	 rc;

	rc = sign_template(t, s, slen, &o, why, sizeof(why));
	if (want != NULL)
		ok_detail(rc == 0 && strcmp(o, want) == 0, what,
		    rc == 0 ? o : why);
	else
		ok_detail(rc == -1 && strcmp(why, err) == 0, what,
		    rc == 0 ? o : why);
	free(o);
}

static void
creq(const char *what, const char *service, const char *path, const char *q,
    const char *want)
{
	struct sign_aws	 a = ex;
	struct sign_req	 r = { "GET", path, q, exh, 2, EMPTY256 };
	char		*c, *sh = NULL, why[256] = "", *nl;

	a.service = service;
	if ((c = sign_sigv4_creq(&a, &r, &sh, why, sizeof(why))) == NULL) {
		ok_detail(0, what, why);
		return;
	}
	/* the path and query lines */
	nl = strchr(c + 4, '\n');
	nl = strchr(nl + 1, '\n');
	*nl = '\0';
	ok_detail(strcmp(c + 4, want) == 0, what, c + 4);
	free(c);
	free(sh);
}

int
main(void)
{
	struct sign_req	 r = { "GET", "/", NULL, exh, 2, EMPTY256 };
	struct sign_hdr	 h3[3];
	char		*o, *sh, why[256], hex[SIGN_HEX256];
	int		 rc;

	/* AWS's published examples */
	aws("sigv4 get-vanilla", "GET", "/", NULL,
	    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	aws("sigv4 get-vanilla-query-order-key-case", "GET", "/",
	    "Param2=value2&Param1=value1",
	    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	aws("sigv4 post-vanilla", "POST", "/", NULL,
	    "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
	/* the same query however the sandbox encoded it */
	aws("sigv4 query: encoding and order do not change the signature",
	    "GET", "/", "Param1=%76alue1&&Param2=value%32",
	    "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
	o = sign_sigv4_creq(&ex, &r, &sh, why, sizeof(why));
	ok_detail(o != NULL && strcmp(o, "GET\n/\n\nhost:example.amazonaws.com\n"
	    "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY256) == 0,
	    "sigv4 get-vanilla canonical request as published", o ? o : why);
	free(o);
	if (o != NULL)
		free(sh);

	/* AWS's encoding */
	creq("path: dot segments and empty segments out, encoded again",
	    "service", "/a/./b//../c%20d/", NULL, "/a/c%2520d/\n");
	creq("path: s3 decoded and encoded once, nothing removed", "s3",
	    "/b/./k%7e%2a:x%20y", NULL, "/b/./k~%2A%3Ax%20y\n");
	creq("query: reserved characters encoded, sorted by key then value",
	    "service", "/", "b=2&a=z&a=y:/&c&%41=%2f", "/\nA=%2F&a=y%3A%2F&a=z&b=2&c=");
	r.query = "a=%zz";
	ok(sign_sigv4(&ex, &r, &o, why, sizeof(why)) == -1 &&
	    strcmp(why, "sigv4: malformed percent-encoding in the query") == 0,
	    "query: a malformed %% is refused (%s)", why);
	r.query = NULL;
	r.path = "/a%2";
	ok(sign_sigv4_creq(&(struct sign_aws){ .akid = "AKIDEXAMPLE",
	    .secret = "x", .region = "us-east-1", .service = "s3",
	    .amzdate = "20150830T123600Z" }, &r, &sh, why, sizeof(why)) == NULL,
	    "path: a truncated %% is refused in s3 (%s)", why);
	r.path = "/";

	/* what sigv4 refuses */
	h3[0] = exh[0];
	h3[1] = (struct sign_hdr){ "X-Amz-Date", "20150830T123601Z" };
	r.hdr = h3;
	ok(sign_sigv4(&ex, &r, &o, why, sizeof(why)) == -1,
	    "sigv4: an x-amz-date other than the signing date (%s)", why);
	h3[1] = exh[1];
	h3[2] = (struct sign_hdr){ "X-Evil", "a\r\nInjected: 1" };
	r.nhdr = 3;
	ok(sign_sigv4(&ex, &r, &o, why, sizeof(why)) == -1,
	    "sigv4: CR/LF in a header value (%s)", why);
	h3[2] = (struct sign_hdr){ "Host", "other.test" };
	ok(sign_sigv4(&ex, &r, &o, why, sizeof(why)) == -1,
	    "sigv4: two Host headers (%s)", why);
	h3[2] = (struct sign_hdr){ "Authorization", "lens-ph-x" };
	rc = sign_sigv4(&ex, &r, &o, why, sizeof(why));
	ok(rc == 0 && strstr(o, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260"
	    "956d9b8aae1d763fbf31") != NULL,
	    "sigv4: the sandbox's Authorization is not signed");
	if (rc == 0)
		free(o);
	r.nhdr = 2;
	r.hdr = exh;
	ok(sign_sigv4(&(struct sign_aws){ "AKID, Signature=x", "s",
	    "us-east-1", "service", "20150830T123600Z" }, &r, &o, why,
	    sizeof(why)) == -1, "sigv4: a key id that would forge the "
	    "header (%s)", why);
	r.payload = "UNSIGNED";
	ok(sign_sigv4(&ex, &r, &o, why, sizeof(why)) == -1,
	    "sigv4: a payload neither a hash nor UNSIGNED-PAYLOAD (%s)", why);
	r.payload = EMPTY256;

	/* header templates */
	tmpl("template: Bearer {secret}", "Bearer {secret}", "tok", 3,
	    "Bearer tok", NULL);
	tmpl("template: {{ }} are braces, {secret} twice", "{{x}} {secret}/{secret}",
	    "s", 1, "{x} s/s", NULL);
	tmpl("template: a lone {", "Bearer {secret", "s", 1, NULL,
	    "template: '{' at 7 is not part of {secret}, {{ or }}");
	tmpl("template: {other}", "{secret} {user}", "s", 1, NULL,
	    "template: '{' at 9 is not part of {secret}, {{ or }}");
	tmpl("template: no {secret}", "Bearer x", "s", 1, NULL,
	    "template: no {secret}");
	tmpl("template: a secret with CR LF", "Bearer {secret}", "a\r\nX: y", 7,
	    NULL, "template: the value would hold a control character (CR, LF, "
	    "NUL or another) from the secret");
	tmpl("template: a secret with NUL", "Bearer {secret}", "a\0b", 3, NULL,
	    "template: the value would hold a control character (CR, LF, "
	    "NUL or another) from the secret");
	tmpl("template: a template with LF", "x\n{secret}", "s", 1, NULL,
	    "template: the value would hold a control character (CR, LF, "
	    "NUL or another) from the template");

	/* query */
	rc = sign_query("a=1&key=lens-ph-abc&b=2&k%65y=x", "key", "s e/c&",
	    6, &o, why, sizeof(why));
	ok_detail(rc == 0 && strcmp(o, "a=1&b=2&key=s%20e%2Fc%26") == 0,
	    "query: the sandbox's parameter (however encoded) replaced",
	    rc == 0 ? o : why);
	if (rc == 0)
		free(o);
	rc = sign_query(NULL, "key", "v", 1, &o, why, sizeof(why));
	ok_detail(rc == 0 && strcmp(o, "key=v") == 0, "query: none before",
	    rc == 0 ? o : why);
	if (rc == 0)
		free(o);
	ok(sign_query("a=1\r\nX: y", "k", "v", 1, &o, why, sizeof(why)) == -1,
	    "query: the sandbox's query with CR LF (%s)", why);
	ok(sign_query("a=1", "k=y", "v", 1, &o, why, sizeof(why)) == -1,
	    "query: a parameter name that is not a token (%s)", why);

	/* basic: RFC 7617's example */
	rc = sign_basic("Aladdin", "open sesame", 11, &o, why, sizeof(why));
	ok_detail(rc == 0 && strcmp(o, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == 0,
	    "basic: RFC 7617's Aladdin", rc == 0 ? o : why);
	if (rc == 0)
		free(o);
	ok(sign_basic("a:b", "s", 1, &o, why, sizeof(why)) == -1,
	    "basic: a user with ':' (%s)", why);
	ok(sign_basic("a\nb", "s", 1, &o, why, sizeof(why)) == -1,
	    "basic: a user with LF (%s)", why);

	/* hmac: the canonical string of lenscredd(8) */
	r = (struct sign_req){ "POST", "/v1/x%20y", "z=1&a=2&&m=%2F", exh, 2,
	    EMPTY256 };
	o = sign_hmac_string(&r, "1700000000", why, sizeof(why));
	ok_detail(o != NULL && strcmp(o, "LENS-HMAC-SHA256\nPOST\n/v1/x%20y\n"
	    "a=2&m=%2F&z=1\n1700000000\n" EMPTY256) == 0,
	    "hmac: canonical string", o ? o : why);
	free(o);
	/* the MAC itself: RFC 4231 test case 2 */
	hmac256("Jefe", 4, "what do ya want for nothing?", 28,
	    (unsigned char *)hex);
	tohex((unsigned char *)hex, 32, why);
	ok_detail(strcmp(why, "5bdcc146bf60754e6a042426089575c75a003f089d27"
	    "39839dec58b964ec3843") == 0, "hmac: RFC 4231 test case 2", why);
	ok(sign_hmac("k", 1, &r, "17e8", hex, why, sizeof(why)) == -1,
	    "hmac: a timestamp not decimal (%s)", why);
	r.payload = SIGN_UNSIGNED;
	ok(sign_hmac("k", 1, &r, "1", hex, why, sizeof(why)) == -1,
	    "hmac: the body is always hashed (%s)", why);
	r.payload = EMPTY256;
	r.path = "/a b";
	ok(sign_hmac("k", 1, &r, "1", hex, why, sizeof(why)) == -1,
	    "hmac: a path with a space (%s)", why);
	return tap_done();
}
