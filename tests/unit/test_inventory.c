/* The controller's node table with a simulated clock: liveness at its exact
 * boundaries, names bound to keys, limits, hostile reports, the status view
 * and the export into the planner's inventory format (DESIGN.md
 * "Contracts"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "controller/inventory.h"

#define DOWN_AFTER 2500
#define KEY_A "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define KEY_B "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

/* ---- hand-built reports ------------------------------------------------ */

typedef struct {
    Quorate__Report rep;
    Quorate__CheckResult res[INVENTORY_MAX_CHECKS + 2];
    Quorate__CheckResult *ptrs[INVENTORY_MAX_CHECKS + 2];
    char names[INVENTORY_MAX_CHECKS + 2][16];
} report_t;

static void report_init(report_t *r, const char *node, const char *dc)
{
    memset(r, 0, sizeof *r);
    quorate__report__init(&r->rep);
    r->rep.node = (char *)node;
    r->rep.dc = (char *)dc;
    r->rep.cycle = 1;
    r->rep.interval_ms = 5000;
    r->rep.agent_version = "0.1.0";
    r->rep.checks = r->ptrs;
}

static Quorate__CheckResult *report_add(report_t *r, const char *name, Quorate__Status st,
                                        const char *summary, const char *values_json)
{
    size_t i = r->rep.n_checks++;
    assert_true(i < INVENTORY_MAX_CHECKS + 2);
    Quorate__CheckResult *c = &r->res[i];
    quorate__check_result__init(c);
    snprintf(r->names[i], sizeof r->names[i], "%s", name);
    c->name = r->names[i];
    c->status = st;
    c->summary = (char *)summary;
    c->values_json = (char *)values_json;
    r->ptrs[i] = c;
    return c;
}

/* seen + report, the way the server handles a Report message. */
static void deliver(inventory_t *inv, int64_t now, report_t *r, const char *key, bool *came_up)
{
    qr_err_t err = {""};
    bool up = false;
    assert_int_equal(inventory_seen(inv, now, r->rep.node, r->rep.dc, key, &up, &err), 0);
    assert_int_equal(inventory_report(inv, now, r->rep.node, &r->rep, &err), 0);
    if (came_up)
        *came_up = up;
}

/* A Heartbeat message: liveness only; it carries the node's dc like a
 * report does (NULL: keep the known one). */
static void heartbeat(inventory_t *inv, int64_t now, const char *node, bool *came_up)
{
    qr_err_t err = {""};
    bool up = false;
    const char *dc = inventory_find(inv, node) ? NULL : "east";
    assert_int_equal(inventory_seen(inv, now, node, dc, KEY_A, &up, &err), 0);
    if (came_up)
        *came_up = up;
}

typedef struct {
    int calls;
    char last[64];
} down_log_t;

static void on_down(const inv_node_t *n, void *arg)
{
    down_log_t *l = arg;
    l->calls++;
    snprintf(l->last, sizeof l->last, "%s", n->name);
    assert_false(n->up); /* already marked when the callback runs */
}

/* ---- liveness ------------------------------------------------------------ */

static void test_inventory_new_node_is_up_and_came_up(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    assert_non_null(inv);
    bool came_up = false;
    heartbeat(inv, 1000, "ai1", &came_up);
    assert_true(came_up);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_non_null(n);
    assert_true(n->up);
    assert_string_equal(n->dc, "east");
    assert_string_equal(n->key, KEY_A);
    assert_int_equal(n->first_seen_ms, 1000);
    assert_int_equal(n->last_seen_ms, 1000);
    heartbeat(inv, 1200, "ai1", &came_up);
    assert_false(came_up); /* already up */
    assert_int_equal(inventory_count(inv), 1);
    assert_ptr_equal(inventory_at(inv, 0), n);
    assert_null(inventory_at(inv, 1));
    assert_null(inventory_find(inv, "ai2"));
    inventory_destroy(&inv);
    assert_null(inv);
    inventory_destroy(&inv);
    inventory_destroy(NULL);
}

