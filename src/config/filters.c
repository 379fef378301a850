/* amavis's configuration is written as a conf.d file read after Debian's
 * (60-mtactl): it only states what differs from the package defaults. */
#include "config/filters.h"

#include <unistd.h>

#include "authres/authres.h"
#include "clamav/clamav.h"
#include "common/common.h"
#include "dkim/dkim.h"
#include "outbound/outbound.h"

int filters_amavis_children(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	/* One per core keeps SpamAssassin busy without thrashing; at least 2
	 * so one slow message does not hold up the rest. */
	return cores < 2 ? 2 : cores > 8 ? 8 : (int)cores;
}

/* A Perl single-quoted string: only \ and ' need escaping. */
static void perl_quote(struct strbuf *out, const char *s)
{
	sb_addc(out, '\'');
	for (; *s; s++) {
		if (*s == '\\' || *s == '\'')
			sb_addc(out, '\\');
		sb_addc(out, *s);
	}
	sb_addc(out, '\'');
}

/* amavis's default @decoders (Amavis/Conf.pm) names programs the image
 * does not have (lrzip, lzop, lz4, rpm2cpio, ar, unrar, arj, nomarch, zoo,
 * ripole, unzstd, freeze), and amavis logs each one it misses at notice,
 * 21 lines at every start. This is the same list, in the same order (the
 * first entry for a type wins), holding only the entries whose programs the
 * full stage installs (gzip, bzip2, xz-utils, pax, cabextract, p7zip-full)
 * or that are internal; the types that had no decoder (F arc doc exe lrz
 * lz4 lzo zoo zst) still have none, and 7z still unpacks rar, arj, deb and
 * rpm. A missing program here would show as "No ext program" again, which
 * the end-to-end log test looks for. */
static const char decoders[] =
	"# Only decoders whose programs the image has (amavis logs every one it misses).\n"
	"@decoders = (\n"
	"  ['mail', \\&Amavis::Unpackers::do_mime_decode],\n"
	"  ['Z',    \\&Amavis::Unpackers::do_uncompress, \\$uncompress],\n"
	"  ['gz',   \\&Amavis::Unpackers::do_uncompress, \\$gunzip],\n"
	"  ['gz',   \\&Amavis::Unpackers::do_gunzip],\n"
	"  ['bz2',  \\&Amavis::Unpackers::do_uncompress, \\$bunzip2],\n"
	"  ['xz',   \\&Amavis::Unpackers::do_uncompress, ['xzdec', 'xz -dc', 'unxz -c', 'xzcat'] ],\n"
	"  ['lzma', \\&Amavis::Unpackers::do_uncompress, ['xz -dc --format=lzma', 'lzma -dc', 'unlzma -c'] ],\n"
	"  [['cpio','tar'], \\&Amavis::Unpackers::do_pax_cpio, \\$pax],\n"
	"  ['cab',  \\&Amavis::Unpackers::do_cabextract, \\$cabextract],\n"
	"  ['tnef', \\&Amavis::Unpackers::do_tnef],\n"
	"  [['zip','kmz'], \\&Amavis::Unpackers::do_7zip, ['7za', '7z'] ],\n"
	"  [['zip','kmz'], \\&Amavis::Unpackers::do_unzip],\n"
	"  ['7z',   \\&Amavis::Unpackers::do_7zip, ['7zr', '7za', '7z'] ],\n"
	"  [[qw(jar arj rar swf lha iso deb rpm)], \\&Amavis::Unpackers::do_7zip, ['7z'] ],\n"
	");\n\n";

