/* Table-driven loading of a flat YAML mapping into a struct, with libfyaml.
 * Errors come back as "file:line: reason" so `-n` can print them. Every
 * config of quorate (agent, controller) is a mapping of known keys; unknown
 * keys are errors (a typo must not silently fall back to a default). */
#ifndef QR_YCONF_H
#define QR_YCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct fy_node;

typedef enum {
    YCONF_STR,    /* char *, strdup'd (freed by yconf_free) */
    YCONF_INT,    /* int, within [min, max] */
    YCONF_I64,    /* int64_t, within [min, max] */
    YCONF_DOUBLE, /* double, within [min, max] */
    YCONF_BOOL,   /* bool: true/false/yes/no/on/off */
    YCONF_CUSTOM, /* parse(node, base, err_prefix...) does the work */
} yconf_type_t;

typedef struct yconf_field yconf_field_t;
/* A custom field parser: returns 0 or a QR_E* code, detail in err. `where`
 * is "file:line: key" of the node for messages; for an error in one item of
 * a list, yconf_where(item, path, ...) gives that item's line. */
typedef int (*yconf_custom_fn)(struct fy_node *node, void *base, const char *path,
                               const char *where, qr_err_t *err);

struct yconf_field {
    const char *key;
    yconf_type_t type;
    size_t offset;
    double min, max;
    yconf_custom_fn parse;
};

/* Parses the YAML file `path` (a mapping at top level; an empty file is an
 * empty mapping) into base using fields. Returns 0 or QR_EPARSE / QR_EIO /
 * QR_ERANGE with "path:line: reason" in err. */
int yconf_load(const char *path, const yconf_field_t *fields, size_t n_fields, void *base,
               qr_err_t *err);

/* yconf_load that also fills lines[i] (n_fields entries) with the 1-based
 * line of fields[i]'s key, 0 when the file does not set it: for errors about
 * a combination of settings. */
int yconf_load_lines(const char *path, const yconf_field_t *fields, size_t n_fields, void *base,
                     int *lines, qr_err_t *err);
/* The line yconf_load_lines found for key (0: not set). */
int yconf_line_of(const yconf_field_t *fields, size_t n_fields, const int *lines, const char *key);

/* Checks that the file at path is UTF-8 text without NUL bytes, as YAML
 * wants it. libfyaml 0.7.12 (Debian 12) can loop forever on invalid UTF-8
 * after a '%' (upstream libfyaml issue #101), so every config is checked
 * before it is parsed. Returns 0, QR_EIO, or QR_EPARSE with "path:line:col:
 * reason" in err. */
int yconf_check_text(const char *path, qr_err_t *err);

/* Formats "file:line" (1-based) of node into buf. */
void yconf_where(struct fy_node *node, const char *path, char *buf, size_t len);

/* Scalar helpers for custom parsers. They return 0 or QR_EPARSE/QR_ERANGE
 * with "where: reason" in err. */
int yconf_scalar_str(struct fy_node *node, const char *where, char **out, qr_err_t *err);
int yconf_scalar_int(struct fy_node *node, const char *where, long long min, long long max,
                     long long *out, qr_err_t *err);

/* Frees every YCONF_STR field of base. */
void yconf_free(const yconf_field_t *fields, size_t n_fields, void *base);

#endif
