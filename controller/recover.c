/* Forced recovery's decision: from what the surviving members report
 * (replSetGetStatus, one "view" each) and the replica set config, refuse or
 * plan the runbook's `rs.reconfig(cfg, {force: true})`. Pure: no I/O, no
 * clock; every time it uses comes from the documents themselves. */
#include "recover.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* MongoDB member states (MemberState::MS) the decision cares about. */
enum { RS_PRIMARY = 1, RS_SECONDARY = 2, RS_ARBITER = 7, RS_DOWN = 8 };

typedef struct {
    char **v;
    size_t n;
} strv_t;

/* One member as one view reports it. */
typedef struct {
    bool reported; /* the view lists the member */
    bool self;     /* the view is the member's own reply */
    bool healthy;
    double health;
    bool has_state;
    int state;
    char *state_str;
    bool has_optime; /* false for MongoDB's null optime too */
    recover_optime_t optime;
    bool has_optime_date;
    int64_t optime_date_ms;
    bool has_wall; /* lastAppliedWallTime, when not the epoch */
    int64_t wall_ms;
    bool has_hb_recv; /* lastHeartbeatRecv: when the view last heard from it */
    int64_t hb_recv_ms;
    bool has_config_version;
    int64_t config_version;
    char *message; /* lastHeartbeatMessage, NULL when empty */
} sighting_t;

typedef struct {
    char *name; /* the replying member's host, or "reply #k" */
    bool has_self;
    size_t self_idx; /* config index of the replying member */
    bool has_date;
    int64_t date_ms;
    bool has_committed;
    recover_optime_t committed; /* optimes.lastCommittedOpTime */
    bool my_state_primary;
} view_t;

struct recover_plan {
    bool ok;
    char *set_name;
    int64_t old_version, new_version;
    recover_member_t *members;
    size_t n_members;
    /* newest optime any view reported for a member, healthy or not: only
     * rollback risk reads it (the decision uses members[].optime) */
    bool *any_has_optime;
    recover_optime_t *any_optime;
    view_t *views;
    size_t n_views;
    sighting_t *sightings; /* [member * n_views + view] */
    strv_t refused, warnings;
    int64_t total_votes, reachable_votes, new_votes;
    const recover_member_t *target;
    bson_t *new_config;
    /* rollback risk */
    bool rb_known;
    int64_t rb_lag_ms;
    size_t rb_member; /* removed member with the newest last write */
    bool rb_has_optime;
    recover_optime_t rb_optime;
    bool rb_has_heard;
    int64_t rb_heard_ms;
};

/* ---- small helpers ---------------------------------------------------- */

static int strv_addf(strv_t *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_addf(strv_t *sv, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        return QR_ENOMEM;
    char **nv = realloc(sv->v, (sv->n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        return QR_ENOMEM;
    }
    sv->v = nv;
    sv->v[sv->n++] = s;
    return 0;
}

static void strv_free(strv_t *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

int recover_optime_cmp(const recover_optime_t *a, const recover_optime_t *b)
{
    if (a->term != b->term)
        return a->term < b->term ? -1 : 1;
    if (a->secs != b->secs)
        return a->secs < b->secs ? -1 : 1;
    if (a->inc != b->inc)
        return a->inc < b->inc ? -1 : 1;
    return 0;
}

/* Any BSON number (relaxed JSON turns MongoDB's longs and doubles into
 * whatever fits), as a double. */
static bool iter_number(const bson_iter_t *it, double *out)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        *out = bson_iter_int32(it);
        return true;
    case BSON_TYPE_INT64:
        *out = (double)bson_iter_int64(it);
        return true;
    case BSON_TYPE_DOUBLE:
        *out = bson_iter_double(it);
        return isfinite(*out);
    default:
        return false;
    }
}

/* An integral BSON number as int64 (doubles only when integral). */
static bool iter_int(const bson_iter_t *it, int64_t *out)
{
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        *out = bson_iter_int32(it);
        return true;
    case BSON_TYPE_INT64:
        *out = bson_iter_int64(it);
        return true;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
            return false;
        *out = (int64_t)d;
        return true;
    }
    default:
        return false;
    }
}

/* A UTF-8 string without embedded NULs (names end up in C strings). */
static const char *iter_str(const bson_iter_t *it)
{
    if (!BSON_ITER_HOLDS_UTF8(it))
        return NULL;
    uint32_t len = 0;
    const char *s = bson_iter_utf8(it, &len);
    if (strlen(s) != len || !bson_utf8_validate(s, len, false))
        return NULL;
    return s;
}

static bool doc_find(const bson_t *doc, const char *key, bson_iter_t *it)
{
    return bson_iter_init_find(it, doc, key);
}

/* Reads an optime: {ts: Timestamp, t: term} (protocol version 1) or a bare
 * Timestamp (version 0, no term). Returns false when malformed; *is_null when
 * it is MongoDB's null optime (ts 0:0), which means "unknown". */
static bool iter_optime(const bson_iter_t *it, recover_optime_t *o, bool *is_null)
{
    o->term = -1;
    if (BSON_ITER_HOLDS_TIMESTAMP(it)) {
        bson_iter_timestamp(it, &o->secs, &o->inc);
    } else if (BSON_ITER_HOLDS_DOCUMENT(it)) {
        bson_iter_t sub;
        if (!bson_iter_recurse(it, &sub))
            return false;
        bool has_ts = false;
        while (bson_iter_next(&sub)) {
            const char *k = bson_iter_key(&sub);
            if (strcmp(k, "ts") == 0) {
                if (!BSON_ITER_HOLDS_TIMESTAMP(&sub))
                    return false;
                bson_iter_timestamp(&sub, &o->secs, &o->inc);
                has_ts = true;
            } else if (strcmp(k, "t") == 0) {
                if (!iter_int(&sub, &o->term))
                    return false;
            }
        }
        if (!has_ts)
            return false;
    } else {
        return false;
    }
    *is_null = o->secs == 0 && o->inc == 0;
    return true;
}

static void fmt_optime(char *buf, size_t len, const recover_optime_t *o)
{
    snprintf(buf, len, "term %" PRId64 " ts %" PRIu32 ":%" PRIu32, o->term, o->secs, o->inc);
}

/* ---- parsing the input texts ------------------------------------------ */

void recover_replies_free(bson_t **replies, size_t n)
{
    if (!replies)
        return;
    for (size_t i = 0; i < n; i++)
        bson_destroy(replies[i]);
    free(replies);
}

/* Reads every top-level JSON value of text into docs (an array arrives as one
 * document keyed "0", "1", ...). */