static void amavis_render(const struct settings *s, int children, struct strbuf *a)
{
	const char *primary = settings_primary_domain(s);
	sb_adds(a, "# Written by `mtactl config` from the environment; read after Debian's conf.d.\n"
		   "use strict;\n\n$mydomain = ");
	perl_quote(a, primary);
	sb_adds(a, ";\n$myhostname = ");
	if (strchr(s->hostname, '.')) {
		perl_quote(a, s->hostname);
	} else {
		/* amavis insists on a fully qualified name */
		struct strbuf fq;
		sb_init(&fq);
		sb_addf(&fq, "%s.%s", s->hostname, primary);
		perl_quote(a, fq.buf);
		sb_free(&fq);
	}
	sb_adds(a, ";\n@local_domains_maps = ( [");
	for (size_t i = 0; i < s->domains.len; i++) {
		sb_adds(a, i ? ", " : "");
		perl_quote(a, s->domains.item[i]);
	}
	sb_addf(a, "] );\n"
		   "$X_HEADER_LINE = \"amavis at $mydomain\";\n"
		   "# Notices to an admin mailbox nobody configured would only bounce.\n"
		   "$virus_admin = undef;\n$spam_admin = undef;\n\n"
		   "$max_servers = %d;\n"
		   "# Postfix's doors, LMTP on UNIX sockets (Debian's AM.PDP socket for\n"
		   "# amavisd-release stays); no TCP listener.\n"
		   "$inet_socket_port = undef;\n"
		   "@listen_sockets = ('" AMAVIS_INBOUND_SOCKET "', '" AMAVIS_ORIGINATING_SOCKET "');\n"
		   "$unix_socket_mode = 0660;\n"
		   "$interface_policy{'" AMAVIS_INBOUND_SOCKET "'} = 'INBOUND';\n"
		   "$policy_bank{'INBOUND'} = { protocol => 'LMTP' };\n"
		   "$interface_policy{'" AMAVIS_ORIGINATING_SOCKET "'} = 'ORIGINATING';\n"
		   "$policy_bank{'ORIGINATING'} = { protocol => 'LMTP', originating => 1 };\n"
		   "# Mail submitted on this host (sendmail, loopback) is ours too: signed.\n"
		   "# Only loopback: Debian's default adds private ranges, Docker's among them.\n"
		   "@mynetworks = qw(127.0.0.0/8 [::1]);\n"
		   "$policy_bank{'MYNETS'} = { originating => 1 };\n"
		   "$forward_method = 'smtp:[127.0.0.1]:%d';\n"
		   "$notify_method = 'smtp:[127.0.0.1]:%d';\n"
		   "$release_method = 'smtp:[127.0.0.1]:%d';\n\n",
		children, AMAVIS_REINJECT_PORT, AMAVIS_REINJECT_PORT, AMAVIS_REINJECT_PORT);

	bool clamd = !strcmp(s->value[V_CLAMAV_DAEMON], "yes");
	sb_adds(a, "# Spam and virus checks on (Debian ships them bypassed).\n"
		   "@bypass_spam_checks_maps = (\\%bypass_spam_checks, \\@bypass_spam_checks_acl, \\$bypass_spam_checks_re);\n");
	if (clamd)
		sb_adds(a, "@bypass_virus_checks_maps = (\\%bypass_virus_checks, \\@bypass_virus_checks_acl, \\$bypass_virus_checks_re);\n"
			   "@av_scanners = (['ClamAV-clamd', \\&ask_daemon, [\"CONTSCAN {}\\n\", '" CLAMD_SOCKET "'],\n"
			   "  qr/\\bOK$/m, qr/\\bFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m ]);\n"
			   "@av_scanners_backup = ();\n"
			   "# No scanner answering means the mail waits in Postfix's queue (4xx), never unscanned.\n"
			   "$virus_scanners_failure_is_fatal = 1;\n\n");
	else
		sb_adds(a, "# CLAMAV_DAEMON=no: no virus scanning.\n@bypass_virus_checks_maps = (1);\n@av_scanners = ();\n\n");

	sb_adds(a, decoders);

	sb_addf(a, "$final_virus_destiny = %s;\n$final_banned_destiny = %s;\n"
		   "$final_spam_destiny = %s;\n$final_bad_header_destiny = %s;\n",
		s->value[V_FINAL_VIRUS_DESTINY], s->value[V_FINAL_BANNED_DESTINY],
		s->value[V_FINAL_SPAM_DESTINY], s->value[V_FINAL_BAD_HEADER_DESTINY]);
	if (!strcmp(s->value[V_FINAL_SPAM_DESTINY], "D_BOUNCE"))
		/* The operator asked for bounces: amavis would otherwise send none
		 * above its default cutoff of 10 (GTUBE scores 1000). */
		sb_adds(a, "$sa_dsn_cutoff_level = 9999;\n");
	sb_addf(a, "$sa_tag_level_deflt = %s;\n$sa_tag2_level_deflt = %s;\n$sa_kill_level_deflt = %s;\n"
		   "$sa_debug = %s;\n$log_level = %s;\n\n",
		s->value[V_SA_TAG_LEVEL_DEFLT], s->value[V_SA_TAG2_LEVEL_DEFLT],
		s->value[V_SA_KILL_LEVEL_DEFLT], s->value[V_SA_DEBUG], s->value[V_LOG_LEVEL]);

	sb_adds(a, "# Quarantine: flat, uncompressed, under /srv (amavis-ls reads it).\n"
		   "$QUARANTINEDIR = '" QUARANTINE_DIR "';\n"
		   "$quarantine_subdir_levels = 0;\n"
		   "$virus_quarantine_method = 'local:virus-%m';\n"
		   "$spam_quarantine_method = 'local:spam-%m';\n"
		   "$banned_files_quarantine_method = 'local:banned-%m';\n"
		   "$bad_header_quarantine_method = 'local:badh-%m';\n\n");

	sb_adds(a, "$enable_dkim_verification = 1;\n$enable_dkim_signing = 1;\n"
		   "# A key lookup that gets no answer is a temporary error after 3 s, not 10.\n"
		   "$Mail::DKIM::DNS::TIMEOUT = 3;\n"
		   "# Mail::DKIM calls a key it could not look up \"invalid\" (amavis writes\n"
		   "# dkim=neutral); RFC 8601 and RFC 6376 6.1.2 call it a temporary error.\n"
		   "{ no warnings 'redefine'; require Mail::DKIM::Signature;\n"
		   "  my $result = \\&Mail::DKIM::Signature::result;\n"
		   "  *Mail::DKIM::Signature::result = sub {\n"
		   "    my ($sig, @set) = @_;\n"
		   "    $set[0] = 'temperror' if @set == 2 && defined $set[0] && $set[0] eq 'invalid'\n"
		   "      && defined $set[1] && $set[1] =~ /^public key: DNS error/;\n"
		   "    return $result->($sig, @set);\n"
		   "  };\n"
		   "}\n"
		   "@dkim_signature_options_bysender_maps = ( { '.' => { ttl => 21*24*3600, c => 'relaxed/simple' } } );\n");
	for (size_t i = 0; i < s->domains.len; i++) {
		char key[512];
		dkim_key_path(s->domains.item[i], s->value[V_DKIM_SELECTOR], key, sizeof key);
		sb_adds(a, "dkim_key(");
		perl_quote(a, s->domains.item[i]);
		sb_adds(a, ", ");
		perl_quote(a, s->value[V_DKIM_SELECTOR]);
		sb_adds(a, ", ");
		perl_quote(a, key);
		sb_adds(a, ");\n");
	}
	authres_amavis(s, a);
	sb_adds(a, "\n1;\n");
}

