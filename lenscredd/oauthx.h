/*
 * oauth2Refresh in lenscredd's exchange (oauthx.c): the access token for
 * an exchange, from this process's cache or a refresh at the tokenUrl.
 */
#ifndef LENSCREDD_OAUTHX_H
#define LENSCREDD_OAUTHX_H

#include <stddef.h>
#include <stdint.h>

#include "lenscredd_imsg.h"
#include "oauth.h"

struct imsgev;

/* rotations go to the vault, cred.refresh to the parent */
void	oauthx_init(struct imsgev *vault, struct imsgev *parent);
/*
 * The access token for the exchange q whose stored value (the refresh
 * token [LF client secret]) is value: as oauth_get (tok a buffer of
 * OAUTH_TOKEN_MAX + 1 bytes).  A refresh started here is on behalf of
 * q's sandbox and uses value.
 */
enum oauth_state oauthx_get(const struct cred_exchange *q,
	    const uint8_t *value, size_t vlen, char *tok, oauth_cb cb,
	    void *arg, struct oauth_waiter **w, char *why, size_t whylen);
void	oauthx_cancel(struct oauth_waiter *);
/* every refresh dropped, the cache freed (the waiters cancelled first) */
void	oauthx_stop(void);

#endif