static void test_inventory_down_exactly_at_down_after_not_1ms_before(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    down_log_t log = {0};
    heartbeat(inv, 1000, "ai1", NULL);
    assert_int_equal(inventory_tick(inv, 1000 + DOWN_AFTER - 1, on_down, &log), 0);
    assert_true(inventory_find(inv, "ai1")->up);
    assert_int_equal(log.calls, 0);

    assert_int_equal(inventory_tick(inv, 1000 + DOWN_AFTER, on_down, &log), 1);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_false(n->up);
    assert_int_equal(n->down_since_ms, 1000 + DOWN_AFTER);
    assert_int_equal(log.calls, 1);
    assert_string_equal(log.last, "ai1");

    /* reported once, not on every later tick */
    assert_int_equal(inventory_tick(inv, 60000, on_down, &log), 0);
    assert_int_equal(log.calls, 1);
    assert_int_equal(n->down_since_ms, 1000 + DOWN_AFTER);
    inventory_destroy(&inv);
}

static void test_inventory_any_message_restarts_the_silence_timer(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    heartbeat(inv, 1000, "ai1", NULL);
    heartbeat(inv, 3000, "ai1", NULL);
    assert_int_equal(inventory_tick(inv, 1000 + DOWN_AFTER, NULL, NULL), 0);
    assert_int_equal(inventory_tick(inv, 3000 + DOWN_AFTER - 1, NULL, NULL), 0);
    assert_true(inventory_find(inv, "ai1")->up);
    assert_int_equal(inventory_tick(inv, 3000 + DOWN_AFTER, NULL, NULL), 1); /* cb may be NULL */
    assert_false(inventory_find(inv, "ai1")->up);
    inventory_destroy(&inv);
}

static void test_inventory_only_silent_nodes_go_down(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    down_log_t log = {0};
    heartbeat(inv, 0, "ai1", NULL);
    heartbeat(inv, 0, "ai2", NULL);
    heartbeat(inv, 2000, "ai2", NULL);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, on_down, &log), 1);
    assert_string_equal(log.last, "ai1");
    assert_false(inventory_find(inv, "ai1")->up);
    assert_true(inventory_find(inv, "ai2")->up);
    inventory_destroy(&inv);
}

static void test_inventory_heartbeat_brings_node_back_up(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    heartbeat(inv, 0, "ai1", NULL);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);
    bool came_up = false;
    heartbeat(inv, 9000, "ai1", &came_up);
    assert_true(came_up);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_true(n->up);
    assert_int_equal(n->down_since_ms, 0);
    assert_int_equal(n->last_seen_ms, 9000);
    assert_int_equal(n->first_seen_ms, 0);
    heartbeat(inv, 9100, "ai1", &came_up);
    assert_false(came_up);
    /* and it can go down again, counted from the new last message */
    assert_int_equal(inventory_tick(inv, 9100 + DOWN_AFTER - 1, NULL, NULL), 0);
    assert_int_equal(inventory_tick(inv, 9100 + DOWN_AFTER, NULL, NULL), 1);
    inventory_destroy(&inv);
}

static void test_inventory_report_brings_node_back_up(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "16 cpus", "{\"cpus\":16}");
    deliver(inv, 0, &r, KEY_A, NULL);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);

    report_init(&r, "ai1", "east");
    r.rep.cycle = 2;
    report_add(&r, "host", QUORATE__STATUS__STATUS_WARN, "data dir on HDD", "{\"ssd\":false}");
    bool came_up = false;
    deliver(inv, 7000, &r, KEY_A, &came_up);
    assert_true(came_up);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_true(n->up);
    assert_int_equal(n->last_report_ms, 7000);
    assert_int_equal(n->cycle, 2);
    json_t *c0 = json_array_get(n->checks, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "status")), "warn");
    inventory_destroy(&inv);
}

/* ---- identity and limits ------------------------------------------------- */

