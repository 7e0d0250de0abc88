/* Receiver payloads: Slack, Mattermost, Teams (Adaptive Card), PagerDuty
 * Events API v2, Opsgenie Alert API, a signed generic webhook and
 * Prometheus Alertmanager API v2. Pure: JSON (jansson) in memory only. */
#include "alerts_payload.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void alerts_request_clear(alerts_request_t *r)
{
    if (!r)
        return;
    free(r->url);
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->body);
    memset(r, 0, sizeof *r);
}

void alerts_request_free_all(alerts_request_t *reqs, size_t n)
{
    for (size_t i = 0; reqs && i < n; i++)
        alerts_request_clear(&reqs[i]);
    free(reqs);
}

void alerts_payload_time(int64_t ms, char *buf, size_t bufsz)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&s, &tm)) {
        snprintf(buf, bufsz, "1970-01-01T00:00:00.000Z");
        return;
    }
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, bufsz, "%s.%03dZ", base, (int)(ms % 1000));
}

void alerts_payload_dedup_key(const char *key, char *buf, size_t bufsz)
{
    size_t cap = bufsz < 256 ? bufsz : 256; /* PagerDuty: at most 255 chars */
    snprintf(buf, cap, "quorate:%s", key);
}

int alerts_payload_sign(const char *secret, const char *timestamp, const char *body, char hex[65])
{
    if (!secret || !timestamp || !body)
        return QR_EINVAL;
    size_t tl = strlen(timestamp), bl = strlen(body);
    unsigned char *msg = malloc(tl + 1 + bl + 1);
    if (!msg)
        return QR_ENOMEM;
    memcpy(msg, timestamp, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, bl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *ok =
        HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + bl, md, &mdlen);
    free(msg);
    if (!ok || mdlen != 32)
        return QR_EINVAL;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- helpers */
/* Cuts s back until it is valid UTF-8 (a byte limit may split a char). */
static void trim_utf8(char *s)
{
    size_t l = strlen(s);
    json_t *j;
    while (l > 0 && !(j = json_string(s)))
        s[--l] = '\0';
    if (l > 0)
        json_decref(j);
}

static int add_header(alerts_request_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_header(alerts_request_t *r, const char *fmt, ...)
{
    if (r->nheaders >= ALERTS_PAYLOAD_MAX_HEADERS)
        return QR_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&r->headers[r->nheaders], fmt, ap);
    va_end(ap);
    if (rc < 0) {
        r->headers[r->nheaders] = NULL;
        return QR_ENOMEM;
    }
    r->nheaders++;
    return 0;
}

/* Appends a request with url and body (body consumed: dumped and freed). */
static int push_req(alerts_request_t **reqs, size_t *n, const char *url, json_t *body,
                    const char *what)
{
    if (!body)
        return QR_ENOMEM;
    alerts_request_t *v = realloc(*reqs, (*n + 1) * sizeof *v);
    if (!v) {
        json_decref(body);
        return QR_ENOMEM;
    }
    *reqs = v;
    alerts_request_t *r = &v[*n];
    memset(r, 0, sizeof *r);
    r->url = strdup(url);
    r->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!r->url || !r->body) {
        alerts_request_clear(r);
        return QR_ENOMEM;
    }
    snprintf(r->what, sizeof r->what, "%s", what);
    (*n)++;
    return add_header(r, "Content-Type: application/json");
}

static size_t count_state(const alerts_notification_t *n, alerts_state_kind_t st)
{
    size_t c = 0;
    for (size_t i = 0; i < n->alerts.n; i++)
        c += n->alerts.v[i].state == st;
    return c;
}

static const char *state_str(const alerts_alert_t *a)
{
    return a->state == ALERTS_RESOLVED ? "resolved" : "firing";
}

