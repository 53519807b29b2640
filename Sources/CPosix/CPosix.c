#define _GNU_SOURCE
#include "CPosix.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_from(int lowest) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, lowest, ~0U, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = lowest; fd < max; fd++) close(fd);
}

static void write_pid_after_equals(char *assignment, pid_t pid) {
    char *digits = strchr(assignment, '=');
    if (digits == NULL) return;
    digits++;
    char reversed[16];
    int length = 0;
    do {
        reversed[length++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && length < 15);
    for (int i = 0; i < length; i++) digits[i] = reversed[length - 1 - i];
    digits[length] = '\0';
}

pid_t vakt_spawn(const char *path, char *const argv[], char *const envp[], int pid_env_index, const char *cwd,
                 int stdout_fd, int stderr_fd, int death_signal, int *error_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error_out = errno;
        return -1;
    }
    const int report_read = report[0];
    const int report_write = report[1];
    const pid_t parent = getpid();
    /* vfork: the child borrows the parent's memory until exec, so spawning costs the same
     * whatever the supervisor's size (fork would copy its page tables). The parent thread is
     * suspended meanwhile. The child therefore writes no variable the parent reads afterwards,
     * calls only async-signal-safe functions, and leaves by execve or _exit, never by return. */
    pid_t pid = vfork();
    if (pid < 0) {
        *error_out = errno;
        close(report_read);
        close(report_write);
        return -1;
    }
    if (pid == 0) {
        int failure;
        if (setpgid(0, 0) != 0) goto fail;
        if (death_signal > 0 && prctl(PR_SET_PDEATHSIG, death_signal) != 0) goto fail;
        if (getppid() != parent) _exit(127); /* the parent died before prctl took effect */
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        struct sigaction default_action;
        memset(&default_action, 0, sizeof default_action);
        default_action.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &default_action, NULL);
        }
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0) goto fail;
        if (dup2(null_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) goto fail;
        /* Every descriptor above 2 goes, except the report pipe, which closes itself at exec. */
        for (int fd = 3; fd < report_write; fd++) close(fd);
        close_from(report_write + 1);
        if (cwd != NULL && chdir(cwd) != 0) goto fail;
        if (pid_env_index >= 0) write_pid_after_equals(envp[pid_env_index], getpid());
        execve(path, argv, envp);
    fail:
        failure = errno;
        (void)!write(report_write, &failure, sizeof failure);
        _exit(127);
    }
    close(report_write);
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(report_read, &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    close(report_read);
    if (got == sizeof child_errno) {
        /* The child failed before exec and has exited: reap it so it is no zombie. */
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error_out = child_errno;
        return -1;
    }
    return pid;
}

ssize_t vakt_notify_recv(int fd, char *buffer, size_t length, pid_t *pid, uid_t *uid, int *truncated) {
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
    } control;
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    struct msghdr message = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.space,
        .msg_controllen = sizeof control.space,
    };
    ssize_t received = recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (received < 0) return -1;
    *pid = -1;
    *uid = (uid_t)-1;
    *truncated = (message.msg_flags & MSG_TRUNC) != 0 || (size_t)received > length;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET) continue;
        if (header->cmsg_type == SCM_CREDENTIALS && header->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
            *pid = credentials.pid;
            *uid = credentials.uid;
        } else if (header->cmsg_type == SCM_RIGHTS) {
            size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(header) + i * sizeof(int), sizeof passed);
                close(passed);
            }
        }
    }
    if (*truncated && (size_t)received > length) received = (ssize_t)length;
    return received;
}

int vakt_pipe_cloexec(int fds[2], int extra_flags) {
    return pipe2(fds, O_CLOEXEC | extra_flags);
}