static int read_json_docs(const char *text, size_t len, bson_t ***docs, size_t *n, qr_err_t *err)
{
    *docs = NULL;
    *n = 0;
    bson_json_reader_t *rd = bson_json_data_reader_new(false, 0);
    if (!rd)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    bson_json_data_reader_ingest(rd, (const uint8_t *)text, len);
    int rc = 0;
    for (;;) {
        bson_t *doc = bson_new();
        bson_error_t be;
        if (!doc) {
            rc = qr_err_set(err, QR_ENOMEM, "out of memory");
            break;
        }
        int r = bson_json_reader_read(rd, doc, &be);
        if (r <= 0) {
            bson_destroy(doc);
            if (r < 0)
                rc = qr_err_set(err, QR_EPARSE, "not valid Extended JSON: %s", be.message);
            break;
        }
        bson_t **nd = realloc(*docs, (*n + 1) * sizeof *nd);
        if (!nd) {
            bson_destroy(doc);
            rc = qr_err_set(err, QR_ENOMEM, "out of memory");
            break;
        }
        *docs = nd;
        (*docs)[(*n)++] = doc;
    }
    bson_json_reader_destroy(rd);
    if (rc) {
        recover_replies_free(*docs, *n);
        *docs = NULL;
        *n = 0;
    }
    return rc;
}

static char first_char(const char *text, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 BOM some editors add */
        i = 3;
    for (; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return text[i];
    return 0;
}

int recover_parse_status(const char *text, size_t len, bson_t ***replies, size_t *n, qr_err_t *err)
{
    *replies = NULL;
    *n = 0;
    char c = first_char(text, len);
    if (c == 0)
        return qr_err_set(err, QR_EPARSE,
                          "empty input: expected a replSetGetStatus reply "
                          "or an array of them");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (c != '[' && c != '{')
        return qr_err_set(err, QR_EPARSE, "expected a JSON object or array, found '%c'", c);
    bson_t **docs;
    size_t nd;
    int rc = read_json_docs(text, len, &docs, &nd, err);
    if (rc)
        return rc;
    if (c == '{') {
        *replies = docs;
        *n = nd;
        return 0;
    }
    if (nd != 1) {
        recover_replies_free(docs, nd);
        return qr_err_set(err, QR_EPARSE, "expected one JSON array, found %zu values", nd);
    }
    /* an array: every element must be a reply document */
    size_t count = bson_count_keys(docs[0]);
    bson_t **out = calloc(count ? count : 1, sizeof *out);
    if (!out) {
        recover_replies_free(docs, nd);
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    bson_iter_t it;
    size_t k = 0;
    bson_iter_init(&it, docs[0]);
    while (bson_iter_next(&it)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) {
            rc = qr_err_set(err, QR_EPARSE, "array element %zu is not a document", k);
            break;
        }
        uint32_t dlen;
        const uint8_t *data;
        bson_iter_document(&it, &dlen, &data);
        out[k] = bson_new_from_data(data, dlen);
        if (!out[k]) {
            rc = qr_err_set(err, QR_EPARSE, "array element %zu is not a valid document", k);
            break;
        }
        k++;
    }
    recover_replies_free(docs, nd);
    if (rc) {
        recover_replies_free(out, k);
        return rc;
    }
    *replies = out;
    *n = k;
    return 0;
}

int recover_parse_config(const char *text, size_t len, bson_t **config, qr_err_t *err)
{
    *config = NULL;
    char c = first_char(text, len);
    if (c == 0)
        return qr_err_set(err, QR_EPARSE, "empty input: expected a replica set config document");
    if (c != '{')
        return qr_err_set(err, QR_EPARSE, "expected a JSON object (the config document)");
    bson_t **docs;
    size_t nd;
    int rc = read_json_docs(text, len, &docs, &nd, err);
    if (rc)
        return rc;
    if (nd != 1) {
        recover_replies_free(docs, nd);
        return qr_err_set(err, QR_EPARSE, "expected one config document, found %zu", nd);
    }
    *config = docs[0];
    free(docs);
    return 0;
}

/* ---- the decision ----------------------------------------------------- */

void recover_plan_destroy(recover_plan_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    recover_plan_t *p = *self_p;
    for (size_t i = 0; i < p->n_members; i++) {
        free((char *)p->members[i].host);
        free((char *)p->members[i].dc);
    }
    free(p->members);
    free(p->any_has_optime);
    free(p->any_optime);
    if (p->sightings)
        for (size_t i = 0; i < p->n_members * p->n_views; i++) {
            free(p->sightings[i].state_str);
            free(p->sightings[i].message);
        }
    free(p->sightings);
    for (size_t v = 0; v < p->n_views; v++)
        free(p->views[v].name);
    free(p->views);
    strv_free(&p->refused);
    strv_free(&p->warnings);
    if (p->new_config)
        bson_destroy(p->new_config);
    free(p->set_name);
    free(p);
    *self_p = NULL;
}

static sighting_t *sight(recover_plan_t *p, size_t m, size_t v)
{
    return &p->sightings[m * p->n_views + v];
}

/* Unwraps a replSetGetConfig reply ({config: {...}, ok: 1}) to the config. */
static bool config_unwrap(const bson_t *in, bson_t *view)
{
    bson_iter_t it;
    if (!doc_find(in, "members", &it) && doc_find(in, "config", &it) &&
        BSON_ITER_HOLDS_DOCUMENT(&it)) {
        uint32_t len;
        const uint8_t *data;
        bson_iter_document(&it, &len, &data);
        return bson_init_static(view, data, len);
    }
    return bson_init_static(view, bson_get_data(in), in->len);
}

static int load_config(recover_plan_t *p, const bson_t *config, qr_err_t *err)
{
    bson_iter_t it, mit;
    if (!doc_find(config, "_id", &it) || !iter_str(&it))
        return qr_err_set(err, QR_EPARSE, "config: no replica set name (string _id)");
    if (!(p->set_name = strdup(iter_str(&it))))
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    if (!doc_find(config, "version", &it) || !iter_int(&it, &p->old_version) ||
        p->old_version < 0 || p->old_version == INT64_MAX)
        return qr_err_set(err, QR_EPARSE, "config: no valid version number");
    if (!doc_find(config, "members", &it))
        return qr_err_set(err, QR_EINVAL, "config of replica set '%s' has no members", p->set_name);
    if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &mit))
        return qr_err_set(err, QR_EPARSE, "config: members is not an array");
    size_t count = 0;
    bson_iter_t cnt = mit;
    while (bson_iter_next(&cnt))
        count++;
    if (count == 0)
        return qr_err_set(err, QR_EINVAL, "config of replica set '%s' has no members", p->set_name);
    if (!(p->members = calloc(count, sizeof *p->members)))
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    while (bson_iter_next(&mit)) {
        size_t i = p->n_members++; /* counted now so destroy frees a half-read member */
        recover_member_t *m = &p->members[i];
        bson_iter_t f;
        if (!BSON_ITER_HOLDS_DOCUMENT(&mit) || !bson_iter_recurse(&mit, &f))
            return qr_err_set(err, QR_EPARSE, "config: members[%zu] is not a document", i);
        bool has_id = false;
        m->votes = 1;
        m->priority = 1;
        bool has_priority = false;
        while (bson_iter_next(&f)) {
            const char *k = bson_iter_key(&f);
            if (strcmp(k, "_id") == 0) {
                if (!iter_int(&f, &m->id))
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu]._id is not an "
                                      "integer",
                                      i);
                has_id = true;
            } else if (strcmp(k, "host") == 0) {
                const char *h = iter_str(&f);
                if (!h || !*h)
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].host is not a "
                                      "host name",
                                      i);
                if (!(m->host = strdup(h)))
                    return qr_err_set(err, QR_ENOMEM, "out of memory");
            } else if (strcmp(k, "votes") == 0) {
                int64_t v;
                if (!iter_int(&f, &v) || v < 0 || v > 1)
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].votes must be 0 "
                                      "or 1",
                                      i);
                m->votes = (int)v;
            } else if (strcmp(k, "priority") == 0) {
                if (!iter_number(&f, &m->priority) || m->priority < 0)
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].priority is not "
                                      "a number >= 0",
                                      i);
                has_priority = true;
            } else if (strcmp(k, "arbiterOnly") == 0) {
                if (!BSON_ITER_HOLDS_BOOL(&f))
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].arbiterOnly is "
                                      "not a boolean",
                                      i);
                m->arbiter = bson_iter_bool(&f);
            } else if (strcmp(k, "hidden") == 0) {
                if (!BSON_ITER_HOLDS_BOOL(&f))
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].hidden is not a "
                                      "boolean",
                                      i);
                m->hidden = bson_iter_bool(&f);
            } else if (strcmp(k, "tags") == 0) {
                bson_iter_t t;
                if (!BSON_ITER_HOLDS_DOCUMENT(&f) || !bson_iter_recurse(&f, &t))
                    return qr_err_set(err, QR_EPARSE,
                                      "config: members[%zu].tags is not a "
                                      "document",
                                      i);
                if (bson_iter_find(&t, "dc")) {
                    const char *dc = iter_str(&t);
                    if (!dc)
                        return qr_err_set(err, QR_EPARSE,
                                          "config: members[%zu].tags.dc is "
                                          "not a string",
                                          i);
                    if (*dc && !(m->dc = strdup(dc)))
                        return qr_err_set(err, QR_ENOMEM, "out of memory");
                }
            }
        }
        if (!has_id || !m->host)
            return qr_err_set(err, QR_EPARSE, "config: members[%zu] needs _id and host", i);
        if (m->arbiter && !has_priority)
            m->priority = 0;
        for (size_t j = 0; j < i; j++) {
            if (p->members[j].id == m->id)
                return qr_err_set(err, QR_EPARSE,
                                  "config: member _id %" PRId64 " appears "
                                  "twice",
                                  m->id);
            if (strcmp(p->members[j].host, m->host) == 0)
                return qr_err_set(err, QR_EPARSE, "config: host %s appears twice", m->host);
        }
        p->total_votes += m->votes;
    }
    return 0;
}

