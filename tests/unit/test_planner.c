/* The planner's rules with hand-written inventories: DESIGN.md's example,
 * the runbook's 3- and 5-server layouts in 2 and 3 DCs, 7 nodes 4-2-1, the
 * rehearsal, the decommission, warnings, and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "planner.h"
#include "planner_json.h"
#include "planner_text.h"

/* A compact node spec: "host dc [M] [D] [H] [X] [mem:N] [cpu:N] [addr:A] [k=v...]"
 * joined by ';'. M manager, D down (unhealthy), H HDD, X data dir too small. */
static planner_inventory_t *inv_of(const char *spec)
{
    planner_inventory_t *inv = planner_inventory_new();
    assert_non_null(inv);
    char *copy = strdup(spec), *save = NULL;
    for (char *line = strtok_r(copy, ";", &save); line; line = strtok_r(NULL, ";", &save)) {
        char *tok[32] = {NULL}, *s2 = NULL;
        int nt = 0;
        for (char *t = strtok_r(line, " ", &s2); t && nt < 32; t = strtok_r(NULL, " ", &s2))
            tok[nt++] = t;
        assert_true(nt >= 2);
        planner_node_t n = {.hostname = tok[0],
                            .dc = tok[1],
                            .healthy = true,
                            .ssd = true,
                            .cpus = 16,
                            .mem_gb = 64,
                            .datadir_gb = 200,
                            .datadir_separate = true,
                            .root_free_gb = 80};
        planner_label_t labels[16];
        size_t nl = 0;
        for (int k = 2; k < nt; k++) {
            char *t = tok[k], *eq = strchr(t, '=');
            if (!strcmp(t, "M"))
                n.manager = true;
            else if (!strcmp(t, "D"))
                n.healthy = false;
            else if (!strcmp(t, "H"))
                n.ssd = false;
            else if (!strcmp(t, "X"))
                n.datadir_gb = 20;
            else if (!strncmp(t, "mem:", 4))
                n.mem_gb = atof(t + 4);
            else if (!strncmp(t, "cpu:", 4))
                n.cpus = atof(t + 4);
            else if (!strncmp(t, "addr:", 5))
                n.addr = t + 5;
            else if (eq) {
                *eq = '\0';
                labels[nl++] = (planner_label_t){t, eq + 1};
            } else
                fail_msg("bad spec token %s", t);
        }
        n.labels = labels;
        n.nlabels = nl;
        assert_int_equal(planner_inventory_add_node(inv, &n, NULL), 0);
    }
    free(copy);
    return inv;
}

static planner_plan_t *plan_of(const planner_inventory_t *inv, const planner_opts_t *opts)
{
    planner_plan_t *p = NULL;
    qr_err_t err = {{0}};
    int rc = planner_plan(inv, opts, &p, &err);
    if (rc)
        fail_msg("planner_plan: %s", err.msg);
    return p;
}

static const char *final_label(const planner_plan_t *p, const char *host, const char *key)
{
    for (size_t i = 0; i < p->nfinal; i++) {
        if (strcmp(p->final_labels[i].node, host))
            continue;
        for (size_t k = 0; k < p->final_labels[i].nlabels; k++)
            if (!strcmp(p->final_labels[i].labels[k].key, key))
                return p->final_labels[i].labels[k].value;
        return NULL;
    }
    fail_msg("no final labels for %s", host);
    return NULL;
}

static bool has_final(const planner_plan_t *p, const char *host)
{
    for (size_t i = 0; i < p->nfinal; i++)
        if (!strcmp(p->final_labels[i].node, host))
            return true;
    return false;
}

static const planner_member_t *member_on(const planner_plan_t *p, const char *host)
{
    for (size_t k = 0; k < p->nmembers; k++)
        if (!strcmp(p->members[k].node, host))
            return &p->members[k];
    return NULL;
}

static int members_in(const planner_plan_t *p, const char *dc)
{
    int n = 0;
    for (size_t k = 0; k < p->nmembers; k++)
        n += !strcmp(p->members[k].dc, dc);
    return n;
}

static bool strv_has(const planner_strv_t *v, const char *needle)
{
    for (size_t k = 0; k < v->n; k++)
        if (strstr(v->v[k], needle))
            return true;
    return false;
}

static const planner_surv_t *surv_of(const planner_plan_t *p, const char *lose)
{
    for (size_t k = 0; k < p->nsurv; k++)
        if (!strcmp(p->surv[k].lose, lose))
            return &p->surv[k];
    fail_msg("no survivability entry for %s", lose);
    return NULL;
}

static int count_label(const planner_plan_t *p, const char *key, const char *value)
{
    int n = 0;
    for (size_t i = 0; i < p->nfinal; i++) {
        const char *v = final_label(p, p->final_labels[i].node, key);
        n += v && !strcmp(v, value);
    }
    return n;
}

