/* Forced recovery's decision (controller/recover.c): the realistic 3+2
 * two-data-centre loss from fixtures (mongod 6.0 documents as mongosh prints
 * them, canonical and relaxed), every refusal rule in isolation, target
 * tie-breaks and even-voter demotion. What the new config keeps, evidence
 * and malformed inputs: unit/test_recover_config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover.h"
#include "recover_fx.h"

/* ---- the realistic case ----------------------------------------------- */

/* 3+2 over two DCs, the 3-member west lost: ai4 (newest) is the target, the
 * west members go, ai5 gives up its vote so one voter (odd) remains. */
static void test_plan_lost_majority_dc_3_2(void **state)
{
    (void)state;
    recover_plan_t *p =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "ai4:27017");
    for (int i = 1; i <= 3; i++) {
        char h[16];
        snprintf(h, sizeof h, "ai%d:27017", i);
        assert_true(member_by_host(p, h)->removed);
        assert_false(member_by_host(p, h)->reachable);
    }
    assert_false(member_by_host(p, "ai4:27017")->removed);
    assert_true(member_by_host(p, "ai5:27017")->demoted);
    assert_int_equal(recover_plan_old_version(p), 7);
    assert_int_equal(recover_plan_new_version(p), 8);
    const char *dc;
    assert_int_equal(recover_plan_removed_dc(p, &dc, NULL), 0);
    assert_string_equal(dc, "west");
    assert_string_equal(member_by_host(p, "ai4:27017")->dc, "east");

    const bson_t *nc = recover_plan_new_config(p);
    assert_non_null(nc);
    assert_int_equal(count_members(nc), 2);
    assert_int_equal(int_at(nc, "members.0._id"), 3);
    assert_int_equal(int_at(nc, "members.0.votes"), 1);
    assert_int_equal(int_at(nc, "members.1._id"), 4);
    assert_int_equal(int_at(nc, "members.1.votes"), 0);
    assert_true(double_at(nc, "members.1.priority") == 0.0);
    assert_int_equal(int_at(nc, "version"), 8);

    /* ai1 applied a write at 19:00:09.412 (last heartbeat), ai4 at 19:00:08.120 */
    json_t *j = recover_plan_to_json(p);
    json_t *rb = json_object_get(j, "rollback_risk");
    assert_true(json_is_true(json_object_get(rb, "known")));
    assert_true(json_real_value(json_object_get(rb, "lag_seconds")) > 1.2915 &&
                json_real_value(json_object_get(rb, "lag_seconds")) < 1.2925);
    assert_string_equal(json_string_value(json_object_get(rb, "removed_last_write_member")),
                        "ai1:27017");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_array_size(json_object_get(j, "refused")), 0);
    json_decref(j);
    recover_plan_destroy(&p);
    assert_null(p);
}

/* The same loss from the relaxed replies of both survivors (an array) and the
 * relaxed replSetGetConfig reply gives the same decision. */
static void test_plan_relaxed_array_matches_canonical_single(void **state)
{
    (void)state;
    recover_plan_t *a =
        plan_fixtures("status-lost-west.ai4.canonical.json", "config-3+2.canonical.json");
    recover_plan_t *b =
        plan_fixtures("status-lost-west.both.relaxed.json", "config-3+2.reply.relaxed.json");
    assert_true(recover_plan_ok(a) && recover_plan_ok(b));
    assert_string_equal(recover_plan_target(a)->host, recover_plan_target(b)->host);
    const recover_member_t *ma, *mb;
    size_t na = recover_plan_members(a, &ma), nb = recover_plan_members(b, &mb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(ma[i].removed, mb[i].removed);
        assert_int_equal(ma[i].demoted, mb[i].demoted);
        assert_int_equal(ma[i].has_optime, mb[i].has_optime);
        assert_int_equal(recover_optime_cmp(&ma[i].optime, &mb[i].optime), 0);
    }
    /* canonical input keeps MongoDB's longs; relaxed input cannot know them */
    assert_int_equal(type_at(recover_plan_new_config(a), "protocolVersion"), BSON_TYPE_INT64);
    assert_int_equal(type_at(recover_plan_new_config(a), "members.0.secondaryDelaySecs"),
                     BSON_TYPE_INT64);
    assert_int_equal(type_at(recover_plan_new_config(b), "protocolVersion"), BSON_TYPE_INT32);
    recover_plan_destroy(&a);
    recover_plan_destroy(&b);
}

