/* env file check: a small line splitter (the format has no grammar beyond
 * KEY=value per line) and a pure rule evaluator. */
#include "check_envfile.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static envfile_entry_t *add_entry(envfile_facts_t *f, int line, unsigned flags)
{
    if (f->n == ENVFILE_MAX_ENTRIES) {
        f->truncated = true;
        return NULL;
    }
    if (f->n % 64 == 0) {
        envfile_entry_t *ne = realloc(f->e, (f->n + 64) * sizeof *ne);
        if (!ne)
            return NULL;
        f->e = ne;
    }
    envfile_entry_t *e = &f->e[f->n++];
    memset(e, 0, sizeof *e);
    e->line = line;
    e->flags = flags;
    return e;
}

int check_envfile_parse(const char *buf, size_t len, envfile_facts_t *out)
{
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        const char *s = buf + pos;
        size_t n = end - pos;
        pos = nl ? end + 1 : len;
        lineno++;

        unsigned flags = 0;
        if (n > 0 && s[n - 1] == '\r') {
            flags |= ENVLINE_CRLF;
            n--;
            if (!out->crlf_lines++)
                out->crlf_first = lineno;
        }
        if (n > ENVFILE_MAX_LINE || memchr(s, '\0', n)) {
            flags |= n > ENVFILE_MAX_LINE ? ENVLINE_TOO_LONG : ENVLINE_NUL;
            if (!add_entry(out, lineno, flags) && !out->truncated)
                return QR_ENOMEM;
            continue;
        }
        size_t i = 0;
        while (i < n && is_ws(s[i]))
            i++;
        if (i == n || s[i] == '#')
            continue; /* blank or comment */
        if (i > 0)
            flags |= ENVLINE_LEADING_WS;
        if (n - i > 7 && memcmp(s + i, "export", 6) == 0 && is_ws(s[i + 6])) {
            flags |= ENVLINE_EXPORT;
            i += 6;
            while (i < n && is_ws(s[i]))
                i++;
        }
        const char *eq = memchr(s + i, '=', n - i);
        if (!eq)
            flags |= ENVLINE_NO_EQUALS;
        envfile_entry_t *e = add_entry(out, lineno, flags);
        if (!e) {
            if (out->truncated)
                continue;
            return QR_ENOMEM;
        }
        size_t klen = eq ? (size_t)(eq - (s + i)) : n - i;
        e->key = strndup(s + i, klen);
        if (eq)
            e->value = strndup(eq + 1, (size_t)(s + n - (eq + 1)));
        if (!e->key || (eq && !e->value))
            return QR_ENOMEM;
    }
    out->lines = lineno;
    return 0;
}

void check_envfile_facts_clear(envfile_facts_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->e[i].key);
        free(f->e[i].value);
    }
    free(f->e);
    memset(f, 0, sizeof *f);
}

