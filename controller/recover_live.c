/* The pure parts of the live recovery (see recover_live.h). */
#include "recover_live.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_int_t recover_live_ejson_int(const json_t *v, json_int_t dflt)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (json_int_t)json_real_value(v);
    static const char *keys[] = {"$numberInt", "$numberLong", "$numberDouble"};
    for (size_t i = 0; json_is_object(v) && i < 3; i++) {
        const char *t = json_string_value(json_object_get(v, keys[i]));
        if (t)
            return i == 2 ? (json_int_t)strtod(t, NULL) : (json_int_t)strtoll(t, NULL, 10);
    }
    return dflt;
}

static json_t *mongod_values(const inv_node_t *n)
{
    size_t i;
    json_t *c;
    json_array_foreach(n->checks, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (name && strcmp(name, "mongod") == 0)
            return json_object_get(c, "values");
    }
    return NULL;
}

/* "10.0.0.1:27017" -> "10.0.0.1"; "[::1]:27017" -> "::1"; "ai1" -> "ai1". */
static void host_part(const char *host, char *out, size_t len)
{
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        size_t n = end ? (size_t)(end - host - 1) : strlen(host + 1);
        snprintf(out, len, "%.*s", (int)n, host + 1);
        return;
    }
    const char *colon = strrchr(host, ':');
    size_t n = colon && strchr(host, ':') == colon ? (size_t)(colon - host) : strlen(host);
    snprintf(out, len, "%.*s", (int)n, host);
}

const inv_node_t *recover_live_node_of(const inventory_t *inv, const char *host)
{
    if (!host)
        return NULL;
    char h[256];
    host_part(host, h, sizeof h);
    for (size_t i = 0; i < inventory_count(inv); i++) {
        const inv_node_t *n = inventory_at(inv, i);
        if (n->address[0] && strcmp(n->address, h) == 0)
            return n;
    }
    for (size_t i = 0; i < inventory_count(inv); i++) {
        const inv_node_t *n = inventory_at(inv, i);
        if (strcmp(n->name, h) == 0)
            return n;
    }
    return NULL;
}

static void add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return;
    json_array_append_new(arr, json_string(s));
}

/* The data centre of a member: its tags.dc, else its node's. */
static const char *member_dc(const inventory_t *inv, const json_t *m)
{
    const char *dc = json_string_value(json_object_get(json_object_get(m, "tags"), "dc"));
    if (dc)
        return dc;
    const inv_node_t *n = recover_live_node_of(inv, json_string_value(json_object_get(m, "name")));
    return n && n->dc[0] ? n->dc : NULL;
}

