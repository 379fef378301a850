/* Validators of single variable values, as the variable table uses them.
 * Each returns whether the value is acceptable and, when not, appends
 * what was expected to `why`. Cross-variable rules live in settings.c. */
#ifndef MTACTL_CONFIG_CHECKS_H
#define MTACTL_CONFIG_CHECKS_H

#include "config/vars.h"

var_check_fn check_domains, check_mailboxes, check_aliases, check_relay, check_bytes,
	check_syslog_level, check_tls_level, check_yes_no, check_transport, check_path,
	check_host_port, check_ldap_host, check_dn, check_ldap_filter, check_ldap_attrs,
	check_one_line, check_clientauth, check_readable_file, check_readable_files,
	check_dovecot_location, check_ldap_attrs_list, check_destiny, check_score, check_zero_one,
	check_amavis_log_level, check_dkim_bits, check_dkim_selector, check_dkim_key, check_razor,
	check_migrate, check_resolver_options, check_address, check_password;

#endif
