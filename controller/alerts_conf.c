/* Alert routing config: YAML (libfyaml) -> alerts_conf_t, with every error
 * reported as "file:line: reason" and secrets read from files or the
 * environment, never echoed. */
#include "alerts_conf.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/yconf.h"

static const char *rcv_types[] = {"slack",    "mattermost", "teams",       "pagerduty",
                                  "opsgenie", "webhook",    "alertmanager"};
#define NRCV_TYPES (sizeof rcv_types / sizeof rcv_types[0])

const char *alerts_conf_rcv_type_str(alerts_rcv_type_t t)
{
    return (unsigned)t < NRCV_TYPES ? rcv_types[t] : "unknown";
}

int alerts_conf_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return QR_EPARSE;
    char *end;
    errno = 0;
    long long bare = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && bare >= 0 && bare <= 100LL * 365 * 86400) {
        *ms = bare * 1000;
        return 0;
    }
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        if (*p < '0' || *p > '9')
            return QR_EPARSE;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > 1000000000LL)
            return QR_EPARSE;
        int64_t unit;
        if (strncmp(end, "ms", 2) == 0) {
            unit = 1;
            end += 2;
        } else if (*end == 's') {
            unit = 1000;
            end++;
        } else if (*end == 'm') {
            unit = 60000;
            end++;
        } else if (*end == 'h') {
            unit = 3600000;
            end++;
        } else if (*end == 'd') {
            unit = 86400000;
            end++;
        } else {
            return QR_EPARSE;
        }
        total += v * unit;
        if (total > 100LL * 365 * 86400000)
            return QR_EPARSE;
        p = end;
    }
    *ms = total;
    return 0;
}

/* ---- parse context */
typedef struct {
    const char *path;
    qr_err_t *err;
    alerts_conf_t *c;
} ctx_t;

