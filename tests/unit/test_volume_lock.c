/* The volume lock of PID 1 (init/volume_lock.h): a second process on the
 * same lock file waits as a standby until the first one is gone, and a
 * stop signal ends the wait without taking the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/proc.h"
#include "init/volume_lock.h"

struct paths {
	char dir[64], lock[96], standby[96];
};

static void paths_make(struct paths *p)
{
	snprintf(p->dir, sizeof p->dir, "/tmp/test-volume-lock-XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->lock, sizeof p->lock, "%s/srv/volume.lock", p->dir);
	snprintf(p->standby, sizeof p->standby, "%s/run/standby", p->dir);
}

static void paths_remove(const struct paths *p)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
	assert_int_equal(system(cmd), 0);
}

static int blocked_sigfd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* A child that holds the lock for hold_ms, then exits (the lock goes
 * with it, as it does when a container stops). */
static pid_t holder(const char *lock, int hold_ms)
{
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(lock, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep((useconds_t)hold_ms * 1000);
		_exit(0);
	}
	char c;
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void test_free_volume_at_once(void **state)
{
	(void)state;
	struct paths p;
	paths_make(&p);
	int sigfd = blocked_sigfd();
	assert_true(volume_lock_wait(sigfd, p.lock, p.standby));
	assert_false(path_exists(p.standby));
	close(sigfd);
	paths_remove(&p);
}

static void test_waits_as_standby_until_the_holder_stops(void **state)
{
	(void)state;
	struct paths p;
	paths_make(&p);
	/* the lock's directory as init finds it on a used volume */
	char srv[96];
	snprintf(srv, sizeof srv, "%s/srv", p.dir);
	assert_int_equal(mkdir_p(srv, 0755), 0);
	pid_t pid = holder(p.lock, 700);
	/* A watcher child sees the standby mark while the parent waits. */
	pid_t watcher = fork();
	assert_true(watcher >= 0);
	if (watcher == 0) {
		for (int i = 0; i < 50; i++, usleep(20000))
			if (path_exists(p.standby))
				_exit(0);
		_exit(1);
	}
	int sigfd = blocked_sigfd();
	int64_t t0 = now_ms();
	assert_true(volume_lock_wait(sigfd, p.lock, p.standby));
	int64_t waited = now_ms() - t0;
	assert_true(waited >= 500); /* the holder kept it 700 ms */
	assert_false(path_exists(p.standby));
	int status;
	assert_int_equal(waitpid(watcher, &status, 0), watcher);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Now held here: another taker would wait. */
	int fd = open(p.lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	close(fd);
	close(sigfd);
	paths_remove(&p);
}

static void test_stop_signal_ends_the_wait(void **state)
{
	(void)state;
	struct paths p;
	paths_make(&p);
	char srv[96];
	snprintf(srv, sizeof srv, "%s/srv", p.dir);
	assert_int_equal(mkdir_p(srv, 0755), 0);
	pid_t pid = holder(p.lock, 5000);
	int sigfd = blocked_sigfd();
	pid_t killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		usleep(300000);
		kill(getppid(), SIGTERM);
		_exit(0);
	}
	/* false: the signal, not the holder's exit after 5 s, ended it */
	assert_false(volume_lock_wait(sigfd, p.lock, p.standby));
	assert_false(path_exists(p.standby));
	int status;
	assert_int_equal(waitpid(killer, &status, 0), killer);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(sigfd);
	paths_remove(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_volume_at_once),
		cmocka_unit_test(test_waits_as_standby_until_the_holder_stops),
		cmocka_unit_test(test_stop_signal_ends_the_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
