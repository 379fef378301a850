/* Backup and restore on a made-up /srv (backup/backup.h): the counts of
 * the manifest, --verify passing and then naming a changed, a missing and
 * an added file, restore into a fresh root giving the same bytes, owners,
 * modes and links, restore refusing a used root without touching it, and
 * the manifest parser fed awkward input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "backup/manifest.h"
#include "common/exitcode.h"
#include "common/fileio.h"
#include "common/strbuf.h"

struct tree {
	char top[64], srv[96], bk[96], fresh[96], unlock[128];
};

static void sh(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof cmd);
	assert_int_equal(system(cmd), 0);
}

/* A queue (a complete deferred message, an incomplete incoming one), an
 * mbox with two messages, a maildir message, a DKIM key, a quarantine
 * item, a link, a file name with a space and a percent sign. */
static void tree_make(struct tree *t)
{
	snprintf(t->top, sizeof t->top, "/tmp/test-backup-XXXXXX");
	assert_non_null(mkdtemp(t->top));
	snprintf(t->srv, sizeof t->srv, "%s/srv", t->top);
	snprintf(t->bk, sizeof t->bk, "%s/bk", t->top);
	snprintf(t->fresh, sizeof t->fresh, "%s/fresh", t->top);
	snprintf(t->unlock, sizeof t->unlock, "%s/etc/.docker.unlock", t->fresh);
	sh("mkdir -p %s && cd %s && mkdir -p var/spool/postfix/incoming var/spool/postfix/active var/spool/postfix/deferred/A "
	   "var/spool/postfix/pid 'var/mail/u@x/new' 'var/mail/u@x/cur' 'var/mail/u@x/tmp' etc/postfix "
	   "var/db/dkim var/amavis/quarantine etc/mtactl && "
	   "echo config >etc/postfix/main.cf && echo queued >var/spool/postfix/deferred/A/AB12CD && "
	   "chmod 700 var/spool/postfix/deferred/A/AB12CD && echo half >var/spool/postfix/incoming/EF34 && "
	   "chmod 600 var/spool/postfix/incoming/EF34 && echo 123 >var/spool/postfix/pid/master.pid && "
	   "printf 'From a@x Thu Dec  3 10:00:00 2026\\nhi\\n>From quoted\\n\\nFrom b@x Thu Dec  3 10:00:01 2026\\nho\\n' "
	   ">var/mail/mbox1 && echo m1 >'var/mail/u@x/cur/1764.M1P2.h:2,S' && echo m2 >'var/mail/u@x/new/1765.M3P4.h' && "
	   "echo idx >'var/mail/u@x/dovecot.index.log' && echo key >var/db/dkim/x.test.default.privkey.pem && "
	   "echo txt >var/db/dkim/x.test.default._domainkey.txt && echo spam >var/amavis/quarantine/spam-abc && "
	   "ln -s /etc/somewhere etc/lnk && echo odd >'etc/a b%%c' && chmod 640 'etc/a b%%c' && "
	   "chown 1:2 var/db/dkim/x.test.default.privkey.pem && echo lock >etc/mtactl/volume.lock",
	   t->srv, t->srv);
	/* A fresh volume: the image's layout with the unlock file. */
	sh("mkdir %s", t->bk);
	sh("mkdir -p %s/etc/postfix %s/var/mail %s/var/spool/postfix/deferred && echo pristine >%s/etc/postfix/main.cf "
	   "&& touch %s", t->fresh, t->fresh, t->fresh, t->fresh, t->unlock);
}

static void tree_remove(const struct tree *t)
{
	sh("rm -rf '%s'", t->top);
}

static void load(const char *bk, struct manifest *m)
{
	char path[160];
	snprintf(path, sizeof path, "%s/manifest", bk);
	struct strbuf text, why;
	sb_init(&text);
	sb_init(&why);
	assert_int_equal(file_read(path, &text, 1 << 20), 0);
	manifest_init(m);
	assert_int_equal(manifest_parse(text.buf, text.len, m, &why), 0);
	sb_free(&text);
	sb_free(&why);
}

static void test_backup_counts_and_leaves_out(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	assert_int_equal(backup_run(t.srv, t.bk), EXIT_OK);
	struct manifest m;
	load(t.bk, &m);
	assert_int_equal(m.count[MF_QUEUE], 1);       /* the incomplete one is not acknowledged yet */
	assert_int_equal(m.count[MF_MAILBOX], 4);     /* two in the mbox (">From" is not one), two in the maildir */
	assert_int_equal(m.count[MF_QUARANTINE], 1);
	assert_int_equal(m.count[MF_DKIM], 1);
	assert_non_null(manifest_find(&m, "var/spool/postfix/deferred/A/AB12CD"));
	assert_null(manifest_find(&m, "var/spool/postfix/incoming/EF34"));
	assert_null(manifest_find(&m, "var/spool/postfix/pid/master.pid"));
	assert_non_null(manifest_find(&m, "var/spool/postfix/pid"));
	assert_null(manifest_find(&m, "var/mail/u@x/dovecot.index.log"));
	assert_null(manifest_find(&m, "etc/mtactl/volume.lock"));
	const struct mf_entry *e = manifest_find(&m, "var/db/dkim/x.test.default.privkey.pem");
	assert_non_null(e);
	assert_int_equal(e->uid, 1);
	assert_int_equal(e->gid, 2);
	e = manifest_find(&m, "etc/lnk");
	assert_non_null(e);
	assert_int_equal(e->kind, MF_LINK);
	assert_string_equal(e->target, "/etc/somewhere");
	e = manifest_find(&m, "etc/a b%c");
	assert_non_null(e);
	assert_int_equal(e->mode, 0640);
	manifest_free(&m);
	tree_remove(&t);
}

