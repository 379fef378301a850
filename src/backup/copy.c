/* Streams and paths for backup/restore (see copy.h). SHA-256 is
 * OpenSSL's EVP; nothing here is fatal but running out of memory. */
#include "backup/copy.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

#include "common/common.h"
#include "common/fileio.h"

#define COPY_BUF 65536

int path_join(char *out, size_t size, const char *a, const char *b)
{
	int n = *a && *b ? snprintf(out, size, "%s/%s", a, b) : snprintf(out, size, "%s", *a ? a : b);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int make_parents(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	if (path_join(dir, sizeof dir, path, "") < 0)
		return -1;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, mode);
}

/* mbox (mboxo/mboxrd): a message starts with "From " at the start of a
 * line; a body line that would is quoted ">From " by the writer. */
struct from_counter {
	size_t matched;  /* bytes of "From " matched at this line start */
	bool at_line_start, in_match;
	unsigned long long n;
};

static void count_from(struct from_counter *fc, const unsigned char *p, size_t len)
{
	static const char from[] = "From ";
	for (size_t i = 0; i < len; i++) {
		if (fc->at_line_start) {
			fc->at_line_start = false;
			fc->in_match = true;
			fc->matched = 0;
		}
		if (fc->in_match) {
			if (p[i] == (unsigned char)from[fc->matched]) {
				if (++fc->matched == sizeof from - 1) {
					fc->n++;
					fc->in_match = false;
				}
			} else {
				fc->in_match = false;
			}
		}
		if (p[i] == '\n')
			fc->at_line_start = true;
	}
}

int copy_stream(int in, int out, bool count_from_lines, struct copy_result *r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		errno = ENOMEM;
		return -1;
	}
	static unsigned char buf[COPY_BUF];
	struct from_counter fc = {.at_line_start = true};
	r->size = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			errno = EIO;
			rc = -1;
			break;
		}
		if (out >= 0 && fd_write_all(out, (const char *)buf, (size_t)n) < 0) {
			rc = -1;
			break;
		}
		if (count_from_lines)
			count_from(&fc, buf, (size_t)n);
		r->size += (unsigned long long)n;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (rc == 0 && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 32)) {
		errno = EIO;
		rc = -1;
	}
	int err = errno;
	EVP_MD_CTX_free(ctx);
	if (rc == 0) {
		static const char hex[] = "0123456789abcdef";
		for (unsigned i = 0; i < 32; i++) {
			r->sha256[2 * i] = hex[md[i] >> 4];
			r->sha256[2 * i + 1] = hex[md[i] & 15];
		}
		r->sha256[64] = '\0';
		r->mbox_messages = fc.n;
	}
	errno = err;
	return rc;
}
