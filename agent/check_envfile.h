/* env file check: the application's tango.env (KEY=value lines, read the way
 * `docker --env-file` reads them: no quoting, no escapes, everything after
 * the first '=' is the value). Line-numbered findings. See docs/checks.md
 * "envfile". */
#ifndef QR_CHECK_ENVFILE_H
#define QR_CHECK_ENVFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include "agent_conf.h"
#include "check.h"

#define ENVFILE_MAX_SIZE (1024 * 1024) /* larger files are refused, not read */
#define ENVFILE_MAX_LINE 8192          /* longer lines are reported, not parsed */
#define ENVFILE_MAX_ENTRIES 4096       /* entries kept; the rest is reported */
#define ENVFILE_S3_PORT 9000

/* Structural facts about one line, found while splitting it. */
enum {
    ENVLINE_CRLF = 1 << 0,       /* ended in \r\n (also counted in crlf_lines) */
    ENVLINE_EXPORT = 1 << 1,     /* "export KEY=value" */
    ENVLINE_LEADING_WS = 1 << 2, /* whitespace before the key */
    ENVLINE_NUL = 1 << 3,        /* contains a NUL byte: not parsed */
    ENVLINE_TOO_LONG = 1 << 4,   /* longer than ENVFILE_MAX_LINE: not parsed */
    ENVLINE_NO_EQUALS = 1 << 5,  /* text but no '=': key holds the text */
};

typedef struct {
    int line;       /* 1-based */
    unsigned flags; /* ENVLINE_* */
    char *key;      /* text before the first '=' (after "export "); NULL if not parsed */
    char *value;    /* text after it, without the line ending; NULL if none */
} envfile_entry_t;

typedef struct {
    char path[PATH_MAX];
    int sys_errno;    /* open/read failed (ENOENT: missing) */
    bool not_regular; /* path is not a regular file */
    bool too_big;     /* larger than ENVFILE_MAX_SIZE */
    uint64_t size;
    int lines;      /* lines in the file */
    int crlf_lines; /* lines ending in \r\n, comments included */
    int crlf_first; /* the first of them */
    bool truncated; /* more than ENVFILE_MAX_ENTRIES entries */
    size_t n;
    envfile_entry_t *e; /* owned; free with check_envfile_facts_clear */
} envfile_facts_t;

/* Splits buf (len bytes, may hold NULs) into entries, skipping blank and
 * comment lines. Returns 0, or QR_ENOMEM. out must be zeroed or cleared. */
int check_envfile_parse(const char *buf, size_t len, envfile_facts_t *out);

/* Reads conf->env_file (at most ENVFILE_MAX_SIZE bytes; a FIFO or device is
 * refused without blocking) and parses it. Returns 0 or QR_ENOMEM; file
 * errors are recorded in the facts. Clear the facts afterwards. */
int check_envfile_probe(const agent_conf_t *conf, envfile_facts_t *out);

/* Frees the entries and zeroes the facts. NULL-safe. */
void check_envfile_facts_clear(envfile_facts_t *f);

/* Pure. Missing file, S3_ENDPOINT missing / not https / port not 9000 ->
 * fail; quotes, trailing whitespace, CRLF, "export", bad names, lines
 * without '=', NUL bytes, overlong lines, duplicate keys, LOG_LEVEL missing
 * or not INFO/DEBUG -> warn; an unreadable file -> unknown. */
void check_envfile_eval(const envfile_facts_t *facts, const agent_conf_t *conf,
                        check_result_t *out);

/* probe + eval; out initialised with check_result_init(out, "envfile"). */
void check_envfile_run(const agent_conf_t *conf, void **state, check_result_t *out);

#endif