static void test_verify_names_changed_missing_and_added(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	assert_int_equal(backup_run(t.srv, t.bk), EXIT_OK);
	assert_int_equal(backup_verify(t.bk), EXIT_OK);
	sh("echo changed >%s/data/etc/postfix/main.cf", t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_FAIL);
	sh("echo config >%s/data/etc/postfix/main.cf", t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_OK);
	/* same size, other bytes */
	sh("echo CONFIG >%s/data/etc/postfix/main.cf", t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_FAIL);
	sh("echo config >%s/data/etc/postfix/main.cf && rm %s/data/var/amavis/quarantine/spam-abc", t.bk, t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_FAIL);
	sh("echo spam >%s/data/var/amavis/quarantine/spam-abc && echo x >%s/data/etc/extra", t.bk, t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_FAIL);
	sh("rm %s/data/etc/extra && echo 'end 0' >>%s/manifest", t.bk, t.bk);
	assert_int_equal(backup_verify(t.bk), EXIT_USAGE);
	tree_remove(&t);
}

static void test_restore_gives_the_same_tree(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	assert_int_equal(backup_run(t.srv, t.bk), EXIT_OK);
	assert_int_equal(restore_run(t.bk, t.fresh, t.unlock), EXIT_OK);
	/* the same bytes, owners, modes (what was left out stays out) */
	sh("cd %s && rm -f etc/mtactl/volume.lock var/spool/postfix/incoming/EF34 var/spool/postfix/pid/master.pid "
	   "'var/mail/u@x/dovecot.index.log' && cd %s && rm etc/.docker.unlock && "
	   "diff -r --no-dereference %s %s && "
	   "test \"$(stat -c %%u:%%g:%%a var/db/dkim/x.test.default.privkey.pem)\" = 1:2:644 && "
	   "test \"$(stat -c %%a 'etc/a b%%c')\" = 640 && test \"$(readlink etc/lnk)\" = /etc/somewhere && "
	   "test \"$(stat -c %%Y var/mail/mbox1)\" = \"$(stat -c %%Y %s/var/mail/mbox1)\"",
	   t.srv, t.fresh, t.srv, t.fresh, t.srv);
	tree_remove(&t);
}

static void test_restore_refuses_a_used_volume(void **state)
{
	(void)state;
	struct tree t;
	tree_make(&t);
	assert_int_equal(backup_run(t.srv, t.bk), EXIT_OK);
	/* started once: no unlock file */
	sh("rm %s", t.unlock);
	assert_int_equal(restore_run(t.bk, t.fresh, t.unlock), EXIT_USAGE);
	sh("grep -qx pristine %s/etc/postfix/main.cf", t.fresh);
	/* the unlock file there, but queued mail */
	sh("touch %s && mkdir -p %s/var/spool/postfix/deferred/B && echo q >%s/var/spool/postfix/deferred/B/X1",
	   t.unlock, t.fresh, t.fresh);
	assert_int_equal(restore_run(t.bk, t.fresh, t.unlock), EXIT_USAGE);
	sh("grep -qx pristine %s/etc/postfix/main.cf", t.fresh);
	sh("rm -r %s/var/spool/postfix/deferred/B && mkdir %s/var/mail/someone", t.fresh, t.fresh);
	assert_int_equal(restore_run(t.bk, t.fresh, t.unlock), EXIT_USAGE);
	/* a backup that does not verify restores nothing */
	sh("rmdir %s/var/mail/someone && echo bad >%s/data/etc/postfix/main.cf", t.fresh, t.bk);
	assert_int_equal(restore_run(t.bk, t.fresh, t.unlock), EXIT_USAGE);
	sh("grep -qx pristine %s/etc/postfix/main.cf", t.fresh);
	/* not a backup */
	assert_int_equal(restore_run(t.srv, t.fresh, t.unlock), EXIT_USAGE);
	assert_int_equal(restore_run("relative/dir", t.fresh, t.unlock), EXIT_USAGE);
	tree_remove(&t);
}

static int parses(const char *text)
{
	struct manifest m;
	struct strbuf why;
	manifest_init(&m);
	sb_init(&why);
	int rc = manifest_parse(text, strlen(text), &m, &why);
	if (rc < 0)
		assert_true(why.len > 0);
	sb_free(&why);
	manifest_free(&m);
	return rc;
}