void filters_render(const struct settings *s, int children, struct filter_files *out)
{
	sb_init(&out->amavis);
	sb_init(&out->spamassassin);
	sb_init(&out->clamd);
	sb_init(&out->freshclam);
	sb_init(&out->policyd_spf);
	amavis_render(s, children, &out->amavis);
	/* Network tests give up quickly: with a resolver that drops every query
	 * a message waits about 5 s (Razor 2, the DNS lists 3), not 20.
	 * dns_available yes: the "test" mode spent 18 s per child probing
	 * well-known names and then turned every network test off, DKIM
	 * included; now each lookup fails on its own time-out and the checks
	 * resume by themselves when DNS answers again. ADSP (RFC 5617) is
	 * historic, and its lookup was a synchronous 6 s per message. */
	sb_adds(&out->spamassassin, "# Written by `mtactl config`.\n"
				    "use_razor2 1\nrazor_timeout 2\n"
				    /* Razor in the amavis child itself: forking a 170 MB
				     * Perl for every message cost a third of SpamAssassin's
				     * time. */
				    "razor_fork 0\n"
				    "dns_available yes\nrbl_timeout 3 1\ndkim_timeout 3\n"
				    "score DKIM_ADSP_NXDOMAIN 0\nscore DKIM_ADSP_DISCARD 0\nscore DKIM_ADSP_ALL 0\n"
				    "score DKIM_ADSP_CUSTOM_LOW 0\nscore DKIM_ADSP_CUSTOM_MED 0\n"
				    "score DKIM_ADSP_CUSTOM_HIGH 0\nscore NML_ADSP_CUSTOM_LOW 0\n"
				    "score NML_ADSP_CUSTOM_MED 0\nscore NML_ADSP_CUSTOM_HIGH 0\n");
	/* Debian's settings, and a time limit: RFC 7208 allows 20 s per check,
	 * and the HELO and MAIL FROM checks run one after the other before
	 * RCPT is answered; 2 s each keeps that reply within 5 s when the
	 * resolver drops queries. A time-out is a temperror, recorded in
	 * Received-SPF, never a pass. */
	sb_adds(&out->policyd_spf, "# Written by `mtactl config`; see policyd-spf.conf(5).\n"
				   "debugLevel = 1\nTestOnly = 1\nHELO_reject = Fail\n"
				   "Mail_From_reject = Fail\nPermError_reject = False\n"
				   "TempError_Defer = False\n"
				   "skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1\n"
				   "Lookup_Time = 2\n");
	authres_policyd_spf(s, &out->policyd_spf);
	sb_adds(&out->clamd, "# Written by `mtactl config`; see clamd.conf(5).\n"
			     "LocalSocket " CLAMD_SOCKET "\nFixStaleSocket true\n"
			     "LocalSocketGroup clamav\nLocalSocketMode 666\nUser clamav\n"
			     "Foreground true\nLogSyslog true\nLogFacility LOG_MAIL\n"
			     "DatabaseDirectory " CLAMAV_DB_DIR "\nScanMail true\nScanArchive true\n"
			     "MaxThreads 4\nReadTimeout 180\nSelfCheck 3600\n");
	/* freshclam runs under `mtactl freshclam`, which reads its output and
	 * logs the outcome in one line; Checks is how often a day it runs. */
	sb_adds(&out->freshclam, "# Written by `mtactl config`; see freshclam.conf(5). `mtactl freshclam`\n"
				 "# runs freshclam Checks times a day and logs the outcome of each run.\n"
				 "DatabaseOwner clamav\nLogSyslog false\n"
				 "DatabaseDirectory " CLAMAV_DB_DIR "\n"
				 "DatabaseMirror database.clamav.net\nChecks 24\n"
				 "NotifyClamd " CLAMD_CONF "\n");
}

