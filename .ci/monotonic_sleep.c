/* Loaded before Debian's libfaketime in the moved-clock test runs (.ci/run).
 *
 * libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC=1 still rewrites the deadline of
 * clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...) as if it were wall-clock time, so
 * Python 3.11's time.sleep() fails with EINVAL (libfaketime issue #426). The monotonic
 * clock is not moved in those runs, so its sleeps go straight to the kernel; every other
 * clock is left to libfaketime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request,
                    struct timespec *remain) {
    if (clock_id == CLOCK_MONOTONIC) {
        long rc = syscall(SYS_clock_nanosleep, clock_id, flags, request, remain);
        return rc == 0 ? 0 : errno; /* clock_nanosleep returns the error, not -1 */
    }
    int (*next)(clockid_t, int, const struct timespec *, struct timespec *) =
        (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(
            RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, request, remain);
}