/* "[FIRING:2, RESOLVED:1] quorate: <first summary>" */
static void title(const alerts_notification_t *n, char *buf, size_t bufsz)
{
    size_t f = count_state(n, ALERTS_FIRING), r = count_state(n, ALERTS_RESOLVED);
    const char *first = n->alerts.n ? n->alerts.v[0].summary : "";
    for (size_t i = 0; i < n->alerts.n; i++)
        if (n->alerts.v[i].state == ALERTS_FIRING) {
            first = n->alerts.v[i].summary;
            break;
        }
    if (f && r)
        snprintf(buf, bufsz, "[FIRING:%zu, RESOLVED:%zu] quorate: %s", f, r, first);
    else if (f)
        snprintf(buf, bufsz, "[FIRING:%zu] quorate: %s", f, first);
    else
        snprintf(buf, bufsz, "[RESOLVED:%zu] quorate: %s", r, first);
}

/* Slack mrkdwn needs &, <, > escaped (and keys contain "->"). */
static void slack_escape(const char *s, char *buf, size_t bufsz)
{
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 6 < bufsz; i++) {
        const char *rep = s[i] == '&'   ? "&amp;"
                          : s[i] == '<' ? "&lt;"
                          : s[i] == '>' ? "&gt;"
                                        : NULL;
        if (rep) {
            size_t l = strlen(rep);
            memcpy(buf + j, rep, l);
            j += l;
        } else {
            buf[j++] = s[i];
        }
    }
    buf[j] = '\0';
}

static const char *sev_color(alerts_sev_t s, bool resolved)
{
    if (resolved)
        return "#2EB67D";
    switch (s) {
    case ALERTS_SEV_CRITICAL:
        return "#D00000";
    case ALERTS_SEV_ERROR:
        return "#E8590C";
    case ALERTS_SEV_WARNING:
        return "#ECB22E";
    default:
        return "#439FE0";
    }
}

/* The first path segment of a key ("disk" of "disk/ai3/datadir_small") and
 * the last ("datadir_small"). */
static void key_parts(const char *key, char *first, size_t fsz, char *last, size_t lsz)
{
    snprintf(first, fsz, "%.*s", (int)strcspn(key, "/"), key);
    const char *l = strrchr(key, '/');
    snprintf(last, lsz, "%s", l ? l + 1 : key);
}

/* ---- Slack: incoming webhook, `text` (fallback, notifications) + blocks */
#define SLACK_MAX_ALERTS 45 /* Slack allows 50 blocks per message */
static int build_slack(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                       alerts_request_t **reqs, size_t *nreqs)
{
    char t[400], esc[1200], line[2048];
    title(n, t, sizeof t);
    json_t *blocks = json_array();
    json_array_append_new(blocks, json_pack("{s:s,s:{s:s,s:s}}", "type", "header", "text", "type",
                                            "plain_text", "text", ""));
    /* header text: plain_text, at most 150 characters */
    char hdr[151];
    snprintf(hdr, sizeof hdr, "%.150s", t);
    trim_utf8(hdr); /* never cut inside a UTF-8 char */
    json_object_set_new(json_object_get(json_array_get(blocks, 0), "text"), "text",
                        json_string(hdr));
    size_t shown = 0;
    for (size_t i = 0; i < n->alerts.n && shown < SLACK_MAX_ALERTS; i++, shown++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        slack_escape(a->summary, esc, sizeof esc);
        char key[400];
        slack_escape(a->key, key, sizeof key);
        snprintf(line, sizeof line, "*%s* `%s`\n%s%s%s%s%s",
                 a->state == ALERTS_RESOLVED ? "RESOLVED" : alerts_sev_str(a->severity), key, esc,
                 a->node[0] ? "\nnode: " : "", a->node, a->dc[0] ? "  dc: " : "", a->dc);
        json_array_append_new(blocks, json_pack("{s:s,s:{s:s,s:s}}", "type", "section", "text",
                                                "type", "mrkdwn", "text", line));
    }
    if (shown < n->alerts.n) {
        snprintf(line, sizeof line, "and %zu more", n->alerts.n - shown);
        json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context",
                                                "elements", "type", "mrkdwn", "text", line));
    }
    if (rcv->link) {
        snprintf(line, sizeof line, "<%s|quorate>", rcv->link);
        json_array_append_new(blocks, json_pack("{s:s,s:[{s:s,s:s}]}", "type", "context",
                                                "elements", "type", "mrkdwn", "text", line));
    }
    slack_escape(t, esc, sizeof esc);
    return push_req(reqs, nreqs, rcv->url, json_pack("{s:s,s:o}", "text", esc, "blocks", blocks),
                    "slack message");
}

