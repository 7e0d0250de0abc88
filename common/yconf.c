/* YAML config loading with libfyaml into flat structs. */
#include "yconf.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* libfyaml 0.7 keeps marks on scalar tokens only: a collection's line is
 * the line of its first scalar. Returns 1-based line, 0 when unknown. */
static int node_line(struct fy_node *node, int depth)
{
    if (!node || depth > 8)
        return 0;
    if (fy_node_is_scalar(node)) {
        struct fy_token *t = fy_node_get_scalar_token(node);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        return m ? m->line + 1 : 0;
    }
    void *iter = NULL;
    if (fy_node_is_sequence(node))
        return node_line(fy_node_sequence_iterate(node, &iter), depth + 1);
    if (fy_node_is_mapping(node)) {
        struct fy_node_pair *p = fy_node_mapping_iterate(node, &iter);
        return p ? node_line(fy_node_pair_key(p), depth + 1) : 0;
    }
    return 0;
}

void yconf_where(struct fy_node *node, const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%d", path, node_line(node, 0));
}

int yconf_scalar_str(struct fy_node *node, const char *where, char **out, qr_err_t *err)
{
    if (!fy_node_is_scalar(node))
        return qr_err_set(err, QR_EPARSE, "%s: expected a string", where);
    size_t len;
    const char *s = fy_node_get_scalar(node, &len);
    if (!s || memchr(s, '\0', len))
        return qr_err_set(err, QR_EPARSE, "%s: invalid string", where);
    char *copy = strndup(s, len);
    if (!copy)
        return qr_err_set(err, QR_ENOMEM, "%s: out of memory", where);
    *out = copy;
    return 0;
}

static int scalar_cstr(struct fy_node *node, const char *where, char *buf, size_t bufsz,
                       const char *what, qr_err_t *err)
{
    size_t len;
    const char *s = fy_node_is_scalar(node) ? fy_node_get_scalar(node, &len) : NULL;
    if (!s || len == 0 || len >= bufsz)
        return qr_err_set(err, QR_EPARSE, "%s: expected %s", where, what);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

int yconf_scalar_int(struct fy_node *node, const char *where, long long min, long long max,
                     long long *out, qr_err_t *err)
{
    char buf[64], *end;
    int rc = scalar_cstr(node, where, buf, sizeof buf, "an integer", err);
    if (rc)
        return rc;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end != '\0')
        return qr_err_set(err, QR_EPARSE, "%s: expected an integer, got '%s'", where, buf);
    if (v < min || v > max)
        return qr_err_set(err, QR_ERANGE, "%s: %lld is out of range [%lld, %lld]", where, v, min,
                          max);
    *out = v;
    return 0;
}

static int parse_double(struct fy_node *node, const char *where, double min, double max,
                        double *out, qr_err_t *err)
{
    char buf[64], *end;
    int rc = scalar_cstr(node, where, buf, sizeof buf, "a number", err);
    if (rc)
        return rc;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end != '\0' || !isfinite(v))
        return qr_err_set(err, QR_EPARSE, "%s: expected a number, got '%s'", where, buf);
    if (v < min || v > max)
        return qr_err_set(err, QR_ERANGE, "%s: %g is out of range [%g, %g]", where, v, min, max);
    *out = v;
    return 0;
}

static int parse_bool(struct fy_node *node, const char *where, bool *out, qr_err_t *err)
{
    char buf[16];
    int rc = scalar_cstr(node, where, buf, sizeof buf, "true or false", err);
    if (rc)
        return rc;
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(buf, yes[i]) == 0)
            return (*out = true), 0;
        if (strcasecmp(buf, no[i]) == 0)
            return (*out = false), 0;
    }
    return qr_err_set(err, QR_EPARSE, "%s: expected true or false, got '%s'", where, buf);
}