/* One reply on its own and the same reply in a one-element array are the
 * same input. */
static void test_status_single_reply_equals_one_element_array(void **state)
{
    (void)state;
    size_t slen, clen;
    char *s = read_fixture("status-lost-west.ai5.relaxed.json", &slen);
    char *c = read_fixture("config-3+2.canonical.json", &clen);
    char *arr = malloc(slen + 3);
    assert_non_null(arr);
    arr[0] = '[';
    memcpy(arr + 1, s, slen);
    arr[slen + 1] = ']';
    arr[slen + 2] = 0;
    recover_plan_t *a, *b;
    qr_err_t err;
    assert_int_equal(plan_texts(s, slen, c, clen, &a, &err), 0);
    assert_int_equal(plan_texts(arr, slen + 2, c, clen, &b, &err), 0);
    json_t *ja = recover_plan_to_json(a), *jb = recover_plan_to_json(b);
    assert_true(json_equal(ja, jb));
    /* ai5's own view: ai4 is still fresher, so ai4 is the target */
    assert_string_equal(json_string_value(json_object_get(ja, "target")), "ai4:27017");
    json_decref(ja);
    json_decref(jb);
    recover_plan_destroy(&a);
    recover_plan_destroy(&b);
    free(arr);
    free(s);
    free(c);
}

/* ---- refusals ----------------------------------------------------------- */

/* A PRIMARY in any view refuses, even when the reachable voters are a
 * minority (a primary that has not stepped down yet). */
static void test_refuse_primary_in_any_view(void **state)
{
    (void)state;
    smem_t v3[] = {{'P', 4, 50, 1}, DOWN, DOWN, SEC(4, 49), DOWN};
    smem_t v0[] = {{'P', 4, 50, 1}, DOWN, DOWN, SEC(4, 49), DOWN};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 0, v0, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", FIVE_3_2, 5));
    assert_false(recover_plan_ok(p));
    const char *const *r;
    size_t n = recover_plan_refusals(p, &r);
    assert_int_equal(n, 2); /* h0 is PRIMARY in both views; nothing else is wrong */
    assert_non_null(strstr(r[0], "h0:27017 is PRIMARY"));
    assert_null(recover_plan_new_config(p));
    assert_null(recover_plan_target(p));
    json_t *j = recover_plan_to_json(p);
    assert_false(json_is_true(json_object_get(j, "ok")));
    assert_null(json_object_get(j, "new_config"));
    assert_null(json_object_get(j, "target"));
    assert_int_equal(json_array_size(json_object_get(j, "refused")), 2);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* myState 1 alone (a reply without its own member entry) also counts. */
static void test_refuse_reply_with_mystate_primary(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_object_set_new(view, "myState", json_integer(1));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "myState"));
    recover_plan_destroy(&p);
}

/* h2 is down for h3 but healthy for h4: a partition. h2 has no vote, so the
 * reachable votes are still a minority and only the partition rule fires. */
static void test_refuse_member_down_in_one_view_healthy_in_another(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false},
                    {"west", 1, 1, false},
                    {"west", 0, 0, false},
                    {"east", 1, 1, false},
                    {"east", 1, 1, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    smem_t v4[] = {DOWN, DOWN, SEC(4, 47), SEC(4, 49), SEC(4, 48)};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 4, v4, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", cfg, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "h2:27017 is seen down by h3:27017 but healthy by h4:27017"));
    recover_plan_destroy(&p);
}

/* A member's own reply counts as seeing itself healthy: if another view sees
 * it down, that is a partition too. */
