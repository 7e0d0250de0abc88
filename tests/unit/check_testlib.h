/* Helpers shared by the agent check tests (tests/unit/test_check_*.c):
 * assertions on a check_result_t, fixture paths and small file writes.
 * Only test_*.c files are built as programs, so this header is compiled once
 * into each test that includes it; a test need not use every helper. */
#ifndef QR_CHECK_TESTLIB_H
#define QR_CHECK_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#define CHECK_TESTLIB_FN static __attribute__((unused))

CHECK_TESTLIB_FN void assert_summary_has(const check_result_t *r, const char *needle)
{
    if (!strstr(r->summary, needle))
        fail_msg("summary \"%s\" lacks \"%s\"", r->summary, needle);
}

/* values.reasons is exactly the listed reasons, in order (NULL-terminated). */
CHECK_TESTLIB_FN void assert_reasons(const check_result_t *r, ...)
{
    const json_t *arr = json_object_get(r->values, "reasons");
    assert_true(json_is_array(arr));
    va_list ap;
    va_start(ap, r);
    size_t i = 0;
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *), i++) {
        const char *got = json_string_value(json_array_get(arr, i));
        if (!got || strcmp(got, want) != 0)
            fail_msg("reasons[%zu] is \"%s\", expected \"%s\"", i, got ? got : "(none)", want);
    }
    va_end(ap);
    if (json_array_size(arr) != i) {
        char *dump = json_dumps(arr, JSON_COMPACT);
        print_error("reasons are %s, expected %zu of them\n", dump, i);
        free(dump);
        fail();
    }
}

/* The path of tests/fixtures/SUBDIR/NAME in buf. Absolute, because some
 * tests link to it from a fake /proc: $QR_SOURCE_DIR (set by ctest), else
 * the working directory. */
CHECK_TESTLIB_FN const char *check_fixture_path(const char *subdir, const char *name, char *buf,
                                                size_t size)
{
    char cwd[256];
    const char *src = getenv("QR_SOURCE_DIR");
    if (!src)
        src = getcwd(cwd, sizeof cwd) ? cwd : ".";
    snprintf(buf, size, "%s/tests/fixtures/%s/%s", src, subdir, name);
    return buf;
}

/* A TCP socket bound to 127.0.0.1 on a port the kernel picks, returned with
 * that port in *port. Not listening yet: listen() on it for a peer that
 * accepts and never answers, close() it for a port nobody listens on. */
CHECK_TESTLIB_FN int loopback_bound_socket(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* Creates (or truncates) the file at path with text in it. */
CHECK_TESTLIB_FN void put_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

#endif
