/* Forced recovery's decision: from what the surviving members report
 * (replSetGetStatus "views") and the config, refuse or plan the runbook's forced
 * reconfig. Pure: no I/O, no clock; every time it uses comes from the documents. */
#include "recover_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MongoDB member states (MemberState::MS) the decision cares about. */
enum { RS_PRIMARY = 1, RS_SECONDARY = 2, RS_ARBITER = 7, RS_DOWN = 8 };

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
                free((char *)m->host); /* BSON allows a key twice: the last one counts */
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
                    free((char *)m->dc);
                    m->dc = NULL;
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
            if (view->has_self) {
                free(s.state_str);
                free(s.message);
                return qr_err_set(err, QR_EPARSE,
                                  "status reply %zu has two members marked "
                                  "self",
                                  v + 1);
            }
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