#define HEAD "mtactl-backup 1\ncount queue 0\ncount mailbox 0\ncount quarantine 0\ncount dkim 0\n"
#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_manifest_parser_is_strict(void **state)
{
	(void)state;
	assert_int_equal(parses(HEAD "d 0755 0 0 etc\nf 0644 0 0 0 5 " SHA " etc/a%20b\nl 0 0 etc/l /x\nend 3\n"), 0);
	assert_int_equal(parses(HEAD "end 0\n"), 0);
	assert_int_equal(parses(""), -1);
	assert_int_equal(parses(HEAD), -1);                                  /* no end: unfinished */
	assert_int_equal(parses(HEAD "end 0"), -1);                          /* no newline */
	assert_int_equal(parses(HEAD "end 1\n"), -1);                        /* wrong count */
	assert_int_equal(parses(HEAD "end 0\nd 0755 0 0 etc\n"), -1);        /* after the end */
	assert_int_equal(parses("mtactl-backup 2\n" "end 0\n"), -1);
	assert_int_equal(parses("mtactl-backup 1\ncount mailbox 0\ncount queue 0\ncount quarantine 0\n"
				"count dkim 0\nend 0\n"), -1);               /* counts out of order */
	assert_int_equal(parses(HEAD "d 755 0 0 etc\nend 1\n"), -1);         /* mode */
	assert_int_equal(parses(HEAD "d 0855 0 0 etc\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 -1 0 etc\nend 1\n"), -1);       /* owner */
	assert_int_equal(parses(HEAD "d 0755 4294967296 0 etc\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 01 0 etc\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 /etc\nend 1\n"), -1);       /* absolute */
	assert_int_equal(parses(HEAD "d 0755 0 0 ..\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 etc\nd 0755 0 0 etc/..\nend 2\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 etc\nd 0755 0 0 etc//x\nend 2\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 etc/x\nend 1\n"), -1);      /* parent not listed */
	assert_int_equal(parses(HEAD "l 0 0 etc /\nd 0755 0 0 etc/x\nend 2\n"), -1); /* parent a link */
	assert_int_equal(parses(HEAD "d 0755 0 0 etc\nd 0755 0 0 etc\nend 2\n"), -1); /* repeated */
	assert_int_equal(parses(HEAD "d 0755 0 0 var\nd 0755 0 0 etc\nend 2\n"), -1); /* order */
	assert_int_equal(parses(HEAD "d 0755 0 0 a%2fb\nend 1\n"), -1);      /* lower-case, and '/' needs none */
	assert_int_equal(parses(HEAD "d 0755 0 0 a%41\nend 1\n"), -1);       /* 'A' needs no escape */
	assert_int_equal(parses(HEAD "d 0755 0 0 a%00\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 a%2\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 a%\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "d 0755 0 0 a%0A\nend 1\n"), 0);
	assert_int_equal(parses(HEAD "d 0755 0 0  etc\nend 1\n"), -1);       /* empty field */
	assert_int_equal(parses(HEAD "d 0755 0 0 etc \nend 1\n"), -1);
	assert_int_equal(parses(HEAD "f 0644 0 0 0 5 " SHA "0 a\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "f 0644 0 0 0 5 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 a\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "f 0644 0 0 99999999999999999999 5 " SHA " a\nend 1\n"), -1);
	assert_int_equal(parses(HEAD "x 1\nend 0\n"), -1);
}

static void test_manifest_round_trip(void **state)
{
	(void)state;
	struct manifest m, back;
	manifest_init(&m);
	manifest_add(&m, MF_DIR, "z", NULL)->mode = 0700;
	manifest_add(&m, MF_DIR, "a", NULL)->mode = 02775;
	struct mf_entry *e = manifest_add(&m, MF_FILE, "a/f\n%\xff", NULL);
	e->size = 12;
	e->mtime = 1764756000;
	memcpy(e->sha256, SHA, 65);
	manifest_add(&m, MF_LINK, "z/l", "../a b");
	m.count[MF_MAILBOX] = 7;
	manifest_sort(&m);
	struct strbuf text, why;
	sb_init(&text);
	sb_init(&why);
	manifest_render(&m, &text);
	manifest_init(&back);
	assert_int_equal(manifest_parse(text.buf, text.len, &back, &why), 0);
	assert_int_equal(back.n, 4);
	assert_int_equal(back.count[MF_MAILBOX], 7);
	const struct mf_entry *f = manifest_find(&back, "a/f\n%\xff");
	assert_non_null(f);
	assert_int_equal(f->size, 12);
	assert_int_equal(f->mtime, 1764756000);
	assert_string_equal(manifest_find(&back, "z/l")->target, "../a b");
	assert_int_equal(manifest_find(&back, "a")->mode, 02775);
	sb_free(&text);
	sb_free(&why);
	manifest_free(&m);
	manifest_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_counts_and_leaves_out),
		cmocka_unit_test(test_verify_names_changed_missing_and_added),
		cmocka_unit_test(test_restore_gives_the_same_tree),
		cmocka_unit_test(test_restore_refuses_a_used_volume),
		cmocka_unit_test(test_manifest_parser_is_strict),
		cmocka_unit_test(test_manifest_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