static void test_inventory_name_bound_to_key_refuses_another_key(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    qr_err_t err = {""};
    bool came_up;
    assert_int_equal(inventory_seen(inv, 0, "ai1", "east", KEY_A, &came_up, &err), 0);
    came_up = true;
    assert_int_equal(inventory_seen(inv, 1000, "ai1", "west", KEY_B, &came_up, &err), QR_EAUTH);
    assert_false(came_up);
    assert_non_null(strstr(err.msg, "ai1"));
    /* the impostor changed nothing: not the dc, not the liveness */
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_string_equal(n->dc, "east");
    assert_string_equal(n->key, KEY_A);
    assert_int_equal(n->last_seen_ms, 0);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);
    /* nor can it bring the node back up */
    assert_int_equal(inventory_seen(inv, 3000, "ai1", "west", KEY_B, &came_up, &err), QR_EAUTH);
    assert_false(inventory_find(inv, "ai1")->up);
    /* the owner still can */
    assert_int_equal(inventory_seen(inv, 3000, "ai1", "east", KEY_A, &came_up, &err), 0);
    assert_true(came_up);
    /* a name first seen without CURVE (no key) is not taken over by a key */
    assert_int_equal(inventory_seen(inv, 3000, "ai2", "east", NULL, &came_up, &err), 0);
    assert_int_equal(inventory_seen(inv, 3000, "ai2", "east", KEY_B, &came_up, &err), QR_EAUTH);
    assert_int_equal(inventory_seen(inv, 3000, "ai2", "east", "", &came_up, &err), 0);
    inventory_destroy(&inv);
}

static void test_inventory_max_nodes_refuses_the_next_node(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 3);
    qr_err_t err = {""};
    bool came_up;
    char name[16];
    for (int i = 1; i <= 3; i++) {
        snprintf(name, sizeof name, "ai%d", i);
        assert_int_equal(inventory_seen(inv, 0, name, "east", "", &came_up, &err), 0);
    }
    came_up = true;
    assert_int_equal(inventory_seen(inv, 0, "ai4", "east", "", &came_up, &err), QR_ERANGE);
    assert_false(came_up);
    assert_non_null(strstr(err.msg, "3"));
    assert_int_equal(inventory_count(inv), 3);
    assert_null(inventory_find(inv, "ai4"));
    /* known nodes keep working, also when down */
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 3);
    assert_int_equal(inventory_seen(inv, 5000, "ai2", "east", "", &came_up, &err), 0);
    assert_true(came_up);
    inventory_destroy(&inv);
}

/* Growing past the first allocation keeps every node (and pointers from
 * inventory_find are only valid until the next new node). */
static void test_inventory_many_nodes(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 100);
    qr_err_t err = {""};
    bool came_up;
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "n%03d", i);
        assert_int_equal(inventory_seen(inv, i, name, "dc1", "", &came_up, &err), 0);
    }
    assert_int_equal(inventory_count(inv), 100);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "n%03d", i);
        const inv_node_t *n = inventory_find(inv, name);
        assert_non_null(n);
        assert_int_equal(n->first_seen_ms, i);
    }
    assert_int_equal(inventory_seen(inv, 0, "n100", "dc1", "", &came_up, &err), QR_ERANGE);
    inventory_destroy(&inv);
}

static void test_inventory_invalid_names_refused(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    qr_err_t err = {""};
    bool came_up;
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    assert_int_equal(inventory_seen(inv, 0, "", "east", "", &came_up, &err), QR_EINVAL);
    assert_int_equal(inventory_seen(inv, 0, "ai\n1", "east", "", &came_up, &err), QR_EINVAL);
    assert_int_equal(inventory_seen(inv, 0, "ai\xff", "east", "", &came_up, &err), QR_EINVAL);
    assert_int_equal(inventory_seen(inv, 0, long_name, "east", "", &came_up, &err), QR_EINVAL);
    assert_int_equal(inventory_seen(inv, 0, "ai1", "ea\x01st", "", &came_up, &err), QR_EINVAL);
    assert_int_equal(inventory_count(inv), 0);
    long_name[63] = '\0'; /* 63 bytes fit */
    assert_int_equal(inventory_seen(inv, 0, long_name, "east", "", &came_up, &err), 0);
    assert_non_null(inventory_find(inv, long_name));
    /* no dc (a Ping/Pong carries none) keeps the known one */
    assert_int_equal(inventory_seen(inv, 1, long_name, NULL, "", &came_up, &err), 0);
    assert_int_equal(inventory_seen(inv, 2, long_name, "", "", &came_up, &err), 0);
    assert_string_equal(inventory_find(inv, long_name)->dc, "east");
    inventory_destroy(&inv);
}

/* ---- reports ------------------------------------------------------------ */

static void test_inventory_report_for_unknown_node_refused(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ghost", "east");
    qr_err_t err = {""};
    assert_int_equal(inventory_report(inv, 0, "ghost", &r.rep, &err), QR_ENOTFOUND);
    assert_int_equal(inventory_count(inv), 0);
    inventory_destroy(&inv);
}