static int find_member(const recover_plan_t *p, int64_t id)
{
    for (size_t i = 0; i < p->n_members; i++)
        if (p->members[i].id == id)
            return (int)i;
    return -1;
}

/* Reads one status reply (view v) into the sightings table. */
static int load_view(recover_plan_t *p, size_t v, const bson_t *reply, qr_err_t *err)
{
    view_t *view = &p->views[v];
    bson_iter_t it, mit;
    if (doc_find(reply, "ok", &it)) {
        double ok;
        if (iter_number(&it, &ok) && ok == 0) {
            const char *msg = NULL;
            if (doc_find(reply, "errmsg", &it))
                msg = iter_str(&it);
            return qr_err_set(err, QR_EPARSE, "status reply %zu is an error reply: %s", v + 1,
                              msg ? msg : "ok: 0");
        }
    }
    if (!doc_find(reply, "set", &it) || !iter_str(&it))
        return qr_err_set(err, QR_EPARSE,
                          "status reply %zu: no replica set name (set); is "
                          "it a replSetGetStatus reply?",
                          v + 1);
    if (strcmp(iter_str(&it), p->set_name) != 0)
        return qr_err_set(err, QR_ECONFLICT,
                          "status reply %zu is from replica set '%s' but "
                          "the config is for '%s'",
                          v + 1, iter_str(&it), p->set_name);
    if (doc_find(reply, "date", &it) && BSON_ITER_HOLDS_DATE_TIME(&it)) {
        view->has_date = true;
        view->date_ms = bson_iter_date_time(&it);
    }
    if (doc_find(reply, "myState", &it)) {
        int64_t st;
        view->my_state_primary = iter_int(&it, &st) && st == RS_PRIMARY;
    }
    if (bson_iter_init(&it, reply) &&
        bson_iter_find_descendant(&it, "optimes.lastCommittedOpTime", &mit)) {
        bool is_null;
        if (iter_optime(&mit, &view->committed, &is_null) && !is_null)
            view->has_committed = true;
    }
    if (!doc_find(reply, "members", &it) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &mit))
        return qr_err_set(err, QR_EPARSE, "status reply %zu: no members array", v + 1);
    size_t k = 0;
    while (bson_iter_next(&mit)) {
        bson_iter_t f;
        if (!BSON_ITER_HOLDS_DOCUMENT(&mit) || !bson_iter_recurse(&mit, &f))
            return qr_err_set(err, QR_EPARSE,
                              "status reply %zu: members[%zu] is not a "
                              "document",
                              v + 1, k);
        sighting_t s = {0};
        int64_t id = 0;
        bool has_id = false, has_health = false;
        const char *name = NULL;
        int rc = 0;
        while (bson_iter_next(&f) && rc == 0) {
            const char *key = bson_iter_key(&f);
            if (strcmp(key, "_id") == 0) {
                has_id = iter_int(&f, &id);
            } else if (strcmp(key, "name") == 0) {
                name = iter_str(&f);
            } else if (strcmp(key, "health") == 0) {
                has_health = iter_number(&f, &s.health);
            } else if (strcmp(key, "state") == 0) {
                int64_t st;
                if ((s.has_state = iter_int(&f, &st)))
                    s.state = (int)st;
            } else if (strcmp(key, "stateStr") == 0 && iter_str(&f)) {
                free(s.state_str);
                if (!(s.state_str = strdup(iter_str(&f))))
                    rc = QR_ENOMEM;
            } else if (strcmp(key, "self") == 0) {
                s.self = BSON_ITER_HOLDS_BOOL(&f) && bson_iter_bool(&f);
            } else if (strcmp(key, "optime") == 0) {
                bool is_null;
                if (!iter_optime(&f, &s.optime, &is_null))
                    rc = QR_EPARSE;
                s.has_optime = rc == 0 && !is_null;
            } else if (strcmp(key, "optimeDate") == 0 && BSON_ITER_HOLDS_DATE_TIME(&f)) {
                s.optime_date_ms = bson_iter_date_time(&f);
                s.has_optime_date = s.optime_date_ms > 0;
            } else if (strcmp(key, "lastAppliedWallTime") == 0 && BSON_ITER_HOLDS_DATE_TIME(&f)) {
                s.wall_ms = bson_iter_date_time(&f);
                s.has_wall = s.wall_ms > 0;
            } else if (strcmp(key, "lastHeartbeatRecv") == 0 && BSON_ITER_HOLDS_DATE_TIME(&f)) {
                s.hb_recv_ms = bson_iter_date_time(&f);
                s.has_hb_recv = s.hb_recv_ms > 0;
            } else if (strcmp(key, "configVersion") == 0) {
                s.has_config_version = iter_int(&f, &s.config_version);
            } else if (strcmp(key, "lastHeartbeatMessage") == 0 && iter_str(&f) && *iter_str(&f)) {
                free(s.message);
                if (!(s.message = strdup(iter_str(&f))))
                    rc = QR_ENOMEM;
            }
        }
        if (rc == 0 && (!has_id || !name || !has_health))
            rc = QR_EPARSE;
        int mi = rc == 0 ? find_member(p, id) : -1;
        if (rc == 0 && mi < 0)
            rc = QR_ECONFLICT;
        if (rc == 0 && strcmp(p->members[mi].host, name) != 0)
            rc = QR_ECONFLICT;
        if (rc == 0 && sight(p, (size_t)mi, v)->reported)
            rc = QR_EPARSE;
        if (rc) {
            free(s.state_str);
            free(s.message);
            if (rc == QR_ENOMEM)
                return qr_err_set(err, rc, "out of memory");
            if (rc == QR_ECONFLICT && mi < 0)
                return qr_err_set(err, rc,
                                  "status reply %zu reports member _id %" PRId64
                                  " (%s), which the config of '%s' does not have: "
                                  "status and config are from different replica "
                                  "sets (or the config is stale)",
                                  v + 1, id, name, p->set_name);
            if (rc == QR_ECONFLICT)
                return qr_err_set(err, rc,
                                  "status reply %zu says member _id %" PRId64
                                  " is %s, the config says %s: status and config "
                                  "are from different replica sets",
                                  v + 1, id, name, p->members[mi].host);
            if (mi >= 0)
                return qr_err_set(err, rc, "status reply %zu lists member _id %" PRId64 " twice",
                                  v + 1, id);
            return qr_err_set(err, rc,
                              "status reply %zu: members[%zu] needs _id, name and "
                              "health (and a well-formed optime)",
                              v + 1, k);
        }
        s.reported = true;
        s.healthy = s.self || s.health > 0;
        if (s.self) {
            if (view->has_self)
                return qr_err_set(err, QR_EPARSE,
                                  "status reply %zu has two members marked "
                                  "self",
                                  v + 1);
            view->has_self = true;
            view->self_idx = (size_t)mi;
        }
        *sight(p, (size_t)mi, v) = s;
        k++;
    }
    if (k == 0)
        return qr_err_set(err, QR_EPARSE, "status reply %zu has an empty members array", v + 1);
    char *name = NULL;
    if (view->has_self)
        name = strdup(p->members[view->self_idx].host);
    else if (asprintf(&name, "reply #%zu", v + 1) < 0)
        name = NULL;
    if (!name)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    view->name = name;
    return 0;
}

