<?php
// Roundcube for the demo: the mail server mx1.example.com (its names can be
// changed with WEBMAIL_IMAP_HOST / WEBMAIL_SMTP_HOST), users of example.com.
// Read after /etc/roundcube/defaults.inc.php, which has every other default.

// Made at build time (Dockerfile), owned by www-data.
$config['db_dsnw'] = 'sqlite:////var/lib/roundcube/db/roundcube.db?mode=0640';

// STARTTLS on both, with the certificate verified against the demo's CA
// (entrypoint.sh refuses to start without it).
$tls = ['ssl' => [
    'verify_peer'      => true,
    'verify_peer_name' => true,
    'cafile'           => '/etc/webmail-tls/ca.crt',
]];
$config['imap_host'] = getenv('WEBMAIL_IMAP_HOST') ?: 'tls://mx1.example.com:143';
$config['smtp_host'] = getenv('WEBMAIL_SMTP_HOST') ?: 'tls://mx1.example.com:587';
$config['imap_conn_options'] = $tls;
$config['smtp_conn_options'] = $tls;
// Submission as the user who is logged in, with their own password.
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';

// "demo" logs in as demo@example.com and sends as demo@example.com.
$config['username_domain'] = 'example.com';
$config['mail_domain'] = 'example.com';

// Per container: written at first start by entrypoint.sh.
$config['des_key'] = trim((string) @file_get_contents('/etc/roundcube/des_key'));

// Errors to docker logs (Apache's stdout), not to files in the container.
$config['log_driver'] = 'stdout';
// One line per sent message would be noise here: the mail server logs them.
$config['smtp_log'] = false;
$config['enable_installer'] = false;

$config['product_name'] = 'mta demo';
$config['support_url'] = '';
$config['skin'] = 'elastic';
$config['language'] = 'en_US';
$config['plugins'] = [];
