/* Which deferred messages wait for the content filter, read from
 * `postqueue -j` output (filter-watch), and the probes of the daemons
 * against a socket that is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health/probe.h"
#include "queue/filter_watch.h"

static const char *const amavis[] = {"/run/amavis/"};

static size_t waiting(const char *text, struct strlist *ids)
{
	strlist_free(ids);
	strlist_init(ids);
	return queue_waiting_for(text, strlen(text), amavis, 1, ids);
}

static void test_waiting_for_filter(void **state)
{
	(void)state;
	struct strlist ids;
	strlist_init(&ids);
	const char *q =
		"{\"queue_name\": \"deferred\", \"queue_id\": \"19D33148BBC\", \"recipients\": ["
		"{\"address\": \"a@example.com\", \"delay_reason\": \"delivered\"},"
		"{\"address\": \"b@example.com\", \"delay_reason\": \"connect to mx1.example.com"
		"[/run/amavis/inbound.sock]: No such file or directory\"}]}\n"
		"{\"queue_name\": \"deferred\", \"queue_id\": \"8BC7315A18D\", \"recipients\": ["
		"{\"address\": \"x@remote.test\", \"delay_reason\": \"Host not found\"}]}\n"
		"{\"queue_name\": \"active\", \"queue_id\": \"AAA\", \"recipients\": ["
		"{\"delay_reason\": \"/run/amavis/inbound.sock\"}]}\n"
		"{\"queue_name\": \"deferred\", \"queue_id\": \"BBB\", \"recipients\": ["
		"{\"delay_reason\": \"host mx1[/run/amavis/inbound.sock] said: 451 4.5.0 virus_scan FAILED\"}]}";
	assert_int_equal(waiting(q, &ids), 2);
	assert_string_equal(ids.item[0], "19D33148BBC");
	assert_string_equal(ids.item[1], "BBB"); /* the last line needs no newline */
	strlist_free(&ids);
}

static void test_waiting_awkward(void **state)
{
	(void)state;
	struct strlist ids;
	strlist_init(&ids);
	assert_int_equal(waiting("", &ids), 0);
	assert_int_equal(waiting("\n\n\n", &ids), 0);
	assert_int_equal(waiting("not json\n{\n}\n[1,2]\n\"str\"\n", &ids), 0);
	/* a queue id that could be an option or a path is never passed on */
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_id\":\"-f\",\"recipients\":"
				 "[{\"delay_reason\":\"/run/amavis/x\"}]}", &ids), 0);
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_id\":\"../x\",\"recipients\":"
				 "[{\"delay_reason\":\"/run/amavis/x\"}]}", &ids), 0);
	/* wrong types and missing fields */
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_id\":7,\"recipients\":"
				 "[{\"delay_reason\":\"/run/amavis/x\"}]}", &ids), 0);
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_id\":\"A1\",\"recipients\":"
				 "{\"delay_reason\":\"/run/amavis/x\"}}", &ids), 0);
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_id\":\"A1\",\"recipients\":"
				 "[{\"delay_reason\":null}, 5, \"x\"]}", &ids), 0);
	/* duplicate keys are refused rather than guessed at */
	assert_int_equal(waiting("{\"queue_name\":\"deferred\",\"queue_name\":\"deferred\",\"queue_id\":\"A1\","
				 "\"recipients\":[{\"delay_reason\":\"/run/amavis/x\"}]}", &ids), 0);
	/* an empty match string matches nothing */
	static const char *const empty[] = {""};
	const char *one = "{\"queue_name\":\"deferred\",\"queue_id\":\"A1\",\"recipients\":"
			  "[{\"delay_reason\":\"anything\"}]}";
	assert_int_equal(queue_waiting_for(one, strlen(one), empty, 1, &ids), 0);
	strlist_free(&ids);
}

static void test_probes_without_daemon(void **state)
{
	(void)state;
	struct strbuf why;
	sb_init(&why);
	assert_false(probe_smtp_unix("/nonexistent/mtactl-test.sock", true, 200, &why));
	assert_non_null(strstr(why.buf, "/nonexistent/mtactl-test.sock"));
	sb_reset(&why);
	assert_false(probe_clamd("/nonexistent/clamd.ctl", 200, &why));
	assert_non_null(strstr(why.buf, "clamd.ctl"));
	sb_reset(&why);
	char longpath[200];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = '\0';
	assert_false(probe_clamd(longpath, 200, &why));
	assert_non_null(strstr(why.buf, "too long"));
	sb_free(&why);
}

/* A one-connection server on a UNIX socket: sends the script's replies,
 * one per line received (the first before reading anything), and exits
 * with 0 when the client said QUIT last, as a daemon that saw a clean end. */
static pid_t serve_once(const char *path, const char *const *replies, size_t n)
{
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(fd);
		return pid;
	}
	int c = accept(fd, NULL, NULL);
	char last[64] = "";
	for (size_t i = 0; c >= 0 && i < n; i++) {
		if (i > 0) {
			size_t len = 0;
			char ch;
			while (len + 1 < sizeof last && read(c, &ch, 1) == 1 && ch != '\n')
				last[len++] = ch;
			last[len] = '\0';
		}
		if (replies[i] && write(c, replies[i], strlen(replies[i])) < 0)
			_exit(2);
	}
	_exit(strncmp(last, "QUIT", 4) == 0 ? 0 : 1);
}

static int served(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_lmtp_probe_ends_with_quit(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/mtactl-probe-%d.sock", (int)getpid());
	struct strbuf why;
	sb_init(&why);
	static const char *const good[] = {"220-amavis\r\n220 ready\r\n", "250-host\r\n250 PIPELINING\r\n",
					   "221 bye\r\n"};
	pid_t pid = serve_once(path, good, 3);
	assert_true(probe_smtp_unix(path, true, 2000, &why));
	assert_int_equal(served(pid), 0);
	/* a daemon that greets with 421 is not ready */
	static const char *const busy[] = {"421 busy\r\n"};
	pid = serve_once(path, busy, 1);
	assert_false(probe_smtp_unix(path, true, 2000, &why));
	assert_non_null(strstr(why.buf, "greeting"));
	served(pid);
	/* one that never answers LHLO: the probe gives up at its deadline */
	sb_reset(&why);
	static const char *const mute[] = {"220 ready\r\n", NULL, NULL};
	pid = serve_once(path, mute, 2);
	assert_false(probe_smtp_unix(path, true, 300, &why));
	assert_non_null(strstr(why.buf, "LHLO"));
	served(pid);
	unlink(path);
	sb_free(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waiting_for_filter),
		cmocka_unit_test(test_waiting_awkward),
		cmocka_unit_test(test_probes_without_daemon),
		cmocka_unit_test(test_lmtp_probe_ends_with_quit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
