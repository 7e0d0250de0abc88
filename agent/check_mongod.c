/* The mongod check (see check_mongod.h). The client lives in the run state
 * so one connection serves every cycle; after a failed cycle it is rebuilt,
 * because a single-threaded libmongoc client would otherwise sit out its
 * 5 s cooldown and miss the member coming back. */
#include "check_mongod.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t mongoc_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mongoc_lock = PTHREAD_MUTEX_INITIALIZER;
static bool mongoc_live;

static void do_init(void)
{
    mongoc_init();
    pthread_mutex_lock(&mongoc_lock);
    mongoc_live = true;
    pthread_mutex_unlock(&mongoc_lock);
}

void check_mongod_global_init(void)
{
    pthread_once(&mongoc_once, do_init);
}

void check_mongod_global_cleanup(void)
{
    pthread_mutex_lock(&mongoc_lock);
    if (mongoc_live)
        mongoc_cleanup();
    mongoc_live = false;
    pthread_mutex_unlock(&mongoc_lock);
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

void check_mongod_facts_init(check_mongod_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->hello_rc = f->status_rc = f->config_rc = QR_EUNAVAIL;
    f->config_term = -1;
}

static void clear_members(check_mongod_facts_t *f)
{
    for (size_t i = 0; i < f->n_members; i++)
        json_decref(f->members[i].tags);
    memset(f->members, 0, sizeof f->members);
    f->n_members = 0;
}

void check_mongod_facts_clear(check_mongod_facts_t *f)
{
    if (!f)
        return;
    clear_members(f);
    check_mongod_facts_init(f);
}

/* --- small bson readers: absent is fine, a wrong type is malformed ----- */

static bool sub_doc(const bson_iter_t *it, bson_t *out)
{
    uint32_t len;
    const uint8_t *data;
    if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
        return false;
    if (BSON_ITER_HOLDS_DOCUMENT(it))
        bson_iter_document(it, &len, &data);
    else
        bson_iter_array(it, &len, &data);
    return bson_init_static(out, data, len);
}

/* 1 found, 0 absent, -1 wrong type */
static int get_utf8(const bson_t *doc, const char *key, const char **out)
{
    bson_iter_t it;
    *out = "";
    if (!bson_iter_init_find(&it, doc, key))
        return 0;
    if (!BSON_ITER_HOLDS_UTF8(&it))
        return -1;
    *out = bson_iter_utf8(&it, NULL);
    return 1;
}

static int get_num(const bson_t *doc, const char *key, double *out)
{
    bson_iter_t it;
    *out = 0;
    if (!bson_iter_init_find(&it, doc, key))
        return 0;
    if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it))
        *out = (double)bson_iter_as_int64(&it);
    else if (BSON_ITER_HOLDS_DOUBLE(&it))
        *out = bson_iter_double(&it);
    else if (BSON_ITER_HOLDS_DECIMAL128(&it))
        return -1;
    else
        return -1;
    if (!(*out > -1e15 && *out < 1e15)) /* NaN and absurd values */
        return -1;
    return 1;
}

/* A number from get_num as an int: values beyond int's range (get_num lets
 * up to 1e15 through) saturate rather than being undefined behaviour. */
static int num_int(double v)
{
    return v >= (double)INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
}

static int get_bool(const bson_t *doc, const char *key, bool *out)
{
    bson_iter_t it;
    *out = false;
    if (!bson_iter_init_find(&it, doc, key))
        return 0;
    if (BSON_ITER_HOLDS_BOOL(&it))
        *out = bson_iter_bool(&it);
    else if (BSON_ITER_HOLDS_NUMBER(&it))
        *out = bson_iter_as_int64(&it) != 0;
    else
        return -1;
    return 1;
}

static int get_doc(const bson_t *doc, const char *key, bson_t *out)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, key))
        return 0;
    return sub_doc(&it, out) ? 1 : -1;
}

