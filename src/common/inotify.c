#include "common/inotify.h"

#include <errno.h>
#include <unistd.h>

int inotify_read_events(int fd, inotify_event_fn *fn, void *ctx)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len = read(fd, buf, sizeof buf);
	if (len < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	for (char *ptr = buf; ptr + sizeof(struct inotify_event) <= buf + len;) {
		const struct inotify_event *ev = (const struct inotify_event *)ptr;
		fn(ev, ctx);
		ptr += sizeof *ev + ev->len;
	}
	return 0;
}