static int node_line(struct fy_node *n)
{
    for (int depth = 0; n && depth < 64; depth++) {
        if (fy_node_is_scalar(n) || fy_node_is_alias(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            return m ? m->line + 1 : 0;
        }
        void *it = NULL;
        if (fy_node_is_mapping(n)) {
            struct fy_node_pair *pr = fy_node_mapping_iterate(n, &it);
            if (!pr)
                return 0;
            n = fy_node_pair_key(pr);
        } else {
            n = fy_node_sequence_iterate(n, &it);
        }
    }
    return 0;
}

static int fail(ctx_t *x, struct fy_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ctx_t *x, struct fy_node *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qr_err_set(x->err, QR_EPARSE, "%s:%d: %s", x->path, node_line(n), msg);
}

static const char *scalar(struct fy_node *n)
{
    return n && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
}

static int get_str(ctx_t *x, struct fy_node *v, const char *what, char **out)
{
    const char *s = scalar(v);
    if (!s || !*s)
        return fail(x, v, "%s: expected a non-empty string", what);
    free(*out);
    *out = strdup(s);
    return *out ? 0 : QR_ENOMEM;
}

static int get_bool(ctx_t *x, struct fy_node *v, const char *what, bool *out)
{
    const char *s = scalar(v);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")))
        *out = true;
    else if (s && (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")))
        *out = false;
    else
        return fail(x, v, "%s: expected true or false", what);
    return 0;
}

static int get_dur(ctx_t *x, struct fy_node *v, const char *what, int64_t min_ms, int64_t *out)
{
    int64_t ms;
    if (alerts_conf_parse_duration(scalar(v), &ms) != 0)
        return fail(x, v, "%s: expected a duration like 30s, 5m, 4h", what);
    if (ms < min_ms)
        return fail(x, v, "%s: must be at least %lld ms", what, (long long)min_ms);
    *out = ms;
    return 0;
}

/* Reads a secret-bearing file: whole content, trailing whitespace cut.
 * The error names the file, never its content. */
static int read_secret_file(ctx_t *x, struct fy_node *v, const char *what, char **out)
{
    const char *path = scalar(v);
    if (!path || !*path)
        return fail(x, v, "%s: expected a file name", what);
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(x, v, "%s: cannot read %s: %s", what, path, strerror(errno));
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more)
        return fail(x, v, "%s: %s is larger than %zu bytes", what, path, sizeof buf - 1);
    buf[n] = '\0';
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    if (n == 0 || strlen(buf) != n)
        return fail(x, v, "%s: %s is empty or binary", what, path);
    free(*out);
    *out = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    return *out ? 0 : QR_ENOMEM;
}

static int read_secret_env(ctx_t *x, struct fy_node *v, const char *what, char **out)
{
    const char *name = scalar(v);
    if (!name || !*name)
        return fail(x, v, "%s: expected an environment variable name", what);
    const char *val = getenv(name);
    if (!val || !*val)
        return fail(x, v, "%s: environment variable %s is not set", what, name);
    free(*out);
    *out = strdup(val);
    return *out ? 0 : QR_ENOMEM;
}

/* One secret from exactly one of FIELD (inline, when allowed), FIELD_file,
 * FIELD_env. *seen counts the sources given. */
static int secret_field(ctx_t *x, const char *k, struct fy_node *v, const char *field,
                        bool inline_ok, char **out, int *seen, bool *handled)
{
    size_t fl = strlen(field);
    if (strncmp(k, field, fl) != 0)
        return 0;
    const char *suf = k + fl;
    int rc;
    if (*suf == '\0') {
        *handled = true;
        if (!inline_ok)
            return fail(x, v, "%s must not be written in the config: use %s_file or %s_env", field,
                        field, field);
        rc = get_str(x, v, field, out);
    } else if (strcmp(suf, "_file") == 0) {
        *handled = true;
        rc = read_secret_file(x, v, k, out);
    } else if (strcmp(suf, "_env") == 0) {
        *handled = true;
        rc = read_secret_env(x, v, k, out);
    } else {
        return 0;
    }
    if (rc == 0 && ++*seen > 1)
        return fail(x, v, "%s: give only one of %s, %s_file, %s_env", k, field, field, field);
    return rc;
}

static bool http_url(const char *u)
{
    return u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
           strlen(u) > 8 && !strpbrk(u, " \t\r\n");
}

static int parse_receiver(ctx_t *x, struct fy_node *m, alerts_receiver_t *r)
{
    if (!fy_node_is_mapping(m))
        return fail(x, m, "receiver: expected a mapping");
    r->timeout_ms = 10000;
    r->send_resolved = x->c->send_resolved;
    int type = -1, nurl = 0, nkey = 0, nsec = 0, rc = 0;
    struct fy_node *type_node = NULL;
    void *it = NULL;
    struct fy_node_pair *pr;
    while (!rc && (pr = fy_node_mapping_iterate(m, &it))) {
        struct fy_node *kn = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
        const char *k = scalar(kn);
        bool h = false;
        if (!k)
            return fail(x, kn, "receiver: keys must be strings");
        if (!strcmp(k, "name")) {
            rc = get_str(x, v, "name", &r->name);
        } else if (!strcmp(k, "type")) {
            type_node = v;
            const char *t = scalar(v);
            for (size_t i = 0; t && i < NRCV_TYPES; i++)
                if (!strcmp(t, rcv_types[i]))
                    type = (int)i;
            if (type < 0)
                return fail(x, v,
                            "type: expected slack, mattermost, teams, pagerduty, opsgenie, "
                            "webhook or alertmanager");
        } else if (!strcmp(k, "timeout")) {
            rc = get_dur(x, v, "timeout", 100, &r->timeout_ms);
            if (!rc && r->timeout_ms > 300000)
                rc = fail(x, v, "timeout: at most 5m");
        } else if (!strcmp(k, "send_resolved")) {
            rc = get_bool(x, v, "send_resolved", &r->send_resolved);
        } else if (!strcmp(k, "link")) {
            rc = get_str(x, v, "link", &r->link);
        } else {
            rc = secret_field(x, k, v, "url", true, &r->url, &nurl, &h);
            if (!rc && !h)
                rc = secret_field(x, k, v, "routing_key", false, &r->key, &nkey, &h);
            if (!rc && !h)
                rc = secret_field(x, k, v, "api_key", false, &r->key, &nkey, &h);
            if (!rc && !h)
                rc = secret_field(x, k, v, "secret", false, &r->secret, &nsec, &h);
            if (!rc && !h)
                return fail(x, kn, "receiver: unknown key %s", k);
            if (!rc && nkey > 1)
                return fail(x, kn, "receiver: give only one routing_key/api_key source");
        }
    }
    if (rc)
        return rc;
    if (!r->name)
        return fail(x, m, "receiver: name is required");
    if (type < 0)
        return fail(x, m, "receiver %s: type is required", r->name);
    r->type = (alerts_rcv_type_t)type;
    if (!r->url && r->type == ALERTS_RCV_PAGERDUTY)
        r->url = strdup("https://events.pagerduty.com/v2/enqueue");
    if (!r->url && r->type == ALERTS_RCV_OPSGENIE)
        r->url = strdup("https://api.opsgenie.com");
    if (!r->url)
        return fail(x, type_node, "receiver %s: url, url_file or url_env is required", r->name);
    if (!http_url(r->url))
        return fail(x, type_node,
                    "receiver %s: the URL must start with http:// or https:// (value not "
                    "shown)",
                    r->name);
    if (r->type == ALERTS_RCV_PAGERDUTY && !r->key)
        return fail(x, type_node,
                    "receiver %s: pagerduty needs routing_key_file or routing_key_env", r->name);
    if (r->type == ALERTS_RCV_OPSGENIE && !r->key)
        return fail(x, type_node, "receiver %s: opsgenie needs api_key_file or api_key_env",
                    r->name);
    if (r->type == ALERTS_RCV_WEBHOOK && !r->secret)
        return fail(x, type_node, "receiver %s: webhook needs secret_file or secret_env", r->name);
    if (r->key && r->type != ALERTS_RCV_PAGERDUTY && r->type != ALERTS_RCV_OPSGENIE)
        return fail(x, type_node,
                    "receiver %s: routing_key/api_key only apply to "
                    "pagerduty/opsgenie",
                    r->name);
    return 0;
}

static const char *group_labels[] = {"dc", "node", "severity", "check", "key"};

static int parse_route(ctx_t *x, struct fy_node *m, alerts_route_t *r)
{
    if (!fy_node_is_mapping(m))
        return fail(x, m, "route: expected a mapping");
    r->line = node_line(m);
    r->group_wait_ms = x->c->group_wait_ms;
    r->group_interval_ms = x->c->group_interval_ms;
    r->repeat_interval_ms = x->c->repeat_interval_ms;
    r->min_severity = ALERTS_SEV_INFO;
    int rc = 0;
    void *it = NULL;
    struct fy_node_pair *pr;
    bool have_rcv = false;
    while (!rc && (pr = fy_node_mapping_iterate(m, &it))) {
        struct fy_node *kn = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
        const char *k = scalar(kn);
        if (!k)
            return fail(x, kn, "route: keys must be strings");
        if (!strcmp(k, "match")) {
            if (!fy_node_is_mapping(v))
                return fail(x, v, "match: expected a mapping");
            void *it2 = NULL;
            struct fy_node_pair *p2;
            while (!rc && (p2 = fy_node_mapping_iterate(v, &it2))) {
                struct fy_node *k2n = fy_node_pair_key(p2), *v2 = fy_node_pair_value(p2);
                const char *k2 = scalar(k2n);
                if (k2 && !strcmp(k2, "severity")) {
                    int s = alerts_sev_parse(scalar(v2));
                    if (s < 0)
                        return fail(x, v2, "severity: expected critical, error, warning or info");
                    r->min_severity = (alerts_sev_t)s;
                } else if (k2 && !strcmp(k2, "dc")) {
                    rc = get_str(x, v2, "dc", &r->dc);
                } else if (k2 && !strcmp(k2, "node")) {
                    rc = get_str(x, v2, "node", &r->node);
                } else if (k2 && !strcmp(k2, "key_prefix")) {
                    rc = get_str(x, v2, "key_prefix", &r->key_prefix);
                } else {
                    return fail(x, k2n, "match: unknown key %s (severity, dc, node, key_prefix)",
                                k2 ? k2 : "?");
                }
            }
        } else if (!strcmp(k, "receivers")) {
            if (!fy_node_is_sequence(v) || fy_node_sequence_item_count(v) == 0)
                return fail(x, v, "receivers: expected a non-empty list of receiver names");
            int cnt = fy_node_sequence_item_count(v);
            free(r->receivers);
            r->receivers = calloc((size_t)cnt, sizeof *r->receivers);
            if (!r->receivers)
                return QR_ENOMEM;
            r->nreceivers = 0;
            void *it2 = NULL;
            struct fy_node *e;
            while ((e = fy_node_sequence_iterate(v, &it2))) {
                int idx = alerts_conf_receiver_index(x->c, scalar(e));
                if (idx < 0)
                    return fail(x, e, "receivers: no receiver named %s",
                                scalar(e) ? scalar(e) : "(not a string)");
                r->receivers[r->nreceivers++] = idx;
            }
            have_rcv = true;
        } else if (!strcmp(k, "continue")) {
            rc = get_bool(x, v, "continue", &r->cont);
        } else if (!strcmp(k, "group_by")) {
            if (!fy_node_is_sequence(v))
                return fail(x, v, "group_by: expected a list");
            int cnt = fy_node_sequence_item_count(v);
            r->group_by = calloc((size_t)cnt + 1, sizeof *r->group_by);
            if (!r->group_by)
                return QR_ENOMEM;
            void *it2 = NULL;
            struct fy_node *e;
            while ((e = fy_node_sequence_iterate(v, &it2))) {
                const char *s = scalar(e);
                bool ok = false;
                for (size_t i = 0; s && i < 5; i++)
                    ok |= !strcmp(s, group_labels[i]);
                if (!ok)
                    return fail(x, e, "group_by: expected dc, node, severity, check or key");
                if (!(r->group_by[r->ngroup_by++] = strdup(s)))
                    return QR_ENOMEM;
            }
        } else if (!strcmp(k, "group_wait")) {
            rc = get_dur(x, v, k, 0, &r->group_wait_ms);
        } else if (!strcmp(k, "group_interval")) {
            rc = get_dur(x, v, k, 1000, &r->group_interval_ms);
        } else if (!strcmp(k, "repeat_interval")) {
            rc = get_dur(x, v, k, 1000, &r->repeat_interval_ms);
        } else {
            return fail(x, kn, "route: unknown key %s", k);
        }
    }
    if (!rc && !have_rcv)
        return fail(x, m, "route: receivers is required");
    return rc;
}

/* Scalar top-level settings come first so receivers/routes inherit them
 * whatever the order in the file. */
static int parse_top_scalars(ctx_t *x, struct fy_node *root)
{
    alerts_conf_t *c = x->c;
    void *it = NULL;
    struct fy_node_pair *pr;
    int rc = 0;
    while (!rc && (pr = fy_node_mapping_iterate(root, &it))) {
        struct fy_node *kn = fy_node_pair_key(pr), *v = fy_node_pair_value(pr);
        const char *k = scalar(kn);
        if (!k)
            return fail(x, kn, "keys must be strings");
        if (!strcmp(k, "for"))
            rc = get_dur(x, v, k, 0, &c->for_ms);
        else if (!strcmp(k, "group_wait"))
            rc = get_dur(x, v, k, 0, &c->group_wait_ms);
        else if (!strcmp(k, "group_interval"))
            rc = get_dur(x, v, k, 1000, &c->group_interval_ms);
        else if (!strcmp(k, "repeat_interval"))
            rc = get_dur(x, v, k, 1000, &c->repeat_interval_ms);
        else if (!strcmp(k, "send_resolved"))
            rc = get_bool(x, v, k, &c->send_resolved);
        else if (!strcmp(k, "inhibit_node_down"))
            rc = get_bool(x, v, k, &c->inhibit_node_down);
        else if (!strcmp(k, "notification_log_max")) {
            char *end;
            const char *s = scalar(v);
            long n = s ? strtol(s, &end, 10) : 0;
            if (!s || *end || n < 16 || n > 1000000)
                return fail(x, v, "notification_log_max: expected a number 16..1000000");
            c->nlog_max = (size_t)n;
        } else if (!strcmp(k, "for_overrides")) {
            if (!fy_node_is_mapping(v))
                return fail(x, v, "for_overrides: expected a mapping of key prefix: duration");
            int cnt = fy_node_mapping_item_count(v);
            c->for_overrides = calloc((size_t)cnt + 1, sizeof *c->for_overrides);
            if (!c->for_overrides)
                return QR_ENOMEM;
            void *it2 = NULL;
            struct fy_node_pair *p2;
            while (!rc && (p2 = fy_node_mapping_iterate(v, &it2))) {
                const char *pfx = scalar(fy_node_pair_key(p2));
                if (!pfx || !*pfx)
                    return fail(x, fy_node_pair_key(p2), "for_overrides: empty key prefix");
                alerts_for_t *o = &c->for_overrides[c->nfor_overrides];
                rc = get_dur(x, fy_node_pair_value(p2), pfx, 0, &o->for_ms);
                if (!rc && !(o->prefix = strdup(pfx)))
                    rc = QR_ENOMEM;
                if (!rc)
                    c->nfor_overrides++;
            }
        } else if (strcmp(k, "receivers") && strcmp(k, "routes"))
            return fail(x, kn, "unknown key %s", k);
    }
    return rc;
}

/* The value under key in mapping m, and the key node (its line is the
 * one to report when the value is missing or an empty collection). */
static struct fy_node *lookup(struct fy_node *m, const char *key, struct fy_node **key_node)
{
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(m, &it))) {
        const char *k = scalar(fy_node_pair_key(pr));
        if (k && !strcmp(k, key)) {
            *key_node = fy_node_pair_key(pr);
            return fy_node_pair_value(pr);
        }
    }
    return NULL;
}