int check_mongod_parse_hello(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err)
{
    const char *set, *me, *primary;
    bool isrs;
    f->in_replset = f->replset_uninitiated = false;
    f->set_name[0] = f->me[0] = f->primary[0] = '\0';
    if (!reply || !bson_validate(reply, BSON_VALIDATE_NONE, NULL) ||
        get_utf8(reply, "setName", &set) < 0 || get_utf8(reply, "me", &me) < 0 ||
        get_utf8(reply, "primary", &primary) < 0 || get_bool(reply, "isreplicaset", &isrs) < 0)
        return qr_err_set(err, QR_EPARSE, "hello: malformed reply");
    f->in_replset = set[0] != '\0';
    f->replset_uninitiated = !f->in_replset && isrs;
    COPY(f->set_name, set);
    COPY(f->me, me);
    COPY(f->primary, primary);
    return 0;
}

static int parse_optime(const bson_t *m, check_mongod_member_t *o)
{
    bson_iter_t it;
    bson_t ot;
    o->has_optime = false;
    if (!bson_iter_init_find(&it, m, "optime"))
        return 0;
    if (BSON_ITER_HOLDS_TIMESTAMP(&it)) { /* protocol version 0 */
        bson_iter_timestamp(&it, &o->optime_ts, &o->optime_inc);
        o->optime_term = -1;
    } else if (sub_doc(&it, &ot)) {
        bson_iter_t ts;
        double t;
        if (!bson_iter_init_find(&ts, &ot, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&ts) ||
            get_num(&ot, "t", &t) < 0)
            return -1;
        bson_iter_timestamp(&ts, &o->optime_ts, &o->optime_inc);
        o->optime_term = (int64_t)t;
    } else {
        return -1;
    }
    o->has_optime = true;
    if (bson_iter_init_find(&it, m, "optimeDate")) {
        if (!BSON_ITER_HOLDS_DATE_TIME(&it))
            return -1;
        o->optime_date_ms = bson_iter_date_time(&it);
    } else {
        o->optime_date_ms = (int64_t)o->optime_ts * 1000;
    }
    return 0;
}

static int parse_member(const bson_t *m, check_mongod_member_t *o)
{
    const char *name, *state_str;
    double id, health, state;
    bool self;
    if (get_num(m, "_id", &id) != 1 || get_utf8(m, "name", &name) != 1 ||
        get_num(m, "health", &health) < 0 || get_num(m, "state", &state) < 0 ||
        get_utf8(m, "stateStr", &state_str) < 0 || get_bool(m, "self", &self) < 0 ||
        parse_optime(m, o) < 0)
        return -1;
    bson_iter_t it;
    o->id = num_int(id);
    COPY(o->name, name);
    o->health = bson_iter_init_find(&it, m, "health") ? (health > 0 ? 1 : 0) : -1;
    o->state = num_int(state);
    COPY(o->state_str, state_str[0] ? state_str : "UNKNOWN");
    o->self = self;
    return 0;
}

int check_mongod_parse_status(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err)
{
    const char *set, *my_str = "";
    double my_state, term;
    bson_t members, m;
    bson_iter_t it;
    clear_members(f);
    f->my_state = 0;
    f->my_state_str[0] = '\0';
    f->term = -1;
    if (!reply || !bson_validate(reply, BSON_VALIDATE_NONE, NULL) ||
        get_utf8(reply, "set", &set) < 0 || get_num(reply, "myState", &my_state) < 0 ||
        get_num(reply, "term", &term) < 0 || get_doc(reply, "members", &members) != 1)
        return qr_err_set(err, QR_EPARSE, "replSetGetStatus: malformed reply (no members)");
    if (!bson_iter_init(&it, &members))
        return qr_err_set(err, QR_EPARSE, "replSetGetStatus: malformed members");
    size_t n = 0;
    while (bson_iter_next(&it)) {
        if (n >= CHECK_MONGOD_MAX_MEMBERS) {
            clear_members(f);
            return qr_err_set(err, QR_ETOOBIG, "replSetGetStatus: more than %d members",
                              CHECK_MONGOD_MAX_MEMBERS);
        }
        if (!sub_doc(&it, &m) || parse_member(&m, &f->members[n])) {
            clear_members(f);
            return qr_err_set(err, QR_EPARSE, "replSetGetStatus: member %zu is malformed", n);
        }
        if (f->members[n].self)
            my_str = f->members[n].state_str;
        n++;
    }
    f->n_members = n;
    f->my_state = num_int(my_state);
    f->term = bson_has_field(reply, "term") ? (int64_t)term : -1;
    COPY(f->my_state_str, my_str[0] ? my_str : "UNKNOWN");
    if (!f->set_name[0])
        COPY(f->set_name, set);
    return 0;
}

