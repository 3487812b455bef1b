/* Preloaded before Debian's libfaketime by scripts/at_instant.py.
 *
 * With FAKETIME_DONT_FAKE_MONOTONIC=1 (which Python needs: its lock timeouts wait on the real monotonic
 * clock), libfaketime 0.9.10 still converts an absolute CLOCK_MONOTONIC deadline given to clock_nanosleep
 * as if it were faked, and the kernel answers EINVAL: every time.sleep() of Python 3.11 fails. A monotonic
 * sleep has nothing to fake, so it goes straight to the kernel; every other clock goes on to libfaketime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request, struct timespec *remain)
{
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);

    if (clock_id == CLOCK_MONOTONIC)
        return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == 0 ? 0 : errno;
    if (!next)
        next = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, request, remain);
}
