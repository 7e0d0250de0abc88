/* quoratectl alerts [--json] | alerts test RECEIVER: firing alerts and a
 * receiver's end-to-end test. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_client.h"

static void fmt_age(char *buf, size_t len, long long ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 120000)
        snprintf(buf, len, "%llds", ms / 1000);
    else if (ms < 7200000)
        snprintf(buf, len, "%lldm", ms / 60000);
    else
        snprintf(buf, len, "%lldh", ms / 3600000);
}

static void print_alerts(json_t *j)
{
    long long now = (long long)json_integer_value(json_object_get(j, "now_ms"));
    json_t *alerts = json_object_get(j, "alerts");
    size_t i, shown = 0;
    json_t *a;
    printf("%-9s %-9s %-7s %-40s %s\n", "SEVERITY", "STATE", "SINCE", "KEY", "SUMMARY");
    json_array_foreach(alerts, i, a) {
        const char *state = json_string_value(json_object_get(a, "state")) ?: "?";
        char since[16];
        fmt_age(since, sizeof since,
                now - (long long)json_integer_value(json_object_get(a, "since_ms")));
        printf("%-9s %-9s %-7s %-40s %s\n",
               json_string_value(json_object_get(a, "severity")) ?: "?",
               json_is_true(json_object_get(a, "inhibited")) ? "muted" : state, since,
               json_string_value(json_object_get(a, "key")) ?: "?",
               json_string_value(json_object_get(a, "summary")) ?: "");
        size_t k;
        json_t *sent;
        json_array_foreach(json_object_get(a, "sent"), k, sent) {
            char ago[16];
            fmt_age(ago, sizeof ago, now - (long long)json_integer_value(json_object_get(sent, "at")));
            printf("%40s sent to %s %s ago: %s (HTTP %lld)\n", "",
                   json_string_value(json_object_get(sent, "receiver")), ago,
                   json_string_value(json_object_get(sent, "outcome")),
                   (long long)json_integer_value(json_object_get(sent, "http_status")));
        }
        shown++;
    }
    if (!shown)
        printf("(no alert pending or firing)\n");
    json_t *d = json_object_get(j, "deliveries");
    printf("deliveries: %lld delivered, %lld failed, %lld pending\n",
           (long long)json_integer_value(json_object_get(d, "delivered")),
           (long long)json_integer_value(json_object_get(d, "failed")),
           (long long)json_integer_value(json_object_get(d, "pending")));
}

int ctl_alerts_main(int argc, char **argv)
{
    ctl_opts_t o = {0};
    const char *test = NULL;
    json_t *j = NULL;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: quoratectl alerts [--json]\n"
                   "       quoratectl alerts test RECEIVER [--json]\n"
                   "The alerts the leader holds (pending, firing, muted) with where they were\n"
                   "sent; `test` sends a test notification to RECEIVER and shows the HTTP "
                   "result.\nExit: 0 no alert firing / test delivered, 1 alerts firing / test "
                   "failed,\n2 usage, 3 no answer.\n\n%s",
                   ctl_common_help);
            goto out;
        }
        if (!strcmp(argv[i], "test") && i + 1 < argc && !test)
            test = argv[++i];
        else
            rc = ctl_opts_arg(&o, "quoratectl alerts", argc, argv, &i);
    }
    if (rc || (rc = ctl_opts_finish(&o)))
        goto out;
    if (test && o.timeout_ms < 65000)
        o.timeout_ms = 65000; /* the controller answers once the outcome is final */
    rc = test ? ctl_call(&o, "quoratectl", "alerts_test", 1, (char **)&test, &j)
              : ctl_call(&o, "quoratectl", "alerts", 0, NULL, &j);
    if (rc)
        goto out;
    if (o.json)
        ctl_print_json(j, 0);
    if (test) {
        const char *outcome = json_string_value(json_object_get(j, "outcome")) ?: "?";
        if (!o.json)
            printf("test notification to %s: %s (HTTP %lld, %lld attempt(s))%s%s\n%s%s",
                   test, outcome, (long long)json_integer_value(json_object_get(j, "http_status")),
                   (long long)json_integer_value(json_object_get(j, "attempts")),
                   *(json_string_value(json_object_get(j, "error")) ?: "") ? ": " : "",
                   json_string_value(json_object_get(j, "error")) ?: "",
                   *(json_string_value(json_object_get(j, "response")) ?: "") ? "response: " : "",
                   json_string_value(json_object_get(j, "response")) ?: "");
        rc = strcmp(outcome, "delivered") == 0 ? 0 : 1;
    } else {
        if (!o.json)
            print_alerts(j);
        rc = 0;
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(j, "alerts"), i, a) {
            const char *st = json_string_value(json_object_get(a, "state"));
            if (st && !strcmp(st, "firing"))
                rc = 1;
        }
    }
out:
    json_decref(j);
    ctl_opts_free(&o);
    return rc;
}
