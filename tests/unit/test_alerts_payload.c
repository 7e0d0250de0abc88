/* Receiver payloads checked field by field against each service's
 * documented schema; the webhook signature verified with an HMAC computed
 * here from SHA-256 alone (not the code under test's HMAC call). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "controller/alerts_payload.h"

#define NOW 1764097200123LL /* 2025-11-25T19:00:00.123Z */

static alerts_notification_t note;

static void add_alert(const char *key, alerts_sev_t sev, const char *node, const char *dc,
                      alerts_state_kind_t st, const char *summary)
{
    alerts_list_t *l = &note.alerts;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    alerts_alert_t *a = &l->v[l->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->key, sizeof a->key, "%s", key);
    a->severity = sev;
    snprintf(a->summary, sizeof a->summary, "%s", summary);
    snprintf(a->node, sizeof a->node, "%s", node);
    snprintf(a->dc, sizeof a->dc, "%s", dc);
    a->values = json_pack("{s:i,s:s}", "port", 2377, "proto", "tcp");
    a->state = st;
    a->active_since_ms = NOW - 90000;
    a->fired_at_ms = NOW - 60000;
    if (st == ALERTS_RESOLVED)
        a->resolved_at_ms = NOW - 1000;
}

static int setup(void **state)
{
    memset(&note, 0, sizeof note);
    snprintf(note.group, sizeof note.group, "0/r/{dc=east}");
    note.repeat_interval_ms = 4 * 3600000LL;
    add_alert("ports/ai1->ai4/2377", ALERTS_SEV_ERROR, "ai1", "east", ALERTS_FIRING,
              "ai1 cannot reach ai4 on TCP port 2377");
    add_alert("node/ai5/down", ALERTS_SEV_CRITICAL, "ai5", "east", ALERTS_RESOLVED,
              "ai5 is down: no report from its agent");
    add_alert("mongo/rs0/no_primary", ALERTS_SEV_CRITICAL, "", "", ALERTS_FIRING,
              "MongoDB replica set rs0 has no primary");
    return 0;
}

static int teardown(void **state)
{
    alerts_list_clear(&note.alerts);
    return 0;
}

static alerts_receiver_t rcv(alerts_rcv_type_t t, const char *url)
{
    alerts_receiver_t r = {
        .name = "r", .type = t, .url = (char *)url, .timeout_ms = 1000, .send_resolved = true};
    return r;
}

static json_t *body_of(const alerts_request_t *r)
{
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    if (!j)
        fail_msg("body is not JSON: %s", e.text);
    return j;
}

static const char *header(const alerts_request_t *r, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (!strncasecmp(r->headers[i], name, l) && r->headers[i][l] == ':')
            return r->headers[i] + l + 2;
    return NULL;
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        fail_msg("field %s missing or not a string", k);
    return json_string_value(v);
}

static void assert_rfc3339(const char *s)
{
    int y, mo, d, h, mi, se, ms;
    char z;
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &se, &ms, &z),
                     8);
    assert_int_equal(z, 'Z');
    assert_int_equal(strlen(s), 24);
}