void filter_files_free(struct filter_files *f)
{
	sb_free(&f->amavis);
	sb_free(&f->spamassassin);
	sb_free(&f->clamd);
	sb_free(&f->freshclam);
	sb_free(&f->policyd_spf);
}

void filters_clamav_services(const struct settings *s, struct strbuf *out)
{
	if (!strcmp(s->value[V_CLAMAV_DAEMON], "yes")) {
		/* clamd cannot start without a database: clamav-wait execs it
		 * once there is one. */
		sb_adds(out, "clamd quiet /usr/local/bin/mtactl clamav-wait " CLAMAV_DB_DIR
			     " /usr/sbin/clamd --foreground\n");
		if (!strcmp(s->value[V_CLAMAV_FRESHCLAM], "yes"))
			sb_adds(out, "freshclam - /usr/local/bin/mtactl freshclam\n");
	}
}

void filters_srs_service(const struct settings *s, struct strbuf *out)
{
	/* PostSRSd: rewrites senders of mail leaving for other domains; mail
	 * from our own domains keeps its sender. */
	sb_addf(out, "postsrsd - /usr/sbin/postsrsd -d%s -s" POSTSRSD_SECRET " -upostsrsd -l127.0.0.1 -f%d -r%d",
		settings_primary_domain(s), SRS_FORWARD_PORT, SRS_REVERSE_PORT);
	for (size_t i = 1; i < s->domains.len; i++)
		sb_addf(out, " -X%s", s->domains.item[i]);
	sb_addc(out, '\n');
}

void filters_services(const struct settings *s, struct strbuf *out)
{
	filters_clamav_services(s, out);
	sb_adds(out, "amavis - /usr/sbin/amavisd foreground\n");
	authres_services(s, out);
	/* Mail deferred while amavis (or clamd behind it) starts or restarts
	 * goes on as soon as they answer: Postfix alone would wait minutes. */
	sb_adds(out, "filter-watch - /usr/local/bin/mtactl filter-watch --reason /run/amavis/ "
		     "lmtp:" AMAVIS_INBOUND_SOCKET);
	if (!strcmp(s->value[V_CLAMAV_DAEMON], "yes"))
		sb_adds(out, " clamd:" CLAMD_SOCKET);
	sb_addc(out, '\n');
	if (*s->value[V_RAZOR_REGISTRATION])
		sb_adds(out, "razor once /usr/local/bin/mtactl razor-register\n");
	filters_srs_service(s, out);
	outbound_services(s, out);
}
