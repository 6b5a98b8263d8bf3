#ifndef CONTROLPLANE_CFASTCGI_SHIM_H
#define CONTROLPLANE_CFASTCGI_SHIM_H
// libfcgi's request API plus the few Linux calls the worker pool needs that Swift
// does not import cleanly (epoll flag enums, the signal set macros).
#include <fcgiapp.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/random.h>

static inline unsigned int cfcgi_epoll_in_exclusive(void) { return EPOLLIN | EPOLLEXCLUSIVE; }
static inline unsigned int cfcgi_epoll_in(void) { return EPOLLIN; }
static inline unsigned int cfcgi_epoll_in_oneshot(void) { return EPOLLIN | EPOLLONESHOT; }

/// Blocks the signals the server handles itself, in the calling thread and every
/// thread it starts afterwards; one thread then takes them with sigwait.
static inline int cfcgi_block_control_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static inline int cfcgi_wait_control_signal(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return -1;
    return sig;
}

static inline void cfcgi_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static inline int cfcgi_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// 1 when fd is a listening stream socket (what systemd passes on fd 0).
static inline int cfcgi_is_listening_socket(int fd) {
    int value = 0;
    socklen_t len = sizeof(value);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0) return 0;
    return value != 0;
}
#endif