static void test_inventory_invalid_values_keep_status_with_invalid_values(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_FAIL, "datadir missing", "{not json");
    report_add(&r, "ntp", QUORATE__STATUS__STATUS_WARN, "offset 150 ms", "[1, 2]");
    report_add(&r, "web", QUORATE__STATUS__STATUS_OK, "HTTP 200", "\"a string\"");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "fine", "{\"cpus\": 4}");
    deliver(inv, 0, &r, KEY_A, NULL);
    json_t *checks = inventory_find(inv, "ai1")->checks;
    assert_int_equal(json_array_size(checks), 4);
    static const char *want_status[] = {"fail", "warn", "ok", "ok"};
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_array_get(checks, i);
        assert_string_equal(json_string_value(json_object_get(c, "status")), want_status[i]);
        assert_string_equal(json_string_value(json_object_get(c, "summary")), r.res[i].summary);
        json_t *v = json_object_get(c, "values");
        assert_true(json_is_object(v));
        assert_true(json_is_true(json_object_get(v, "invalid_values")));
    }
    json_t *host = json_object_get(json_array_get(checks, 3), "values");
    assert_int_equal(json_integer_value(json_object_get(host, "cpus")), 4);
    assert_null(json_object_get(host, "invalid_values"));
    inventory_destroy(&inv);
}

static void test_inventory_hostile_check_fields(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    Quorate__CheckResult *c = report_add(&r, "disk", QUORATE__STATUS__STATUS_OK, "x", "{}");
    c->status = (Quorate__Status)99;   /* from a newer or broken agent */
    c->summary = "bad \xff\xfe utf-8"; /* not valid UTF-8 */
    r.rep.agent_version = "0.1\n.0";   /* would forge a log line */
    deliver(inv, 0, &r, KEY_A, NULL);
    const inv_node_t *n = inventory_find(inv, "ai1");
    json_t *j = json_array_get(n->checks, 0);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "unknown");
    const char *summary = json_string_value(json_object_get(j, "summary"));
    assert_non_null(summary); /* replaced by a valid string */
    assert_string_equal(n->version, "");

    /* a check name that is not a clean name: the whole report is refused */
    report_init(&r, "ai1", "east");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "ok", "{}");
    report_add(&r, "di\nsk", QUORATE__STATUS__STATUS_OK, "ok", "{}");
    qr_err_t err = {""};
    assert_int_equal(inventory_report(inv, 10, "ai1", &r.rep, &err), QR_EPROTO);
    assert_int_equal(json_array_size(n->checks), 1); /* the previous report stays */
    assert_string_equal(json_string_value(json_object_get(json_array_get(n->checks, 0), "name")),
                        "disk");
    inventory_destroy(&inv);
}

static void test_inventory_more_than_max_checks_refused(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "first", "{}");
    deliver(inv, 0, &r, KEY_A, NULL);

    report_init(&r, "ai1", "east");
    for (int i = 0; i < INVENTORY_MAX_CHECKS + 1; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        report_add(&r, name, QUORATE__STATUS__STATUS_OK, "", "{}");
    }
    qr_err_t err = {""};
    assert_int_equal(inventory_report(inv, 100, "ai1", &r.rep, &err), QR_ERANGE);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_int_equal(json_array_size(n->checks), 1);
    assert_int_equal(n->last_report_ms, 0);

    /* exactly the maximum is stored */
    r.rep.n_checks = INVENTORY_MAX_CHECKS;
    assert_int_equal(inventory_report(inv, 200, "ai1", &r.rep, &err), 0);
    assert_int_equal(json_array_size(n->checks), INVENTORY_MAX_CHECKS);
    assert_int_equal(n->last_report_ms, 200);
    inventory_destroy(&inv);
}

/* The address peers use for the reachability matrix: the reported one when it
 * is an IP literal, else the connection's source address. */
