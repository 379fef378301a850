/* libspf2's DNS layer for the doctor: its lookups go through our bounded
 * resolver (resolve.c), so SPF sees the same resolver as every other check
 * (DOCTOR_RESOLVER included), the same 2 s bound, and nothing once the
 * resolver counts as down. libspf2 asks for A, AAAA, MX, PTR, TXT and
 * SPF (type 99, obsolete: answered "no data"). */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <spf2/spf.h>

#include "common/common.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "deliverability/resolve.h"
#include "doctor/spf_dns.h"

static SPF_dns_rr_t *lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	(void)should_cache;
	struct dns_answer a;
	if (type == ns_t_a || type == ns_t_aaaa || type == ns_t_mx || type == ns_t_ptr || type == ns_t_txt) {
		dns_lookup(domain, (int)type, &a);
	} else {
		strlist_init(&a.rr);
		a.status = DNS_NODATA;
	}
	SPF_dns_stat_t herrno = a.status == DNS_OK ? NETDB_SUCCESS : a.status == DNS_NXDOMAIN ? HOST_NOT_FOUND
				: a.status == DNS_NODATA ? NO_DATA : TRY_AGAIN;
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(srv, domain, type, 60, herrno);
	if (!rr)
		fatalx(EXIT_SYSTEM, "libspf2: out of memory");
	for (size_t i = 0; a.status == DNS_OK && i < a.rr.len && i < 1000; i++) {
		const char *text = a.rr.item[i];
		if (type == ns_t_mx)
			text = strchr(text, ' ') + 1; /* "preference host": libspf2 wants the host */
		size_t len = type == ns_t_a ? sizeof(struct in_addr)
			     : type == ns_t_aaaa ? sizeof(struct in6_addr) : strlen(text) + 1;
		if (SPF_dns_rr_buf_realloc(rr, (int)i, len) != SPF_E_SUCCESS)
			fatalx(EXIT_SYSTEM, "libspf2: out of memory");
		if (type == ns_t_a) {
			if (inet_pton(AF_INET, text, &rr->rr[i]->a) != 1)
				break;
		} else if (type == ns_t_aaaa) {
			if (inet_pton(AF_INET6, text, &rr->rr[i]->aaaa) != 1)
				break;
		} else {
			memcpy(rr->rr[i]->txt, text, len);
		}
		rr->num_rr = (int)i + 1;
	}
	dns_answer_free(&a);
	return rr;
}

static void destroy(SPF_dns_server_t *srv)
{
	free(srv);
}

SPF_dns_server_t *doctor_spf_dns_new(void)
{
	SPF_dns_server_t *srv = calloc(1, sizeof *srv);
	if (!srv)
		fatal(EXIT_SYSTEM, "out of memory");
	srv->destroy = destroy;
	srv->lookup = lookup;
	srv->name = "mtactl";
	return srv;
}