static int parse_root(ctx_t *x, struct fy_node *root)
{
    alerts_conf_t *c = x->c;
    if (!root || !fy_node_is_mapping(root))
        return fail(x, root, "expected a mapping at the top level");
    int rc = parse_top_scalars(x, root);
    if (rc)
        return rc;
    struct fy_node *rkey = NULL;
    struct fy_node *rcv = lookup(root, "receivers", &rkey);
    if (!rcv || !fy_node_is_sequence(rcv) || fy_node_sequence_item_count(rcv) == 0)
        return fail(x, rkey ? rkey : root, "receivers: expected a non-empty list");
    int cnt = fy_node_sequence_item_count(rcv);
    c->receivers = calloc((size_t)cnt, sizeof *c->receivers);
    if (!c->receivers)
        return QR_ENOMEM;
    void *it = NULL;
    struct fy_node *e;
    while ((e = fy_node_sequence_iterate(rcv, &it))) {
        alerts_receiver_t *r = &c->receivers[c->nreceivers];
        c->nreceivers++;
        if ((rc = parse_receiver(x, e, r)))
            return rc;
        for (size_t i = 0; i + 1 < c->nreceivers; i++)
            if (!strcmp(c->receivers[i].name, r->name))
                return fail(x, e, "receiver %s: defined twice", r->name);
    }
    struct fy_node *rtkey = NULL;
    struct fy_node *routes = lookup(root, "routes", &rtkey);
    if (!routes || !fy_node_is_sequence(routes) || fy_node_sequence_item_count(routes) == 0)
        return fail(x, rtkey ? rtkey : root, "routes: expected a non-empty list");
    cnt = fy_node_sequence_item_count(routes);
    c->routes = calloc((size_t)cnt, sizeof *c->routes);
    if (!c->routes)
        return QR_ENOMEM;
    it = NULL;
    while ((e = fy_node_sequence_iterate(routes, &it))) {
        c->nroutes++;
        if ((rc = parse_route(x, e, &c->routes[c->nroutes - 1])))
            return rc;
    }
    return 0;
}