static void test_inventory_address_prefers_valid_reported_literal(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    heartbeat(inv, 0, "ai1", NULL);
    const inv_node_t *n = inventory_find(inv, "ai1");
    assert_string_equal(n->address, "");
    inventory_address(inv, "ai1", "", "10.0.0.5");
    assert_string_equal(n->address, "10.0.0.5");
    inventory_address(inv, "ai1", "10.0.0.11", "10.0.0.5");
    assert_string_equal(n->address, "10.0.0.11");
    inventory_address(inv, "ai1", "fd00::11", NULL);
    assert_string_equal(n->address, "fd00::11");
    /* names, garbage, injected text: never stored */
    inventory_address(inv, "ai1", "ai1.example.com", "not an address");
    inventory_address(inv, "ai1", "10.0.0.1; rm -rf /", NULL);
    inventory_address(inv, "ai1", NULL, NULL);
    assert_string_equal(n->address, "fd00::11");
    inventory_address(inv, "nobody", "10.0.0.9", NULL); /* unknown node: ignored */
    assert_null(inventory_find(inv, "nobody"));
    json_t *j = inventory_node_json(inv, "ai1", 0);
    assert_string_equal(json_string_value(json_object_get(j, "address")), "fd00::11");
    json_decref(j);
    inventory_destroy(&inv);
}

/* ---- views --------------------------------------------------------------- */

static void assert_json_is(const char *want_text, const json_t *got)
{
    json_error_t e;
    json_t *want = json_loads(want_text, 0, &e);
    if (!want)
        fail_msg("bad expected JSON: %s", e.text);
    int eq = json_equal(want, (json_t *)got);
    json_decref(want);
    if (!eq) {
        char buf[1024];
        char *s = json_dumps(got, JSON_SORT_KEYS);
        snprintf(buf, sizeof buf, "%s", s ? s : "(null)");
        free(s);
        fail_msg("got  %s\nwant %s", buf, want_text);
    }
}

static json_t *node_by_name(json_t *nodes, const char *key, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, key)) ?: "", name) == 0)
            return n;
    }
    fail_msg("node %s not in the JSON", name);
    return NULL;
}

static void test_inventory_status_json_counts_and_worst(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "ok", "{}");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_WARN, "root filesystem 40 GB free", "{}");
    deliver(inv, 0, &r, KEY_A, NULL);
    report_init(&r, "ai2", "west");
    report_add(&r, "mongod", QUORATE__STATUS__STATUS_FAIL, "not running", "{}");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "ok", "{}");
    deliver(inv, 0, &r, KEY_A, NULL);
    heartbeat(inv, 0, "ai3", NULL);
    /* ai1 and ai2 keep talking; ai3 goes silent */
    heartbeat(inv, 2000, "ai1", NULL);
    qr_err_t err;
    bool cu;
    assert_int_equal(inventory_seen(inv, 2000, "ai2", "west", KEY_A, &cu, &err), 0);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);
    inventory_clock(inv, "ai1", 12.5, 0.8);
    inventory_clock(inv, "nobody", 1, 1); /* ignored */

    json_t *j = inventory_status_json(inv, 4000);
    json_t *counts = json_object_get(j, "counts");
    assert_int_equal(json_integer_value(json_object_get(counts, "nodes")), 3);
    assert_int_equal(json_integer_value(json_object_get(counts, "up")), 2);
    assert_int_equal(json_integer_value(json_object_get(counts, "down")), 1);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 3);

    json_t *a1 = node_by_name(nodes, "name", "ai1");
    assert_true(json_is_true(json_object_get(a1, "up")));
    assert_string_equal(json_string_value(json_object_get(a1, "dc")), "east");
    assert_string_equal(json_string_value(json_object_get(a1, "worst")), "warn");
    assert_int_equal(json_integer_value(json_object_get(a1, "last_seen_ago_ms")), 2000);
    json_t *a1c = json_object_get(a1, "checks");
    assert_int_equal(json_array_size(a1c), 2);
    assert_null(json_object_get(json_array_get(a1c, 0), "values")); /* summary view */
    json_t *clock = json_object_get(a1, "clock");
    assert_true(json_real_value(json_object_get(clock, "offset_ms")) == 12.5);

    json_t *a2 = node_by_name(nodes, "name", "ai2");
    assert_string_equal(json_string_value(json_object_get(a2, "worst")), "fail");
    assert_null(json_object_get(a2, "clock"));

    json_t *a3 = node_by_name(nodes, "name", "ai3");
    assert_true(json_is_false(json_object_get(a3, "up")));
    assert_string_equal(json_string_value(json_object_get(a3, "worst")), "down");
    assert_int_equal(json_integer_value(json_object_get(a3, "down_for_ms")), 4000 - DOWN_AFTER);
    json_decref(j);

    /* the node view carries the values */
    json_t *one = inventory_node_json(inv, "ai1", 4000);
    assert_non_null(one);
    assert_true(json_is_object(
        json_object_get(json_array_get(json_object_get(one, "checks"), 0), "values")));
    json_decref(one);
    assert_null(inventory_node_json(inv, "nobody", 4000));

    inventory_destroy(&inv);
}