static int parse_config(const bson_t *reply, bool validate, check_mongod_facts_t *f, qr_err_t *err);

int check_mongod_parse_config(const bson_t *reply, check_mongod_facts_t *f, qr_err_t *err)
{
    return parse_config(reply, true, f, err);
}

/* validate false: reply is a copy of one this function accepted before
 * (the cached config), so bson_validate's walk over it is not repeated. */
static int parse_config(const bson_t *reply, bool validate, check_mongod_facts_t *f, qr_err_t *err)
{
    bson_t cfg, members, m;
    bson_iter_t it;
    double version, term;
    f->config_version = 0;
    f->config_term = -1;
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i].in_config = false;
    if (!reply || (validate && !bson_validate(reply, BSON_VALIDATE_NONE, NULL)) ||
        get_doc(reply, "config", &cfg) != 1 || get_num(&cfg, "version", &version) != 1 ||
        get_num(&cfg, "term", &term) < 0 || get_doc(&cfg, "members", &members) != 1 ||
        !bson_iter_init(&it, &members))
        return qr_err_set(err, QR_EPARSE, "replSetGetConfig: malformed reply");
    size_t n = 0;
    while (bson_iter_next(&it)) {
        double id, votes, prio;
        bool arb, hidden;
        const char *host;
        bson_t tags;
        int has_tags;
        if (++n > CHECK_MONGOD_MAX_MEMBERS)
            return qr_err_set(err, QR_ETOOBIG, "replSetGetConfig: more than %d members",
                              CHECK_MONGOD_MAX_MEMBERS);
        if (!sub_doc(&it, &m) || get_num(&m, "_id", &id) != 1 || get_utf8(&m, "host", &host) != 1 ||
            get_num(&m, "votes", &votes) < 0 || get_num(&m, "priority", &prio) < 0 ||
            get_bool(&m, "arbiterOnly", &arb) < 0 || get_bool(&m, "hidden", &hidden) < 0 ||
            (has_tags = get_doc(&m, "tags", &tags)) < 0)
            return qr_err_set(err, QR_EPARSE, "replSetGetConfig: member %zu is malformed", n - 1);
        for (size_t i = 0; i < f->n_members; i++) {
            check_mongod_member_t *o = &f->members[i];
            if (o->id != num_int(id))
                continue;
            o->in_config = true;
            /* both default to 1 when absent, as in MongoDB */
            o->votes = bson_has_field(&m, "votes") ? num_int(votes) : 1;
            o->priority = bson_has_field(&m, "priority") ? prio : 1.0;
            o->arbiter = arb;
            o->hidden = hidden;
            json_decref(o->tags);
            o->tags = NULL;
            if (has_tags == 1) {
                char *js = bson_as_relaxed_extended_json(&tags, NULL);
                o->tags = js ? json_loads(js, 0, NULL) : NULL;
                bson_free(js);
            }
        }
    }
    f->config_version = (int64_t)version;
    f->config_term = bson_has_field(&cfg, "term") ? (int64_t)term : -1;
    return 0;
}

