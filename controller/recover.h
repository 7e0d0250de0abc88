/* Forced recovery of the MongoDB replica set after a data centre holding the
 * voting majority is lost: the pure decision. In: replSetGetStatus replies
 * (one per reachable member, each a "view") and the replSetGetConfig config,
 * as bson; out: a refusal with reasons, or a plan (target member, removed
 * members, the new config for `replSetReconfig` with `force: true`, evidence,
 * rollback risk). No I/O, no clock: the offline CLI (`quoratectl recover
 * --plan-only`) and the controller's live path feed it the same documents. */
#ifndef QR_RECOVER_H
#define QR_RECOVER_H

#include <bson/bson.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* An oplog position. term -1 with ts 0:0 is MongoDB's "null optime" (what a
 * view reports for a member it cannot reach). */
typedef struct {
    int64_t term;
    uint32_t secs; /* Timestamp's t */
    uint32_t inc;  /* Timestamp's i */
} recover_optime_t;

/* Orders optimes as MongoDB does: by term, then by timestamp. <0, 0, >0. */
int recover_optime_cmp(const recover_optime_t *a, const recover_optime_t *b);

/* One config member and what the decision made of it. Strings are owned by the
 * plan and live as long as it. */
typedef struct {
    int64_t id;       /* config members[]._id */
    const char *host; /* config members[].host */
    const char *dc;   /* members[].tags.dc, or NULL when untagged */
    int votes;        /* 1 unless the config says otherwise */
    double priority;  /* 1 unless the config says otherwise (0 for arbiters) */
    bool arbiter, hidden;
    bool reachable; /* some view sees it healthy (a view sees itself healthy) */
    bool removed;   /* not in the new config */
    bool demoted;   /* kept with votes 0, priority 0 so the voters stay odd */
    bool is_target;
    bool has_optime; /* optime below is valid: newest one reported while healthy */
    recover_optime_t optime;
    bool has_wall; /* wall_ms: newest lastAppliedWallTime (else optimeDate) any view reported */
    int64_t wall_ms;
} recover_member_t;

typedef struct recover_plan recover_plan_t;

/* Parses --status text: one replSetGetStatus reply, an array of them, or
 * several concatenated (JSON lines), in relaxed or canonical Extended JSON.
 * Returns 0 and a new array of *n documents in *replies (free it with
 * recover_replies_free; an empty array gives n 0), or QR_EPARSE with the reason
 * in err. */
int recover_parse_status(const char *text, size_t len, bson_t ***replies, size_t *n, qr_err_t *err);
/* Frees what recover_parse_status returned. NULL-safe. */
void recover_replies_free(bson_t **replies, size_t n);

/* Parses --config text: the config document (rs.conf()) or the whole
 * replSetGetConfig reply ({config: {...}, ok: 1}), relaxed or canonical.
 * Returns 0 and a new document in *config (bson_destroy it), or QR_EPARSE. */
int recover_parse_config(const char *text, size_t len, bson_t **config, qr_err_t *err);

/* Decides. replies: n views (n may be 0); config: the config document or the
 * replSetGetConfig reply. Returns 0 and a new plan in *out (caller destroys
 * it) that is either ok or refused (recover_plan_ok); or, with no plan,
 * QR_EPARSE (malformed document), QR_EINVAL (config without members) or
 * QR_ECONFLICT (status and config from different replica sets), the reason
 * in err. */
int recover_plan_new(const bson_t *const *replies, size_t n, const bson_t *config,
                     recover_plan_t **out, qr_err_t *err);
/* Frees the plan and clears *self_p. NULL-safe. */
void recover_plan_destroy(recover_plan_t **self_p);

/* true: a forced reconfig is planned; false: refused (see refusals). */
bool recover_plan_ok(const recover_plan_t *self);
/* Reasons for refusing (empty when ok). Returns the count, *reasons the array. */
size_t recover_plan_refusals(const recover_plan_t *self, const char *const **reasons);
/* Things the operator should know either way. */
size_t recover_plan_warnings(const recover_plan_t *self, const char *const **warnings);
/* Every config member, in config order, with the decision's marks. */
size_t recover_plan_members(const recover_plan_t *self, const recover_member_t **members);
/* The member to send the forced reconfig to; NULL when refused. */
const recover_member_t *recover_plan_target(const recover_plan_t *self);
/* The config to send with `replSetReconfig` and `force: true`; NULL when
 * refused. Owned by the plan. */
const bson_t *recover_plan_new_config(const recover_plan_t *self);
/* The replica set's name (config _id). */
const char *recover_plan_set_name(const recover_plan_t *self);
/* The config version the plan starts from (compare-and-swap at confirm time)
 * and the one new_config carries. */
int64_t recover_plan_old_version(const recover_plan_t *self);
int64_t recover_plan_new_version(const recover_plan_t *self);

/* The data centre of the members the plan removes (their tags.dc), which the
 * operator's `--confirm-down DC` must name. Returns 0 with *dc set; QR_ENOTFOUND
 * when refused, nothing is removed or a removed member has no tags.dc (the
 * caller may fall back to its inventory); QR_ECONFLICT when the removed
 * members span data centres. */
int recover_plan_removed_dc(const recover_plan_t *self, const char **dc, qr_err_t *err);

/* The whole decision as JSON (the `--json` contract: ok, refused, target,
 * removed, new_config, evidence, rollback_risk, warnings, ...). Returns a new
 * reference or NULL on allocation failure. */
json_t *recover_plan_to_json(const recover_plan_t *self);

/* Converts a bson document to Extended JSON that keeps every BSON type when
 * libbson or mongosh (EJSON.parse) read it back: relaxed form, except that
 * int64 is always {"$numberLong": "..."} and non-finite doubles are
 * {"$numberDouble": ...}. Returns a new reference or NULL. */
json_t *recover_bson_to_ejson(const bson_t *doc);

#endif
