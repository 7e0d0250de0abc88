/* Fixtures and builders shared by the recovery unit tests
 * (unit/test_recover, unit/test_recover_config): mongod 6.0 documents from
 * tests/fixtures/recover/, synthetic replica sets as Extended JSON, and BSON
 * lookups that fail the test when a key is missing. */
#ifndef QR_TEST_RECOVER_FX_H
#define QR_TEST_RECOVER_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "recover.h"

/* Config member i is host "h<i>:27017". */
typedef struct {
    const char *dc;
    int votes;
    double priority;
    bool arbiter;
} cmem_t;

/* How one view sees member i: 'S' secondary, 'P' primary, 'D' down, 'R'
 * recovering, 'A' arbiter, 0 not listed; optime term/secs; last write. */
typedef struct {
    char st;
    int64_t term;
    uint32_t secs;
    uint32_t inc;
} smem_t;

#define SEC(term, secs)                                                                            \
    {                                                                                              \
        'S', term, secs, 1                                                                         \
    }
#define DOWN                                                                                       \
    {                                                                                              \
        'D', -1, 0, 0                                                                              \
    }
#define BASE 1795633200u

char *read_fixture(const char *name, size_t *len);
/* Plans from status text and config text; returns recover_plan_new's code. */
int plan_texts(const char *status, size_t slen, const char *config, size_t clen,
               recover_plan_t **out, qr_err_t *err);
recover_plan_t *plan_fixtures(const char *status, const char *config);
const recover_member_t *member_by_host(const recover_plan_t *p, const char *host);
bool any_contains(const char *const *v, size_t n, const char *needle);
/* The member sub-document i of a config. */
void config_member(const bson_t *cfg, size_t i, bson_t *out);
bson_type_t type_at(const bson_t *doc, const char *dotkey);
int64_t int_at(const bson_t *doc, const char *dotkey);
double double_at(const bson_t *doc, const char *dotkey);
size_t count_members(const bson_t *cfg);
json_t *ejson_ts(uint32_t t, uint32_t i);
json_t *ejson_date(int64_t ms);
json_t *mk_config(const char *set, const cmem_t *m, size_t n);
json_t *mk_view(const char *set, size_t self, const smem_t *m, size_t n);
/* Plans from jansson documents (views: one reply or an array). */
int plan_json(json_t *views, json_t *config, recover_plan_t **out, qr_err_t *err);
recover_plan_t *plan_ok_or_refused(json_t *views, json_t *config);

/* 3+2 over two DCs: west h0..h2 (h0 priority 2), east h3, h4. */
extern const cmem_t FIVE_3_2[5];

#endif