static void test_refuse_own_reply_contradicts_down_view(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"east", 1, 1, false}, {"east", 1, 1, false}, {"east", 0, 0, false},
                    {"east", 0, 0, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49), SEC(4, 48), DOWN, SEC(4, 40)};
    smem_t v5[] = {DOWN, DOWN, DOWN, {0}, {0}, SEC(4, 45), {0}};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 7), mk_view("rs0", 5, v5, 7));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", cfg, 7));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "h5:27017 is seen down by h3:27017 but healthy by h5:27017"));
    recover_plan_destroy(&p);
}

/* Losing the minority DC: the west members still hold 3 of 5 votes. */
static void test_refuse_reachable_voters_hold_majority(void **state)
{
    (void)state;
    smem_t v0[] = {SEC(4, 50), SEC(4, 50), SEC(4, 49), DOWN, DOWN};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 0, v0, 5), mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "3 of 5 votes, a majority"));
    recover_plan_destroy(&p);

    /* and the fixture of that case, where ai1 is still primary */
    p = plan_fixtures("status-lost-east.canonical.json", "config-3+2.canonical.json");
    size_t n = recover_plan_refusals(p, &r);
    assert_false(recover_plan_ok(p));
    assert_true(any_contains(r, n, "ai1:27017 is PRIMARY"));
    assert_true(any_contains(r, n, "a majority"));
    recover_plan_destroy(&p);
}

/* Exactly half the votes is not a majority: 2 of 4 proceeds. */
static void test_half_the_votes_is_not_a_majority(void **state)
{
    (void)state;
    cmem_t cfg[] = {
        {"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false}};
    smem_t v2[] = {DOWN, DOWN, SEC(4, 49), SEC(4, 48)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 2, v2, 4), mk_config("rs0", cfg, 4));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h2:27017");
    recover_plan_destroy(&p);
}

/* No reply at all (an empty array) or only a non-voting member reachable. */
static void test_refuse_no_voting_member_reachable(void **state)
{
    (void)state;
    recover_plan_t *p = plan_ok_or_refused(json_array(), mk_config("rs0", FIVE_3_2, 5));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "no voting member"));
    recover_plan_destroy(&p);

    cmem_t cfg[] = {
        {"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 0, 0, false}};
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 49)};
    p = plan_ok_or_refused(mk_view("rs0", 3, v3, 4), mk_config("rs0", cfg, 4));
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "no voting member is reachable"));
    recover_plan_destroy(&p);
}

/* An arbiter alone cannot become primary. */
static void test_refuse_only_arbiter_reachable(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"east", 1, 0, true}};
    smem_t v2[] = {DOWN, DOWN, {'A', 0, 0, 0}};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 2, v2, 3), mk_config("rs0", cfg, 3));
    const char *const *r;
    assert_false(recover_plan_ok(p));
    assert_int_equal(recover_plan_refusals(p, &r), 1);
    assert_non_null(strstr(r[0], "only arbiters"));
    recover_plan_destroy(&p);
}

/* ---- target selection --------------------------------------------------- */

/* A higher term wins over a later timestamp of an older term. */
static void test_target_newest_term_beats_later_timestamp(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(5, 10), SEC(4, 90)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_true(member_by_host(p, "h4:27017")->demoted);
    recover_plan_destroy(&p);
}

/* Same term: the later timestamp, then the higher increment. */
static void test_target_later_increment_wins(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, {'S', 4, 50, 1}, {'S', 4, 50, 7}};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 3, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    recover_plan_destroy(&p);
}

/* Equal optimes: the higher priority is the target. */
static void test_target_tie_higher_priority_wins(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 2, false},
                    {"west", 1, 1, false},
                    {"west", 1, 1, false},
                    {"east", 1, 1, false},
                    {"east", 1, 3, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 3, v, 5), mk_config("rs0", cfg, 5));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h3:27017")->demoted);
    recover_plan_destroy(&p);
}

