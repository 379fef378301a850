/* Validators of the deliverability variables, as the variable table
 * uses them (DOCTOR_PUBLIC_ADDRESSES, DOCTOR_RESOLVER, DOCTOR_DNSBL). */
#ifndef MTACTL_DELIVERABILITY_VARCHECKS_H
#define MTACTL_DELIVERABILITY_VARCHECKS_H

#include "config/vars.h"

var_check_fn check_ip_addresses, check_ipv4_address, check_dnsbl_zones;

#endif