static int set_field(const yconf_field_t *f, struct fy_node *val, void *base, const char *path,
                     const char *where, qr_err_t *err)
{
    char *p = (char *)base + f->offset;
    long long ll;
    int rc;
    switch (f->type) {
    case YCONF_STR: {
        char *s;
        if ((rc = yconf_scalar_str(val, where, &s, err)))
            return rc;
        free(*(char **)p);
        *(char **)p = s;
        return 0;
    }
    case YCONF_INT:
        if ((rc = yconf_scalar_int(val, where, (long long)f->min, (long long)f->max, &ll, err)))
            return rc;
        *(int *)p = (int)ll;
        return 0;
    case YCONF_I64:
        if ((rc = yconf_scalar_int(val, where, (long long)f->min, (long long)f->max, &ll, err)))
            return rc;
        *(int64_t *)p = (int64_t)ll;
        return 0;
    case YCONF_DOUBLE:
        return parse_double(val, where, f->min, f->max, (double *)p, err);
    case YCONF_BOOL:
        return parse_bool(val, where, (bool *)p, err);
    case YCONF_CUSTOM:
        return f->parse(val, base, path, where, err);
    }
    return qr_err_set(err, QR_EINVAL, "%s: internal: bad field type", where);
}

int yconf_check_text(const char *path, qr_err_t *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
    int line = 1, col = 0, c;
    int need = 0;                  /* continuation bytes still expected */
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the next one */
    int bad_col = 0, bad = 0;      /* where the character in question starts */
    const char *why = NULL;
    while ((c = getc(f)) != EOF) {
        col++;
        if (need > 0) {
            if ((unsigned)c < lo || (unsigned)c > hi) {
                why = "is not valid UTF-8";
                break;
            }
            need--;
            lo = 0x80;
            hi = 0xbf;
            continue;
        }
        bad_col = col;
        bad = c;
        if (c == 0) {
            why = "contains a NUL byte";
            break;
        }
        if (c == '\n') {
            line++;
            col = 0;
        } else if (c >= 0x80) {
            /* lead byte: the ranges of RFC 3629 (no overlongs, surrogates
             * or code points above U+10FFFF) */
            if (c >= 0xc2 && c <= 0xdf)
                need = 1;
            else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                lo = c == 0xe0 ? 0xa0 : 0x80;
                hi = c == 0xed ? 0x9f : 0xbf;
            } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                lo = c == 0xf0 ? 0x90 : 0x80;
                hi = c == 0xf4 ? 0x8f : 0xbf;
            } else {
                why = "is not valid UTF-8";
                break;
            }
        }
    }
    int ioerr = ferror(f) ? errno : 0;
    fclose(f);
    if (ioerr)
        return qr_err_set(err, QR_EIO, "%s: %s", path, strerror(ioerr));
    if (!why && need > 0)
        why = "is not valid UTF-8: the file ends inside a character";
    if (why)
        return qr_err_set(err, QR_EPARSE, "%s:%d:%d: %s (byte 0x%02x); save it as UTF-8 text",
                          path, line, bad_col, why, (unsigned)bad);
    return 0;
}

/* libfyaml prints its own diagnostics to stderr by default; we collect the
 * first error into err instead. A stream with no document (an empty file, or
 * only comments) is not an error: *out stays NULL and every default holds. */
static int load_document(const char *path, struct fy_document **out, qr_err_t *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return qr_err_set(err, QR_EIO, "%s: not a regular file", path);
    int text_rc = yconf_check_text(path, err);
    if (text_rc)
        return text_rc;
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.colorize = false;
    char *diagbuf = NULL;
    size_t diaglen = 0;
    FILE *dfp = open_memstream(&diagbuf, &diaglen);
    dcfg.fp = dfp;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    /* aliases resolved: `b: *a` must mean a's value, not the text "a" */
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT, .diag = diag};
    struct fy_parser *fyp = fy_parser_create(&cfg);
    struct fy_document *doc = NULL;
    bool failed = !fyp || fy_parser_set_input_file(fyp, path) != 0;
    if (!failed) {
        doc = fy_parse_load_document(fyp);
        failed = fy_parser_get_stream_error(fyp);
        if (doc && !failed) {
            struct fy_document *more = fy_parse_load_document(fyp);
            if (more || fy_parser_get_stream_error(fyp)) {
                fy_document_destroy(more);
                failed = true;
                if (dfp && diaglen == 0)
                    fprintf(dfp, "%s: more than one YAML document\n", path);
            }
        }
    }
    if (failed) {
        fy_document_destroy(doc);
        doc = NULL;
    }
    fy_parser_destroy(fyp);
    fy_diag_destroy(diag);
    if (dfp)
        fclose(dfp);
    if (failed) {
        /* first line of libfyaml's message: "path:line:col: error: ..." */
        char *nl = diagbuf ? strchr(diagbuf, '\n') : NULL;
        if (nl)
            *nl = '\0';
        int rc;
        if (diagbuf && strncmp(diagbuf, path, strlen(path)) == 0)
            rc = qr_err_set(err, QR_EPARSE, "%s", diagbuf);
        else
            rc = qr_err_set(err, QR_EPARSE, "%s: malformed YAML%s%s", path,
                            diagbuf && *diagbuf ? ": " : "", diagbuf ? diagbuf : "");
        free(diagbuf);
        return rc;
    }
    free(diagbuf);
    *out = doc;
    return 0;
}