/* ---- Mattermost: incoming webhook, `text` + attachments (Slack-compatible) */
static int build_mattermost(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                            alerts_request_t **reqs, size_t *nreqs)
{
    char t[400];
    title(n, t, sizeof t);
    json_t *atts = json_array();
    for (size_t i = 0; i < n->alerts.n && i < 50; i++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        bool res = a->state == ALERTS_RESOLVED;
        json_t *fields = json_pack("[{s:b,s:s,s:s},{s:b,s:s,s:s}]", "short", 1, "title", "Severity",
                                   "value", alerts_sev_str(a->severity), "short", 1, "title",
                                   "State", "value", state_str(a));
        if (a->node[0])
            json_array_append_new(
                fields, json_pack("{s:b,s:s,s:s}", "short", 1, "title", "Node", "value", a->node));
        if (a->dc[0])
            json_array_append_new(
                fields, json_pack("{s:b,s:s,s:s}", "short", 1, "title", "DC", "value", a->dc));
        json_t *att = json_pack("{s:s,s:s,s:s,s:s,s:o}", "fallback", a->summary, "color",
                                sev_color(a->severity, res), "title", a->key, "text", a->summary,
                                "fields", fields);
        if (rcv->link)
            json_object_set_new(att, "title_link", json_string(rcv->link));
        json_array_append_new(atts, att);
    }
    return push_req(
        reqs, nreqs, rcv->url,
        json_pack("{s:s,s:s,s:o}", "username", "quorate", "text", t, "attachments", atts),
        "mattermost message");
}

/* ---- Microsoft Teams: Adaptive Card in a "message" (incoming webhook and
 * Workflows "post to a channel when a webhook request is received") */
static int build_teams(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                       alerts_request_t **reqs, size_t *nreqs)
{
    char t[400];
    title(n, t, sizeof t);
    json_t *body = json_array();
    json_array_append_new(body, json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "TextBlock", "text", t,
                                          "weight", "Bolder", "size", "Medium", "wrap", 1));
    for (size_t i = 0; i < n->alerts.n && i < 30; i++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        json_array_append_new(body, json_pack("{s:s,s:s,s:b,s:s}", "type", "TextBlock", "text",
                                              a->summary, "wrap", 1, "color",
                                              a->state == ALERTS_RESOLVED       ? "Good"
                                              : a->severity >= ALERTS_SEV_ERROR ? "Attention"
                                                                                : "Warning"));
        json_t *facts = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "title", "Key", "value",
                                  a->key, "title", "Severity", "value", alerts_sev_str(a->severity),
                                  "title", "State", "value", state_str(a));
        if (a->node[0])
            json_array_append_new(facts, json_pack("{s:s,s:s}", "title", "Node", "value", a->node));
        if (a->dc[0])
            json_array_append_new(facts, json_pack("{s:s,s:s}", "title", "DC", "value", a->dc));
        json_array_append_new(body, json_pack("{s:s,s:o}", "type", "FactSet", "facts", facts));
    }
    json_t *card = json_pack("{s:s,s:s,s:s,s:o}", "$schema",
                             "http://adaptivecards.io/schemas/adaptive-card.json", "type",
                             "AdaptiveCard", "version", "1.4", "body", body);
    if (rcv->link)
        json_object_set_new(card, "actions",
                            json_pack("[{s:s,s:s,s:s}]", "type", "Action.OpenUrl", "title",
                                      "Open quorate", "url", rcv->link));
    json_t *msg =
        json_pack("{s:s,s:[{s:s,s:n,s:o}]}", "type", "message", "attachments", "contentType",
                  "application/vnd.microsoft.card.adaptive", "contentUrl", "content", card);
    return push_req(reqs, nreqs, rcv->url, msg, "teams message");
}