static void test_slack_text_and_blocks(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_SLACK, "https://hooks.slack.example/T/B/X");
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].url, "https://hooks.slack.example/T/B/X");
    assert_string_equal(header(&reqs[0], "Content-Type"), "application/json");
    json_t *b = body_of(&reqs[0]);
    const char *text = sget(b, "text");
    assert_non_null(strstr(text, "[FIRING:2, RESOLVED:1]"));
    json_t *blocks = json_object_get(b, "blocks");
    assert_true(json_is_array(blocks));
    assert_int_equal(json_array_size(blocks), 4);
    json_t *h = json_array_get(blocks, 0);
    assert_string_equal(sget(h, "type"), "header");
    assert_string_equal(sget(json_object_get(h, "text"), "type"), "plain_text");
    assert_true(strlen(sget(json_object_get(h, "text"), "text")) <= 150);
    for (size_t i = 1; i < 4; i++) {
        json_t *s = json_array_get(blocks, i);
        assert_string_equal(sget(s, "type"), "section");
        assert_string_equal(sget(json_object_get(s, "text"), "type"), "mrkdwn");
        const char *t = sget(json_object_get(s, "text"), "text");
        assert_true(strlen(t) <= 3000);
        /* mrkdwn control characters are escaped: "->" in a key must not
         * open or close a link */
        assert_null(strchr(t, '<'));
        assert_null(strchr(t, '>'));
    }
    assert_non_null(strstr(sget(json_object_get(json_array_get(blocks, 1), "text"), "text"),
                           "ports/ai1-&gt;ai4/2377"));
    assert_non_null(
        strstr(sget(json_object_get(json_array_get(blocks, 2), "text"), "text"), "RESOLVED"));
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_slack_many_alerts_stay_within_block_limit(void **state)
{
    char key[64];
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "disk/n%d/datadir_small", i);
        add_alert(key, ALERTS_SEV_WARNING, "n", "east", ALERTS_FIRING, "x");
    }
    alerts_receiver_t r = rcv(ALERTS_RCV_SLACK, "https://hooks.slack.example/T/B/X");
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    json_t *b = body_of(&reqs[0]);
    json_t *blocks = json_object_get(b, "blocks");
    assert_true(json_array_size(blocks) <= 50);
    json_t *last = json_array_get(blocks, json_array_size(blocks) - 1);
    assert_string_equal(sget(last, "type"), "context");
    assert_non_null(
        strstr(sget(json_array_get(json_object_get(last, "elements"), 0), "text"), "more"));
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_mattermost_text_and_attachments(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_MATTERMOST, "https://mm.example/hooks/abc");
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 1);
    json_t *b = body_of(&reqs[0]);
    assert_non_null(strstr(sget(b, "text"), "FIRING:2"));
    json_t *atts = json_object_get(b, "attachments");
    assert_int_equal(json_array_size(atts), 3);
    json_t *a = json_array_get(atts, 0);
    assert_string_equal(sget(a, "title"), "ports/ai1->ai4/2377");
    assert_string_equal(sget(a, "fallback"), "ai1 cannot reach ai4 on TCP port 2377");
    assert_int_equal(sget(a, "color")[0], '#');
    json_t *fields = json_object_get(a, "fields");
    assert_int_equal(json_array_size(fields), 4);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        assert_true(json_is_boolean(json_object_get(f, "short")));
        sget(f, "title");
        sget(f, "value");
    }
    /* resolved alerts are green */
    assert_string_equal(sget(json_array_get(atts, 1), "color"), "#2EB67D");
    /* a cluster-level alert has no node/dc fields */
    assert_int_equal(json_array_size(json_object_get(json_array_get(atts, 2), "fields")), 2);
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_teams_adaptive_card(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_TEAMS, "https://teams.example/webhook/x");
    r.link = "https://quorate.example/";
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    json_t *b = body_of(&reqs[0]);
    assert_string_equal(sget(b, "type"), "message");
    json_t *att = json_array_get(json_object_get(b, "attachments"), 0);
    assert_string_equal(sget(att, "contentType"), "application/vnd.microsoft.card.adaptive");
    assert_true(json_is_null(json_object_get(att, "contentUrl")));
    json_t *card = json_object_get(att, "content");
    assert_string_equal(sget(card, "type"), "AdaptiveCard");
    assert_string_equal(sget(card, "$schema"),
                        "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_string_equal(sget(card, "version"), "1.4");
    json_t *body = json_object_get(card, "body");
    assert_int_equal(json_array_size(body), 1 + 2 * 3);
    assert_string_equal(sget(json_array_get(body, 0), "type"), "TextBlock");
    json_t *fs = json_array_get(body, 2);
    assert_string_equal(sget(fs, "type"), "FactSet");
    json_t *facts = json_object_get(fs, "facts");
    assert_string_equal(sget(json_array_get(facts, 0), "title"), "Key");
    assert_string_equal(sget(json_array_get(facts, 0), "value"), "ports/ai1->ai4/2377");
    json_t *act = json_array_get(json_object_get(card, "actions"), 0);
    assert_string_equal(sget(act, "type"), "Action.OpenUrl");
    assert_string_equal(sget(act, "url"), "https://quorate.example/");
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_pagerduty_trigger_and_resolve_events(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_PAGERDUTY, "https://events.pagerduty.com/v2/enqueue");
    r.key = "R0UTINGKEY0123456789012345678901";
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 3); /* one event per alert */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(reqs[i].url, "https://events.pagerduty.com/v2/enqueue");

    json_t *t = body_of(&reqs[0]);
    assert_string_equal(sget(t, "routing_key"), r.key);
    assert_string_equal(sget(t, "event_action"), "trigger");
    assert_string_equal(sget(t, "dedup_key"), "quorate:ports/ai1->ai4/2377");
    json_t *p = json_object_get(t, "payload");
    assert_string_equal(sget(p, "summary"), "ai1 cannot reach ai4 on TCP port 2377");
    assert_true(strlen(sget(p, "summary")) <= 1024);
    assert_string_equal(sget(p, "source"), "ai1");
    assert_string_equal(sget(p, "severity"), "error");
    assert_string_equal(sget(p, "component"), "ports");
    assert_string_equal(sget(p, "group"), "east");
    assert_string_equal(sget(p, "class"), "2377");
    assert_rfc3339(sget(p, "timestamp"));
    json_t *cd = json_object_get(p, "custom_details");
    assert_int_equal(json_integer_value(json_object_get(cd, "port")), 2377);
    assert_string_equal(sget(cd, "key"), "ports/ai1->ai4/2377");
    json_decref(t);

    /* resolve: exactly routing_key, event_action, dedup_key */
    json_t *rs = body_of(&reqs[1]);
    assert_int_equal(json_object_size(rs), 3);
    assert_string_equal(sget(rs, "event_action"), "resolve");
    assert_string_equal(sget(rs, "dedup_key"), "quorate:node/ai5/down");
    assert_string_equal(sget(rs, "routing_key"), r.key);
    json_decref(rs);

    json_t *c = body_of(&reqs[2]);
    p = json_object_get(c, "payload");
    assert_string_equal(sget(p, "severity"), "critical");
    assert_string_equal(sget(p, "source"), "quorate"); /* cluster-level */
    json_decref(c);
    alerts_request_free_all(reqs, n);

    char dk[512], longkey[400];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    alerts_payload_dedup_key(longkey, dk, sizeof dk);
    assert_int_equal(strlen(dk), 255);
}