static const check_mongod_member_t *primary_member(const check_mongod_facts_t *f)
{
    for (size_t i = 0; i < f->n_members; i++)
        if (f->members[i].state == 1 && f->members[i].health != 0)
            return &f->members[i];
    return NULL;
}

double check_mongod_lag_s(const check_mongod_facts_t *f, size_t i)
{
    const check_mongod_member_t *p = primary_member(f);
    if (i >= f->n_members)
        return -1;
    const check_mongod_member_t *m = &f->members[i];
    if (!p || !m->has_optime || !p->has_optime || m->health == 0 || m->arbiter ||
        m->state == 7 /* ARBITER */)
        return -1;
    /* in double: the dates come from the server and may be anything */
    double lag = ((double)p->optime_date_ms - (double)m->optime_date_ms) / 1000.0;
    return lag > 0 ? lag : 0;
}

static void put_values(const check_mongod_facts_t *f, json_t *v)
{
    json_object_set_new(v, "hosts", json_string(f->hosts));
    if (f->hello_rc)
        return;
    json_object_set_new(v, "set_name", f->in_replset ? json_string(f->set_name) : json_null());
    if (f->status_rc)
        return;
    const check_mongod_member_t *p = primary_member(f);
    json_object_set_new(v, "state", json_string(f->my_state_str));
    json_object_set_new(v, "term", json_integer(f->term));
    json_object_set_new(v, "primary", p ? json_string(p->name) : json_null());
    if (!f->config_rc) {
        json_object_set_new(v, "config_version", json_integer(f->config_version));
        json_object_set_new(v, "config_term",
                            f->config_term >= 0 ? json_integer(f->config_term) : json_null());
    }
    double max_lag = -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < f->n_members; i++) {
        const check_mongod_member_t *m = &f->members[i];
        double lag = check_mongod_lag_s(f, i);
        json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:b}", "_id", m->id, "name", m->name, "state",
                              m->state, "state_str", m->state_str, "self", m->self);
        if (!o)
            continue;
        json_object_set_new(o, "health", m->health >= 0 ? json_integer(m->health) : json_null());
        if (m->has_optime) {
            json_object_set_new(o, "optime",
                                json_pack("{s:I, s:I, s:I}", "ts", (json_int_t)m->optime_ts, "i",
                                          (json_int_t)m->optime_inc, "t",
                                          (json_int_t)m->optime_term));
            json_object_set_new(o, "optime_date_ms", json_integer(m->optime_date_ms));
        }
        json_object_set_new(o, "lag_s", lag >= 0 ? json_real(lag) : json_null());
        if (lag > max_lag)
            max_lag = lag;
        if (m->in_config) {
            json_object_set_new(o, "votes", json_integer(m->votes));
            json_object_set_new(o, "priority", json_real(m->priority));
            json_object_set_new(o, "hidden", json_boolean(m->hidden));
            json_object_set_new(o, "arbiter", json_boolean(m->arbiter));
            json_object_set_new(o, "tags", m->tags ? json_incref(m->tags) : json_object());
        }
        json_array_append_new(arr, o);
    }
    json_object_set_new(v, "members", arr);
    json_object_set_new(v, "max_lag_s", max_lag >= 0 ? json_real(max_lag) : json_null());
}

/* Reasons are alert keys: never a host, set name or lag figure; added in
 * the order judged, which is worst first. */