/* Re-plans the plan's final labels on the same nodes: must change nothing. */
static void assert_idempotent(const planner_inventory_t *inv, const planner_plan_t *p,
                              const planner_opts_t *opts)
{
    planner_inventory_t *again = planner_inventory_new();
    for (size_t i = 0; i < inv->nnodes; i++) {
        planner_node_t n = inv->nodes[i];
        if (!has_final(p, n.hostname))
            continue;
        for (size_t k = 0; k < p->nfinal; k++)
            if (!strcmp(p->final_labels[k].node, n.hostname)) {
                n.labels = p->final_labels[k].labels;
                n.nlabels = p->final_labels[k].nlabels;
            }
        assert_int_equal(planner_inventory_add_node(again, &n, NULL), 0);
    }
    planner_opts_t o = opts ? *opts : (planner_opts_t){0};
    o.remove_node = NULL;
    planner_plan_t *p2 = plan_of(again, &o);
    assert_true(p2->ok);
    for (size_t k = 0; k < p2->nchanges; k++)
        print_message("unexpected re-plan change on %s: %zu add, %zu remove (%s)\n",
                      p2->changes[k].node, p2->changes[k].nadd, p2->changes[k].nremove,
                      p2->changes[k].nadd ? p2->changes[k].add[0].key : p2->changes[k].remove[0]);
    assert_int_equal(p2->nchanges, 0);
    assert_int_equal(p2->nmembers, p->nmembers);
    planner_plan_destroy(&p2);
    planner_inventory_destroy(&again);
}

/* ---- DESIGN.md and runbook layouts ----------------------------------- */

