/* Steward bench helper: the machine's own limits and the children under test.
 *
 *   helper spawn N PROG [ARGS...]  fork+exec N copies of PROG that stay alive; prints the
 *                                  seconds until every one has exec'd (one shared CLOEXEC
 *                                  pipe: EOF once all children exec'd), then kills and reaps them
 *   helper spawnwait N PROG [ARGS] fork+exec+waitpid N times in a row; prints seconds
 *   helper write BYTES             writes BYTES of text lines to stdout as fast as it can
 *   helper lines N                 writes N numbered lines "%09d\n" to stdout
 *   helper linewise N              writes N numbered 56-byte lines to stdout, one write(2)
 *                                  per line (a worker that flushes every line)
 *   helper tick FILE               appends one byte to FILE and exits (restart counter)
 *   helper stamp FILE              writes its CLOCK_MONOTONIC start time to FILE, then sleeps
 *   helper rate PER_SECOND         writes numbered log lines (with an ANSI colour and an HTML
 *                                  tag) at PER_SECOND lines/s, 1/100 of them every 10 ms, forever
 *   helper rpc SOCK SECONDS METHOD one XML-RPC call after another on one persistent
 *                                  HTTP/1.1 connection over the UNIX socket SOCK for SECONDS;
 *                                  prints "calls seconds connects" (a client that costs
 *                                  microseconds, so the server is what gets measured)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cmd_spawn(long n, char **argv) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) { perror("pipe2"); return 1; }
    pid_t *pids = calloc((size_t)n, sizeof(pid_t));
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            close(p[0]);
            execv(argv[0], argv);
            _exit(127);
        }
        pids[i] = pid;
    }
    close(p[1]);
    char c;
    while (read(p[0], &c, 1) > 0 || errno == EINTR) {}
    double t1 = now();
    printf("%.6f\n", t1 - t0);
    fflush(stdout);
    for (long i = 0; i < n; i++) kill(pids[i], SIGKILL);
    for (long i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
    return 0;
}

static int cmd_spawnwait(long n, char **argv) {
    double t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) { execv(argv[0], argv); _exit(127); }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    }
    printf("%.6f\n", now() - t0);
    return 0;
}

static int cmd_write(long long bytes) {
    static char buf[65536];
    /* 64-byte text lines */
    for (size_t i = 0; i < sizeof buf; i += 64) {
        memcpy(buf + i, "steward bench log line: the quick brown fox jumps over the dog\n", 64);
    }
    while (bytes > 0) {
        size_t chunk = bytes < (long long)sizeof buf ? (size_t)bytes : sizeof buf;
        if (write_all(1, buf, chunk) != 0) { perror("write"); return 1; }
        bytes -= (long long)chunk;
    }
    return 0;
}

static int cmd_lines(long n) {
    static char buf[1 << 16];
    size_t used = 0;
    for (long i = 0; i < n; i++) {
        if (used + 16 > sizeof buf) {
            if (write_all(1, buf, used) != 0) { perror("write"); return 1; }
            used = 0;
        }
        used += (size_t)snprintf(buf + used, 16, "%09ld\n", i);
    }
    if (used && write_all(1, buf, used) != 0) { perror("write"); return 1; }
    return 0;
}

static int cmd_linewise(long n) {
    char line[80];
    for (long i = 0; i < n; i++) {
        /* 9 digits, 46 bytes of text, a newline: 56 bytes */
        snprintf(line, sizeof line, "%09ld the quick brown fox jumps over the lazy dog..\n", i);
        if (write_all(1, line, 56) != 0) { perror("write"); return 1; }
    }
    return 0;
}

static int rpc_connect(const char *path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
    return fd;
}

static int cmd_rpc(const char *path, double secs, const char *method) {
    char body[512], req[1024];
    int bl = snprintf(body, sizeof body,
                      "<?xml version='1.0'?>\n<methodCall>\n<methodName>%s</methodName>\n"
                      "<params>\n</params>\n</methodCall>\n", method);
    int rl = snprintf(req, sizeof req,
                      "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                      "Content-Length: %d\r\n\r\n%s", bl, body);
    static char buf[1 << 20];
    int fd = rpc_connect(path), connects = 1;
    long calls = 0;
    double t0 = now(), t = t0;
    while (t - t0 < secs) {
        if (write_all(fd, req, (size_t)rl) != 0) { perror("write"); return 1; }
        size_t have = 0;
        long need = -1;
        int close_after = 0;
        for (;;) {
            ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) { fprintf(stderr, "rpc: connection closed mid-response\n"); return 1; }
            have += (size_t)r;
            buf[have] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) continue;
            if (need < 0) {
                char *cl = strcasestr(buf, "content-length:");
                if (!cl || cl > end) { fprintf(stderr, "rpc: no Content-Length\n"); return 1; }
                need = (end - buf) + 4 + atol(cl + 15);
                char *cc = strcasestr(buf, "connection: close");
                close_after = cc && cc < end;
                if (strncmp(buf, "HTTP/1.1 200", 12) && strncmp(buf, "HTTP/1.0 200", 12)) {
                    fprintf(stderr, "rpc: %.40s\n", buf);
                    return 1;
                }
            }
            if ((long)have >= need) break;
        }
        calls++;
        if (close_after) { close(fd); fd = rpc_connect(path); connects++; }
        t = now();
    }
    printf("%ld %.6f %d\n", calls, t - t0, connects);
    return 0;
}

static int cmd_rate(long per_second) {
    long batch = per_second / 100 > 0 ? per_second / 100 : 1;
    static char buf[1 << 20];
    double next = now();
    for (long n = 0;; n += batch) {
        size_t len = 0;
        for (long i = 0; i < batch && len + 96 < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len,
                                    "line %09ld \033[32mok\033[0m <b>not bold</b>\n", n + i);
        if (write_all(1, buf, len) != 0) return 1;
        next += 0.01;
        double wait = next - now();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "spawn") == 0) return cmd_spawn(atol(argv[2]), argv + 3);
    if (argc >= 4 && strcmp(argv[1], "spawnwait") == 0) return cmd_spawnwait(atol(argv[2]), argv + 3);
    if (argc == 3 && strcmp(argv[1], "write") == 0) return cmd_write(atoll(argv[2]));
    if (argc == 3 && strcmp(argv[1], "lines") == 0) return cmd_lines(atol(argv[2]));
    if (argc == 3 && strcmp(argv[1], "linewise") == 0) return cmd_linewise(atol(argv[2]));
    if (argc == 3 && strcmp(argv[1], "tick") == 0) {
        int fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd < 0) return 1;
        return write(fd, "x", 1) == 1 ? 0 : 1;
    }
    if (argc == 3 && strcmp(argv[1], "rate") == 0) return cmd_rate(atol(argv[2]));
    if (argc == 5 && strcmp(argv[1], "rpc") == 0) return cmd_rpc(argv[2], atof(argv[3]), argv[4]);
    if (argc == 3 && strcmp(argv[1], "stamp") == 0) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.%d", argv[2], (int)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f) return 1;
        fprintf(f, "%.9f %d\n", now(), (int)getpid());
        fclose(f);
        rename(tmp, argv[2]);
        for (;;) pause();
    }
    fprintf(stderr, "usage: helper spawn|spawnwait N PROG [ARGS] | write BYTES | lines N | linewise N | rate PER_S | tick FILE | stamp FILE | rpc SOCK SECS METHOD\n");
    return 2;
}