/* Equal optimes and priorities: the lower _id is the target. */
static void test_target_tie_lower_id_wins(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 5), mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_true(member_by_host(p, "h4:27017")->demoted);
    recover_plan_destroy(&p);
}

/* A member's optime is the newest any view reports while it is healthy:
 * h3's own (stale) reply says 40, h4 has heard 60 from it since. */
static void test_optime_newest_over_views(void **state)
{
    (void)state;
    smem_t v3[] = {DOWN, DOWN, DOWN, SEC(4, 40), SEC(4, 50)};
    smem_t v4[] = {DOWN, DOWN, DOWN, SEC(4, 60), SEC(4, 50)};
    json_t *views = json_pack("[oo]", mk_view("rs0", 3, v3, 5), mk_view("rs0", 4, v4, 5));
    recover_plan_t *p = plan_ok_or_refused(views, mk_config("rs0", FIVE_3_2, 5));
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    assert_int_equal(recover_plan_target(p)->optime.secs, BASE + 60);
    recover_plan_destroy(&p);
}

/* A reply counts as seeing its own member healthy, whatever its health
 * field says: h3's own reply makes h3 reachable and the target. */
static void test_reply_sees_its_own_member_healthy(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_object_set_new(json_array_get(json_object_get(view, "members"), 3), "health",
                        json_real(0.0));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    assert_true(recover_plan_ok(p));
    assert_true(member_by_host(p, "h3:27017")->reachable);
    assert_string_equal(recover_plan_target(p)->host, "h3:27017");
    recover_plan_destroy(&p);
}

/* When a view still holds a lost member's optime (a simulator, or a status
 * taken at the moment of the loss), that optime is evidence for the
 * rollback risk in oplog time, but never the member's "optime while
 * healthy". */
static void test_rollback_risk_in_oplog_time_from_down_member_optime(void **state)
{
    (void)state;
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 50), SEC(4, 40)};
    json_t *view = mk_view("rs0", 3, v, 5);
    json_t *h0 = json_array_get(json_object_get(view, "members"), 0);
    json_object_set_new(
        h0, "optime",
        json_pack("{sos{ss}}", "ts", ejson_ts(BASE + 57, 4), "t", "$numberLong", "4"));
    json_object_set_new(h0, "lastAppliedWallTime", ejson_date(((int64_t)BASE + 57) * 1000 + 250));
    recover_plan_t *p = plan_ok_or_refused(view, mk_config("rs0", FIVE_3_2, 5));
    assert_true(recover_plan_ok(p));
    assert_false(member_by_host(p, "h0:27017")->has_optime);
    json_t *j = recover_plan_to_json(p);
    json_t *rb = json_object_get(j, "rollback_risk");
    assert_true(json_is_true(json_object_get(rb, "optime_ahead")));
    assert_int_equal(json_integer_value(json_object_get(rb, "optime_lag_seconds")), 7);
    assert_true(json_real_value(json_object_get(rb, "lag_seconds")) == 7.25);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "evidence"), 0), "optime")));
    json_decref(j);
    recover_plan_destroy(&p);
}

/* ---- even voters ---------------------------------------------------------- */

/* 4+4 losing 4: four voters remain; the least fresh (never the target) is
 * demoted, and among equally fresh ones the lower priority. */
static void test_even_voters_least_fresh_demoted(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false},
                    {"east", 1, 2, false}, {"east", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, DOWN, SEC(4, 70), SEC(4, 30), SEC(4, 30), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h5:27017")->demoted); /* 30 and priority 1 < h6's 2 */
    assert_false(member_by_host(p, "h6:27017")->demoted);
    assert_false(member_by_host(p, "h7:27017")->demoted);
    const bson_t *nc = recover_plan_new_config(p);
    assert_int_equal(count_members(nc), 4);
    assert_int_equal(int_at(nc, "members.1._id"), 5);
    assert_int_equal(int_at(nc, "members.1.votes"), 0);
    assert_true(double_at(nc, "members.1.priority") == 0.0);
    assert_int_equal(type_at(nc, "members.1.priority"), BSON_TYPE_DOUBLE);
    json_t *j = recover_plan_to_json(p);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "votes"), "after")), 3);
    json_decref(j);
    recover_plan_destroy(&p);
}

