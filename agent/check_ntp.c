/* ntp check: one ntp_adjtime() read and a pure evaluator. */
#include "check_ntp.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

int check_ntp_probe(const agent_conf_t *conf, ntp_facts_t *out)
{
    (void)conf;
    memset(out, 0, sizeof *out);
    struct timex tx;
    memset(&tx, 0, sizeof tx); /* modes = 0: read only, no privilege needed */
    int r = ntp_adjtime(&tx);
    if (r < 0) {
        out->sys_errno = errno;
        return -1;
    }
    out->state = r;
    out->status = tx.status;
    /* offset is in ns when the kernel runs in nanosecond mode */
    out->offset_ms = (tx.status & STA_NANO) ? (double)tx.offset / 1e6 : (double)tx.offset / 1e3;
    out->maxerror_ms = (double)tx.maxerror / 1e3;
    out->esterror_ms = (double)tx.esterror / 1e3;
    return 0;
}

static const char *state_name(int s)
{
    switch (s) {
    case TIME_OK:
        return "TIME_OK";
    case TIME_INS:
        return "TIME_INS";
    case TIME_DEL:
        return "TIME_DEL";
    case TIME_OOP:
        return "TIME_OOP";
    case TIME_WAIT:
        return "TIME_WAIT";
    case TIME_ERROR:
        return "TIME_ERROR";
    default:
        return "unknown";
    }
}

static json_t *status_flags(int status)
{
    static const struct {
        int bit;
        const char *name;
    } bits[] = {
        {STA_PLL, "PLL"},
        {STA_PPSFREQ, "PPSFREQ"},
        {STA_PPSTIME, "PPSTIME"},
        {STA_FLL, "FLL"},
        {STA_INS, "INS"},
        {STA_DEL, "DEL"},
        {STA_UNSYNC, "UNSYNC"},
        {STA_FREQHOLD, "FREQHOLD"},
        {STA_PPSSIGNAL, "PPSSIGNAL"},
        {STA_PPSJITTER, "PPSJITTER"},
        {STA_PPSWANDER, "PPSWANDER"},
        {STA_PPSERROR, "PPSERROR"},
        {STA_CLOCKERR, "CLOCKERR"},
        {STA_NANO, "NANO"},
        {STA_MODE, "MODE"},
        {STA_CLK, "CLK"},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (status & bits[i].bit)
            json_array_append_new(a, json_string(bits[i].name));
    return a;
}

static double round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

/* Reasons are alert keys: never a figure, which changes every cycle. */
void check_ntp_eval(const ntp_facts_t *f, const agent_conf_t *conf, check_result_t *out)
{
    json_t *v = out->values;
    json_object_set_new(v, "warn_ms", json_real(conf->ntp_warn_ms));
    json_object_set_new(v, "fail_ms", json_real(conf->ntp_fail_ms));
    json_object_set_new(v, "reasons", json_array());
    if (f->sys_errno) {
        char eb[128];
        json_object_set_new(v, "synced", json_null());
        check_result_set(out, CHECK_UNKNOWN, "ntp_adjtime: %s",
                         strerror_r(f->sys_errno, eb, sizeof eb));
        check_result_reason(out, "adjtime_failed");
        return;
    }
    bool unsync = f->state == TIME_ERROR || (f->status & (STA_UNSYNC | STA_CLOCKERR));
    json_object_set_new(v, "synced", json_boolean(!unsync));
    json_object_set_new(v, "offset_ms", json_real(round3(f->offset_ms)));
    json_object_set_new(v, "maxerror_ms", json_real(round3(f->maxerror_ms)));
    json_object_set_new(v, "esterror_ms", json_real(round3(f->esterror_ms)));
    json_object_set_new(v, "status", json_integer(f->status));
    json_object_set_new(v, "status_flags", status_flags(f->status));
    json_object_set_new(v, "state", json_string(state_name(f->state)));

    if (unsync) {
        /* The kernel grows maxerror to 16 s and stops meaning anything once
         * no daemon disciplines the clock, so only the flag is reported. */
        check_result_set(out, CHECK_WARN, "clock not synchronised (%s%s%s)", state_name(f->state),
                         (f->status & STA_UNSYNC) ? ", STA_UNSYNC" : "",
                         (f->status & STA_CLOCKERR) ? ", STA_CLOCKERR" : "");
        check_result_reason(out, "unsynchronised");
        return;
    }
    /* The largest figure decides; ties go to the first named. */
    struct {
        const char *name;
        const char *reason;
        double ms;
    } m[] = {
        {"offset", "offset_high", fabs(f->offset_ms)},
        {"max error", "max_error_high", f->maxerror_ms},
        {"estimated error", "est_error_high", f->esterror_ms},
    };
    size_t worst = 0;
    for (size_t i = 1; i < 3; i++)
        if (m[i].ms > m[worst].ms)
            worst = i;
    /* every figure over a threshold has its own reason (those over the fail
     * level first), so the keys do not swap when the worst one changes */
    for (size_t i = 0; i < 3; i++)
        if (m[i].ms > conf->ntp_fail_ms)
            check_result_reason(out, m[i].reason);
    for (size_t i = 0; i < 3; i++)
        if (m[i].ms > conf->ntp_warn_ms)
            check_result_reason(out, m[i].reason);
    if (m[worst].ms > conf->ntp_fail_ms)
        check_result_set(out, CHECK_FAIL, "clock synchronised but %s %.1f ms > %g ms",
                         m[worst].name, m[worst].ms, conf->ntp_fail_ms);
    else if (m[worst].ms > conf->ntp_warn_ms)
        check_result_set(out, CHECK_WARN, "clock synchronised but %s %.1f ms > %g ms",
                         m[worst].name, m[worst].ms, conf->ntp_warn_ms);
    else
        check_result_set(out, CHECK_OK,
                         "clock synchronised: offset %.3f ms, max error %.1f ms, "
                         "estimated error %.1f ms",
                         f->offset_ms, f->maxerror_ms, f->esterror_ms);
}

void check_ntp_run(const agent_conf_t *conf, void **state, check_result_t *out)
{
    (void)state;
    ntp_facts_t facts;
    check_ntp_probe(conf, &facts);
    check_ntp_eval(&facts, conf, out);
}