typedef struct {
    char first[300];
} diag_capture_t;

static void diag_out(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    diag_capture_t *d = user;
    if (d->first[0])
        return;
    snprintf(d->first, sizeof d->first, "%.*s", (int)len, buf);
    for (char *p = d->first; *p; p++)
        if (*p == '\n')
            *p = ' ';
    size_t l = strlen(d->first);
    while (l > 0 && d->first[l - 1] == ' ')
        d->first[--l] = '\0';
}

int alerts_conf_load(const char *path, alerts_conf_t **out, qr_err_t *err)
{
    *out = NULL;
    alerts_conf_t *c = calloc(1, sizeof *c);
    if (!c)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    c->for_ms = 30000;
    c->group_wait_ms = 30000;
    c->group_interval_ms = 300000;
    c->repeat_interval_ms = 4 * 3600000LL;
    c->send_resolved = true;
    c->inhibit_node_down = true;
    c->nlog_max = 4096;

    diag_capture_t cap = {{0}};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_out;
    dcfg.user = &cap;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET, .diag = diag};
    /* libfyaml may loop forever on invalid UTF-8: check the text first */
    int rc = yconf_check_text(path, err);
    struct fy_document *doc = rc ? NULL : fy_document_build_from_file(&pcfg, path);
    if (rc) {
        /* err says where */
    } else if (!doc) {
        FILE *f = fopen(path, "re");
        if (!f)
            rc = qr_err_set(err, QR_EIO, "%s: %s", path, strerror(errno));
        else {
            fclose(f);
            rc = qr_err_set(err, QR_EPARSE, "%s", cap.first[0] ? cap.first : "YAML parse error");
            if (!cap.first[0])
                snprintf(err->msg, sizeof err->msg, "%s:0: YAML parse error", path);
        }
    } else {
        ctx_t x = {.path = path, .err = err, .c = c};
        rc = parse_root(&x, fy_document_root(doc));
        if (rc == QR_ENOMEM)
            qr_err_set(err, rc, "out of memory");
        fy_document_destroy(doc);
    }
    if (diag)
        fy_diag_unref(diag);
    if (rc) {
        alerts_conf_destroy(&c);
        return rc;
    }
    *out = c;
    return 0;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void alerts_conf_destroy(alerts_conf_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alerts_conf_t *c = *self_p;
    for (size_t i = 0; i < c->nreceivers; i++) {
        alerts_receiver_t *r = &c->receivers[i];
        free(r->name);
        free_secret(r->url);
        free_secret(r->key);
        free_secret(r->secret);
        free(r->link);
    }
    free(c->receivers);
    for (size_t i = 0; i < c->nroutes; i++) {
        alerts_route_t *r = &c->routes[i];
        free(r->dc);
        free(r->node);
        free(r->key_prefix);
        free(r->receivers);
        for (size_t j = 0; j < r->ngroup_by; j++)
            free(r->group_by[j]);
        free(r->group_by);
    }
    free(c->routes);
    for (size_t i = 0; i < c->nfor_overrides; i++)
        free((char *)c->for_overrides[i].prefix);
    free(c->for_overrides);
    free(c);
    *self_p = NULL;
}