void check_mongod_eval(const check_mongod_facts_t *f, check_result_t *out)
{
    put_values(f, out->values);
    out->summary[0] = '\0';
    json_object_set_new(out->values, "reasons", json_array());

    if (f->hello_rc) {
        check_result_set(out, CHECK_FAIL, "mongod unreachable at %s: %s", f->hosts, f->hello_error);
        check_result_reason(out, "unreachable");
        return;
    }
    if (f->replset_uninitiated || f->status_code == 94 /* NotYetInitialized */) {
        check_result_set(out, CHECK_FAIL, "mongod at %s: replica set not initiated", f->hosts);
        check_result_reason(out, "replset_not_initiated");
        return;
    }
    if (!f->in_replset) {
        check_result_set(out, CHECK_FAIL, "mongod at %s is not in a replica set", f->hosts);
        check_result_reason(out, "not_in_replset");
        return;
    }
    if (f->status_rc) {
        check_result_set(out, CHECK_FAIL, "replSetGetStatus failed: %s", f->status_error);
        check_result_reason(out, "replset_status_failed");
        return;
    }
    const check_mongod_member_t *p = primary_member(f);
    if (!p) {
        check_result_set(out, CHECK_FAIL, "no primary: replica set %s read-only (this member %s)",
                         f->set_name, f->my_state_str);
        check_result_reason(out, "no_primary");
        return;
    }
    size_t healthy = 0;
    for (size_t i = 0; i < f->n_members; i++) {
        const check_mongod_member_t *m = &f->members[i];
        if (m->health == 0) {
            check_result_worsen(out, CHECK_WARN, "member %s unhealthy, state %s", m->name,
                                m->state_str);
            check_result_reason(out, "member_down");
        } else {
            healthy++;
        }
    }
    double max_lag = 0;
    for (size_t i = 0; i < f->n_members; i++) {
        double lag = check_mongod_lag_s(f, i);
        if (lag > max_lag)
            max_lag = lag;
        if (lag > CHECK_MONGOD_LAG_WARN_S) {
            check_result_worsen(out, CHECK_WARN, "member %s lags the primary by %.0f s",
                                f->members[i].name, lag);
            check_result_reason(out, "member_lagging");
        }
    }
    if (f->my_state != 1 && f->my_state != 2) {
        check_result_worsen(out, CHECK_WARN, "this member is %s", f->my_state_str);
        check_result_reason(out, "self_not_primary_or_secondary");
    }
    if (f->config_rc) {
        check_result_worsen(out, CHECK_WARN, "replSetGetConfig failed: %s", f->config_error);
        check_result_reason(out, "replset_config_failed");
    }
    if (out->summary[0] == '\0')
        check_result_set(out, CHECK_OK,
                         "%s of %s, %zu/%zu members healthy, primary %s, max lag %.0f s",
                         f->my_state_str, f->set_name, healthy, f->n_members, p->name, max_lag);
}

/* --- client and probe ---------------------------------------------------- */

int check_mongod_client_new(const agent_conf_t *conf, mongoc_client_t **out, qr_err_t *err)
{
    bson_error_t berr;
    const char *uri_s = conf && conf->mongo_uri
                            ? conf->mongo_uri
                            : "mongodb://127.0.0.1:27017/?directConnection=true";
    int timeout = conf && conf->mongo_timeout_ms > 0 ? conf->mongo_timeout_ms : 2000;
    *out = NULL;
    check_mongod_global_init();
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, &berr);
    if (!uri)
        return qr_err_set(err, QR_EINVAL, "mongo_uri: %s", berr.message);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, timeout);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, timeout);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, timeout);
    mongoc_uri_set_appname(uri, "quorate-agent");
    const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri);
    /* the check is about this member, not whichever the driver would pick */
    if (h && !h->next && !mongoc_uri_get_replica_set(uri))
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true);
    if (conf && conf->mongo_tls) {
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, true);
        if (conf->mongo_tls_ca_file && conf->mongo_tls_ca_file[0])
            mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, conf->mongo_tls_ca_file);
        if (conf->mongo_tls_allow_invalid_hostnames)
            mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, true);
    }
    mongoc_client_t *c = mongoc_client_new_from_uri_with_error(uri, &berr);
    mongoc_uri_destroy(uri);
    if (!c)
        return qr_err_set(err, QR_EINVAL, "mongo client: %s", berr.message);
    mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
    *out = c;
    return 0;
}