/* An empty document ("---" alone) has a null root. */
static bool is_null_node(struct fy_node *n)
{
    size_t len = 0;
    return !n || (fy_node_is_scalar(n) && fy_node_get_scalar(n, &len) && len == 0 &&
                  node_line(n, 0) == 0);
}

int yconf_load(const char *path, const yconf_field_t *fields, size_t n_fields, void *base,
               qr_err_t *err)
{
    return yconf_load_lines(path, fields, n_fields, base, NULL, err);
}

int yconf_load_lines(const char *path, const yconf_field_t *fields, size_t n_fields, void *base,
                     int *lines, qr_err_t *err)
{
    if (lines)
        memset(lines, 0, n_fields * sizeof *lines);
    struct fy_document *doc = NULL;
    int rc = load_document(path, &doc, err);
    if (rc)
        return rc;
    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    char where[512];
    if (is_null_node(root)) { /* empty file or document: all defaults */
        fy_document_destroy(doc);
        return 0;
    }
    if (!fy_node_is_mapping(root)) {
        yconf_where(root, path, where, sizeof where);
        fy_document_destroy(doc);
        return qr_err_set(err, QR_EPARSE, "%s: expected a mapping of settings", where);
    }
    void *iter = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(root, &iter)) != NULL) {
        struct fy_node *key = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
        yconf_where(key, path, where, sizeof where);
        size_t klen = 0;
        const char *k = key && fy_node_is_scalar(key) ? fy_node_get_scalar(key, &klen) : NULL;
        if (!k) {
            rc = qr_err_set(err, QR_EPARSE, "%s: expected a setting name", where);
            break;
        }
        const yconf_field_t *f = NULL;
        for (size_t i = 0; i < n_fields && !f; i++)
            if (strlen(fields[i].key) == klen && memcmp(fields[i].key, k, klen) == 0)
                f = &fields[i];
        if (!f) {
            rc = qr_err_set(err, QR_EPARSE, "%s: unknown setting '%.*s'", where, (int)klen, k);
            break;
        }
        if (!val) {
            rc = qr_err_set(err, QR_EPARSE, "%s: '%s' has no value", where, f->key);
            break;
        }
        if (node_line(val, 0) > 0) /* a null value has no mark: keep the key's line */
            yconf_where(val, path, where, sizeof where);
        if (lines)
            lines[f - fields] = node_line(key, 0);
        char fwhere[600];
        snprintf(fwhere, sizeof fwhere, "%s: %s", where, f->key);
        if ((rc = set_field(f, val, base, path, fwhere, err)))
            break;
    }
    fy_document_destroy(doc);
    return rc;
}

void yconf_free(const yconf_field_t *fields, size_t n_fields, void *base)
{
    for (size_t i = 0; i < n_fields; i++)
        if (fields[i].type == YCONF_STR) {
            char **p = (char **)((char *)base + fields[i].offset);
            free(*p);
            *p = NULL;
        }
}

int yconf_line_of(const yconf_field_t *fields, size_t n_fields, const int *lines, const char *key)
{
    for (size_t i = 0; i < n_fields; i++)
        if (strcmp(fields[i].key, key) == 0)
            return lines[i];
    return 0;
}
