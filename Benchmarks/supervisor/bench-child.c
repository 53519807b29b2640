/* The child every supervisor respawns in the benchmark: on start it appends
 * "<pid> <CLOCK_MONOTONIC ns>" to the file named by its argument (its "first line"), then sleeps. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    FILE *file = fopen(argv[1], "a");
    if (file == NULL) return 1;
    fprintf(file, "%d %lld\n", (int)getpid(), (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    fclose(file);
    for (;;) pause();
}