/* ---- PagerDuty Events API v2: one event per alert */
static int build_pagerduty(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                           int64_t now, alerts_request_t **reqs, size_t *nreqs)
{
    for (size_t i = 0; i < n->alerts.n; i++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        char dk[256], what[160], comp[64], cls[64];
        alerts_payload_dedup_key(a->key, dk, sizeof dk);
        key_parts(a->key, comp, sizeof comp, cls, sizeof cls);
        json_t *ev;
        if (a->state == ALERTS_RESOLVED) {
            ev = json_pack("{s:s,s:s,s:s}", "routing_key", rcv->key, "event_action", "resolve",
                           "dedup_key", dk);
        } else {
            char ts[40];
            alerts_payload_time(a->fired_at_ms ? a->fired_at_ms : now, ts, sizeof ts);
            json_t *details = a->values ? json_deep_copy(a->values) : json_object();
            if (!json_is_object(details)) {
                json_decref(details);
                details = json_object();
            }
            json_object_set_new(details, "key", json_string(a->key));
            ev = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}}", "routing_key",
                           rcv->key, "event_action", "trigger", "dedup_key", dk, "client",
                           "quorate", "payload", "summary", a->summary, "source",
                           a->node[0] ? a->node : "quorate", "severity",
                           alerts_sev_str(a->severity), "timestamp", ts, "component", comp, "group",
                           a->dc[0] ? a->dc : "cluster", "class", cls, "custom_details", details);
            if (ev && rcv->link)
                json_object_set_new(ev, "client_url", json_string(rcv->link));
        }
        snprintf(what, sizeof what, "pagerduty %s %.120s",
                 a->state == ALERTS_RESOLVED ? "resolve" : "trigger", a->key);
        int rc = push_req(reqs, nreqs, rcv->url, ev, what);
        if (rc)
            return rc;
    }
    return 0;
}

/* Percent-encodes s for a URL path segment (unreserved chars kept). */
static void url_encode(const char *s, char *buf, size_t bufsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t j = 0;
    for (size_t i = 0; s[i] && j + 4 < bufsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            buf[j++] = (char)c;
        } else {
            buf[j++] = '%';
            buf[j++] = hex[c >> 4];
            buf[j++] = hex[c & 15];
        }
    }
    buf[j] = '\0';
}

static const char *opsgenie_priority(alerts_sev_t s)
{
    switch (s) {
    case ALERTS_SEV_CRITICAL:
        return "P1";
    case ALERTS_SEV_ERROR:
        return "P2";
    case ALERTS_SEV_WARNING:
        return "P3";
    default:
        return "P5";
    }
}