static void test_inventory_status_json_empty(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    json_t *j = inventory_status_json(inv, 0);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "counts"), "nodes")), 0);
    json_decref(j);
    json_t *e = inventory_export_json(inv);
    assert_int_equal(json_array_size(json_object_get(e, "nodes")), 0);
    json_decref(e);
    inventory_destroy(&inv);
}

/* The export is the planner's inventory (DESIGN.md "Contracts"):
 * {"nodes":[{"hostname","dc","manager","healthy","ssd","cpus","mem_gb",
 *   "datadir_gb","datadir_separate","root_free_gb","labels"}]}. */
static void test_inventory_export_maps_check_values_to_planner_format(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "docker", QUORATE__STATUS__STATUS_OK, "manager, leader",
               "{\"role\":\"manager\",\"engine\":\"20.10.24\","
               "\"labels\":{\"mongo.replica\":\"1\",\"worker\":\"true\",\"other\":\"x\"}}");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_OK, "ok",
               "{\"datadir_gb\":200,\"datadir_separate\":true,\"root_free_gb\":80.5,"
               "\"docker_gb\":3}");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "ok",
               "{\"ssd\":true,\"cpus\":16,\"mem_gb\":62.8,\"hostname\":\"ai1.lan\"}");
    deliver(inv, 0, &r, KEY_A, NULL);

    /* a worker whose disk check fails: not healthy */
    report_init(&r, "ai2", "west");
    report_add(&r, "docker", QUORATE__STATUS__STATUS_OK, "worker", "{\"role\":\"worker\"}");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_FAIL, "datadir not separate",
               "{\"datadir_gb\":40.0,\"datadir_separate\":false,\"root_free_gb\":30}");
    report_add(&r, "host", QUORATE__STATUS__STATUS_WARN, "HDD",
               "{\"ssd\":false,\"cpus\":4,\"mem_gb\":8}");
    deliver(inv, 0, &r, KEY_A, NULL);

    /* values of the wrong type are left out, not passed on; the disk facts
     * the planner requires become 0/false (an ineligible node, never a
     * malformed inventory) */
    report_init(&r, "ai3", "east");
    report_add(&r, "docker", QUORATE__STATUS__STATUS_OK, "?",
               "{\"role\":7,\"labels\":[\"worker\"]}");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_OK, "?",
               "{\"datadir_gb\":\"200\",\"datadir_separate\":1,\"root_free_gb\":null}");
    report_add(&r, "host", QUORATE__STATUS__STATUS_OK, "?",
               "{\"ssd\":null,\"cpus\":\"16\",\"mem_gb\":true}");
    deliver(inv, 0, &r, KEY_A, NULL);

    /* heard from, but no report yet; then silent: down */
    heartbeat(inv, 0, "ai4", NULL);
    heartbeat(inv, 2000, "ai1", NULL);
    heartbeat(inv, 2000, "ai2", NULL);
    heartbeat(inv, 2000, "ai3", NULL);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);

    json_t *j = inventory_export_json(inv);
    assert_int_equal(json_object_size(j), 1);
    json_t *nodes = json_object_get(j, "nodes");
    assert_int_equal(json_array_size(nodes), 4);

    json_t *got1 = node_by_name(nodes, "hostname", "ai1");
    assert_json_is("{\"hostname\":\"ai1\",\"dc\":\"east\",\"manager\":true,"
                   "\"healthy\":true,\"ssd\":true,\"cpus\":16,\"mem_gb\":62.8,"
                   "\"datadir_gb\":200,\"datadir_separate\":true,"
                   "\"root_free_gb\":80.5,\"labels\":{\"mongo.replica\":\"1\","
                   "\"worker\":\"true\",\"other\":\"x\"}}",
                   got1);

    json_t *got2 = node_by_name(nodes, "hostname", "ai2");
    assert_json_is("{\"hostname\":\"ai2\",\"dc\":\"west\",\"manager\":false,"
                   "\"healthy\":false,\"ssd\":false,\"cpus\":4,\"mem_gb\":8,"
                   "\"datadir_gb\":40.0,\"datadir_separate\":false,"
                   "\"root_free_gb\":30,\"labels\":{}}",
                   got2);

    json_t *got3 = node_by_name(nodes, "hostname", "ai3");
    assert_json_is("{\"hostname\":\"ai3\",\"dc\":\"east\",\"manager\":false,"
                   "\"healthy\":true,\"datadir_gb\":0,\"datadir_separate\":false,"
                   "\"root_free_gb\":0,\"labels\":{}}",
                   got3);

    /* a down node is not healthy, whatever it reported before */
    json_t *got4 = node_by_name(nodes, "hostname", "ai4");
    assert_true(json_is_false(json_object_get(got4, "healthy")));
    assert_true(json_is_false(json_object_get(got4, "manager")));
    assert_true(json_is_object(json_object_get(got4, "labels")));
    assert_int_equal(json_object_size(json_object_get(got4, "labels")), 0);

    /* the export is a copy: changing it leaves the inventory alone */
    json_object_set_new(json_object_get(got1, "labels"), "minio", json_string("true"));
    json_decref(j);
    j = inventory_export_json(inv);
    got1 = node_by_name(json_object_get(j, "nodes"), "hostname", "ai1");
    assert_null(json_object_get(json_object_get(got1, "labels"), "minio"));
    json_decref(j);
    inventory_destroy(&inv);
}