static void test_opsgenie_create_with_alias_and_close_by_alias(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_OPSGENIE, "https://api.opsgenie.com/");
    r.key = "eb243592-faa2-4ba2-a551q-1afdf565c889";
    /* a long multibyte summary must be cut to 130 bytes on a char boundary */
    char lng[256] = "";
    for (int i = 0; i < 100; i++)
        strcat(lng, "\xc3\xa9"); /* é */
    snprintf(note.alerts.v[2].summary, sizeof note.alerts.v[2].summary, "%s", lng);
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(reqs[0].url, "https://api.opsgenie.com/v2/alerts");
    char auth[128];
    snprintf(auth, sizeof auth, "GenieKey %s", r.key);
    assert_string_equal(header(&reqs[0], "Authorization"), auth);
    json_t *b = body_of(&reqs[0]);
    assert_string_equal(sget(b, "alias"), "ports/ai1->ai4/2377");
    assert_true(strlen(sget(b, "message")) <= 130);
    assert_string_equal(sget(b, "priority"), "P2");
    assert_string_equal(sget(b, "source"), "quorate");
    json_t *tags = json_object_get(b, "tags");
    assert_true(json_array_size(tags) >= 1);
    for (size_t i = 0; i < json_array_size(tags); i++)
        assert_true(json_is_string(json_array_get(tags, i)));
    const char *k;
    json_t *v;
    json_t *det = json_object_get(b, "details");
    assert_true(json_object_size(det) > 0);
    json_object_foreach(det, k, v) assert_true(json_is_string(v)); /* map of strings */
    assert_string_equal(sget(det, "port"), "2377");
    json_decref(b);

    assert_string_equal(reqs[1].url, "https://api.opsgenie.com/v2/alerts/node%2Fai5%2Fdown/close"
                                     "?identifierType=alias");
    assert_string_equal(header(&reqs[1], "Authorization"), auth);
    b = body_of(&reqs[1]);
    assert_string_equal(sget(b, "source"), "quorate");
    sget(b, "note");
    json_decref(b);

    b = body_of(&reqs[2]);
    assert_string_equal(sget(b, "priority"), "P1");
    const char *m = sget(b, "message");
    assert_int_equal(strlen(m), 130); /* 65 whole two-byte characters */
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

/* HMAC-SHA256 from its definition (RFC 2104) over SHA-256 alone. */
static void hmac_sha256_ref(const char *key, const unsigned char *msg, size_t len, char hex[65])
{
    unsigned char k[64] = {0}, ipad[64], opad[64], inner[32], out[32];
    size_t kl = strlen(key);
    if (kl > 64)
        SHA256((const unsigned char *)key, kl, k);
    else
        memcpy(k, key, kl);
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    unsigned char *buf = malloc(64 + len);
    memcpy(buf, ipad, 64);
    memcpy(buf + 64, msg, len);
    SHA256(buf, 64 + len, inner);
    memcpy(buf, opad, 64);
    memcpy(buf + 64, inner, 32);
    SHA256(buf, 96, out);
    free(buf);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", out[i]);
}