json_t *recover_live_detect(const inventory_t *inv)
{
    const char *set = NULL, *primary = NULL;
    json_t *reporting = json_array();
    json_t *members = json_object(); /* host -> {votes, healthy, dc} */
    for (size_t i = 0; i < inventory_count(inv); i++) {
        const inv_node_t *n = inventory_at(inv, i);
        json_t *v = n->up ? mongod_values(n) : NULL;
        const char *vs = json_string_value(json_object_get(v, "set_name"));
        if (!vs || (set && strcmp(set, vs) != 0))
            continue;
        set = vs;
        json_array_append_new(reporting, json_string(n->name));
        const char *state = json_string_value(json_object_get(v, "state"));
        if (state && strcmp(state, "PRIMARY") == 0)
            primary = n->name;
        if (!primary && json_is_string(json_object_get(v, "primary")))
            primary = json_string_value(json_object_get(v, "primary"));
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(v, "members"), k, m)
        {
            const char *host = json_string_value(json_object_get(m, "name"));
            if (!host)
                continue;
            json_t *e = json_object_get(members, host);
            if (!e) {
                json_t *jv = json_object_get(m, "votes");
                const char *dc = member_dc(inv, m);
                e = json_pack("{s:I, s:b, s:s?}", "votes",
                              json_is_integer(jv) ? json_integer_value(jv) : (json_int_t)1,
                              "healthy", 0, "dc", dc);
                json_object_set_new(members, host, e);
            }
            json_t *h = json_object_get(m, "health");
            if (json_is_true(json_object_get(m, "self")) ||
                (json_is_integer(h) && json_integer_value(h) == 1))
                json_object_set_new(e, "healthy", json_true());
        }
    }
    json_t *out = json_pack("{s:s?, s:O}", "set", set, "members", reporting);
    json_decref(reporting);
    if (!set) {
        json_object_set_new(out, "state", json_string("none"));
        json_object_set_new(out, "summary", json_string("no replica set member reports"));
        json_decref(members);
        return out;
    }
    if (primary) {
        char sum[300];
        snprintf(sum, sizeof sum, "replica set %s has a primary (%s)", set, primary);
        json_object_set_new(out, "state", json_string("ok"));
        json_object_set_new(out, "primary", json_string(primary));
        json_object_set_new(out, "summary", json_string(sum));
        json_decref(members);
        return out;
    }
    json_int_t voters = 0, reachable = 0;
    json_t *lost_dcs = json_array(), *unreachable = json_array();
    const char *host;
    json_t *e;
    json_object_foreach(members, host, e)
    {
        json_int_t votes = json_integer_value(json_object_get(e, "votes"));
        voters += votes;
        if (json_is_true(json_object_get(e, "healthy"))) {
            reachable += votes;
        } else {
            json_array_append_new(unreachable, json_string(host));
            const char *dc = json_string_value(json_object_get(e, "dc"));
            if (dc && votes > 0)
                add_unique(lost_dcs, dc);
        }
    }
    json_decref(members);
    json_object_set_new(out, "voters", json_integer(voters));
    json_object_set_new(out, "reachable_voters", json_integer(reachable));
    json_object_set_new(out, "lost_dcs", lost_dcs);
    json_object_set_new(out, "unreachable", unreachable);
    char sum[400];
    if (voters == 0) {
        json_object_set_new(out, "state", json_string("no_primary"));
        snprintf(sum, sizeof sum, "replica set %s has no primary; the members' status is unknown",
                 set);
    } else if (reachable * 2 > voters) {
        json_object_set_new(out, "state", json_string("electing"));
        snprintf(sum, sizeof sum,
                 "replica set %s has no primary, but %lld of %lld votes are reachable: an "
                 "election should follow",
                 set, (long long)reachable, (long long)voters);
    } else {
        json_object_set_new(out, "state", json_string("majority_lost"));
        char dcs[200] = "";
        size_t i;
        json_t *d;
        json_array_foreach(lost_dcs, i, d)
        {
            size_t n = strlen(dcs);
            snprintf(dcs + n, sizeof dcs - n, "%s%s", i ? ", " : "", json_string_value(d));
        }
        if (json_array_size(lost_dcs) == 1)
            snprintf(sum, sizeof sum, "read-only: majority DC %s lost (%lld of %lld votes reachable)",
                     dcs, (long long)reachable, (long long)voters);
        else if (json_array_size(lost_dcs) > 1)
            snprintf(sum, sizeof sum,
                     "read-only: voting majority lost in DCs %s (%lld of %lld votes reachable)",
                     dcs, (long long)reachable, (long long)voters);
        else
            snprintf(sum, sizeof sum, "read-only: voting majority lost (%lld of %lld votes reachable)",
                     (long long)reachable, (long long)voters);
    }
    json_object_set_new(out, "summary", json_string(sum));
    return out;
}

static bool in_strings(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *x = json_string_value(v);
        if (x && s && strcmp(x, s) == 0)
            return true;
    }
    return false;
}

static void refuse(json_t *plan, const char *why)
{
    json_t *r = json_object_get(plan, "refused");
    if (!json_is_array(r)) {
        r = json_array();
        json_object_set_new(plan, "refused", r);
    }
    json_array_append_new(r, json_string(why));
    json_object_set_new(plan, "ok", json_false());
}

