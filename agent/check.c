/* Shared helpers for check results. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *check_status_str(check_status_t s)
{
    switch (s) {
    case CHECK_OK: return "ok";
    case CHECK_WARN: return "warn";
    case CHECK_FAIL: return "fail";
    default: return "unknown";
    }
}

int check_status_parse(const char *s)
{
    static const char *names[] = {"ok", "warn", "fail", "unknown"};
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void check_result_init(check_result_t *r, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->status = CHECK_UNKNOWN;
    r->values = json_object();
}

static void set_summary(check_result_t *r, const char *fmt, va_list ap)
{
    vsnprintf(r->summary, sizeof r->summary, fmt, ap);
    for (char *p = r->summary; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

void check_result_set(check_result_t *r, check_status_t st, const char *fmt, ...)
{
    va_list ap;
    r->status = st;
    va_start(ap, fmt);
    set_summary(r, fmt, ap);
    va_end(ap);
}

void check_result_worsen(check_result_t *r, check_status_t st, const char *fmt, ...)
{
    /* unknown (3) is "worse" only than ok: a failure we did measure beats
     * a value we could not measure. */
    int rank_new = st == CHECK_UNKNOWN ? 1 : (int)st * 2;
    int rank_old = r->status == CHECK_UNKNOWN ? 1 : (int)r->status * 2;
    if (r->summary[0] != '\0' && rank_new <= rank_old)
        return;
    va_list ap;
    r->status = st;
    va_start(ap, fmt);
    set_summary(r, fmt, ap);
    va_end(ap);
}

void check_reasons_add(json_t *reasons, const char *reason)
{
    for (size_t i = 0; i < json_array_size(reasons); i++)
        if (strcmp(json_string_value(json_array_get(reasons, i)), reason) == 0)
            return;
    json_array_append_new(reasons, json_string(reason));
}

void check_result_reason(check_result_t *r, const char *reason)
{
    json_t *arr = json_object_get(r->values, "reasons");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(r->values, "reasons", arr);
    }
    check_reasons_add(arr, reason);
}

void check_result_clear(check_result_t *r)
{
    if (!r)
        return;
    json_decref(r->values);
    memset(r, 0, sizeof *r);
}

json_t *check_result_to_json(const check_result_t *r)
{
    return json_pack("{s:s, s:s, s:s, s:O}", "name", r->name, "status",
                     check_status_str(r->status), "summary", r->summary, "values",
                     r->values ? r->values : json_object());
}
