/* Shared fixtures of the config tests (test_yconf.c, test_agent_conf.c): one
 * temp dir per program, one config file rewritten per test, and the line
 * number an error message points at. Header-only: each test_*.c is its own
 * program. Define CONF_TEST_NAME ("agent.yaml", ...) before including. */
#ifndef QR_CONF_TESTLIB_H
#define QR_CONF_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"

static char tmpdir[64];
static char conf_path[128];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/qr-conftest-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(conf_path, sizeof conf_path, "%s/%s", tmpdir, CONF_TEST_NAME);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(conf_path);
    rmdir(tmpdir);
    return 0;
}

/* Writes text to the fixture file and returns its path. */
static const char *write_conf(const char *text)
{
    FILE *fp = fopen(conf_path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    return conf_path;
}

/* The line number of a "path:LINE: ..." or "path:LINE:COL: ..." (libfyaml's
 * own messages) error, or -1 when err does not start that way. */
static int err_line(const qr_err_t *err, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(err->msg, path, n) != 0 || err->msg[n] != ':')
        return -1;
    char *end;
    long line = strtol(err->msg + n + 1, &end, 10);
    if (end == err->msg + n + 1 || *end != ':')
        return -1;
    return (int)line;
}

#endif