void recover_live_annotate(json_t *plan, const inventory_t *inv, const json_t *asked,
                           const json_t *answered, int64_t now_ms)
{
    json_t *no_answer = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(asked, i, v) if (!in_strings(answered, json_string_value(v)))
        json_array_append(no_answer, v);
    json_object_set(plan, "asked", (json_t *)asked);
    json_object_set(plan, "answered", (json_t *)answered);
    json_object_set_new(plan, "no_answer", no_answer);

    json_t *m;
    json_array_foreach(json_object_get(plan, "evidence"), i, m)
    {
        const char *host = json_string_value(json_object_get(m, "host"));
        const inv_node_t *n = recover_live_node_of(inv, host);
        json_t *from = json_array();
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(m, "views"), k, s)
        {
            if (json_is_true(json_object_get(s, "reported")) &&
                !json_is_true(json_object_get(s, "healthy")))
                json_array_append(from, json_object_get(s, "view"));
        }
        json_object_set_new(m, "unreachable_from", from);
        json_object_set_new(m, "node", n ? json_string(n->name) : json_null());
        if (n) {
            json_t *c = json_pack("{s:b, s:f}", "up", n->up, "last_seen_ago_s",
                                  (double)(now_ms - n->last_seen_ms) / 1000.0);
            json_object_set_new(c, "down_for_s",
                                n->up ? json_null()
                                      : json_real((double)(now_ms - n->down_since_ms) / 1000.0));
            json_object_set_new(m, "controller", c);
        }
        if (!json_is_string(json_object_get(m, "dc")) && n && n->dc[0])
            json_object_set_new(m, "dc", json_string(n->dc));
    }

    if (!json_is_true(json_object_get(plan, "ok")))
        return;
    char why[512];
    /* the controller hears a host whose member the plan would remove: the
     * member is cut off from its peers, not gone */
    json_array_foreach(json_object_get(plan, "removed"), i, v)
    {
        const inv_node_t *n = recover_live_node_of(inv, json_string_value(v));
        if (n && n->up) {
            snprintf(why, sizeof why,
                     "%s (node %s) would be removed, but its agent still reports to this "
                     "controller: its host is alive (a partition, not a loss)",
                     json_string_value(v), n->name);
            refuse(plan, why);
        }
    }
    /* every surviving member's agent must have given its view */
    json_array_foreach(json_object_get(plan, "evidence"), i, m)
    {
        const char *node = json_string_value(json_object_get(m, "node"));
        if (json_is_true(json_object_get(m, "removed")) || !node)
            continue;
        if (in_strings(no_answer, node)) {
            snprintf(why, sizeof why,
                     "the agent on %s (member %s) did not answer: its view is missing", node,
                     json_string_value(json_object_get(m, "host")));
            refuse(plan, why);
        }
    }
    /* the DC of the removed members, from the inventory when untagged */
    if (!json_is_string(json_object_get(plan, "removed_dc"))) {
        const char *dc = NULL;
        bool mixed = false;
        json_array_foreach(json_object_get(plan, "evidence"), i, m)
        {
            if (!json_is_true(json_object_get(m, "removed")))
                continue;
            const char *d = json_string_value(json_object_get(m, "dc"));
            if (!d || (dc && strcmp(dc, d) != 0))
                mixed = true;
            dc = d;
        }
        if (dc && !mixed)
            json_object_set_new(plan, "removed_dc", json_string(dc));
    }
}

/* The members removed by the newest forced recovery in the audit log. */
static const json_t *last_removed(const json_t *audit)
{
    for (size_t i = json_array_size(audit); i-- > 0;) {
        const json_t *r = json_array_get(audit, i);
        const char *ev = json_string_value(json_object_get(r, "event"));
        if (ev && strcmp(ev, "recover_reconfig") == 0 &&
            json_is_true(json_object_get(r, "ok")))
            return json_object_get(r, "removed");
    }
    return NULL;
}