int alerts_conf_receiver_index(const alerts_conf_t *c, const char *name)
{
    for (size_t i = 0; name && i < c->nreceivers; i++)
        if (c->receivers[i].name && !strcmp(c->receivers[i].name, name))
            return (int)i;
    return -1;
}

void alerts_conf_params(const alerts_conf_t *c, alerts_params_t *p)
{
    alerts_params_default(p);
    p->for_ms = c->for_ms;
    p->overrides = c->for_overrides;
    p->noverrides = c->nfor_overrides;
    p->inhibit_node_down = c->inhibit_node_down;
}

void alerts_conf_redact_url(const char *url, char *buf, size_t bufsz)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p) {
        snprintf(buf, bufsz, "<redacted>");
        return;
    }
    p += 3;
    size_t hl = strcspn(p, "/?#");
    /* userinfo (user:pass@) is a secret too */
    const char *at = memchr(p, '@', hl);
    if (at) {
        hl -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    snprintf(buf, bufsz, "%.*s%.*s/<redacted>", (int)(strstr(url, "://") + 3 - url), url, (int)hl,
             p);
}

void alerts_conf_describe(const alerts_conf_t *c, FILE *f)
{
    fprintf(f,
            "for: %llds group_wait: %llds group_interval: %llds repeat_interval: %llds "
            "send_resolved: %s inhibit_node_down: %s\n",
            (long long)c->for_ms / 1000, (long long)c->group_wait_ms / 1000,
            (long long)c->group_interval_ms / 1000, (long long)c->repeat_interval_ms / 1000,
            c->send_resolved ? "true" : "false", c->inhibit_node_down ? "true" : "false");
    for (size_t i = 0; i < c->nreceivers; i++) {
        const alerts_receiver_t *r = &c->receivers[i];
        char u[256];
        alerts_conf_redact_url(r->url, u, sizeof u);
        fprintf(f, "receiver %s type=%s url=%s%s%s timeout=%lldms send_resolved=%s\n", r->name,
                alerts_conf_rcv_type_str(r->type), u, r->key ? " key=<redacted>" : "",
                r->secret ? " secret=<redacted>" : "", (long long)r->timeout_ms,
                r->send_resolved ? "true" : "false");
    }
    for (size_t i = 0; i < c->nroutes; i++) {
        const alerts_route_t *r = &c->routes[i];
        fprintf(f, "route %zu (line %d): severity>=%s dc=%s node=%s key_prefix=%s ->", i, r->line,
                alerts_sev_str(r->min_severity), r->dc ? r->dc : "*", r->node ? r->node : "*",
                r->key_prefix ? r->key_prefix : "*");
        for (size_t j = 0; j < r->nreceivers; j++)
            fprintf(f, " %s", c->receivers[r->receivers[j]].name);
        fprintf(f, "%s\n", r->cont ? " (continue)" : "");
    }
}