int check_envfile_probe(const agent_conf_t *conf, envfile_facts_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s",
             conf->env_file ? conf->env_file : "/opt/tango/tango.env");
    /* O_NONBLOCK: a FIFO at this path must not hang the probe */
    int fd = open(out->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        out->sys_errno = errno;
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        out->sys_errno = errno;
        close(fd);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        out->not_regular = true;
        close(fd);
        return 0;
    }
    out->size = (uint64_t)st.st_size;
    if (st.st_size > ENVFILE_MAX_SIZE) {
        out->too_big = true;
        close(fd);
        return 0;
    }
    /* read up to one byte past the limit: the file may grow after fstat.
     * The buffer fits the file (plus room to notice growth) rather than the
     * limit: a 1 MiB block each cycle would sit in the middle of the heap
     * while the other checks allocate above it. */
    size_t cap = (size_t)st.st_size + 1024;
    if (cap > ENVFILE_MAX_SIZE + 1)
        cap = ENVFILE_MAX_SIZE + 1;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return QR_ENOMEM;
    }
    size_t len = 0;
    while (len < ENVFILE_MAX_SIZE + 1) {
        if (len == cap) { /* it grew since fstat */
            size_t ncap = cap * 2 > ENVFILE_MAX_SIZE + 1 ? ENVFILE_MAX_SIZE + 1 : cap * 2;
            char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                free(buf);
                close(fd);
                return QR_ENOMEM;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            out->sys_errno = errno;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int rc = 0;
    if (len > ENVFILE_MAX_SIZE) {
        out->too_big = true;
        out->size = len;
    } else if (!out->sys_errno) {
        out->size = len;
        rc = check_envfile_parse(buf, len, out);
    }
    free(buf);
    return rc;
}

/* ---- evaluator (pure) ---- */

typedef struct {
    check_result_t *out;
    json_t *list;
    int worst_rank;
    char worst[256];
    size_t total;       /* findings, including those not kept in the list */
    json_t *reasons[3]; /* distinct reasons of fail, warn, unknown findings (all, kept or not) */
} findings_t;

#define ENVFILE_MAX_FINDINGS 100 /* kept in the values; the rest only counted */

static int rank(check_status_t st)
{
    return st == CHECK_UNKNOWN ? 1 : (int)st * 2;
}

/* reason: stable, lower_snake_case, documented in docs/checks.md; the
 * controller's alert keys are CHECK/NODE/REASON, so it never carries a line
 * number or a key name from the file. */
static void finding(findings_t *fs, int line, check_status_t st, const char *key,
                    const char *reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void finding(findings_t *fs, int line, check_status_t st, const char *key,
                    const char *reason, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    check_reasons_add(fs->reasons[st == CHECK_FAIL ? 0 : st == CHECK_WARN ? 1 : 2], reason);
    fs->total++;
    if (json_array_size(fs->list) < ENVFILE_MAX_FINDINGS) {
        json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "line", line, "status", check_status_str(st),
                              "reason", reason, "message", msg);
        if (key)
            json_object_set_new(j, "key", json_string(key));
        json_array_append_new(fs->list, j);
    }
    if (rank(st) > fs->worst_rank) {
        fs->worst_rank = rank(st);
        fs->out->status = st;
        if (line > 0)
            snprintf(fs->worst, sizeof fs->worst, "line %d: %s", line, msg);
        else
            snprintf(fs->worst, sizeof fs->worst, "%s", msg);
    }
}

static bool valid_name(const char *k)
{
    if (!k[0] || !((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

static bool is_quoted(const char *v)
{
    size_t n = strlen(v);
    while (n > 0 && is_ws(v[n - 1]))
        n--;
    return n > 0 && (v[0] == '"' || v[0] == '\'' || v[n - 1] == '"' || v[n - 1] == '\'');
}

/* The value with trailing whitespace and one pair of surrounding quotes
 * removed: what the user meant, so each mistake is reported once (quotes
 * and spaces by their own rules), not again by the value rules. */
static void clean_value(const char *v, char *buf, size_t size)
{
    size_t n = strlen(v);
    while (n > 0 && is_ws(v[n - 1]))
        n--;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    if (n >= size)
        n = size - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
}

static const envfile_entry_t *last_of(const envfile_facts_t *f, const char *key)
{
    const envfile_entry_t *found = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].key && f->e[i].value && strcmp(f->e[i].key, key) == 0)
            found = &f->e[i];
    return found;
}

static void check_s3(const envfile_facts_t *f, findings_t *fs, json_t *v)
{
    const envfile_entry_t *e = last_of(f, "S3_ENDPOINT");
    if (!e) {
        finding(fs, 0, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_missing", "S3_ENDPOINT missing");
        return;
    }
    char url[ENVFILE_MAX_LINE + 1];
    clean_value(e->value, url, sizeof url);
    json_object_set_new(v, "s3_endpoint", json_string(url));
    if (!url[0]) {
        finding(fs, e->line, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_empty",
                "S3_ENDPOINT is empty");
        return;
    }
    CURLU *u = curl_url();
    if (!u) {
        finding(fs, e->line, CHECK_UNKNOWN, "S3_ENDPOINT", "out_of_memory", "out of memory");
        return;
    }
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        finding(fs, e->line, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_not_url",
                "S3_ENDPOINT is not a URL (expected https://HOST:%d)", ENVFILE_S3_PORT);
        goto done;
    }
    json_object_set_new(v, "s3_scheme", json_string(scheme));
    json_object_set_new(v, "s3_host", json_string(host));
    CURLUcode pc = curl_url_get(u, CURLUPART_PORT, &port, 0);
    long portnum = pc == CURLUE_OK ? strtol(port, NULL, 10) : -1;
    json_object_set_new(v, "s3_port", portnum > 0 ? json_integer(portnum) : json_null());
    if (strcmp(scheme, "https") != 0)
        finding(fs, e->line, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_not_https",
                "S3_ENDPOINT uses %s://, must be https://", scheme);
    if (portnum < 0)
        finding(fs, e->line, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_no_port",
                "S3_ENDPOINT has no port (scheme default implied), must be %d", ENVFILE_S3_PORT);
    else if (portnum != ENVFILE_S3_PORT)
        finding(fs, e->line, CHECK_FAIL, "S3_ENDPOINT", "s3_endpoint_wrong_port",
                "S3_ENDPOINT port %ld, must be %d", portnum, ENVFILE_S3_PORT);
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

/* Findings are produced rule by rule; readers want them in file order
 * (file-level ones, line 0, first). Stable insertion sort: at most
 * ENVFILE_MAX_FINDINGS items. */
static void sort_by_line(json_t *list)
{
    size_t n = json_array_size(list);
    for (size_t i = 1; i < n; i++) {
        json_t *item = json_incref(json_array_get(list, i));
        json_int_t line = json_integer_value(json_object_get(item, "line"));
        size_t j = i;
        while (j > 0 &&
               json_integer_value(json_object_get(json_array_get(list, j - 1), "line")) > line)
            j--;
        if (j != i) {
            json_array_remove(list, i);
            json_array_insert(list, j, item);
        }
        json_decref(item);
    }
}

/* values.reasons for a result decided by one fact (the file itself). */
static void set_reason(check_result_t *out, const char *reason)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(reason));
    json_object_set_new(out->values, "reasons", arr);
}

void check_envfile_eval(const envfile_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    (void)conf;
    char eb[128];
    json_t *v = out->values;
    json_object_set_new(v, "path", json_string(f->path));
    if (f->sys_errno == ENOENT) {
        check_result_set(out, CHECK_FAIL, "env file %s does not exist", f->path);
        set_reason(out, "file_missing");
        return;
    }
    if (f->sys_errno) {
        check_result_set(out, CHECK_UNKNOWN, "cannot read env file %s: %s", f->path,
                         strerror_r(f->sys_errno, eb, sizeof eb));
        set_reason(out, "file_unreadable");
        return;
    }
    if (f->not_regular) {
        check_result_set(out, CHECK_FAIL, "env file %s is not a regular file", f->path);
        set_reason(out, "file_not_regular");
        return;
    }
    if (f->too_big) {
        check_result_set(out, CHECK_FAIL, "env file %s is larger than %d bytes", f->path,
                         ENVFILE_MAX_SIZE);
        set_reason(out, "file_too_large");
        return;
    }

    findings_t fs = {.out = out,
                     .list = json_array(),
                     .worst_rank = 0,
                     .reasons = {json_array(), json_array(), json_array()}};
    for (size_t i = 0; i < f->n; i++) {
        const envfile_entry_t *e = &f->e[i];
        if (e->flags & ENVLINE_TOO_LONG) {
            finding(&fs, e->line, CHECK_WARN, NULL, "line_too_long",
                    "longer than %d bytes, not checked", ENVFILE_MAX_LINE);
            continue;
        }
        if (e->flags & ENVLINE_NUL) {
            finding(&fs, e->line, CHECK_WARN, NULL, "line_nul_byte",
                    "contains a NUL byte, not checked");
            continue;
        }
        if (e->flags & ENVLINE_NO_EQUALS) {
            finding(&fs, e->line, CHECK_WARN, NULL, "line_no_equals",
                    "no '=': not a KEY=value line");
            continue;
        }
        if (e->flags & ENVLINE_LEADING_WS)
            finding(&fs, e->line, CHECK_WARN, e->key, "leading_whitespace",
                    "leading whitespace before the name");
        if (e->flags & ENVLINE_EXPORT)
            finding(&fs, e->line, CHECK_WARN, e->key, "export_prefix",
                    "'export' prefix: docker --env-file takes it as part of the name");
        size_t kl = strlen(e->key);
        if (kl > 0 && is_ws(e->key[kl - 1]))
            finding(&fs, e->line, CHECK_WARN, e->key, "whitespace_before_equals",
                    "whitespace before '='");
        else if (!valid_name(e->key))
            finding(&fs, e->line, CHECK_WARN, e->key, "invalid_name", "invalid name '%.60s'",
                    e->key);
        if (is_quoted(e->value))
            finding(&fs, e->line, CHECK_WARN, e->key, "value_quoted",
                    "%.60s: value is quoted (the quotes become part of the value)", e->key);
        size_t vl = strlen(e->value);
        if (vl > 0 && is_ws(e->value[vl - 1]))
            finding(&fs, e->line, CHECK_WARN, e->key, "trailing_whitespace",
                    "%.60s: trailing whitespace after the value", e->key);
        if (vl > 0 && is_ws(e->value[0]))
            finding(&fs, e->line, CHECK_WARN, e->key, "whitespace_after_equals",
                    "%.60s: whitespace after '='", e->key);
        for (size_t j = 0; j < i; j++)
            if (f->e[j].key && f->e[j].value && strcmp(f->e[j].key, e->key) == 0) {
                finding(&fs, e->line, CHECK_WARN, e->key, "duplicate_key",
                        "%.60s duplicates line %d (the last one wins)", e->key, f->e[j].line);
                break;
            }
    }
    if (f->crlf_lines)
        finding(&fs, f->crlf_first, CHECK_WARN, NULL, "crlf_line_endings",
                "CRLF line ending (%d line%s): the \\r becomes part of the value", f->crlf_lines,
                f->crlf_lines > 1 ? "s" : "");
    if (f->truncated)
        finding(&fs, 0, CHECK_WARN, NULL, "too_many_entries",
                "more than %d entries: the rest is not checked", ENVFILE_MAX_ENTRIES);

    const envfile_entry_t *ll = last_of(f, "LOG_LEVEL");
    if (!ll) {
        finding(&fs, 0, CHECK_WARN, "LOG_LEVEL", "log_level_missing",
                "LOG_LEVEL missing (INFO or DEBUG expected)");
        json_object_set_new(v, "log_level", json_null());
    } else {
        char lv[64];
        clean_value(ll->value, lv, sizeof lv);
        json_object_set_new(v, "log_level", json_string(lv));
        if (strcmp(lv, "INFO") != 0 && strcmp(lv, "DEBUG") != 0)
            finding(&fs, ll->line, CHECK_WARN, "LOG_LEVEL", "log_level_invalid",
                    "LOG_LEVEL=%s, must be INFO or DEBUG", lv);
    }
    check_s3(f, &fs, v);

    size_t keys = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].key && f->e[i].value && last_of(f, f->e[i].key) == &f->e[i])
            keys++;
    json_object_set_new(v, "lines", json_integer(f->lines));
    json_object_set_new(v, "keys", json_integer((json_int_t)keys));
    size_t n = fs.total;
    sort_by_line(fs.list);
    /* worst first: fail, then warn; the unknown ones only when there is
     * neither, so an unknown check still says what it could not judge */
    json_array_extend(fs.reasons[0], fs.reasons[1]);
    if (json_array_size(fs.reasons[0]) == 0)
        json_array_extend(fs.reasons[0], fs.reasons[2]);
    json_decref(fs.reasons[1]);
    json_decref(fs.reasons[2]);
    json_object_set_new(v, "reasons", fs.reasons[0]);
    json_object_set_new(v, "findings", fs.list);
    if (n > json_array_size(fs.list))
        json_object_set_new(v, "findings_dropped",
                            json_integer((json_int_t)(n - json_array_size(fs.list))));
    if (n == 0) {
        const char *lv = json_string_value(json_object_get(v, "log_level"));
        check_result_set(out, CHECK_OK, "%zu keys, S3_ENDPOINT %s, LOG_LEVEL=%s", keys,
                         json_string_value(json_object_get(v, "s3_endpoint")), lv ? lv : "?");
    } else if (n == 1) {
        check_result_set(out, out->status, "%s", fs.worst);
    } else {
        check_result_set(out, out->status, "%s (+%zu more)", fs.worst, n - 1);
    }
}

void check_envfile_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    (void)state;
    /* on the heap: a PATH_MAX path on a worker's stack would stay that
     * thread's private memory */
    envfile_facts_t *facts = malloc(sizeof *facts);
    if (!facts || check_envfile_probe(conf, facts) != 0) {
        if (facts)
            check_envfile_facts_clear(facts);
        free(facts);
        check_result_set(out, CHECK_UNKNOWN, "out of memory reading %s",
                         conf->env_file ? conf->env_file : "/opt/tango/tango.env");
        set_reason(out, "out_of_memory");
        return;
    }
    check_envfile_eval(facts, conf, out);
    check_envfile_facts_clear(facts);
    free(facts);
}