json_t *recover_live_rejoin(const inventory_t *inv, const json_t *audit, const json_t *config,
                            const char *primary)
{
    json_t *out = json_pack("{s:b, s:[], s:[], s:[], s:[]}", "ok", 0, "members", "steps",
                            "warnings", "refused");
    json_t *refused = json_object_get(out, "refused");
    const json_t *removed = last_removed(audit);
    if (!removed) {
        json_array_append_new(refused, json_string("no forced recovery in the audit log: "
                                                   "nothing to rejoin"));
        return out;
    }
    if (!json_is_object(config) || !primary) {
        json_array_append_new(refused,
                              json_string("the replica set has no primary: a rejoin is a normal "
                                          "reconfig and needs one"));
        return out;
    }
    json_t *cmembers = json_object_get(config, "members");
    json_int_t max_id = -1;
    size_t i;
    json_t *m;
    int voters = 0;
    json_array_foreach(cmembers, i, m)
    {
        json_int_t idv = recover_live_ejson_int(json_object_get(m, "_id"), 0);
        if (idv > max_id)
            max_id = idv;
        if (recover_live_ejson_int(json_object_get(m, "votes"), 1) > 0)
            voters++;
    }
    json_t *back = json_array(), *waiting = json_array();
    json_array_foreach(removed, i, m)
    {
        const char *host = json_string_value(json_object_get(m, "host"));
        const inv_node_t *n = recover_live_node_of(inv, host);
        bool in_config = false;
        size_t k;
        json_t *c;
        json_array_foreach(cmembers, k, c)
        {
            const char *ch = json_string_value(json_object_get(c, "host"));
            if (ch && host && strcmp(ch, host) == 0)
                in_config = true;
        }
        if (!host || in_config)
            continue;
        json_t *e = json_pack("{s:s, s:s?, s:s?, s:b}", "host", host, "node", n ? n->name : NULL,
                              "dc", json_string_value(json_object_get(m, "dc")), "up",
                              n && n->up);
        json_array_append_new(json_object_get(out, "members"), e);
        json_array_append_new(n && n->up ? back : waiting, json_string(host));
    }
    if (json_array_size(json_object_get(out, "members")) == 0) {
        json_array_append_new(refused, json_string("every member removed by the last recovery "
                                                   "is in the config again"));
        json_decref(back);
        json_decref(waiting);
        return out;
    }
    if (json_array_size(back) == 0) {
        json_array_append_new(refused,
                              json_string("none of the removed members' hosts reports yet: "
                                          "start them (their mongod and quorate-agent) first"));
        json_decref(back);
        json_decref(waiting);
        return out;
    }
    /* step 1: add as non-voting, priority 0 (they catch up without touching
     * elections); step 2: votes back, an even count of voters is avoided by
     * leaving one of them non-voting */
    char add[2048] = "", vote[2048] = "";
    size_t n_back = json_array_size(back);
    int give = (int)n_back;
    if ((voters + give) % 2 == 0)
        give--;
    json_t *v;
    json_array_foreach(back, i, v)
    {
        size_t a = strlen(add), b = strlen(vote);
        snprintf(add + a, sizeof add - a,
                 "cfg.members.push({_id: %lld, host: \"%s\", votes: 0, priority: 0}); ",
                 (long long)(max_id + 1 + (json_int_t)i), json_string_value(v));
        if ((int)i < give)
            snprintf(vote + b, sizeof vote - b,
                     "m = cfg.members.find(x => x.host == \"%s\"); m.votes = 1; m.priority = 1; ",
                     json_string_value(v));
    }
    char step[2600];
    snprintf(step, sizeof step, "cfg = rs.conf(); %srs.reconfig(cfg)", add);
    json_array_append_new(json_object_get(out, "steps"),
                          json_pack("{s:s, s:s, s:s}", "step", "add_non_voting", "on", primary,
                                    "mongosh", step));
    if (give > 0) {
        snprintf(step, sizeof step, "cfg = rs.conf(); %srs.reconfig(cfg)", vote);
        json_array_append_new(json_object_get(out, "steps"),
                              json_pack("{s:s, s:s, s:s, s:s}", "step", "restore_votes", "on",
                                        primary, "when",
                                        "each added member is SECONDARY and its lag is under a "
                                        "few seconds (quoratectl status: mongod check)",
                                        "mongosh", step));
    }
    char w[600];
    snprintf(w, sizeof w,
             "the returning members may hold writes the survivors never saw: MongoDB rolls them "
             "back when they rejoin and writes them as BSON files under <dbPath>/rollback/ on "
             "each returning member (%zu host(s)); inspect them with bsondump before deleting",
             n_back);
    json_array_append_new(json_object_get(out, "warnings"), json_string(w));
    if (give < (int)n_back)
        json_array_append_new(json_object_get(out, "warnings"),
                              json_string("one returning member stays non-voting so the number "
                                          "of voters stays odd"));
    if (json_array_size(waiting))
        json_array_append_new(json_object_get(out, "warnings"),
                              json_string("some removed members' hosts do not report yet; run "
                                          "quoratectl rejoin again when they do"));
    json_object_set_new(out, "returning", back);
    json_object_set_new(out, "not_back", waiting);
    json_object_set_new(out, "ok", json_true());
    return out;
}