/* ---- Opsgenie Alert API: create (alias = key) / close by alias */
static int build_opsgenie(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                          alerts_request_t **reqs, size_t *nreqs)
{
    const char *base = rcv->url;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    for (size_t i = 0; i < n->alerts.n; i++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        char url[1200], what[160], enc[700];
        json_t *body;
        if (a->state == ALERTS_RESOLVED) {
            url_encode(a->key, enc, sizeof enc);
            snprintf(url, sizeof url, "%.*s/v2/alerts/%s/close?identifierType=alias", (int)bl, base,
                     enc);
            char note[300];
            snprintf(note, sizeof note, "resolved: %s", a->summary);
            body = json_pack("{s:s,s:s,s:s}", "source", "quorate", "user", "quorate", "note", note);
        } else {
            snprintf(url, sizeof url, "%.*s/v2/alerts", (int)bl, base);
            char msg[131]; /* message: at most 130 characters */
            snprintf(msg, sizeof msg, "%.130s", a->summary);
            trim_utf8(msg);
            /* details: a flat map of strings */
            json_t *det =
                json_pack("{s:s,s:s}", "key", a->key, "severity", alerts_sev_str(a->severity));
            if (a->node[0])
                json_object_set_new(det, "node", json_string(a->node));
            if (a->dc[0])
                json_object_set_new(det, "dc", json_string(a->dc));
            const char *k;
            json_t *v;
            json_object_foreach(a->values, k, v)
            {
                if (json_object_size(det) >= 40)
                    break;
                char *s = json_is_string(v) ? strdup(json_string_value(v))
                                            : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                if (s && strlen(s) > 500)
                    s[500] = '\0';
                json_t *js = s ? json_string(s) : NULL;
                if (js)
                    json_object_set_new(det, k, js);
                free(s);
            }
            char t1[80], t2[80], t3[80];
            snprintf(t1, sizeof t1, "severity:%s", alerts_sev_str(a->severity));
            snprintf(t2, sizeof t2, "dc:%s", a->dc[0] ? a->dc : "cluster");
            snprintf(t3, sizeof t3, "node:%s", a->node[0] ? a->node : "cluster");
            body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s,s,s,s],s:o}", "message", msg, "alias",
                             a->key, "description", a->summary, "priority",
                             opsgenie_priority(a->severity), "source", "quorate", "entity",
                             a->node[0] ? a->node : "cluster", "tags", "quorate", t1, t2, t3,
                             "details", det);
        }
        snprintf(what, sizeof what, "opsgenie %s %.120s",
                 a->state == ALERTS_RESOLVED ? "close" : "create", a->key);
        int rc = push_req(reqs, nreqs, url, body, what);
        if (!rc)
            rc = add_header(&(*reqs)[*nreqs - 1], "Authorization: GenieKey %s", rcv->key);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *alert_json(const alerts_alert_t *a)
{
    char ts[40];
    alerts_payload_time(a->fired_at_ms ? a->fired_at_ms : a->active_since_ms, ts, sizeof ts);
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "key", a->key, "status", state_str(a),
                  "severity", alerts_sev_str(a->severity), "summary", a->summary, "node", a->node,
                  "dc", a->dc, "starts_at", ts, "values", a->values ? a->values : json_null());
    if (j && a->state == ALERTS_RESOLVED) {
        alerts_payload_time(a->resolved_at_ms, ts, sizeof ts);
        json_object_set_new(j, "ends_at", json_string(ts));
    }
    return j;
}

/* ---- generic webhook: JSON signed with HMAC-SHA256 */
static int build_webhook(const alerts_receiver_t *rcv, const alerts_notification_t *n, int64_t now,
                         alerts_request_t **reqs, size_t *nreqs)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n->alerts.n; i++)
        json_array_append_new(arr, alert_json(&n->alerts.v[i]));
    json_t *body =
        json_pack("{s:i,s:s,s:s,s:s,s:I,s:o}", "version", 1, "receiver", rcv->name, "group",
                  n->group, "status", count_state(n, ALERTS_FIRING) ? "firing" : "resolved",
                  "sent_ms", (json_int_t)now, "alerts", arr);
    if (body && rcv->link)
        json_object_set_new(body, "link", json_string(rcv->link));
    int rc = push_req(reqs, nreqs, rcv->url, body, "webhook notification");
    if (rc)
        return rc;
    alerts_request_t *r = &(*reqs)[*nreqs - 1];
    char ts[24], hex[65];
    snprintf(ts, sizeof ts, "%lld", (long long)(now / 1000));
    if ((rc = alerts_payload_sign(rcv->secret, ts, r->body, hex)))
        return rc;
    if ((rc = add_header(r, "X-Quorate-Timestamp: %s", ts)))
        return rc;
    return add_header(r, "X-Quorate-Signature: sha256=%s", hex);
}