static void test_plan_design_example_one_node_has_no_valid_plan(void **state)
{
    (void)state;
    const char *json =
        "{\"nodes\": [{\"hostname\": \"ai1\", \"dc\": \"east\", \"manager\": true, \"healthy\": "
        "true, \"ssd\": true, \"cpus\": 16, \"mem_gb\": 64, \"datadir_gb\": 200, "
        "\"datadir_separate\": true, \"root_free_gb\": 80, \"labels\": {\"mongo.replica\": \"1\", "
        "\"worker\": \"true\"}}]}";
    planner_inventory_t *inv = NULL;
    qr_err_t err = {{0}};
    assert_int_equal(planner_json_parse(json, strlen(json), &inv, &err), 0);
    planner_plan_t *p = plan_of(inv, NULL);
    assert_false(p->ok);
    assert_true(strv_has(&p->errors, "only 1 eligible node"));
    assert_true(strv_has(&p->warnings, "fewer than 2 MinIO candidates"));
    assert_false(strv_has(&p->warnings, "only one swarm manager"));
    assert_int_equal(p->nchanges, 0);
    assert_int_equal(p->commands.n, 0);
    assert_string_equal(final_label(p, "ai1", "mongo.replica"), "1");
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_three_servers_two_dcs_names_majority_dc(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("ai1 east M; ai2 east M; ai3 west M");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(members_in(p, "east"), 2);
    assert_int_equal(members_in(p, "west"), 1);
    assert_string_equal(p->majority_dc, "east");
    assert_true(strv_has(&p->warnings, "two data centres: east holds the MongoDB majority"));
    assert_true(strv_has(&p->warnings, "losing east needs forced recovery"));
    const planner_surv_t *e = surv_of(p, "east"), *w = surv_of(p, "west");
    assert_int_equal(e->mongo_voters_left, 1);
    assert_false(e->mongo_majority);
    assert_true(e->needs_forced_recovery);
    assert_true(w->mongo_majority);
    assert_false(w->needs_forced_recovery);
    /* the majority DC's members get the higher priority */
    assert_int_equal(member_on(p, "ai1")->priority, 2);
    assert_int_equal(member_on(p, "ai3")->priority, 1);
    /* fresh cluster: worker everywhere, MinIO on 2 nodes in 2 DCs */
    assert_int_equal(count_label(p, "worker", "true"), 3);
    assert_int_equal(count_label(p, "minio", "true"), 2);
    assert_string_equal(final_label(p, "ai3", "minio"), "true");
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* Two DCs, room for the majority in either: it goes where the swarm
 * managers' majority is, so losing the other DC costs neither quorum. */
static void test_plan_two_dcs_mongo_majority_follows_swarm_managers(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of(
        "e1 east M mem:256; e2 east mem:256; e3 east mem:256; w1 west M; w2 west M; w3 west");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 5);
    assert_string_equal(p->majority_dc, "west");
    assert_int_equal(members_in(p, "west"), 3);
    const planner_surv_t *e = surv_of(p, "east");
    assert_true(e->mongo_majority && e->swarm_quorum);
    assert_int_equal(e->steps.n, 1); /* only the label re-plan */
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_three_servers_three_dcs_no_majority(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("ai1 east M; ai2 west M; ai3 north M");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_null(p->majority_dc);
    const char *dcs[] = {"east", "west", "north"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(members_in(p, dcs[k]), 1);
        const planner_surv_t *s = surv_of(p, dcs[k]);
        assert_true(s->mongo_majority);
        assert_true(s->swarm_quorum);
        assert_int_equal(s->steps.n > 0 ? strncmp(s->steps.v[0], "swarm", 5) != 0 : 1, 1);
    }
    for (size_t k = 0; k < p->nmembers; k++) {
        assert_int_equal(p->members[k].votes, 1);
        assert_int_equal(p->members[k].priority, 1);
    }
    assert_false(strv_has(&p->warnings, "majority"));
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_five_servers_two_dcs_labelled_by_hand_changes_nothing(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("ai1 east M mongo.replica=1 worker=true minio=true;"
                                      "ai2 east M mongo.replica=2 worker=true;"
                                      "ai3 east mongo.replica=3 worker=true;"
                                      "ai4 west M mongo.replica=4 worker=true minio=true;"
                                      "ai5 west mongo.replica=5 worker=true");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nchanges, 0);
    assert_int_equal(p->commands.n, 0);
    assert_int_equal(p->nmembers, 5);
    assert_string_equal(p->majority_dc, "east");
    /* losing east: forced recovery and the swarm frozen (2 of 3 managers there) */
    const planner_surv_t *e = surv_of(p, "east");
    assert_int_equal(e->mongo_voters_left, 2);
    assert_true(e->needs_forced_recovery);
    assert_int_equal(e->swarm_managers_left, 1);
    assert_false(e->swarm_quorum);
    assert_true(strstr(e->steps.v[0], "docker swarm init --force-new-cluster") != NULL);
    assert_true(strstr(e->steps.v[0], "ai4") != NULL);
    assert_true(strv_has(&e->steps, "quoratectl recover --confirm-down east --yes"));
    assert_true(strv_has(&e->steps, "non-voting"));
    assert_true(strv_has(&p->warnings, "data centre east holds 2 of 3 swarm managers"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_five_servers_three_dcs_spread_two_two_one(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("ai1 east M; ai2 east; ai3 west M; ai4 west; ai5 witness M cpu:4 mem:16");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 5);
    assert_int_equal(members_in(p, "east"), 2);
    assert_int_equal(members_in(p, "west"), 2);
    assert_int_equal(members_in(p, "witness"), 1);
    assert_null(p->majority_dc);
    for (size_t k = 0; k < 3; k++)
        assert_true(p->surv[k].mongo_majority && p->surv[k].swarm_quorum);
    for (size_t k = 0; k < p->nmembers; k++) {
        char want[8];
        snprintf(want, sizeof want, "%d", p->members[k].replica);
        assert_int_equal(p->members[k].replica, (int)k + 1);
        assert_string_equal(final_label(p, p->members[k].node, "mongo.replica"), want);
    }
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_seven_nodes_421_get_five_members_221(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("e1 east M; e2 east; e3 east; e4 east; w1 west M; w2 west; x1 witness M");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 5);
    assert_int_equal(members_in(p, "east"), 2);
    assert_int_equal(members_in(p, "west"), 2);
    assert_int_equal(members_in(p, "witness"), 1);
    assert_null(p->majority_dc);
    assert_true(strv_has(&p->warnings, "differ a lot in capacity"));
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);

    /* the operator can insist on 7: then east holds a majority, named */
    planner_opts_t o = {.members = 7};
    p = plan_of(inv, &o);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 7);
    assert_string_equal(p->majority_dc, "east");
    assert_true(strv_has(&p->warnings, "data centre east holds a majority of the MongoDB voters"));
    assert_idempotent(inv, p, &o);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* A 7-member 4-2-1 layout already labelled is not "as even as rule 2 asks":
 * 5 members avoid the majority, so the plan shrinks it. */
static void test_plan_existing_seven_on_421_shrinks_to_five(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of(
        "e1 east M mongo.replica=1 worker=true minio=true; e2 east mongo.replica=2 worker=true;"
        "e3 east mongo.replica=3 worker=true; e4 east mongo.replica=4 worker=true;"
        "w1 west M mongo.replica=5 worker=true minio=true; w2 west mongo.replica=6 worker=true;"
        "x1 witness M mongo.replica=7 worker=true");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 5);
    assert_int_equal(members_in(p, "east"), 2);
    /* e1 and e2 keep 1 and 2; the witness renumbers from 7 into the free slot */
    assert_int_equal(member_on(p, "e1")->replica, 1);
    assert_int_equal(member_on(p, "e2")->replica, 2);
    assert_int_equal(member_on(p, "w1")->replica, 5);
    assert_null(final_label(p, "e3", "mongo.replica"));
    assert_null(final_label(p, "e4", "mongo.replica"));
    assert_true(strv_has(&p->warnings, "goes from 7 to 5 members"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* ---- rules 1 and 3: counts and minimal change ------------------------ */

static void test_plan_valid_three_member_layout_is_kept_with_more_nodes(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of(
        "a1 east M mongo.replica=1 worker=true minio=true; a2 west M mongo.replica=2 worker=true "
        "minio=true; a3 north M mongo.replica=3; a4 east; a5 west; a6 north");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(p->nchanges, 0);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_members_option_checked(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("a1 east; a2 east; a3 west; a4 west; a5 north X");
    planner_opts_t o = {.members = 5};
    planner_plan_t *p = plan_of(inv, &o);
    assert_false(p->ok);
    assert_true(strv_has(&p->errors, "--members 5: only 4 eligible nodes"));
    assert_int_equal(p->commands.n, 0);
    planner_plan_destroy(&p);
    qr_err_t err = {{0}};
    o.members = 4;
    assert_int_equal(planner_plan(inv, &o, &p, &err), QR_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.msg, "--members 4: must be an odd number from 3 to 7"));
    o.members = 9;
    assert_int_equal(planner_plan(inv, &o, &p, &err), QR_EINVAL);
    planner_inventory_destroy(&inv);
}

static void test_plan_number_on_unhealthy_node_moves_others_keep(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("a1 east M mongo.replica=1 worker=true; a2 west M mongo.replica=2 worker=true;"
               "a3 north M D mongo.replica=3 worker=true minio=true; a4 north; a5 east minio=true");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(member_on(p, "a1")->replica, 1);
    assert_int_equal(member_on(p, "a2")->replica, 2);
    assert_int_equal(member_on(p, "a4")->replica, 3);
    assert_null(member_on(p, "a3"));
    assert_null(final_label(p, "a3", "mongo.replica"));
    /* the unhealthy node keeps worker (it may come back), loses minio */
    assert_string_equal(final_label(p, "a3", "worker"), "true");
    assert_null(final_label(p, "a3", "minio"));
    assert_string_equal(final_label(p, "a5", "minio"), "true");
    assert_int_equal(count_label(p, "minio", "true"), 2);
    /* removals first: a3 loses its labels before a4 gets replica 3 */
    assert_true(p->commands.n >= 2);
    assert_string_equal(p->commands.v[0],
                        "docker node update --label-rm mongo.replica --label-rm minio a3");
    bool saw_add = false;
    for (size_t k = 0; k < p->commands.n; k++) {
        if (strstr(p->commands.v[k], "--label-add"))
            saw_add = true;
        else
            assert_false(saw_add);
    }
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_duplicate_number_one_node_keeps_it(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("a1 east mongo.replica=1; a2 west mongo.replica=2 mem:128; a3 north mongo.replica=2;"
               "a4 north mongo.replica=01");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(member_on(p, "a1")->replica, 1);
    /* the better node keeps 2; the other holder is renumbered to 3 */
    assert_int_equal(member_on(p, "a2")->replica, 2);
    assert_int_equal(member_on(p, "a3")->replica, 3);
    assert_null(final_label(p, "a4", "mongo.replica"));
    assert_true(strv_has(&p->warnings, "mongo.replica=2 is on 2 nodes (a2, a3): a2 keeps it"));
    assert_true(strv_has(&p->warnings, "a4: mongo.replica=\"01\" is not a replica number"));
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_new_members_prefer_ssd_then_memory(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("h1 east H mem:512; s1 east mem:32; s2 east mem:64; s3 east mem:48");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_null(member_on(p, "h1"));
    assert_int_equal(member_on(p, "s2")->replica, 1);
    assert_int_equal(member_on(p, "s3")->replica, 2);
    assert_int_equal(member_on(p, "s1")->replica, 3);
    assert_true(strv_has(&p->warnings, "all 3 MongoDB members are in data centre east"));
    planner_plan_destroy(&p);

    /* only HDD left for the third: member placed, warned */
    planner_inventory_t *inv2 = inv_of("h1 east H; s1 west; s2 north");
    p = plan_of(inv2, NULL);
    assert_true(p->ok);
    assert_non_null(member_on(p, "h1"));
    assert_true(strv_has(&p->warnings, "MongoDB member h1 (replica"));
    assert_true(strv_has(&p->warnings, "is on HDD"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv2);
    planner_inventory_destroy(&inv);
}

static void test_plan_ineligible_nodes_never_members(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("a1 east X; a2 east D; a3 west; a4 west; a5 north");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_null(member_on(p, "a1"));
    assert_null(member_on(p, "a2"));
    assert_true(strv_has(&p->warnings, "no swarm manager in the inventory"));
    /* a down node is never newly given worker or minio */
    assert_null(final_label(p, "a2", "worker"));
    assert_null(final_label(p, "a2", "minio"));
    assert_string_equal(final_label(p, "a1", "worker"), "true");
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_other_labels_never_touched(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("a1 east rack=r1 mongo.replica=9; a2 east zone=z; a3 west gpu=yes worker=false");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_string_equal(final_label(p, "a1", "rack"), "r1");
    assert_string_equal(final_label(p, "a2", "zone"), "z");
    assert_string_equal(final_label(p, "a3", "gpu"), "yes");
    for (size_t k = 0; k < p->commands.n; k++) {
        assert_null(strstr(p->commands.v[k], "rack"));
        assert_null(strstr(p->commands.v[k], "gpu"));
    }
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* ---- rules 4 and 5: workers and MinIO -------------------------------- */

static void test_plan_workers_added_in_second_dc_never_removed(void **state)
{
    (void)state;
    planner_inventory_t *inv =
        inv_of("a1 east mongo.replica=1 worker=true; a2 east mongo.replica=2 worker=true;"
               "a3 west mongo.replica=3 cpu:8; a4 west cpu:32; a5 east worker=true D minio=true");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_string_equal(final_label(p, "a1", "worker"), "true");
    assert_string_equal(final_label(p, "a2", "worker"), "true");
    /* west needs a worker: the node with more CPUs gets it, one only */
    assert_string_equal(final_label(p, "a4", "worker"), "true");
    assert_null(final_label(p, "a3", "worker"));
    assert_string_equal(final_label(p, "a5", "worker"), "true");
    assert_null(final_label(p, "a5", "minio"));
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_minio_two_candidates_in_different_dcs(void **state)
{
    (void)state;
    /* three candidates, two in east: the west one and one east one stay */
    planner_inventory_t *inv =
        inv_of("a1 east mongo.replica=1 worker=true minio=true; a2 east mongo.replica=2 minio=true;"
               "a3 west mongo.replica=3 worker=true minio=true");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_int_equal(count_label(p, "minio", "true"), 2);
    assert_string_equal(final_label(p, "a1", "minio"), "true");
    assert_string_equal(final_label(p, "a3", "minio"), "true");
    assert_null(final_label(p, "a2", "minio"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);

    /* both in east while west has a node: one moves west */
    inv = inv_of("a1 east mongo.replica=1 worker=true minio=true; a2 east mongo.replica=2 "
                 "minio=true; a3 west mongo.replica=3 worker=true");
    p = plan_of(inv, NULL);
    assert_string_equal(final_label(p, "a1", "minio"), "true");
    assert_string_equal(final_label(p, "a3", "minio"), "true");
    assert_null(final_label(p, "a2", "minio"));
    assert_idempotent(inv, p, NULL);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_minio_prefers_and_checks_s3_endpoint_host(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("a1 east addr:10.0.0.1; a2 east addr:10.0.0.2;"
                                      "a3 west addr:10.0.1.3; a4 west addr:10.0.1.4");
    assert_int_equal(planner_inventory_set_s3(inv, "https://10.0.1.4:9000", "10.0.1.4", NULL), 0);
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(p->ok);
    assert_string_equal(final_label(p, "a4", "minio"), "true");
    assert_int_equal(count_label(p, "minio", "true"), 2);
    /* the other candidate is not where S3_ENDPOINT points: said so */
    assert_true(strv_has(&p->warnings, "is not the S3_ENDPOINT host 10.0.1.4"));
    assert_false(strv_has(&p->warnings, "MinIO candidate a4"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* ---- swarm managers, survivability per node -------------------------- */

static void test_plan_warns_even_and_concentrated_managers(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("a1 east M; a2 east M; a3 west M; a4 west M; a5 north");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_true(strv_has(&p->warnings, "4 swarm managers, an even number"));
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);

    inv = inv_of("a1 east M; a2 east M; a3 east M; a4 west; a5 north");
    p = plan_of(inv, NULL);
    assert_true(strv_has(&p->warnings, "data centre east holds 3 of 3 swarm managers"));
    const planner_surv_t *e = surv_of(p, "east");
    assert_false(e->swarm_quorum);
    assert_int_equal(e->swarm_managers_left, 0);
    assert_true(strv_has(&e->steps, "no manager survives"));
    /* one node: losing a single manager of three keeps the quorum */
    const planner_surv_t *n1 = surv_of(p, "node:a1");
    assert_true(n1->swarm_quorum);
    assert_int_equal(n1->swarm_managers_left, 2);
    assert_int_equal(n1->mongo_voters, 3);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

static void test_plan_survivability_per_node_counts_its_own_labels(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of("a1 east M; a2 west M; a3 north M");
    planner_plan_t *p = plan_of(inv, NULL);
    assert_int_equal(p->nsurv, 6);
    for (size_t k = 3; k < 6; k++) {
        const planner_surv_t *s = &p->surv[k];
        assert_non_null(s->node);
        assert_int_equal(s->mongo_voters_left, 2);
        assert_true(s->mongo_majority);
        assert_int_equal(s->workers_left, 2);
        assert_int_equal(s->minio_left, final_label(p, s->node, "minio") ? 1 : 2);
    }
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

/* ---- --lose and --remove --------------------------------------------- */

static void test_plan_lose_dc_rehearsal_orders_swarm_mongo_labels(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of(
        "e1 east M mongo.replica=1 worker=true minio=true; e2 east M mongo.replica=2 worker=true;"
        "e3 east mongo.replica=3 worker=true; w1 west M mongo.replica=4 worker=true minio=true;"
        "w2 west mongo.replica=5 worker=true; w3 west; w4 west");
    planner_opts_t o = {.lose_dc = "east"};
    planner_plan_t *p = plan_of(inv, &o);
    assert_non_null(p->rehearsal);
    const planner_surv_t *r = p->rehearsal;
    assert_int_equal(r->mongo_voters, 5);
    assert_int_equal(r->mongo_voters_left, 2);
    assert_true(r->needs_forced_recovery);
    assert_false(r->swarm_quorum);
    assert_true(r->steps.n >= 3);
    assert_int_equal(strncmp(r->steps.v[0], "swarm:", 6), 0);
    assert_non_null(strstr(r->steps.v[0], "w1"));
    size_t k = 0;
    while (k < r->steps.n && strncmp(r->steps.v[k], "MongoDB:", 8))
        k++;
    assert_true(k < r->steps.n);
    assert_non_null(strstr(r->steps.v[k], "--confirm-down east"));
    assert_int_equal(strncmp(r->steps.v[r->steps.n - 1], "labels:", 7), 0);
    /* the plan after the loss: 3 members on the survivors, none in east */
    assert_true(p->ok);
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(members_in(p, "east"), 0);
    /* w1 and w2 already carry replica labels: renumbered rather than replaced */
    assert_non_null(member_on(p, "w1"));
    assert_non_null(member_on(p, "w2"));
    assert_null(final_label(p, "e1", "minio"));
    planner_plan_destroy(&p);

    qr_err_t err = {{0}};
    o.lose_dc = "mars";
    assert_int_equal(planner_plan(inv, &o, &p, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "--lose mars: unknown data centre (known: east, west)"));
    planner_inventory_destroy(&inv);
}

static void test_plan_remove_node_moves_labels_then_drain_demote_rm(void **state)
{
    (void)state;
    planner_inventory_t *inv = inv_of(
        "a1 east M mongo.replica=1 worker=true minio=true; a2 west M mongo.replica=2 worker=true "
        "minio=true; a3 north M mongo.replica=3 worker=true; a4 north; a5 east; a6 west");
    planner_opts_t o = {.remove_node = "a3"};
    planner_plan_t *p = plan_of(inv, &o);
    assert_true(p->ok);
    /* the member count stays 3: replica 3 moves to the other north node */
    assert_int_equal(p->nmembers, 3);
    assert_int_equal(member_on(p, "a4")->replica, 3);
    assert_false(has_final(p, "a3"));
    assert_string_equal(p->decommission_node, "a3");
    assert_true(p->decommission_manager);
    size_t n = p->commands.n;
    assert_true(n >= 4);
    assert_string_equal(p->commands.v[n - 3], "docker node update --availability drain a3");
    assert_string_equal(p->commands.v[n - 2], "docker node demote a3");
    assert_string_equal(p->commands.v[n - 1], "docker node rm a3");
    assert_string_equal(p->commands.v[0],
                        "docker node update --label-rm mongo.replica --label-rm worker a3");
    assert_true(strv_has(&p->decommission_steps, "replica 3 moves from a3 to a4"));
    assert_true(strv_has(&p->warnings, "after removing a3 the swarm has 2 managers"));
    planner_plan_destroy(&p);

    qr_err_t err = {{0}};
    o.remove_node = "zz";
    assert_int_equal(planner_plan(inv, &o, &p, &err), QR_EINVAL);
    assert_non_null(strstr(err.msg, "--remove zz: no such node"));
    planner_inventory_destroy(&inv);
}

/* ---- bad input -------------------------------------------------------- */

static void expect_bad(const char *json, int code, const char *msg)
{
    planner_inventory_t *inv = NULL;
    qr_err_t err = {{0}};
    assert_int_equal(planner_json_parse(json, strlen(json), &inv, &err), code);
    assert_null(inv);
    if (!strstr(err.msg, msg))
        fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg);
}

#define NODE(h, dc, extra)                                                                         \
    "{\"hostname\": \"" h "\", \"dc\": \"" dc "\", \"healthy\": true, \"datadir_gb\": 200, "       \
    "\"datadir_separate\": true, \"root_free_gb\": 80" extra "}"

static void test_plan_bad_input_names_the_field(void **state)
{
    (void)state;
    expect_bad("{\"nodes\": [", QR_EPARSE, "malformed JSON");
    expect_bad("", QR_EPARSE, "line 1");
    expect_bad("[]", QR_EINVAL, "top level: expected an object");
    expect_bad("{}", QR_EINVAL, "nodes: missing");
    expect_bad("{\"nodes\": {}}", QR_EINVAL, "nodes: expected an array");
    expect_bad("{\"nodes\": [1]}", QR_EINVAL, "nodes[0]: expected an object");
    expect_bad("{\"nodes\": [" NODE("a", "e", "") "," NODE("b", "e", "") "," NODE(
                   "c", "e", "") "," NODE("d", "e", ", \"datadir_gb\": \"200\"") "]}",
               QR_EPARSE, "duplicate");
    expect_bad(
        "{\"nodes\": [" NODE("a", "e", "") "," NODE("b", "e", "") "," NODE(
            "c", "e",
            "") ","
                "{\"hostname\": \"d\", \"dc\": \"e\", \"healthy\": true, \"datadir_gb\": \"200\", "
                "\"datadir_separate\": true, \"root_free_gb\": 80}]}",
        QR_EINVAL, "nodes[3].datadir_gb: expected a number");
    expect_bad("{\"nodes\": [{\"hostname\": \"a\", \"healthy\": true}]}", QR_EINVAL,
               "nodes[0].dc: missing");
    expect_bad("{\"nodes\": [" NODE("a", "e", ", \"manager\": \"yes\"") "]}", QR_EINVAL,
               "nodes[0].manager: expected true or false");
    expect_bad("{\"nodes\": [" NODE("a", "e", ", \"labels\": {\"worker\": true}") "]}", QR_EINVAL,
               "nodes[0].labels.worker: expected a string");
    expect_bad("{\"nodes\": [" NODE("a", "e", ", \"labels\": []") "]}", QR_EINVAL,
               "nodes[0].labels: expected an object");
    expect_bad("{\"nodes\": [" NODE("a", "e", ", \"cpus\": -4") "]}", QR_EINVAL,
               "nodes[0].cpus: expected a non-negative number");
    expect_bad(
        "{\"nodes\": [" NODE("a", "e", "") "," NODE("b", "w", "") "," NODE("a", "w", "") "]}",
        QR_EINVAL, "nodes[2].hostname: duplicate hostname \"a\" (also nodes[0])");
    expect_bad("{\"dcs\": [\"e\"], \"nodes\": [" NODE("a", "e", "") "," NODE("b", "w", "") "]}",
               QR_EINVAL, "nodes[1].dc: unknown data centre \"w\" (not in dcs)");
    expect_bad("{\"nodes\": [" NODE("a b", "e", "") "]}", QR_EINVAL, "nodes[0].hostname: must be");
    expect_bad("{\"s3_endpoint\": 9000, \"nodes\": []}", QR_EINVAL,
               "s3_endpoint: expected a string");
    expect_bad("{\"dcs\": \"e\", \"nodes\": []}", QR_EINVAL, "dcs: expected an array");

    /* the controller's path builds the struct itself: same validation */
    planner_inventory_t *inv = planner_inventory_new();
    planner_node_t n = {.hostname = "ok1", .dc = "east", .healthy = true};
    assert_int_equal(planner_inventory_add_node(inv, &n, NULL), 0);
    n.hostname = NULL;
    assert_int_equal(planner_inventory_add_node(inv, &n, NULL), 0);
    planner_plan_t *p = NULL;
    qr_err_t err = {{0}};
    assert_int_equal(planner_plan(inv, NULL, &p, &err), QR_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.msg, "nodes[1].hostname: must be a non-empty name"));
    planner_inventory_destroy(&inv);
}

static void test_plan_json_has_contract_fields(void **state)
{
    (void)state;
    const char *text = "{\"s3_endpoint\": \"https://[fd00::3]:9000\", \"nodes\": [" NODE(
        "a1", "east",
        ", \"manager\": true, "
        "\"labels\": {\"minio\": "
        "\"true\", \"rack\": "
        "\"1\"}") "," NODE("a2", "west",
                           ", "
                           "\"add"
                           "r\": "
                           "\"fd0"
                           "0::"
                           "3\"") "," NODE("a3", "north", "") "]}";
    planner_inventory_t *inv = NULL;
    qr_err_t err = {{0}};
    assert_int_equal(planner_json_parse(text, strlen(text), &inv, &err), 0);
    assert_string_equal(inv->s3_host, "fd00::3");
    planner_plan_t *p = plan_of(inv, NULL);
    json_t *j = planner_json_plan(p);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_t *m0 = json_array_get(json_object_get(j, "members"), 0);
    assert_int_equal(json_integer_value(json_object_get(m0, "votes")), 1);
    assert_non_null(json_object_get(json_object_get(m0, "tags"), "dc"));
    json_t *ch = json_object_get(json_object_get(j, "changes"), "a2");
    assert_true(json_is_object(json_object_get(ch, "add")));
    assert_true(json_is_array(json_object_get(ch, "remove")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "final_labels"), "a1"), "rack")),
                        "1");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "final_labels"), "a2"), "minio")),
                        "true");
    json_t *s0 = json_array_get(json_object_get(j, "survivability"), 0);
    const char *keys[] = {
        "lose",         "mongo_voters_left", "mongo_majority",      "needs_forced_recovery",
        "workers_left", "minio_left",        "swarm_managers_left", "swarm_quorum"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        assert_non_null(json_object_get(s0, keys[k]));
    assert_true(json_is_array(json_object_get(j, "warnings")));
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
    json_decref(j);

    /* the inventory round-trips through its JSON dump */
    json_t *dump = planner_json_dump_inventory(inv);
    planner_inventory_t *inv2 = NULL;
    assert_int_equal(planner_json_inventory(dump, &inv2, &err), 0);
    assert_int_equal(inv2->nnodes, 3);
    assert_string_equal(inv2->nodes[1].addr, "fd00::3");
    json_decref(dump);
    planner_inventory_destroy(&inv2);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(planner_text_write(f, inv, p), 0);
    fclose(f);
    assert_non_null(strstr(buf, "a2               west"));
    assert_non_null(strstr(buf, "-> "));
    assert_non_null(strstr(buf, "SURVIVABILITY"));
    assert_non_null(strstr(buf, "docker node update --label-add"));
    free(buf);
    planner_plan_destroy(&p);
    planner_inventory_destroy(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_design_example_one_node_has_no_valid_plan),
        cmocka_unit_test(test_plan_three_servers_two_dcs_names_majority_dc),
        cmocka_unit_test(test_plan_two_dcs_mongo_majority_follows_swarm_managers),
        cmocka_unit_test(test_plan_three_servers_three_dcs_no_majority),
        cmocka_unit_test(test_plan_five_servers_two_dcs_labelled_by_hand_changes_nothing),
        cmocka_unit_test(test_plan_five_servers_three_dcs_spread_two_two_one),
        cmocka_unit_test(test_plan_seven_nodes_421_get_five_members_221),
        cmocka_unit_test(test_plan_existing_seven_on_421_shrinks_to_five),
        cmocka_unit_test(test_plan_valid_three_member_layout_is_kept_with_more_nodes),
        cmocka_unit_test(test_plan_members_option_checked),
        cmocka_unit_test(test_plan_number_on_unhealthy_node_moves_others_keep),
        cmocka_unit_test(test_plan_duplicate_number_one_node_keeps_it),
        cmocka_unit_test(test_plan_new_members_prefer_ssd_then_memory),
        cmocka_unit_test(test_plan_ineligible_nodes_never_members),
        cmocka_unit_test(test_plan_other_labels_never_touched),
        cmocka_unit_test(test_plan_workers_added_in_second_dc_never_removed),
        cmocka_unit_test(test_plan_minio_two_candidates_in_different_dcs),
        cmocka_unit_test(test_plan_minio_prefers_and_checks_s3_endpoint_host),
        cmocka_unit_test(test_plan_warns_even_and_concentrated_managers),
        cmocka_unit_test(test_plan_survivability_per_node_counts_its_own_labels),
        cmocka_unit_test(test_plan_lose_dc_rehearsal_orders_swarm_mongo_labels),
        cmocka_unit_test(test_plan_remove_node_moves_labels_then_drain_demote_rm),
        cmocka_unit_test(test_plan_bad_input_names_the_field),
        cmocka_unit_test(test_plan_json_has_contract_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
