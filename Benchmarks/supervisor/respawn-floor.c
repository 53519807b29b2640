/* The floor: the least a supervisor can do, fork/exec/waitpid in a loop with no delay. */
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            execv(argv[1], argv + 1);
            _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0) {}
    }
}
