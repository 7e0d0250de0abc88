/* Internals shared by recover.c (the decision) and recover_json.c (text in,
 * accessors, JSON out): the plan's layout and what one view reports of one
 * member. Not for other modules. */
#ifndef QR_RECOVER_INT_H
#define QR_RECOVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recover.h"

typedef struct {
    char **v;
    size_t n;
} strv_t;

/* One member as one view reports it. */
typedef struct {
    bool reported; /* the view lists the member */
    bool self;     /* the view is the member's own reply */
    bool healthy;
    double health;
    bool has_state;
    int state;
    char *state_str;
    bool has_optime; /* false for MongoDB's null optime too */
    recover_optime_t optime;
    bool has_optime_date;
    int64_t optime_date_ms;
    bool has_wall; /* lastAppliedWallTime, when not the epoch */
    int64_t wall_ms;
    bool has_hb_recv; /* lastHeartbeatRecv: when the view last heard from it */
    int64_t hb_recv_ms;
    bool has_config_version;
    int64_t config_version;
    char *message; /* lastHeartbeatMessage, NULL when empty */
} sighting_t;

typedef struct {
    char *name; /* the replying member's host, or "reply #k" */
    bool has_self;
    size_t self_idx; /* config index of the replying member */
    bool has_date;
    int64_t date_ms;
    bool has_committed;
    recover_optime_t committed; /* optimes.lastCommittedOpTime */
    bool my_state_primary;
} view_t;

struct recover_plan {
    bool ok;
    char *set_name;
    int64_t old_version, new_version;
    recover_member_t *members;
    size_t n_members;
    /* newest optime any view reported for a member, healthy or not: only
     * rollback risk reads it (the decision uses members[].optime) */
    bool *any_has_optime;
    recover_optime_t *any_optime;
    view_t *views;
    size_t n_views;
    sighting_t *sightings; /* [member * n_views + view] */
    strv_t refused, warnings;
    int64_t total_votes, reachable_votes, new_votes;
    const recover_member_t *target;
    bson_t *new_config;
    /* rollback risk */
    bool rb_known;
    int64_t rb_lag_ms;
    size_t rb_member; /* removed member with the newest last write */
    bool rb_has_optime;
    recover_optime_t rb_optime;
    bool rb_has_heard;
    int64_t rb_heard_ms;
};

#endif