static bool sighting_is_primary(const sighting_t *s)
{
    if (s->has_state)
        return s->state == RS_PRIMARY;
    return s->state_str && strcmp(s->state_str, "PRIMARY") == 0;
}

/* The four refusal rules of the contract (plus: nothing to make primary). */
static int check_refusals(recover_plan_t *p)
{
    int rc = 0;
    /* 1. a primary anywhere: the set is writable, forcing would fork history */
    for (size_t v = 0; v < p->n_views && rc == 0; v++) {
        const view_t *view = &p->views[v];
        bool self_listed = false;
        for (size_t m = 0; m < p->n_members && rc == 0; m++) {
            const sighting_t *s = sight(p, m, v);
            if (!s->reported || !sighting_is_primary(s))
                continue;
            if (s->self)
                self_listed = true;
            rc = strv_addf(&p->refused,
                           "%s is PRIMARY in the view of %s: the replica set "
                           "has a primary, a forced reconfig would split it",
                           p->members[m].host, view->name);
        }
        if (rc == 0 && view->my_state_primary && !self_listed)
            rc = strv_addf(&p->refused,
                           "%s reports itself PRIMARY (myState 1): the replica "
                           "set has a primary",
                           view->name);
    }
    /* 2. seen down by one view and healthy by another: a partition, not a loss */
    for (size_t m = 0; m < p->n_members && rc == 0; m++) {
        size_t up = 0, down = 0;
        const char *up_by = NULL, *down_by = NULL;
        for (size_t v = 0; v < p->n_views; v++) {
            const sighting_t *s = sight(p, m, v);
            if (!s->reported)
                continue;
            if (s->healthy) {
                if (!up++)
                    up_by = p->views[v].name;
            } else if (!down++) {
                down_by = p->views[v].name;
            }
        }
        if (up && down)
            rc = strv_addf(&p->refused,
                           "%s is seen down by %s but healthy by %s: that is a "
                           "partition, not a lost member",
                           p->members[m].host, down_by, up_by);
    }
    /* 3. and 4. count the votes the reachable members hold */
    size_t reachable_data = 0;
    for (size_t m = 0; m < p->n_members; m++) {
        const recover_member_t *mem = &p->members[m];
        if (!mem->reachable)
            continue;
        p->reachable_votes += mem->votes;
        if (!mem->arbiter)
            reachable_data++;
    }
    if (rc == 0 && p->reachable_votes * 2 > p->total_votes)
        rc = strv_addf(&p->refused,
                       "the reachable members hold %" PRId64 " of %" PRId64
                       " votes, a majority: the replica set can elect a primary "
                       "without a forced reconfig",
                       p->reachable_votes, p->total_votes);
    if (rc == 0 && p->reachable_votes == 0)
        rc = strv_addf(&p->refused, "%s",
                       p->n_views == 0 ? "no status reply: no voting member is known "
                                         "to be reachable"
                                       : "no voting member is reachable: no view sees "
                                         "any voting member healthy");
    else if (rc == 0 && reachable_data == 0)
        rc = strv_addf(&p->refused, "only arbiters are reachable: no member holds data to "
                                    "become primary");
    return rc;
}

/* Sets every member's reachability and freshest optime / last write. */
static void summarise_members(recover_plan_t *p)
{
    for (size_t m = 0; m < p->n_members; m++) {
        recover_member_t *mem = &p->members[m];
        for (size_t v = 0; v < p->n_views; v++) {
            const sighting_t *s = sight(p, m, v);
            if (!s->reported)
                continue;
            if (s->healthy)
                mem->reachable = true;
            if (s->has_optime) {
                if (s->healthy &&
                    (!mem->has_optime || recover_optime_cmp(&s->optime, &mem->optime) > 0)) {
                    mem->has_optime = true;
                    mem->optime = s->optime;
                }
                if (!p->any_has_optime[m] ||
                    recover_optime_cmp(&s->optime, &p->any_optime[m]) > 0) {
                    p->any_has_optime[m] = true;
                    p->any_optime[m] = s->optime;
                }
            }
            /* lastAppliedWallTime survives a missed heartbeat (optime does not) */
            int64_t w = s->has_wall ? s->wall_ms : s->has_optime_date ? s->optime_date_ms : 0;
            if (w > 0 && (!mem->has_wall || w > mem->wall_ms)) {
                mem->has_wall = true;
                mem->wall_ms = w;
            }
        }
    }
}