/* A node that was up with a passing disk check and then goes down is not
 * healthy in the export. */
static void test_inventory_export_down_node_not_healthy(void **state)
{
    (void)state;
    inventory_t *inv = inventory_new(DOWN_AFTER, 10);
    report_t r;
    report_init(&r, "ai1", "east");
    report_add(&r, "disk", QUORATE__STATUS__STATUS_OK, "ok",
               "{\"datadir_gb\":200,\"datadir_separate\":true,\"root_free_gb\":80}");
    deliver(inv, 0, &r, KEY_A, NULL);
    json_t *j = inventory_export_json(inv);
    assert_true(
        json_is_true(json_object_get(json_array_get(json_object_get(j, "nodes"), 0), "healthy")));
    json_decref(j);
    assert_int_equal(inventory_tick(inv, DOWN_AFTER, NULL, NULL), 1);
    j = inventory_export_json(inv);
    json_t *n = json_array_get(json_object_get(j, "nodes"), 0);
    assert_true(json_is_false(json_object_get(n, "healthy")));
    assert_true(json_object_get(n, "datadir_gb") != NULL); /* facts stay for the planner */
    json_decref(j);
    inventory_destroy(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inventory_new_node_is_up_and_came_up),
        cmocka_unit_test(test_inventory_down_exactly_at_down_after_not_1ms_before),
        cmocka_unit_test(test_inventory_any_message_restarts_the_silence_timer),
        cmocka_unit_test(test_inventory_only_silent_nodes_go_down),
        cmocka_unit_test(test_inventory_heartbeat_brings_node_back_up),
        cmocka_unit_test(test_inventory_report_brings_node_back_up),
        cmocka_unit_test(test_inventory_name_bound_to_key_refuses_another_key),
        cmocka_unit_test(test_inventory_max_nodes_refuses_the_next_node),
        cmocka_unit_test(test_inventory_many_nodes),
        cmocka_unit_test(test_inventory_invalid_names_refused),
        cmocka_unit_test(test_inventory_report_for_unknown_node_refused),
        cmocka_unit_test(test_inventory_invalid_values_keep_status_with_invalid_values),
        cmocka_unit_test(test_inventory_hostile_check_fields),
        cmocka_unit_test(test_inventory_more_than_max_checks_refused),
        cmocka_unit_test(test_inventory_address_prefers_valid_reported_literal),
        cmocka_unit_test(test_inventory_status_json_counts_and_worst),
        cmocka_unit_test(test_inventory_status_json_empty),
        cmocka_unit_test(test_inventory_export_maps_check_values_to_planner_format),
        cmocka_unit_test(test_inventory_export_down_node_not_healthy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
