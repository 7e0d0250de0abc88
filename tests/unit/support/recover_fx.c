/* Fixtures and builders of the recovery unit tests (recover_fx.h). */
#include "recover_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *read_fixture(const char *name, size_t *len)
{
    const char *src = getenv("QR_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/recover/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (is QR_SOURCE_DIR set?)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Plans from status text and config text; returns recover_plan_new's code. */
int plan_texts(const char *status, size_t slen, const char *config, size_t clen,
               recover_plan_t **out, qr_err_t *err)
{
    bson_t **replies = NULL, *cfg = NULL;
    size_t n = 0;
    *out = NULL;
    int rc = recover_parse_status(status, slen, &replies, &n, err);
    if (rc)
        return rc;
    rc = recover_parse_config(config, clen, &cfg, err);
    if (rc == 0)
        rc = recover_plan_new((const bson_t *const *)replies, n, cfg, out, err);
    if (cfg)
        bson_destroy(cfg);
    recover_replies_free(replies, n);
    return rc;
}

recover_plan_t *plan_fixtures(const char *status, const char *config)
{
    size_t slen, clen;
    char *s = read_fixture(status, &slen), *c = read_fixture(config, &clen);
    recover_plan_t *p = NULL;
    qr_err_t err = {{0}};
    int rc = plan_texts(s, slen, c, clen, &p, &err);
    free(s);
    free(c);
    if (rc)
        fail_msg("planning %s + %s failed: %s", status, config, err.msg);
    return p;
}

const recover_member_t *member_by_host(const recover_plan_t *p, const char *host)
{
    const recover_member_t *m;
    size_t n = recover_plan_members(p, &m);
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].host, host) == 0)
            return &m[i];
    fail_msg("no member %s", host);
    return NULL;
}

bool any_contains(const char *const *v, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(v[i], needle))
            return true;
    return false;
}

/* The member sub-document i of a config. */
void config_member(const bson_t *cfg, size_t i, bson_t *out)
{
    bson_iter_t it, m;
    char key[32];
    snprintf(key, sizeof key, "members.%zu", i);
    assert_true(bson_iter_init(&it, cfg));
    assert_true(bson_iter_find_descendant(&it, key, &m));
    assert_true(BSON_ITER_HOLDS_DOCUMENT(&m));
    uint32_t len;
    const uint8_t *data;
    bson_iter_document(&m, &len, &data);
    assert_true(bson_init_static(out, data, len));
}

bson_type_t type_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_type(&d);
}

int64_t int_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_as_int64(&d);
}

double double_at(const bson_t *doc, const char *dotkey)
{
    bson_iter_t it, d;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, dotkey, &d))
        fail_msg("no %s", dotkey);
    return bson_iter_as_double(&d);
}

size_t count_members(const bson_t *cfg)
{
    bson_iter_t it, m;
    size_t n = 0;
    assert_true(bson_iter_init_find(&it, cfg, "members"));
    assert_true(bson_iter_recurse(&it, &m));
    while (bson_iter_next(&m))
        n++;
    return n;
}

json_t *ejson_ts(uint32_t t, uint32_t i)
{
    return json_pack("{s{sIsI}}", "$timestamp", "t", (json_int_t)t, "i", (json_int_t)i);
}

json_t *ejson_date(int64_t ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)ms);
    return json_pack("{s{ss}}", "$date", "$numberLong", buf);
}

json_t *mk_config(const char *set, const cmem_t *m, size_t n)
{
    json_t *members = json_array();
    for (size_t i = 0; i < n; i++) {
        char host[32];
        snprintf(host, sizeof host, "h%zu:27017", i);
        json_t *mem =
            json_pack("{sisssbsbsfsi}", "_id", (int)i, "host", host, "arbiterOnly", m[i].arbiter,
                      "hidden", 0, "priority", m[i].priority, "votes", m[i].votes);
        if (m[i].dc)
            json_object_set_new(mem, "tags", json_pack("{ss}", "dc", m[i].dc));
        json_array_append_new(members, mem);
    }
    return json_pack("{sssisosb}", "_id", set, "version", 3, "members", members,
                     "writeConcernMajorityJournalDefault", 1);
}

json_t *mk_view(const char *set, size_t self, const smem_t *m, size_t n)
{
    json_t *members = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!m[i].st)
            continue;
        char host[32];
        snprintf(host, sizeof host, "h%zu:27017", i);
        int state = m[i].st == 'P'   ? 1
                    : m[i].st == 'S' ? 2
                    : m[i].st == 'R' ? 3
                    : m[i].st == 'A' ? 7
                                     : 8;
        const char *str = m[i].st == 'P'   ? "PRIMARY"
                          : m[i].st == 'S' ? "SECONDARY"
                          : m[i].st == 'R' ? "RECOVERING"
                          : m[i].st == 'A' ? "ARBITER"
                                           : "(not reachable/healthy)";
        bool up = m[i].st != 'D';
        json_t *mem = json_pack("{sisssfsiss}", "_id", (int)i, "name", host, "health",
                                up ? 1.0 : 0.0, "state", state, "stateStr", str);
        json_t *op =
            json_pack("{sosI}", "ts", ejson_ts(up ? BASE + m[i].secs : 0, up ? m[i].inc : 0), "t",
                      (json_int_t)(up ? m[i].term : -1));
        json_object_set_new(mem, "optime", op);
        json_object_set_new(mem, "lastAppliedWallTime",
                            ejson_date(((int64_t)BASE + m[i].secs) * 1000));
        if (!up)
            json_object_set_new(mem, "lastHeartbeatRecv",
                                ejson_date(((int64_t)BASE + m[i].secs) * 1000));
        if (i == self)
            json_object_set_new(mem, "self", json_true());
        json_array_append_new(members, mem);
    }
    return json_pack("{sssosisosf}", "set", set, "date", ejson_date((int64_t)BASE * 1000 + 60000),
                     "myState", m[self].st == 'P' ? 1 : 2, "members", members, "ok", 1.0);
}

/* Plans from jansson documents (views: one reply or an array). */
int plan_json(json_t *views, json_t *config, recover_plan_t **out, qr_err_t *err)
{
    char *s = json_dumps(views, 0), *c = json_dumps(config, 0);
    int rc = plan_texts(s, strlen(s), c, strlen(c), out, err);
    free(s);
    free(c);
    json_decref(views);
    json_decref(config);
    return rc;
}

recover_plan_t *plan_ok_or_refused(json_t *views, json_t *config)
{
    recover_plan_t *p = NULL;
    qr_err_t err = {{0}};
    if (plan_json(views, config, &p, &err))
        fail_msg("plan failed: %s", err.msg);
    return p;
}

const cmem_t FIVE_3_2[5] = {
    {"west", 1, 2, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
    {"east", 1, 1, false}, {"east", 1, 1, false},
};
