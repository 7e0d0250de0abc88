/* ntp check: the kernel's clock discipline as ntp_adjtime() (no modes set,
 * so it works unprivileged) reports it: synchronised or not, offset, maximum
 * and estimated error. Cross-node skew is the controller's job. See
 * docs/checks.md "ntp". */
#ifndef QR_CHECK_NTP_H
#define QR_CHECK_NTP_H

#include "agent_conf.h"
#include "check.h"

typedef struct {
    int sys_errno;      /* ntp_adjtime() failed with this errno (0: facts valid) */
    int state;          /* its return value: TIME_OK .. TIME_ERROR */
    int status;         /* timex.status: STA_* bits */
    double offset_ms;   /* timex.offset converted (STA_NANO: ns, else us) */
    double maxerror_ms; /* timex.maxerror (us) */
    double esterror_ms; /* timex.esterror (us) */
} ntp_facts_t;

/* Reads the kernel state with ntp_adjtime(modes = 0). Returns 0, or -1 with
 * out->sys_errno set. conf is unused (the call has no path to redirect). */
int check_ntp_probe(const agent_conf_t *conf, ntp_facts_t *out);

/* Pure: TIME_ERROR, STA_UNSYNC or STA_CLOCKERR -> warn "clock not
 * synchronised" (the error figures are meaningless then and are not judged);
 * otherwise the largest of |offset|, max error and estimated error above
 * conf->ntp_fail_ms -> fail, above conf->ntp_warn_ms -> warn (equal is ok);
 * a failed call -> unknown. */
void check_ntp_eval(const ntp_facts_t *facts, const agent_conf_t *conf, check_result_t *out);

/* probe + eval; out was initialised with check_result_init(out, "ntp"). */
void check_ntp_run(const agent_conf_t *conf, void **state, check_result_t *out);

#endif
