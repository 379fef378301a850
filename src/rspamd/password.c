/* The controller password, encrypted as rspamd stores it (`rspamadm pw`:
 * PBKDF2/catena with a random salt), so the configuration file never holds
 * the plain text. Without RSPAMD_PASSWORD a random one replaces Debian's
 * "q1": nobody knows it, and only the UNIX socket listens then. */
#include "rspamd/password.h"

#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"

bool rspamd_password_hash(const char *plain, struct strbuf *hash)
{
	char random[64];
	if (!*plain) {
		unsigned char raw[32];
		if (getentropy(raw, sizeof raw) < 0)
			return false;
		EVP_EncodeBlock((unsigned char *)random, raw, sizeof raw);
		plain = random;
	}
	/* argv briefly shows the password to root in this container only;
	 * rspamadm reads no password from stdin without a terminal. */
	char *argv[] = {"rspamadm", "pw", "-q", "-p", (char *)plain, NULL};
	sb_reset(hash);
	int rc = proc_run(argv, hash);
	while (hash->len && (hash->buf[hash->len - 1] == '\n' || hash->buf[hash->len - 1] == '\r'))
		hash->buf[--hash->len] = '\0';
	/* "$2$salt$hash": anything else (a warning, a quote) is refused. */
	bool ok = rc == 0 && hash->len > 3 && !strncmp(hash->buf, "$2$", 3) &&
		  strspn(hash->buf, "$0123456789abcdefghijklmnopqrstuvwxyz") == hash->len;
	explicit_bzero(random, sizeof random);
	return ok;
}
