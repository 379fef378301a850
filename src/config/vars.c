/* The variable table. Add a variable here and everything else (validation,
 * `mtactl env`, the README reference) follows; the generator reads the
 * validated values through settings.h. */
#include "config/vars.h"

#include <stdlib.h>

#include "common/common.h"
#include "config/checks.h"
#include "config/parse.h"
#include "config/proxy.h"
#include "deliverability/varchecks.h"
#include "metrics/listen.h"
#include "outbound/outbound.h"

const struct var_def var_table[VAR_COUNT] = {
	[V_ACME_FILE] = {
		.name = "ACME_FILE", .def = "/acme/acme.json", .images = IMAGES_BASE_UP,
		.flags = VAR_EVERY_START | VAR_EMPTY_IS_VALUE, .check = check_path,
		.doc = "Traefik acme.json (v1 or v2) to take this host's certificate from, watched for changes; empty disables.",
	},
	[V_ACME_POSTHOOK] = {
		.name = "ACME_POSTHOOK", .def = "postfix reload", .images = IMAGES_BASE_UP,
		.flags = VAR_EVERY_START | VAR_EMPTY_IS_VALUE, .check = check_one_line,
		.doc = "Command run after a new ACME certificate is installed (Dovecot is reloaded too); empty disables.",
	},
	[V_DNS_RESOLVER] = {
		.name = "DNS_RESOLVER", .def = "docker", .images = IMAGES_FILTERS, .flags = VAR_EVERY_START,
		.check = check_dns_resolver,
		.doc = "docker: the resolver Docker gives; unbound: a DNSSEC-validating unbound in the container (recursion from the root), for DANE where Docker's does not validate.",
	},
	[V_DOCKER_UNLOCK_FILE] = {
		.name = "DOCKER_UNLOCK_FILE", .def = "/srv/etc/.docker.unlock",
		.images = IMAGES_ALL, .flags = VAR_EVERY_START, .check = check_path,
		.doc = "While this file exists the next start writes the configuration, then removes it.",
	},
	[V_DOCTOR_DNSBL] = {
		.name = "DOCTOR_DNSBL", .def = "zen.spamhaus.org bl.spamcop.net b.barracudacentral.org",
		.images = IMAGES_ALL, .flags = VAR_EVERY_START | VAR_EMPTY_IS_VALUE, .check = check_dnsbl_zones,
		.doc = "DNS blocklists `mtactl doctor` looks this host's IPv4 addresses up in (space-separated zones); empty skips the check.",
	},
	[V_DOCTOR_PUBLIC_ADDRESSES] = {
		.name = "DOCTOR_PUBLIC_ADDRESSES", .def = "", .def_doc = "the container's interface addresses",
		.images = IMAGES_ALL, .flags = VAR_EVERY_START, .check = check_ip_addresses,
		.doc = "The addresses senders reach this host at (behind NAT or Docker's port mapping), for `mtactl dns` and `mtactl doctor`.",
	},
	[V_DOCTOR_RESOLVER] = {
		.name = "DOCTOR_RESOLVER", .def = "", .def_doc = "the container's resolver",
		.images = IMAGES_ALL, .flags = VAR_EVERY_START, .check = check_ipv4_address,
		.doc = "IPv4 address of the resolver `mtactl doctor` asks, for the view from outside (Docker's DNS answers the container's own host name with its private address).",
	},
	[V_FORCE_CONFIG] = {
		.name = "FORCE_CONFIG", .def = "", .images = IMAGES_ALL, .flags = VAR_EVERY_START,
		.doc = "Any value: write the configuration from the environment at every start, even on a configured volume.",
	},
	[V_MAIL_ALIASES] = {
		.name = "MAIL_ALIASES", .def = "", .images = IMAGES_ALL, .check = check_aliases,
		.doc = "Space-separated alias:address[,address...]; a bare name is at the primary domain; @domain:address catches the unknown addresses of a MAIL_DOMAIN domain.",
	},
	[V_MAIL_BOXES] = {
		.name = "MAIL_BOXES", .def = "", .images = IMAGES_ALL, .check = check_mailboxes,
		.doc = "Space-separated address or address:mailbox accepted for delivery; a mailbox ending in / is a maildir.",
	},
	[V_MAIL_DOMAIN] = {
		.name = "MAIL_DOMAIN", .def = "", .def_doc = "hostname minus its first label",
		.images = IMAGES_ALL, .check = check_domains,
		.doc = "Space-separated domains this server is the final destination for; the first is primary.",
	},
	[V_MESSAGE_SIZE_LIMIT] = {
		.name = "MESSAGE_SIZE_LIMIT", .def = "10240000", .images = IMAGES_ALL,
		.flags = VAR_POSTCONF, .check = check_bytes,
		.doc = "Largest message accepted, in bytes, envelope included.",
	},
	[V_METRICS_LISTEN] = {
		.name = "METRICS_LISTEN", .def = "", .images = IMAGES_ALL, .flags = VAR_EVERY_START,
		.check = check_metrics_listen,
		.doc = "Serve Prometheus metrics at /metrics on :PORT (every address), ADDRESS:PORT or [IPv6]:PORT, e.g. :9154; empty: off (see Metrics).",
	},
	[V_METRICS_PASSWORD] = {
		.name = "METRICS_PASSWORD", .def = "", .images = IMAGES_ALL, .flags = VAR_SECRET | VAR_EVERY_START,
		.check = check_password,
		.doc = "Basic-auth password of /metrics (any user name, e.g. metrics); empty: no authentication.",
	},
	[V_REGEX_ALIAS] = {
		.name = "REGEX_ALIAS", .def = "", .images = IMAGES_ALL, .check = check_regexp_table,
		.doc = "Postfix regexp table lines rewriting recipients, e.g. '/^(.+)[+-].*@(.+)$/ $1@$2'.",
	},
	[V_RES_OPTIONS] = {
		.name = "RES_OPTIONS", .def = "timeout:1 attempts:2", .images = IMAGES_ALL,
		.flags = VAR_EVERY_START, .check = check_resolver_options,
		.doc = "Resolver options of every service (resolv.conf(5)); bounds each DNS lookup, so an unanswering resolver delays a reply by seconds, not minutes.",
	},
	[V_RSPAMD_PASSWORD] = {
		.name = "RSPAMD_PASSWORD", .def = "", .images = IMAGES_RSPAMD, .flags = VAR_SECRET,
		.check = check_password,
		.doc = "Password of rspamd's web interface on port 11334 (history, statistics, learning); without it the interface is not served.",
	},
	[V_SMTP_RELAY_HOSTAUTH] = {
		.name = "SMTP_RELAY_HOSTAUTH", .def = "", .images = IMAGES_ALL, .flags = VAR_SECRET,
		.credentials_from = 2,
		.check = check_relay,
		.doc = "Send all outgoing mail through \"host[:port] [user:password]\", with SASL when credentials are given.",
	},
	[V_SMTP_TLS_CA_FILE] = {
		.name = "SMTP_TLS_CA_FILE", .def = "", .images = IMAGES_ALL, .check = check_ca_file,
		.doc = "PEM file of a CA to trust, besides the system's, for outgoing TLS and the MTA-STS policy fetch (a private CA).",
	},
	[V_SMTP_TLS_SECURITY_LEVEL] = {
		.name = "SMTP_TLS_SECURITY_LEVEL", .def = "",
		.def_doc = "dane when the resolver validates DNSSEC, else may (probed at every start)",
		.images = IMAGES_ALL,
		.flags = VAR_POSTCONF, .check = check_tls_level,
		.doc = "TLS of outgoing SMTP: none, may (opportunistic), dane (TLSA-verified where published), encrypt, verify, ...",
	},
	[V_SMTP_TLS_WRAPPERMODE] = {
		.name = "SMTP_TLS_WRAPPERMODE", .def = "no", .images = IMAGES_ALL,
		.flags = VAR_POSTCONF, .check = check_yes_no,
		.doc = "yes: outgoing SMTP uses implicit TLS (SMTPS, port 465); needs SMTP_TLS_SECURITY_LEVEL=encrypt or stronger.",
	},
	[V_SYSLOG_LEVEL] = {
		.name = "SYSLOG_LEVEL", .def = "5", .images = IMAGES_ALL, .flags = VAR_EVERY_START,
		.check = check_syslog_level,
		.doc = "Log messages up to this level: 0 emerg ... 5 notice ... 6 info ... 7 debug.",
	},
	[V_VIRTUAL_TRANSPORT] = {
		.name = "VIRTUAL_TRANSPORT", .def = "", .def_doc = "local mailboxes under /var/mail",
		.images = IMAGES_ALL, .flags = VAR_POSTCONF, .check = check_transport,
		.doc = "Where accepted mail goes: empty for /var/mail, or transport:nexthop with a delivery service of master.cf, e.g. lmtp:host:port or lmtp:unix:private/transport.",
	},
	[V_DOVECOT_AUTH_USERNAME_FORMAT] = {
		.name = "DOVECOT_AUTH_USERNAME_FORMAT", .def = "%Lu", .images = IMAGES_BASE_UP,
		.check = check_one_line,
		.doc = "How Dovecot normalizes user names, e.g. %Ln to drop the domain part.",
	},
	[V_DOVECOT_DISABLE_PLAINTEXT_AUTH] = {
		.name = "DOVECOT_DISABLE_PLAINTEXT_AUTH", .def = "yes", .images = IMAGES_BASE_UP,
		.check = check_yes_no,
		.doc = "no: allow IMAP/POP3 passwords without TLS (for testing only).",
	},
	[V_DOVECOT_LMTP_LISTEN] = {
		.name = "DOVECOT_LMTP_LISTEN", .def = "", .images = IMAGES_BASE_UP, .check = check_lmtp_listen,
		.doc = "Dovecot's LMTP over TCP for other MTAs (VIRTUAL_TRANSPORT=lmtp:this-host:24 there): *:24, 0.0.0.0:24 or [addr]:port; needs VIRTUAL_TRANSPORT=lmtp:unix:private/transport here and DOVECOT_LMTP_TRUSTED_NETWORKS; empty: off.",
	},
	[V_DOVECOT_LMTP_TRUSTED_NETWORKS] = {
		.name = "DOVECOT_LMTP_TRUSTED_NETWORKS", .def = "", .images = IMAGES_BASE_UP,
		.check = check_trusted_networks,
		.doc = "The MTAs that may deliver over DOVECOT_LMTP_LISTEN: comma- or space-separated addresses or networks (CIDR); others are refused.",
	},
	[V_DOVECOT_MAIL_LOCATION] = {
		.name = "DOVECOT_MAIL_LOCATION", .def = "mbox:/var/mail/%Lu", .images = IMAGES_BASE_UP,
		.check = check_dovecot_location,
		.doc = "Where Dovecot keeps mailboxes when VIRTUAL_TRANSPORT=lmtp:unix:private/transport.",
	},
	[V_LDAP_BIND_DN] = {
		.name = "LDAP_BIND_DN", .def = "", .images = IMAGES_ALL, .check = check_dn,
		.doc = "DN to bind as for lookups (anonymous when empty).",
	},
	[V_LDAP_BIND_PW] = {
		.name = "LDAP_BIND_PW", .def = "", .images = IMAGES_ALL, .flags = VAR_SECRET,
		.check = check_one_line,
		.doc = "Password of LDAP_BIND_DN.",
	},
	[V_LDAP_GROUP_BASE] = {
		.name = "LDAP_GROUP_BASE", .def = "", .images = IMAGES_ALL, .check = check_dn,
		.doc = "Base DN of group searches, e.g. ou=groups,dc=example,dc=com.",
	},
	[V_LDAP_HOST] = {
		.name = "LDAP_HOST", .def = "", .images = IMAGES_ALL, .check = check_ldap_host,
		.doc = "LDAP server: auth, auth:389 or ldap://auth:389.",
	},
	[V_LDAP_QUERY_ATTRS_PASS] = {
		.name = "LDAP_QUERY_ATTRS_PASS", .def = "", .images = IMAGES_BASE_UP, .check = check_ldap_attrs,
		.doc = "Enables LDAP SASL with authentication binds: <attr>=user, e.g. uid=user.",
	},
	[V_LDAP_QUERY_ATTRS_USER] = {
		.name = "LDAP_QUERY_ATTRS_USER", .def = "mail", .images = IMAGES_ALL, .check = check_ldap_attrs_list,
		.doc = "Attribute the mailbox, alias and expand lookups return.",
	},
	[V_LDAP_QUERY_FILTER_ALIAS] = {
		.name = "LDAP_QUERY_FILTER_ALIAS", .def = "", .images = IMAGES_ALL, .check = check_ldap_filter,
		.doc = "Alias lookup filter (%s is the address), e.g. (&(objectclass=posixAccount)(aliases=%s)).",
	},
	[V_LDAP_QUERY_FILTER_EXPAND] = {
		.name = "LDAP_QUERY_FILTER_EXPAND", .def = "", .images = IMAGES_ALL, .check = check_ldap_filter,
		.doc = "Expands a group member uid to its address, e.g. (&(objectclass=posixAccount)(uid=%s)).",
	},
	[V_LDAP_QUERY_FILTER_GROUP] = {
		.name = "LDAP_QUERY_FILTER_GROUP", .def = "", .images = IMAGES_ALL, .check = check_ldap_filter,
		.doc = "Group lookup filter (%s is the address), e.g. (&(objectclass=posixGroup)(mail=%s)).",
	},
	[V_LDAP_QUERY_FILTER_PASS] = {
		.name = "LDAP_QUERY_FILTER_PASS", .def = "", .def_doc = "LDAP_QUERY_FILTER_USER with (mail=%s) as (<attr>=%u)",
		.images = IMAGES_BASE_UP, .check = check_ldap_filter,
		.doc = "Filter finding the DN to bind as when authenticating.",
	},
	[V_LDAP_QUERY_FILTER_USER] = {
		.name = "LDAP_QUERY_FILTER_USER", .def = "", .images = IMAGES_ALL, .check = check_ldap_filter,
		.doc = "Mailbox lookup filter (%s is the address), e.g. (&(objectclass=posixAccount)(mail=%s)).",
	},
	[V_LDAP_USER_BASE] = {
		.name = "LDAP_USER_BASE", .def = "", .images = IMAGES_ALL, .check = check_dn,
		.doc = "Base DN of user searches, e.g. ou=users,dc=example,dc=com.",
	},
	[V_MTA_STS] = {
		.name = "MTA_STS", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "yes: outgoing mail to a domain with an MTA-STS policy in enforce mode (RFC 8461) gets verified TLS or waits in the queue; no: policies are not looked up.",
	},
	[V_MYSQL_DATABASE] = {
		.name = "MYSQL_DATABASE", .def = "", .images = IMAGES_ALL, .check = check_one_line,
		.doc = "MySQL/MariaDB database of the lookups.",
	},
	[V_MYSQL_HOST] = {
		.name = "MYSQL_HOST", .def = "", .images = IMAGES_ALL, .check = check_host_port,
		.doc = "MySQL/MariaDB server: db or db:3306.",
	},
	[V_MYSQL_PASSWORD] = {
		.name = "MYSQL_PASSWORD", .def = "", .images = IMAGES_ALL, .flags = VAR_SECRET,
		.check = check_one_line,
		.doc = "Password of MYSQL_USER.",
	},
	[V_MYSQL_QUERY_ALIAS] = {
		.name = "MYSQL_QUERY_ALIAS", .def = "", .images = IMAGES_ALL, .check = check_one_line,
		.doc = "Alias query (%s is the address) returning target addresses.",
	},
	[V_MYSQL_QUERY_PASS] = {
		.name = "MYSQL_QUERY_PASS", .def = "", .images = IMAGES_BASE_UP, .check = check_one_line,
		.doc = "Enables MySQL SASL: Dovecot password_query, e.g. select password, userid as user from users where userid = '%u'.",
	},
	[V_MYSQL_QUERY_USER] = {
		.name = "MYSQL_QUERY_USER", .def = "", .images = IMAGES_ALL, .check = check_one_line,
		.doc = "Mailbox query (%s is the address), e.g. select mail from users where mail='%s' limit 1.",
	},
	[V_MYSQL_USER] = {
		.name = "MYSQL_USER", .def = "", .images = IMAGES_ALL, .check = check_one_line,
		.doc = "MySQL user of the lookups.",
	},
	[V_PROXY_PROTOCOL] = {
		.name = "PROXY_PROTOCOL", .def = "", .images = IMAGES_ALL, .check = check_proxy_protocol,
		.doc = "haproxy: 25, 465, 587 and Dovecot's 143/993/110/995 expect a PROXY v1/v2 header from a balancer in PROXY_TRUSTED_NETWORKS and use the client address it gives; connections without one get no service. Empty: off.",
	},
	[V_PROXY_TRUSTED_NETWORKS] = {
		.name = "PROXY_TRUSTED_NETWORKS", .def = "", .images = IMAGES_ALL, .check = check_trusted_networks,
		.doc = "The balancers allowed to send PROXY headers (required with PROXY_PROTOCOL): comma- or space-separated addresses or networks (CIDR).",
	},
	[V_SMTPD_SASL_CLIENTAUTH] = {
		.name = "SMTPD_SASL_CLIENTAUTH", .def = "", .images = IMAGES_BASE_UP, .flags = VAR_SECRET,
		.credentials_from = 1,
		.check = check_clientauth,
		.doc = "Space-separated user:{SCHEME}password allowed to submit on 465/587 (doveadm pw makes hashes).",
	},
	[V_SMTPD_SASL_IMAPHOST] = {
		.name = "SMTPD_SASL_IMAPHOST", .def = "", .images = IMAGES_BASE_UP, .check = check_host_port,
		.doc = "Authenticate submission users against this IMAP server: host or host:port.",
	},
	[V_SMTPD_TLS_CERT_FILE] = {
		.name = "SMTPD_TLS_CERT_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "RSA certificate (PEM) for inbound TLS; enables TLS.",
	},
	[V_SMTPD_TLS_CHAIN_FILES] = {
		.name = "SMTPD_TLS_CHAIN_FILES", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_files,
		.doc = "Key and certificate chain files (PEM), instead of the *_CERT_FILE/*_KEY_FILE pairs.",
	},
	[V_SMTPD_TLS_DCERT_FILE] = {
		.name = "SMTPD_TLS_DCERT_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "DSA certificate (PEM) for inbound TLS.",
	},
	[V_SMTPD_TLS_DKEY_FILE] = {
		.name = "SMTPD_TLS_DKEY_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "DSA private key (PEM) of SMTPD_TLS_DCERT_FILE.",
	},
	[V_SMTPD_TLS_ECCERT_FILE] = {
		.name = "SMTPD_TLS_ECCERT_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "ECDSA certificate (PEM) for inbound TLS.",
	},
	[V_SMTPD_TLS_ECKEY_FILE] = {
		.name = "SMTPD_TLS_ECKEY_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "ECDSA private key (PEM) of SMTPD_TLS_ECCERT_FILE.",
	},
	[V_SMTPD_TLS_KEY_FILE] = {
		.name = "SMTPD_TLS_KEY_FILE", .def = "", .images = IMAGES_ALL, .flags = VAR_POSTCONF,
		.check = check_readable_file,
		.doc = "RSA private key (PEM, unencrypted) of SMTPD_TLS_CERT_FILE.",
	},
	[V_SMTPD_USE_TLS] = {
		.name = "SMTPD_USE_TLS", .def = "", .images = IMAGES_ALL, .check = check_yes_no,
		.doc = "yes: inbound TLS; with no certificate given, a self-signed one is made at first start.",
	},
	[V_ARC_SEAL] = {
		.name = "ARC_SEAL", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "yes: mail forwarded off the host gets an ARC set signed with the primary domain's DKIM key (needs AUTH_RESULTS=yes).",
	},
	[V_ARC_TRUSTED_SIGNERS] = {
		.name = "ARC_TRUSTED_SIGNERS", .def = "", .images = IMAGES_FILTERS, .check = check_domains,
		.doc = "Space-separated forwarders (ARC-Seal d= domains) whose valid ARC chain exempts mail from DMARC reject and quarantine.",
	},
	[V_AUTH_RESULTS] = {
		.name = "AUTH_RESULTS", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "yes: inbound mail gets one Authentication-Results header (SPF, DKIM, ARC, DMARC); no turns this, DMARC_ENFORCE and ARC_SEAL off.",
	},
	[V_CLAMAV_DAEMON] = {
		.name = "CLAMAV_DAEMON", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "no: run without clamd (no virus scanning) on hosts with little memory.",
	},
	[V_CLAMAV_FRESHCLAM] = {
		.name = "CLAMAV_FRESHCLAM", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "no: do not run freshclam (offline hosts; the signature database is provided otherwise).",
	},
	[V_DKIM_KEYBITS] = {
		.name = "DKIM_KEYBITS", .def = "2048", .images = IMAGES_FILTERS, .check = check_dkim_bits,
		.doc = "Size in bits of a DKIM key made at first start (1024 to 4096).",
	},
	[V_DKIM_PRIVATEKEY] = {
		.name = "DKIM_PRIVATEKEY", .def = "", .images = IMAGES_FILTERS, .flags = VAR_SECRET,
		.check = check_dkim_key,
		.doc = "DKIM private key (PEM, with or without the BEGIN/END lines); made when none exists.",
	},
	[V_DKIM_SELECTOR] = {
		.name = "DKIM_SELECTOR", .def = "default", .images = IMAGES_FILTERS, .check = check_dkim_selector,
		.doc = "DKIM selector: the key's DNS record is SELECTOR._domainkey.MAIL_DOMAIN.",
	},
	[V_DMARC_ENFORCE] = {
		.name = "DMARC_ENFORCE", .def = "yes", .images = IMAGES_FILTERS, .check = check_yes_no,
		.doc = "yes: mail failing DMARC is refused (p=reject) or quarantined (p=quarantine); no only records the result.",
	},
	[V_DMARC_REPORTS] = {
		.name = "DMARC_REPORTS", .def = "no", .images = IMAGES_RSPAMD, .check = check_yes_no,
		.doc = "yes: once a day, DMARC aggregate reports (RFC 7489) on the mail received are sent to the rua addresses of the sender domains.",
	},
	[V_DMARC_REPORTS_FROM] = {
		.name = "DMARC_REPORTS_FROM", .def = "", .def_doc = "noreply-dmarc@ the primary domain",
		.images = IMAGES_RSPAMD, .check = check_address,
		.doc = "The sender of the DMARC aggregate reports.",
	},
	[V_FINAL_BAD_HEADER_DESTINY] = {
		.name = "FINAL_BAD_HEADER_DESTINY", .def = "D_PASS", .images = IMAGES_FILTERS, .check = check_destiny,
		.doc = "What happens to mail with bad headers: D_PASS, D_BOUNCE, D_REJECT or D_DISCARD.",
	},
	[V_FINAL_BANNED_DESTINY] = {
		.name = "FINAL_BANNED_DESTINY", .def = "D_DISCARD", .images = IMAGES_FILTERS, .check = check_destiny,
		.doc = "What happens to mail with banned attachments (quarantined unless D_PASS).",
	},
	[V_FINAL_SPAM_DESTINY] = {
		.name = "FINAL_SPAM_DESTINY", .def = "D_PASS", .images = IMAGES_FILTERS, .check = check_destiny,
		.doc = "What happens to spam above SA_KILL_LEVEL_DEFLT (quarantined unless D_PASS).",
	},
	[V_FINAL_VIRUS_DESTINY] = {
		.name = "FINAL_VIRUS_DESTINY", .def = "D_DISCARD", .images = IMAGES_FILTERS, .check = check_destiny,
		.doc = "What happens to mail with a virus (quarantined unless D_PASS).",
	},
	[V_KOPANO_SPAMD_LIB] = {
		.name = "KOPANO_SPAMD_LIB", .def = "/var/lib/kopano/spamd", .images = IMAGES_FILTERS,
		.flags = VAR_EVERY_START, .check = check_path,
		.doc = "When this directory exists, files put in its spam/ and ham/ are learned by SpamAssassin.",
	},
	[V_LOG_LEVEL] = {
		.name = "LOG_LEVEL", .def = "0", .images = IMAGES_FILTERS, .check = check_amavis_log_level,
		.doc = "amavis log level, 0 to 5 (shown when SYSLOG_LEVEL is 7).",
	},
	[V_RAZOR_REGISTRATION] = {
		.name = "RAZOR_REGISTRATION", .def = "", .images = IMAGES_FULL, .flags = VAR_SECRET,
		.credentials_from = 1, .check = check_razor,
		.doc = "Register a Razor identity: user:password, user: or : (the server assigns what is empty).",
	},
	[V_SA_DEBUG] = {
		.name = "SA_DEBUG", .def = "0", .images = IMAGES_FULL, .check = check_zero_one,
		.doc = "1: SpamAssassin debug logging (shown when SYSLOG_LEVEL is 7).",
	},
	[V_SA_KILL_LEVEL_DEFLT] = {
		.name = "SA_KILL_LEVEL_DEFLT", .def = "6.9", .images = IMAGES_FILTERS, .check = check_score,
		.doc = "Spam score from which FINAL_SPAM_DESTINY applies.",
	},
	[V_SA_TAG2_LEVEL_DEFLT] = {
		.name = "SA_TAG2_LEVEL_DEFLT", .def = "6.2", .images = IMAGES_FILTERS, .check = check_score,
		.doc = "Spam score from which X-Spam-Flag: YES and the subject tag are added.",
	},
	[V_SA_TAG_LEVEL_DEFLT] = {
		.name = "SA_TAG_LEVEL_DEFLT", .def = "2.0", .images = IMAGES_FILTERS, .check = check_score,
		.doc = "Spam score from which X-Spam-Status headers are added (for MAIL_DOMAIN recipients).",
	},
	[V_MIGRATE_CONFIG] = {
		.name = "MIGRATE_CONFIG", .def = "", .images = IMAGES_ALL, .flags = VAR_EVERY_START,
		.check = check_migrate,
		.doc = "The old image's volume fixes (1 or all); fix 1, data ownership, is now done at every start.",
	},
};

static int var_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct var_def *)elem)->name);
}

const struct var_def *var_find(const char *name)
{
	return bsearch(name, var_table, VAR_COUNT, sizeof var_table[0], var_cmp);
}

const char *var_env(enum var_id id)
{
	const char *v = getenv(var_table[id].name);
	if (v && (*v || (var_table[id].flags & VAR_EMPTY_IS_VALUE)))
		return v;
	return var_table[id].def;
}

const char *image_name(enum image image)
{
	static const char *const names[IMAGE_COUNT] = {
		[IMAGE_MINI] = "mini", [IMAGE_BASE] = "base", [IMAGE_FULL] = "full",
		[IMAGE_RSPAMD] = "rspamd"};
	return names[image];
}

const char *image_set_name(unsigned images)
{
	switch (images) {
	case IMAGES_ALL: return "all";
	case IMAGES_BASE_UP: return "base, full, rspamd";
	case IMAGES_FILTERS: return "full, rspamd";
	case IMAGES_FULL: return "full";
	case IMAGES_RSPAMD: return "rspamd";
	default: return "?";
	}
}

bool image_has_dovecot(enum image image)
{
	return image != IMAGE_MINI;
}