int check_mongod_command(mongoc_client_t *client, const char *db, const bson_t *cmd, bson_t *reply,
                         int *server_code, qr_err_t *err)
{
    bson_error_t berr;
    if (server_code)
        *server_code = 0;
    if (!client || !cmd) {
        bson_init(reply);
        return qr_err_set(err, QR_EINVAL, "mongod command: no client or command");
    }
    if (mongoc_client_command_simple(client, db ? db : "admin", cmd, NULL, reply, &berr))
        return 0;
    if (berr.domain == MONGOC_ERROR_SERVER || berr.domain == MONGOC_ERROR_WRITE_CONCERN) {
        if (server_code)
            *server_code = (int)berr.code;
        return qr_err_set(err, QR_EREFUSED, "%s", berr.message);
    }
    if (strcasestr(berr.message, "timed out") || strcasestr(berr.message, "timeout"))
        return qr_err_set(err, QR_ETIMEOUT, "%s", berr.message);
    if (berr.domain == MONGOC_ERROR_BSON || berr.domain == MONGOC_ERROR_PROTOCOL)
        return qr_err_set(err, QR_EPROTO, "%s", berr.message);
    return qr_err_set(err, QR_EUNAVAIL, "%s", berr.message);
}

int check_mongod_command_json(mongoc_client_t *client, const char *db, const char *cmd_json,
                              char **reply_json, qr_err_t *err)
{
    bson_error_t berr;
    bson_t reply;
    *reply_json = NULL;
    bson_t *cmd = cmd_json ? bson_new_from_json((const uint8_t *)cmd_json, -1, &berr) : NULL;
    if (!cmd)
        return qr_err_set(err, QR_EPARSE, "command: %s", cmd_json ? berr.message : "none");
    int rc = check_mongod_command(client, db, cmd, &reply, NULL, err);
    if (!bson_empty(&reply))
        *reply_json = bson_as_relaxed_extended_json(&reply, NULL);
    bson_destroy(&reply);
    bson_destroy(cmd);
    return rc;
}

static void hosts_str(const agent_conf_t *conf, char *buf, size_t len)
{
    const char *uri_s = conf && conf->mongo_uri ? conf->mongo_uri : "mongodb://127.0.0.1:27017/";
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_s, NULL);
    buf[0] = '\0';
    size_t used = 0;
    for (const mongoc_host_list_t *h = uri ? mongoc_uri_get_hosts(uri) : NULL; h; h = h->next) {
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", h->host_and_port);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    mongoc_uri_destroy(uri);
}

/* {name: 1}. Not BCON_NEW: its parser keeps a 100-level stack in its frame,
 * ~20 KiB of a worker's stack that then stays that thread's private memory
 * (and is zeroed on every call). */
static bson_t *cmd_new(const char *name)
{
    bson_t *b = bson_new();
    BSON_APPEND_INT32(b, name, 1);
    return b;
}

/* The last replSetGetConfig reply, kept while the member's config version
 * (hello.setVersion) and term (replSetGetStatus.term) stay the same: one of
 * three commands per cycle saved (tests/bench/agent_footprint). */
typedef struct {
    mongoc_client_t *client;
    bson_t *config_reply;
    int64_t set_version, term;
    /* conf's hosts as probe() reports them: parsed once per client, not
     * every cycle (a URI parse was a tenth of this check's CPU) */
    char hosts[sizeof((check_mongod_facts_t *)0)->hosts];
} mongod_state_t;

static void probe(mongoc_client_t *client, const agent_conf_t *conf, check_mongod_facts_t *f,
                  mongod_state_t *cache);

void check_mongod_probe(mongoc_client_t *client, const agent_conf_t *conf, check_mongod_facts_t *f)
{
    probe(client, conf, f, NULL);
}

