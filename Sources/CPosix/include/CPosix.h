#ifndef VAKT_CPOSIX_H
#define VAKT_CPOSIX_H

#include <sys/types.h>
#include <stddef.h>

/// Starts a child process in its own process group, with `death_signal` delivered to it when the
/// parent dies (PR_SET_PDEATHSIG), all signal dispositions and the signal mask reset, stdin on
/// /dev/null, stdout and stderr on the given descriptors and every other descriptor closed.
/// If `pid_env_index` is not negative, `envp[pid_env_index]` must be `NAME=` followed by at least
/// ten characters of room; the child writes its own pid there before exec (WATCHDOG_PID must
/// name the child, whose pid is known only after fork), without allocating.
/// Returns the pid, or -1 with `*error_out` set to the errno of the step that failed (including
/// execve in the child, reported through a close-on-exec pipe).
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so call this from a thread that
/// lives as long as the process.
pid_t vakt_spawn(const char *path, char *const argv[], char *const envp[], int pid_env_index, const char *cwd,
                 int stdout_fd, int stderr_fd, int death_signal, int *error_out);

/// Receives one notify datagram. Sets the sender's pid and uid from SCM_CREDENTIALS (-1 when the
/// kernel sent none), closes every file descriptor passed with SCM_RIGHTS (systemd-notify's
/// BARRIER=1 waits for that), and sets `*truncated` when the datagram did not fit.
/// Returns the number of bytes received, or -1 with errno set.
ssize_t vakt_notify_recv(int fd, char *buffer, size_t length, pid_t *pid, uid_t *uid, int *truncated);

/// pipe2(O_CLOEXEC | extra_flags): Glibc's Swift overlay does not export pipe2.
int vakt_pipe_cloexec(int fds[2], int extra_flags);

#endif