/* 4+3 losing 4: three voters remain, odd, nobody is demoted. */
static void test_odd_voters_nobody_demoted(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"west", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 1, false},
                    {"east", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, DOWN, SEC(4, 70), SEC(4, 30), SEC(4, 50)};
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 7), mk_config("rs0", cfg, 7));
    assert_true(recover_plan_ok(p));
    const recover_member_t *m;
    size_t n = recover_plan_members(p, &m);
    for (size_t i = 0; i < n; i++)
        assert_false(m[i].demoted);
    assert_int_equal(count_members(recover_plan_new_config(p)), 3);
    recover_plan_destroy(&p);
}

/* The demoted member is never an arbiter (arbiters must vote) nor an already
 * non-voting member: here the only candidate is h3. */
static void test_even_voters_skip_arbiters_and_non_voters(void **state)
{
    (void)state;
    cmem_t cfg[] = {{"west", 1, 1, false}, {"west", 1, 1, false}, {"west", 1, 1, false},
                    {"east", 1, 1, false}, {"east", 1, 1, false}, {"east", 1, 0, true},
                    {"east", 0, 0, false}, {"west", 1, 1, false}};
    smem_t v[] = {DOWN, DOWN, DOWN, SEC(4, 60), SEC(4, 70), {'A', 0, 0, 0}, SEC(4, 10), DOWN};
    /* reachable voters h3, h4, h5(arbiter) = 3 of 7: odd, nobody demoted */
    recover_plan_t *p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_false(member_by_host(p, "h3:27017")->demoted);
    recover_plan_destroy(&p);

    /* h6 gets a vote: reachable voters h3, h4, h5 (arbiter), h6 = 4 of 8, even;
     * the arbiter is never picked, h6 (least fresh data-bearing) is */
    cfg[6].votes = 1;
    cfg[6].priority = 1;
    p = plan_ok_or_refused(mk_view("rs0", 4, v, 8), mk_config("rs0", cfg, 8));
    assert_true(recover_plan_ok(p));
    assert_string_equal(recover_plan_target(p)->host, "h4:27017");
    assert_true(member_by_host(p, "h6:27017")->demoted);
    assert_false(member_by_host(p, "h5:27017")->demoted);
    recover_plan_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_lost_majority_dc_3_2),
        cmocka_unit_test(test_plan_relaxed_array_matches_canonical_single),
        cmocka_unit_test(test_status_single_reply_equals_one_element_array),
        cmocka_unit_test(test_refuse_primary_in_any_view),
        cmocka_unit_test(test_refuse_reply_with_mystate_primary),
        cmocka_unit_test(test_refuse_member_down_in_one_view_healthy_in_another),
        cmocka_unit_test(test_refuse_own_reply_contradicts_down_view),
        cmocka_unit_test(test_refuse_reachable_voters_hold_majority),
        cmocka_unit_test(test_half_the_votes_is_not_a_majority),
        cmocka_unit_test(test_refuse_no_voting_member_reachable),
        cmocka_unit_test(test_refuse_only_arbiter_reachable),
        cmocka_unit_test(test_target_newest_term_beats_later_timestamp),
        cmocka_unit_test(test_target_later_increment_wins),
        cmocka_unit_test(test_target_tie_higher_priority_wins),
        cmocka_unit_test(test_target_tie_lower_id_wins),
        cmocka_unit_test(test_optime_newest_over_views),
        cmocka_unit_test(test_reply_sees_its_own_member_healthy),
        cmocka_unit_test(test_rollback_risk_in_oplog_time_from_down_member_optime),
        cmocka_unit_test(test_even_voters_least_fresh_demoted),
        cmocka_unit_test(test_odd_voters_nobody_demoted),
        cmocka_unit_test(test_even_voters_skip_arbiters_and_non_voters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
