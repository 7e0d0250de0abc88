/* Forced recovery's outside: parses the --status/--config Extended JSON into
 * bson, reads a finished plan (accessors) and writes it out as the `--json`
 * document, new config in type-keeping Extended JSON. The decision: recover.c. */
#include "recover_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