/* Freshness order used both to pick the target (the maximum) and the member
 * to demote (the minimum): optime, then priority, then lower _id wins. */
static int fresher(const recover_member_t *a, const recover_member_t *b)
{
    if (a->has_optime != b->has_optime)
        return a->has_optime ? 1 : -1;
    if (a->has_optime) {
        int c = recover_optime_cmp(&a->optime, &b->optime);
        if (c)
            return c;
    }
    if (a->priority != b->priority)
        return a->priority > b->priority ? 1 : -1;
    if (a->id != b->id)
        return a->id < b->id ? 1 : -1;
    return 0;
}

/* Appends `value` under key with the same BSON number type as `like`. */
static bool append_same_type(bson_t *doc, const char *key, const bson_iter_t *like, int64_t value)
{
    switch (like ? bson_iter_type(like) : BSON_TYPE_INT32) {
    case BSON_TYPE_INT64:
        return bson_append_int64(doc, key, -1, value);
    case BSON_TYPE_DOUBLE:
        return bson_append_double(doc, key, -1, (double)value);
    default:
        if (value > INT32_MAX)
            return bson_append_int64(doc, key, -1, value);
        return bson_append_int32(doc, key, -1, (int32_t)value);
    }
}

/* The old config minus removed members, version raised, demoted member with
 * votes 0 and priority 0; every other field, its order and type kept. */
static int build_new_config(recover_plan_t *p, const bson_t *config)
{
    bson_t *out = bson_new();
    if (!out)
        return QR_ENOMEM;
    bson_iter_t it;
    bool ok = bson_iter_init(&it, config);
    while (ok && bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "version") == 0) {
            ok = append_same_type(out, key, &it, p->new_version);
        } else if (strcmp(key, "members") == 0) {
            bson_t arr;
            bson_iter_t mit;
            ok = bson_append_array_begin(out, key, -1, &arr) && bson_iter_recurse(&it, &mit);
            size_t i = 0, k = 0;
            while (ok && bson_iter_next(&mit)) {
                const recover_member_t *m = &p->members[i++];
                if (m->removed)
                    continue;
                char kbuf[16];
                const char *ks;
                bson_uint32_to_string((uint32_t)k++, &ks, kbuf, sizeof kbuf);
                if (!m->demoted) {
                    ok = bson_append_iter(&arr, ks, -1, &mit);
                    continue;
                }
                bson_t md;
                bson_iter_t f;
                bool seen_votes = false, seen_prio = false;
                ok = bson_append_document_begin(&arr, ks, -1, &md) && bson_iter_recurse(&mit, &f);
                while (ok && bson_iter_next(&f)) {
                    const char *fk = bson_iter_key(&f);
                    if (strcmp(fk, "votes") == 0) {
                        ok = append_same_type(&md, fk, &f, 0);
                        seen_votes = true;
                    } else if (strcmp(fk, "priority") == 0) {
                        ok = append_same_type(&md, fk, &f, 0);
                        seen_prio = true;
                    } else {
                        ok = bson_append_iter(&md, fk, -1, &f);
                    }
                }
                if (ok && !seen_prio)
                    ok = bson_append_double(&md, "priority", -1, 0);
                if (ok && !seen_votes)
                    ok = bson_append_int32(&md, "votes", -1, 0);
                ok = ok && bson_append_document_end(&arr, &md);
            }
            ok = ok && bson_append_array_end(out, &arr);
        } else {
            ok = bson_append_iter(out, key, -1, &it);
        }
    }
    if (!ok) {
        bson_destroy(out);
        return QR_ENOMEM;
    }
    p->new_config = out;
    return 0;
}

/* Custom write concern modes (settings.getLastErrorModes, e.g. {bothDCs:
 * {dc: 2}}) need that many distinct tag values among the members; after a
 * site is removed they usually cannot be met, and writes using them block. */