static void test_webhook_body_and_signature_verify_independently(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_WEBHOOK, "https://hook.example/in");
    r.secret = "s3cr3t-shared-with-the-receiver";
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 1);
    const char *ts = header(&reqs[0], "X-Quorate-Timestamp");
    const char *sig = header(&reqs[0], "X-Quorate-Signature");
    assert_non_null(ts);
    assert_non_null(sig);
    assert_string_equal(ts, "1764097200");
    assert_memory_equal(sig, "sha256=", 7);
    /* what a receiver does: HMAC over "<timestamp>.<raw body>" */
    size_t len = strlen(ts) + 1 + strlen(reqs[0].body);
    char *msg = malloc(len + 1);
    sprintf(msg, "%s.%s", ts, reqs[0].body);
    char want[65];
    hmac_sha256_ref(r.secret, (unsigned char *)msg, len, want);
    assert_string_equal(sig + 7, want);
    /* a tampered body does not verify */
    msg[len - 2] ^= 1;
    char bad[65];
    hmac_sha256_ref(r.secret, (unsigned char *)msg, len, bad);
    assert_string_not_equal(sig + 7, bad);
    free(msg);

    json_t *b = body_of(&reqs[0]);
    assert_int_equal(json_integer_value(json_object_get(b, "version")), 1);
    assert_string_equal(sget(b, "status"), "firing");
    assert_string_equal(sget(b, "group"), "0/r/{dc=east}");
    json_t *a = json_array_get(json_object_get(b, "alerts"), 1);
    assert_string_equal(sget(a, "key"), "node/ai5/down");
    assert_string_equal(sget(a, "status"), "resolved");
    assert_rfc3339(sget(a, "starts_at"));
    assert_rfc3339(sget(a, "ends_at"));
    assert_null(json_object_get(json_array_get(json_object_get(b, "alerts"), 0), "ends_at"));
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_alertmanager_alerts_array(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_ALERTMANAGER, "http://127.0.0.1:9093/");
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].url, "http://127.0.0.1:9093/api/v2/alerts");
    json_t *b = body_of(&reqs[0]);
    assert_true(json_is_array(b));
    assert_int_equal(json_array_size(b), 3);
    json_t *a = json_array_get(b, 0);
    json_t *lb = json_object_get(a, "labels");
    assert_string_equal(sget(lb, "alertname"), "quorate_ports_2377");
    assert_string_equal(sget(lb, "severity"), "error");
    assert_string_equal(sget(lb, "node"), "ai1");
    assert_string_equal(sget(lb, "dc"), "east");
    assert_string_equal(sget(lb, "key"), "ports/ai1->ai4/2377");
    assert_string_equal(sget(json_object_get(a, "annotations"), "summary"),
                        "ai1 cannot reach ai4 on TCP port 2377");
    char want[40];
    alerts_payload_time(NOW - 60000, want, sizeof want);
    assert_string_equal(sget(a, "startsAt"), want);
    assert_string_equal(want, "2025-11-25T18:59:00.123Z");
    /* firing: endsAt in the future so Alertmanager keeps it active */
    assert_true(strcmp(sget(a, "endsAt"), "2025-11-25T19:00:00.123Z") > 0);
    /* resolved: endsAt = when it resolved */
    alerts_payload_time(NOW - 1000, want, sizeof want);
    assert_string_equal(sget(json_array_get(b, 1), "endsAt"), want);
    /* cluster-level: no empty node/dc labels */
    json_t *lc = json_object_get(json_array_get(b, 2), "labels");
    assert_null(json_object_get(lc, "node"));
    assert_null(json_object_get(lc, "dc"));
    json_decref(b);
    alerts_request_free_all(reqs, n);
}

static void test_missing_secret_is_an_error_not_a_crash(void **state)
{
    alerts_receiver_t r = rcv(ALERTS_RCV_WEBHOOK, "https://hook.example/in");
    alerts_request_t *reqs;
    size_t n;
    qr_err_t err;
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), QR_EINVAL);
    assert_null(reqs);
    r = rcv(ALERTS_RCV_PAGERDUTY, "https://events.pagerduty.com/v2/enqueue");
    assert_int_equal(alerts_payload_build(&r, &note, NOW, &reqs, &n, &err), QR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_slack_text_and_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_many_alerts_stay_within_block_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mattermost_text_and_attachments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_teams_adaptive_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pagerduty_trigger_and_resolve_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opsgenie_create_with_alias_and_close_by_alias, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_webhook_body_and_signature_verify_independently, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alertmanager_alerts_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_secret_is_an_error_not_a_crash, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
