/* The anchor for the event consumer's throughput (scripts/bench-events): a bare hiredis loop
 * reading a stream as one member of a consumer group, XREADGROUP COUNT 100, then one XACK of
 * the whole batch, with no decoding, dedup or handler. Prints "floor_events_per_second N".
 *   xreadgroup-floor PORT STREAM GROUP COUNT */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: xreadgroup-floor PORT STREAM GROUP COUNT\n"); return 64; }
    redisContext *c = redisConnect("127.0.0.1", atoi(argv[1]));
    if (c == NULL || c->err) { fprintf(stderr, "cannot connect\n"); return 1; }
    const char *stream = argv[2], *group = argv[3];
    long total = atol(argv[4]), done = 0;
    redisReply *created = redisCommand(c, "XGROUP CREATE %s %s 0", stream, group);
    if (created) freeReplyObject(created);
    const char **ack = malloc(sizeof(char *) * 103);
    size_t *lengths = malloc(sizeof(size_t) * 103);
    double start = now();
    while (done < total) {
        redisReply *r = redisCommand(c, "XREADGROUP GROUP %s floor COUNT 100 STREAMS %s >", group, stream);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) { fprintf(stderr, "read failed\n"); return 1; }
        redisReply *entries = r->element[0]->element[1];
        ack[0] = "XACK"; ack[1] = stream; ack[2] = group;
        lengths[0] = 4; lengths[1] = strlen(stream); lengths[2] = strlen(group);
        for (size_t i = 0; i < entries->elements; i++) {
            ack[3 + i] = entries->element[i]->element[0]->str;
            lengths[3 + i] = entries->element[i]->element[0]->len;
        }
        redisReply *a = redisCommandArgv(c, (int)(3 + entries->elements), ack, lengths);
        if (a == NULL) { fprintf(stderr, "ack failed\n"); return 1; }
        freeReplyObject(a);
        done += (long)entries->elements;
        freeReplyObject(r);
    }
    printf("floor_events_per_second %.0f\n", done / (now() - start));
    return 0;
}