/* ---- Prometheus Alertmanager API v2: POST /api/v2/alerts */
static int build_alertmanager(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                              int64_t now, alerts_request_t **reqs, size_t *nreqs)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n->alerts.n; i++) {
        const alerts_alert_t *a = &n->alerts.v[i];
        char first[64], last[64], name[140], s[40], e[40];
        key_parts(a->key, first, sizeof first, last, sizeof last);
        snprintf(name, sizeof name, "quorate_%s_%s", first, last);
        for (char *p = name; *p; p++)
            if (*p == '-' || *p == '.' || *p == '>')
                *p = '_';
        json_t *labels = json_pack("{s:s,s:s,s:s}", "alertname", name, "severity",
                                   alerts_sev_str(a->severity), "key", a->key);
        /* Alertmanager drops empty labels; omit them rather than send "" */
        if (a->node[0])
            json_object_set_new(labels, "node", json_string(a->node));
        if (a->dc[0])
            json_object_set_new(labels, "dc", json_string(a->dc));
        alerts_payload_time(a->fired_at_ms ? a->fired_at_ms : a->active_since_ms, s, sizeof s);
        /* A firing alert without endsAt expires after Alertmanager's
         * resolve_timeout; quorate re-sends every repeat_interval, so it
         * asks for twice that (at least 5 minutes). */
        int64_t ttl = 2 * n->repeat_interval_ms;
        if (ttl < 300000)
            ttl = 300000;
        alerts_payload_time(a->state == ALERTS_RESOLVED ? a->resolved_at_ms : now + ttl, e,
                            sizeof e);
        json_t *al = json_pack("{s:o,s:{s:s},s:s,s:s}", "labels", labels, "annotations", "summary",
                               a->summary, "startsAt", s, "endsAt", e);
        if (al && rcv->link)
            json_object_set_new(al, "generatorURL", json_string(rcv->link));
        json_array_append_new(arr, al);
    }
    char url[1200];
    const char *base = rcv->url;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    if (bl >= 14 && !strncmp(base + bl - 14, "/api/v2/alerts", 14))
        snprintf(url, sizeof url, "%.*s", (int)bl, base);
    else
        snprintf(url, sizeof url, "%.*s/api/v2/alerts", (int)bl, base);
    return push_req(reqs, nreqs, url, arr, "alertmanager alerts");
}

int alerts_payload_build(const alerts_receiver_t *rcv, const alerts_notification_t *n,
                         int64_t now_ms, alerts_request_t **reqs, size_t *nreqs, qr_err_t *err)
{
    *reqs = NULL;
    *nreqs = 0;
    if (!rcv || !n || !rcv->url)
        return qr_err_set(err, QR_EINVAL, "payload: no receiver or URL");
    if (n->alerts.n == 0)
        return 0;
    int rc;
    switch (rcv->type) {
    case ALERTS_RCV_SLACK:
        rc = build_slack(rcv, n, reqs, nreqs);
        break;
    case ALERTS_RCV_MATTERMOST:
        rc = build_mattermost(rcv, n, reqs, nreqs);
        break;
    case ALERTS_RCV_TEAMS:
        rc = build_teams(rcv, n, reqs, nreqs);
        break;
    case ALERTS_RCV_PAGERDUTY:
        rc = rcv->key ? build_pagerduty(rcv, n, now_ms, reqs, nreqs) : QR_EINVAL;
        break;
    case ALERTS_RCV_OPSGENIE:
        rc = rcv->key ? build_opsgenie(rcv, n, reqs, nreqs) : QR_EINVAL;
        break;
    case ALERTS_RCV_WEBHOOK:
        rc = rcv->secret ? build_webhook(rcv, n, now_ms, reqs, nreqs) : QR_EINVAL;
        break;
    case ALERTS_RCV_ALERTMANAGER:
        rc = build_alertmanager(rcv, n, now_ms, reqs, nreqs);
        break;
    default:
        rc = QR_EINVAL;
    }
    if (rc) {
        alerts_request_free_all(*reqs, *nreqs);
        *reqs = NULL;
        *nreqs = 0;
        return qr_err_set(err, rc, "payload for receiver %s (%s): %s", rcv->name,
                          alerts_conf_rcv_type_str(rcv->type), qr_strerror(rc));
    }
    return 0;
}