static int check_write_concern_modes(recover_plan_t *p)
{
    bson_iter_t modes, mode, cnt, mit, f;
    if (!bson_iter_init(&modes, p->new_config) ||
        !bson_iter_find_descendant(&modes, "settings.getLastErrorModes", &mode) ||
        !BSON_ITER_HOLDS_DOCUMENT(&mode) || !bson_iter_recurse(&mode, &mode))
        return 0;
    while (bson_iter_next(&mode)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&mode) || !bson_iter_recurse(&mode, &cnt))
            continue;
        while (bson_iter_next(&cnt)) {
            int64_t need;
            const char *tag = bson_iter_key(&cnt);
            if (!iter_int(&cnt, &need))
                continue;
            /* distinct values of tags.<tag> in the new config's members */
            const char *seen[64];
            int64_t distinct = 0;
            if (!bson_iter_init_find(&mit, p->new_config, "members") ||
                !bson_iter_recurse(&mit, &mit))
                continue;
            while (bson_iter_next(&mit) && distinct < 64) {
                char path[300];
                snprintf(path, sizeof path, "tags.%s", tag);
                if (!BSON_ITER_HOLDS_DOCUMENT(&mit) || !bson_iter_recurse(&mit, &f) ||
                    !bson_iter_find_descendant(&f, path, &f) || !iter_str(&f))
                    continue;
                const char *val = iter_str(&f);
                bool dup = false;
                for (int64_t i = 0; i < distinct; i++)
                    dup |= strcmp(seen[i], val) == 0;
                if (!dup)
                    seen[distinct++] = val;
            }
            if (distinct < need) {
                int rc = strv_addf(&p->warnings,
                                   "write concern mode '%s' needs %" PRId64
                                   " distinct tags.%s values, the new config "
                                   "has %" PRId64 ": writes using it will wait "
                                   "until the lost site is back",
                                   bson_iter_key(&mode), need, tag, distinct);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int warn_about_plan(recover_plan_t *p);
static int assess_rollback(recover_plan_t *p);

static int plan_recovery(recover_plan_t *p, const bson_t *config)
{
    int rc = 0;
    /* target: the freshest reachable data-bearing member */
    recover_member_t *target = NULL;
    for (size_t m = 0; m < p->n_members; m++) {
        recover_member_t *mem = &p->members[m];
        if (mem->reachable && !mem->arbiter && (!target || fresher(mem, target) > 0))
            target = mem;
    }
    target->is_target = true;
    p->target = target;
    int64_t voters = 0;
    for (size_t m = 0; m < p->n_members; m++) {
        recover_member_t *mem = &p->members[m];
        mem->removed = !mem->reachable;
        if (!mem->removed)
            voters += mem->votes;
    }
    /* even voters: the least fresh data-bearing voter (never the target) gives
     * up its vote, so a majority of the new set is well defined */
    if (voters % 2 == 0) {
        recover_member_t *least = NULL;
        for (size_t m = 0; m < p->n_members; m++) {
            recover_member_t *mem = &p->members[m];
            if (mem->removed || mem->is_target || mem->arbiter || mem->votes == 0)
                continue;
            if (!least || fresher(mem, least) < 0)
                least = mem;
        }
        if (least) {
            least->demoted = true;
            voters--;
        } else {
            rc = strv_addf(&p->warnings,
                           "the new config keeps %" PRId64 " voters, an even "
                           "number: besides the target only arbiters vote, and "
                           "an arbiter cannot give up its vote",
                           voters);
        }
    }
    p->new_votes = voters;
    p->new_version = p->old_version + 1;
    if (rc == 0)
        rc = build_new_config(p, config);
    if (rc == 0)
        rc = check_write_concern_modes(p);
    if (rc == 0)
        rc = warn_about_plan(p);
    if (rc == 0)
        rc = assess_rollback(p);
    return rc;
}

/* What the operator should check before confirming: the target's state and
 * electability, config versions, the commit point, the removed members' DC. */
static int warn_about_plan(recover_plan_t *p)
{
    int rc = 0;
    const recover_member_t *target = p->target;
    const sighting_t *ts = NULL;
    for (size_t v = 0; v < p->n_views; v++) {
        const sighting_t *s = sight(p, (size_t)(target - p->members), v);
        if (s->reported && s->healthy && (!ts || s->self))
            ts = s;
    }
    if (ts && ts->has_state && ts->state != RS_SECONDARY && rc == 0)
        rc = strv_addf(&p->warnings,
                       "the target %s is in state %s, not SECONDARY: check it "
                       "before forcing",
                       target->host, ts->state_str ? ts->state_str : "?");
    if (rc == 0 && !target->has_optime)
        rc = strv_addf(&p->warnings,
                       "no view reports an optime for the target %s: the "
                       "freshest member could not be determined from data",
                       target->host);
    if (rc == 0 && target->priority == 0)
        rc = strv_addf(&p->warnings,
                       "the target %s has priority 0: it takes the reconfig "
                       "but another member must catch up and be elected",
                       target->host);
    bool electable = false;
    for (size_t m = 0; m < p->n_members; m++) {
        const recover_member_t *mem = &p->members[m];
        if (!mem->removed && !mem->demoted && !mem->arbiter && mem->votes > 0 && mem->priority > 0)
            electable = true;
    }
    if (rc == 0 && !electable)
        rc = strv_addf(&p->warnings, "no member of the new config has priority > 0: no "
                                     "primary will be elected until one is given a priority");
    for (size_t v = 0; v < p->n_views && rc == 0; v++) {
        const view_t *view = &p->views[v];
        if (!view->has_self)
            continue;
        const sighting_t *s = sight(p, view->self_idx, v);
        if (s->has_config_version && s->config_version > p->old_version)
            rc = strv_addf(&p->warnings,
                           "%s runs config version %" PRId64 ", newer than the "
                           "config given (%" PRId64 "): re-read the config",
                           view->name, s->config_version, p->old_version);
        if (rc == 0 && view->has_committed && target->has_optime &&
            recover_optime_cmp(&target->optime, &view->committed) < 0) {
            char a[64], b[64];
            fmt_optime(a, sizeof a, &target->optime);
            fmt_optime(b, sizeof b, &view->committed);
            rc = strv_addf(&p->warnings,
                           "the target's optime (%s) is behind the majority "
                           "commit point %s knows (%s): majority-acknowledged "
                           "writes will be lost",
                           a, view->name, b);
        }
    }
    /* the data centre --confirm-down will have to name (an ok plan always
     * removes someone: the reachable votes are a minority) */
    const char *dc;
    int dcrc = recover_plan_removed_dc(p, &dc, NULL);
    if (rc == 0 && dcrc == QR_ECONFLICT)
        rc = strv_addf(&p->warnings, "the removed members are in more than one data centre "
                                     "(tags.dc): this is not the loss of one site");
    else if (rc == 0 && dcrc == QR_ENOTFOUND)
        rc = strv_addf(&p->warnings, "a removed member has no tags.dc: its data centre must "
                                     "come from the inventory");
    return rc;
}

/* Rollback risk: the newest write any view saw from a removed member against
 * the target's own newest write. */
static int assess_rollback(recover_plan_t *p)
{
    const recover_member_t *target = p->target;
    bool found = false;
    int64_t newest = 0;
    for (size_t m = 0; m < p->n_members; m++) {
        const recover_member_t *mem = &p->members[m];
        if (!mem->removed)
            continue;
        if (mem->has_wall && (!found || mem->wall_ms > newest)) {
            found = true;
            newest = mem->wall_ms;
            p->rb_member = m;
        }
        if (p->any_has_optime[m] &&
            (!p->rb_has_optime || recover_optime_cmp(&p->any_optime[m], &p->rb_optime) > 0)) {
            p->rb_has_optime = true;
            p->rb_optime = p->any_optime[m];
        }
        for (size_t v = 0; v < p->n_views; v++) {
            const sighting_t *s = sight(p, m, v);
            if (s->reported && s->has_hb_recv &&
                (!p->rb_has_heard || s->hb_recv_ms > p->rb_heard_ms)) {
                p->rb_has_heard = true;
                p->rb_heard_ms = s->hb_recv_ms;
            }
        }
    }
    if (found && target->has_wall) {
        p->rb_known = true;
        p->rb_lag_ms = newest > target->wall_ms ? newest - target->wall_ms : 0;
    }
    if (!p->rb_known)
        return strv_addf(&p->warnings, "no view reports when the removed members last wrote: "
                                       "the rollback risk is unknown");
    if (p->rb_lag_ms > 0)
        return strv_addf(&p->warnings,
                         "writes up to %.3f s newer than the target's last write "
                         "were seen on %s: they will be rolled back when it "
                         "rejoins",
                         (double)p->rb_lag_ms / 1000.0, p->members[p->rb_member].host);
    return 0;
}

int recover_plan_new(const bson_t *const *replies, size_t n, const bson_t *config_in,
                     recover_plan_t **out, qr_err_t *err)
{
    *out = NULL;
    if (!config_in)
        return qr_err_set(err, QR_EINVAL, "no config given");
    if (n && !replies)
        return qr_err_set(err, QR_EINVAL, "no status replies given");
    recover_plan_t *p = calloc(1, sizeof *p);
    if (!p)
        return qr_err_set(err, QR_ENOMEM, "out of memory");
    bson_t config;
    int rc = 0;
    size_t bad_at = 0;
    if (!config_unwrap(config_in, &config))
        rc = qr_err_set(err, QR_EPARSE, "config: not a valid document");
    /* new_config is printed as JSON: its strings must be valid UTF-8 */
    else if (!bson_validate(&config, BSON_VALIDATE_UTF8, &bad_at))
        rc = qr_err_set(err, QR_EPARSE, "config: invalid UTF-8 or embedded NUL near byte %zu",
                        bad_at);
    if (rc == 0)
        rc = load_config(p, &config, err);
    if (rc == 0) {
        p->n_views = n;
        p->views = calloc(n ? n : 1, sizeof *p->views);
        p->sightings = calloc(p->n_members * (n ? n : 1), sizeof *p->sightings);
        p->any_has_optime = calloc(p->n_members, sizeof *p->any_has_optime);
        p->any_optime = calloc(p->n_members, sizeof *p->any_optime);
        if (!p->views || !p->sightings || !p->any_has_optime || !p->any_optime)
            rc = qr_err_set(err, QR_ENOMEM, "out of memory");
    }
    for (size_t v = 0; v < n && rc == 0; v++) {
        if (!replies[v])
            rc = qr_err_set(err, QR_EINVAL, "status reply %zu is missing", v + 1);
        else
            rc = load_view(p, v, replies[v], err);
    }
    for (size_t v = 0; v < n && rc == 0; v++)
        for (size_t w = 0; w < v && rc == 0; w++)
            if (p->views[v].has_self && p->views[w].has_self &&
                p->views[v].self_idx == p->views[w].self_idx)
                rc = strv_addf(&p->warnings, "two status replies come from %s", p->views[v].name);
    if (rc == 0) {
        summarise_members(p);
        rc = check_refusals(p);
    }
    if (rc == 0 && p->refused.n == 0) {
        p->ok = true;
        rc = plan_recovery(p, &config);
    }
    if (rc == QR_ENOMEM)
        qr_err_set(err, rc, "out of memory");
    if (rc) {
        recover_plan_destroy(&p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- accessors -------------------------------------------------------- */

bool recover_plan_ok(const recover_plan_t *self)
{
    return self && self->ok;
}

size_t recover_plan_refusals(const recover_plan_t *self, const char *const **reasons)
{
    *reasons = (const char *const *)self->refused.v;
    return self->refused.n;
}

size_t recover_plan_warnings(const recover_plan_t *self, const char *const **warnings)
{
    *warnings = (const char *const *)self->warnings.v;
    return self->warnings.n;
}

size_t recover_plan_members(const recover_plan_t *self, const recover_member_t **members)
{
    *members = self->members;
    return self->n_members;
}

const recover_member_t *recover_plan_target(const recover_plan_t *self)
{
    return self->ok ? self->target : NULL;
}

const bson_t *recover_plan_new_config(const recover_plan_t *self)
{
    return self->ok ? self->new_config : NULL;
}

const char *recover_plan_set_name(const recover_plan_t *self)
{
    return self->set_name;
}

int64_t recover_plan_old_version(const recover_plan_t *self)
{
    return self->old_version;
}

int64_t recover_plan_new_version(const recover_plan_t *self)
{
    return self->ok ? self->new_version : self->old_version;
}

int recover_plan_removed_dc(const recover_plan_t *self, const char **dc, qr_err_t *err)
{
    *dc = NULL;
    if (!self->ok)
        return qr_err_set(err, QR_ENOTFOUND, "the recovery was refused");
    const char *found = NULL;
    for (size_t m = 0; m < self->n_members; m++) {
        const recover_member_t *mem = &self->members[m];
        if (!mem->removed)
            continue;
        if (!mem->dc)
            return qr_err_set(err, QR_ENOTFOUND, "removed member %s has no tags.dc", mem->host);
        if (found && strcmp(found, mem->dc) != 0)
            return qr_err_set(err, QR_ECONFLICT,
                              "removed members are in data centres %s "
                              "and %s",
                              found, mem->dc);
        found = mem->dc;
    }
    if (!found)
        return qr_err_set(err, QR_ENOTFOUND, "the plan removes no member");
    *dc = found;
    return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* One BSON value libbson knows how to print (dates, timestamps, ObjectIds,
 * binaries, ...): its canonical Extended JSON, except dates in ISO form. */
static json_t *bson_value_via_libbson(const bson_iter_t *it)
{
    bson_t tmp = BSON_INITIALIZER;
    json_t *out = NULL;
    if (bson_append_iter(&tmp, "v", 1, it)) {
        char *s = BSON_ITER_HOLDS_DATE_TIME(it) ? bson_as_relaxed_extended_json(&tmp, NULL)
                                                : bson_as_canonical_extended_json(&tmp, NULL);
        if (s) {
            json_t *wrap = json_loads(s, JSON_DECODE_ANY, NULL);
            if (wrap)
                out = json_incref(json_object_get(wrap, "v"));
            json_decref(wrap);
            bson_free(s);
        }
    }
    bson_destroy(&tmp);
    return out;
}

static json_t *iter_to_ejson(const bson_iter_t *it, int depth);

static json_t *container_to_ejson(const bson_iter_t *it, bool array, int depth)
{
    bson_iter_t sub;
    json_t *out = array ? json_array() : json_object();
    if (!out || !bson_iter_recurse(it, &sub)) {
        json_decref(out);
        return NULL;
    }
    while (bson_iter_next(&sub)) {
        json_t *v = iter_to_ejson(&sub, depth + 1);
        int r = !v      ? -1
                : array ? json_array_append_new(out, v)
                        : json_object_set_new(out, bson_iter_key(&sub), v);
        if (r) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *iter_to_ejson(const bson_iter_t *it, int depth)
{
    if (depth > 100) /* libbson's parser nests no deeper; never recurse unbounded */
        return NULL;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOCUMENT:
        return container_to_ejson(it, false, depth);
    case BSON_TYPE_ARRAY:
        return container_to_ejson(it, true, depth);
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return json_stringn(s, len);
    }
    case BSON_TYPE_INT32:
        return json_integer(bson_iter_int32(it));
    case BSON_TYPE_INT64: {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, bson_iter_int64(it));
        return json_pack("{ss}", "$numberLong", buf);
    }
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (isfinite(d))
            return json_real(d); /* jansson prints "1.0", which reads back as a double */
        return json_pack("{ss}", "$numberDouble",
                         isnan(d) ? "NaN"
                         : d > 0  ? "Infinity"
                                  : "-Infinity");
    }
    case BSON_TYPE_BOOL:
        return json_boolean(bson_iter_bool(it));
    case BSON_TYPE_NULL:
        return json_null();
    default:
        return bson_value_via_libbson(it);
    }
}

json_t *recover_bson_to_ejson(const bson_t *doc)
{
    bson_iter_t it;
    json_t *out = json_object();
    if (!out || !bson_iter_init(&it, doc)) {
        json_decref(out);
        return NULL;
    }
    while (bson_iter_next(&it)) {
        json_t *v = iter_to_ejson(&it, 1);
        if (!v || json_object_set_new(out, bson_iter_key(&it), v)) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *json_iso_date(int64_t ms)
{
    char buf[64];
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int msec = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return json_null();
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", msec);
    return json_string(buf);
}

static json_t *json_optime(const recover_optime_t *o)
{
    return json_pack("{sIs{sIsI}}", "term", (json_int_t)o->term, "ts", "t", (json_int_t)o->secs,
                     "i", (json_int_t)o->inc);
}

static json_t *json_strv(const strv_t *sv)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < sv->n; i++)
        if (json_array_append_new(a, json_string(sv->v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* json_object_set_new that remembers a failure instead of checking each call. */
static void jset(json_t *obj, const char *key, json_t *val, bool *ok)
{
    if (!val || json_object_set_new(obj, key, val))
        *ok = false;
}

static json_t *json_sighting(const recover_plan_t *p, size_t m, size_t v, bool *ok)
{
    const sighting_t *s = &p->sightings[m * p->n_views + v];
    const view_t *view = &p->views[v];
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    jset(o, "view", json_string(view->name), ok);
    jset(o, "reported", json_boolean(s->reported), ok);
    if (!s->reported)
        return o;
    jset(o, "self", json_boolean(s->self), ok);
    jset(o, "health", json_real(s->self ? 1.0 : s->health), ok);
    jset(o, "healthy", json_boolean(s->healthy), ok);
    jset(o, "state", s->has_state ? json_integer(s->state) : json_null(), ok);
    jset(o, "state_str", s->state_str ? json_string(s->state_str) : json_null(), ok);
    jset(o, "optime", s->has_optime ? json_optime(&s->optime) : json_null(), ok);
    jset(o, "optime_date", s->has_optime_date ? json_iso_date(s->optime_date_ms) : json_null(), ok);
    jset(o, "last_applied_wall", s->has_wall ? json_iso_date(s->wall_ms) : json_null(), ok);
    jset(o, "last_heartbeat_recv", s->has_hb_recv ? json_iso_date(s->hb_recv_ms) : json_null(), ok);
    /* how long the view had not heard from it when it replied */
    if (!s->healthy && s->has_hb_recv && view->has_date && view->date_ms >= s->hb_recv_ms)
        jset(o, "down_seconds", json_real((double)(view->date_ms - s->hb_recv_ms) / 1000.0), ok);
    else
        jset(o, "down_seconds", json_null(), ok);
    jset(o, "message", s->message ? json_string(s->message) : json_null(), ok);
    return o;
}

static json_t *json_evidence(const recover_plan_t *p, bool *ok)
{
    json_t *ev = json_array();
    if (!ev) {
        *ok = false;
        return NULL;
    }
    for (size_t m = 0; m < p->n_members; m++) {
        const recover_member_t *mem = &p->members[m];
        json_t *o = json_object();
        if (!o || json_array_append_new(ev, o)) {
            *ok = false;
            return ev;
        }
        jset(o, "_id", json_integer(mem->id), ok);
        jset(o, "host", json_string(mem->host), ok);
        jset(o, "dc", mem->dc ? json_string(mem->dc) : json_null(), ok);
        jset(o, "votes", json_integer(mem->votes), ok);
        jset(o, "priority", json_real(mem->priority), ok);
        jset(o, "arbiter", json_boolean(mem->arbiter), ok);
        jset(o, "hidden", json_boolean(mem->hidden), ok);
        jset(o, "reachable", json_boolean(mem->reachable), ok);
        jset(o, "optime", mem->has_optime ? json_optime(&mem->optime) : json_null(), ok);
        jset(o, "last_write", mem->has_wall ? json_iso_date(mem->wall_ms) : json_null(), ok);
        if (p->ok) {
            jset(o, "removed", json_boolean(mem->removed), ok);
            jset(o, "demoted", json_boolean(mem->demoted), ok);
            jset(o, "target", json_boolean(mem->is_target), ok);
        }
        json_t *views = json_array();
        jset(o, "views", views, ok);
        for (size_t v = 0; views && v < p->n_views; v++) {
            json_t *s = json_sighting(p, m, v, ok);
            if (!s || json_array_append_new(views, s))
                *ok = false;
        }
    }
    return ev;
}

static json_t *json_rollback(const recover_plan_t *p, bool *ok)
{
    const recover_member_t *t = p->target;
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    jset(o, "known", json_boolean(p->rb_known), ok);
    jset(o, "lag_seconds", p->rb_known ? json_real((double)p->rb_lag_ms / 1000.0) : json_null(),
         ok);
    jset(o, "target_last_write", t->has_wall ? json_iso_date(t->wall_ms) : json_null(), ok);
    jset(o, "target_optime", t->has_optime ? json_optime(&t->optime) : json_null(), ok);
    const recover_member_t *rm = p->rb_known ? &p->members[p->rb_member] : NULL;
    jset(o, "removed_last_write", rm ? json_iso_date(rm->wall_ms) : json_null(), ok);
    jset(o, "removed_last_write_member", rm ? json_string(rm->host) : json_null(), ok);
    jset(o, "removed_optime", p->rb_has_optime ? json_optime(&p->rb_optime) : json_null(), ok);
    /* the same lag in oplog time, when some view still holds a removed
     * member's optime (MongoDB clears it on the first missed heartbeat) */
    if (p->rb_has_optime && t->has_optime) {
        int c = recover_optime_cmp(&p->rb_optime, &t->optime);
        jset(o, "optime_ahead", json_boolean(c > 0), ok);
        jset(o, "optime_lag_seconds",
             json_integer(c > 0 ? (json_int_t)p->rb_optime.secs - (json_int_t)t->optime.secs : 0),
             ok);
    } else {
        jset(o, "optime_ahead", json_null(), ok);
        jset(o, "optime_lag_seconds", json_null(), ok);
    }
    jset(o, "removed_last_heard", p->rb_has_heard ? json_iso_date(p->rb_heard_ms) : json_null(),
         ok);
    return o;
}

json_t *recover_plan_to_json(const recover_plan_t *p)
{
    bool ok = true;
    json_t *o = json_object();
    if (!o)
        return NULL;
    jset(o, "ok", json_boolean(p->ok), &ok);
    jset(o, "set", json_string(p->set_name), &ok);
    json_t *views = json_array();
    jset(o, "views", views, &ok);
    for (size_t v = 0; views && v < p->n_views; v++)
        if (json_array_append_new(views, json_string(p->views[v].name)))
            ok = false;
    jset(o, "refused", json_strv(&p->refused), &ok);
    jset(o, "votes",
         json_pack("{sIsIso}", "total", (json_int_t)p->total_votes, "reachable",
                   (json_int_t)p->reachable_votes, "after",
                   p->ok ? json_integer(p->new_votes) : json_null()),
         &ok);
    jset(o, "old_version", json_integer(p->old_version), &ok);
    if (p->ok) {
        const recover_member_t *t = p->target;
        jset(o, "target", json_string(t->host), &ok);
        jset(o, "target_id", json_integer(t->id), &ok);
        jset(o, "target_optime", t->has_optime ? json_optime(&t->optime) : json_null(), &ok);
        json_t *removed = json_array(), *demoted = json_array();
        jset(o, "removed", removed, &ok);
        jset(o, "demoted", demoted, &ok);
        for (size_t m = 0; removed && demoted && m < p->n_members; m++) {
            const recover_member_t *mem = &p->members[m];
            if (mem->removed && json_array_append_new(removed, json_string(mem->host)))
                ok = false;
            if (mem->demoted && json_array_append_new(demoted, json_string(mem->host)))
                ok = false;
        }
        const char *dc = NULL;
        recover_plan_removed_dc(p, &dc, NULL);
        jset(o, "removed_dc", dc ? json_string(dc) : json_null(), &ok);
        jset(o, "new_version", json_integer(p->new_version), &ok);
        jset(o, "new_config", recover_bson_to_ejson(p->new_config), &ok);
        jset(o, "rollback_risk", json_rollback(p, &ok), &ok);
    }
    jset(o, "evidence", json_evidence(p, &ok), &ok);
    jset(o, "warnings", json_strv(&p->warnings), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