static void probe(mongoc_client_t *client, const agent_conf_t *conf, check_mongod_facts_t *f,
                  mongod_state_t *cache)
{
    int64_t set_version = -1;
    qr_err_t err = {""};
    bson_t reply;
    int code = 0;
    if (!cache) {
        hosts_str(conf, f->hosts, sizeof f->hosts);
    } else {
        if (!cache->hosts[0])
            hosts_str(conf, cache->hosts, sizeof cache->hosts);
        COPY(f->hosts, cache->hosts);
    }
    f->timeout_ms = conf && conf->mongo_timeout_ms > 0 ? conf->mongo_timeout_ms : 2000;

    bson_t *cmd = cmd_new("hello");
    f->hello_rc = check_mongod_command(client, "admin", cmd, &reply, NULL, &err);
    bson_destroy(cmd);
    if (f->hello_rc == QR_EREFUSED) { /* before 4.4.2/5.0: no hello, ask isMaster */
        bson_destroy(&reply);
        cmd = cmd_new("isMaster");
        f->hello_rc = check_mongod_command(client, "admin", cmd, &reply, NULL, &err);
        bson_destroy(cmd);
    }
    if (!f->hello_rc)
        f->hello_rc = check_mongod_parse_hello(&reply, f, &err);
    double sv;
    if (!f->hello_rc && get_num(&reply, "setVersion", &sv) > 0 && sv >= 0 && sv < 9e15)
        set_version = (int64_t)sv;
    bson_destroy(&reply);
    if (f->hello_rc) {
        COPY(f->hello_error, err.msg);
        return;
    }
    if (!f->in_replset && !f->replset_uninitiated)
        return;

    cmd = cmd_new("replSetGetStatus");
    f->status_rc = check_mongod_command(client, "admin", cmd, &reply, &code, &err);
    bson_destroy(cmd);
    f->status_code = code;
    if (!f->status_rc)
        f->status_rc = check_mongod_parse_status(&reply, f, &err);
    bson_destroy(&reply);
    if (f->status_rc) {
        COPY(f->status_error, err.msg);
        return;
    }

    if (cache && cache->config_reply && set_version >= 0 && cache->set_version == set_version &&
        cache->term == f->term) {
        f->config_rc = parse_config(cache->config_reply, false, f, &err);
        if (f->config_rc)
            COPY(f->config_error, err.msg);
        return;
    }
    cmd = cmd_new("replSetGetConfig");
    f->config_rc = check_mongod_command(client, "admin", cmd, &reply, NULL, &err);
    bson_destroy(cmd);
    if (!f->config_rc)
        f->config_rc = check_mongod_parse_config(&reply, f, &err);
    if (cache) {
        if (cache->config_reply)
            bson_destroy(cache->config_reply);
        cache->config_reply = !f->config_rc && set_version >= 0 ? bson_copy(&reply) : NULL;
        cache->set_version = set_version;
        cache->term = f->term;
    }
    bson_destroy(&reply);
    if (f->config_rc)
        COPY(f->config_error, err.msg);
}

void check_mongod_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    qr_err_t err = {""};
    mongod_state_t *st = *state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st || check_mongod_client_new(conf, &st->client, &err)) {
            check_result_set(out, CHECK_UNKNOWN, "%s", st ? err.msg : "out of memory");
            check_result_reason(out, st ? "client_init_failed" : "out_of_memory");
            free(st);
            return;
        }
        *state = st;
    }
    check_mongod_facts_t *f = malloc(sizeof *f); /* ~25 KiB: not on a worker's stack */
    if (!f) {
        check_result_set(out, CHECK_UNKNOWN, "out of memory");
        check_result_reason(out, "out_of_memory");
        return;
    }
    check_mongod_facts_init(f);
    probe(st->client, conf, f, st);
    check_mongod_eval(f, out);
    if (f->hello_rc) { /* start afresh next cycle, see the top of the file */
        check_mongod_state_free(st);
        *state = NULL;
    }
    check_mongod_facts_clear(f);
    free(f);
}

void check_mongod_state_free(void *state)
{
    mongod_state_t *st = state;
    if (!st)
        return;
    mongoc_client_destroy(st->client);
    if (st->config_reply)
        bson_destroy(st->config_reply);
    free(st);
}
