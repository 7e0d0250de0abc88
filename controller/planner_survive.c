/* What the plan survives: for each data centre and each node, MongoDB voters
 * left, workers and MinIO candidates left, and the swarm managers' Raft
 * quorum (the linked quorum the runbook forgets); the --lose rehearsal and
 * --remove decommission steps; and the warnings a careful operator wants. */
#include "planner_int.h"

#include <stdio.h>
#include <string.h>

/* Sums over the final layout, per DC; one node's loss subtracts its own. */
typedef struct {
    int *members, *workers, *minio, *mgr_reach;
    int n_members, n_workers, n_minio, n_mgr_reach, n_mgr;
    long mgr_a, mgr_a2, mgr_b; /* survivors to name in steps (-1 none) */
} tally_t;

static bool is_manager(const planner_ctx_t *c, size_t i)
{
    return c->inv->nodes[i].manager && !c->w[i].departing;
}

static int tally(planner_ctx_t *c, tally_t *t)
{
    size_t sz = (c->ndc + 1) * sizeof(int);
    t->members = planner_arena_alloc(c->a, sz);
    t->workers = planner_arena_alloc(c->a, sz);
    t->minio = planner_arena_alloc(c->a, sz);
    t->mgr_reach = planner_arena_alloc(c->a, sz);
    if (!t->members || !t->workers || !t->minio || !t->mgr_reach)
        return QR_ENOMEM;
    t->mgr_a = t->mgr_a2 = t->mgr_b = -1;
    for (size_t i = 0; i < c->n; i++) {
        const planner_work_t *w = &c->w[i];
        if (w->new_rep)
            t->members[w->dc]++, t->n_members++;
        if (w->healthy && w->new_worker)
            t->workers[w->dc]++, t->n_workers++;
        if (w->healthy && w->new_minio)
            t->minio[w->dc]++, t->n_minio++;
        if (!is_manager(c, i))
            continue;
        t->n_mgr++;
        if (!w->healthy)
            continue;
        t->mgr_reach[w->dc]++, t->n_mgr_reach++;
        if (t->mgr_a < 0)
            t->mgr_a = (long)i;
        else if (t->mgr_a2 < 0)
            t->mgr_a2 = (long)i;
        if (t->mgr_b < 0 && w->dc != c->w[t->mgr_a].dc)
            t->mgr_b = (long)i;
    }
    return 0;
}

/* The ordered steps an operator would face: swarm first (nothing else
 * works without it), then MongoDB, then labels. Empty when the loss heals
 * by itself. confirm_dc names the DC for `quoratectl recover`. */
static int add_steps(planner_ctx_t *c, planner_surv_t *s, const char *confirm_dc, long mgr,
                     bool lost_labels)
{
    planner_arena_t *a = c->a;
    bool action = false;
    if (s->swarm_managers > 0 && !s->swarm_quorum) {
        action = true;
        if (s->swarm_managers_left > 0) {
            if (planner_strv_pushf(a, &s->steps,
                                   "swarm: %d of %d managers left, no Raft quorum: no 'docker "
                                   "node update' works until a surviving manager (%s) runs "
                                   "'docker swarm init --force-new-cluster'",
                                   s->swarm_managers_left, s->swarm_managers,
                                   mgr >= 0 ? c->inv->nodes[mgr].hostname : "any") ||
                planner_strv_pushf(a, &s->steps,
                                   "swarm: then 'docker node rm --force' the lost managers and "
                                   "promote nodes ('docker node promote') back to an odd number "
                                   "of managers"))
                return QR_ENOMEM;
        } else if (planner_strv_pushf(a, &s->steps,
                                      "swarm: no manager survives: create a new swarm "
                                      "('docker swarm init') on a survivor and re-join the "
                                      "others")) {
            return QR_ENOMEM;
        }
    }
    if (s->mongo_voters > 0 && s->mongo_voters_left == 0) {
        action = true;
        if (planner_strv_pushf(a, &s->steps,
                               "MongoDB: no member survives: restore the replica set from "
                               "backup"))
            return QR_ENOMEM;
    } else if (s->needs_forced_recovery) {
        action = true;
        if (planner_strv_pushf(a, &s->steps,
                               "MongoDB: %d of %d voters left, no majority, no primary: forced "
                               "recovery with 'quoratectl recover --confirm-down %s --yes' "
                               "(replSetReconfig force: true on the freshest survivor)%s",
                               s->mongo_voters_left, s->mongo_voters,
                               confirm_dc ? confirm_dc : "DC",
                               s->mongo_voters_left % 2 == 0
                                   ? "; one survivor becomes non-voting (votes 0, priority 0) "
                                     "so the voters stay odd"
                                   : ""))
            return QR_ENOMEM;
    }
    if (s->workers_left == 0 && planner_strv_pushf(a, &s->steps,
                                                   "workers: no worker node survives: the worker "
                                                   "containers stop until nodes get worker=true"))
        return QR_ENOMEM;
    if (s->minio_left == 0 &&
        planner_strv_pushf(a, &s->steps,
                           "MinIO: no candidate survives: label a survivor minio=true and point "
                           "S3_ENDPOINT at it"))
        return QR_ENOMEM;
    if ((action || lost_labels || s->workers_left == 0 || s->minio_left == 0) &&
        planner_strv_pushf(a, &s->steps,
                           "labels: re-plan ('quoratectl plan') and run its commands to move "
                           "the lost labels to survivors"))
        return QR_ENOMEM;
    return 0;
}

static void fill_entry(planner_surv_t *s, int voters, int voters_left, int workers_left,
                       int minio_left, int managers, int managers_left)
{
    s->mongo_voters = voters;
    s->mongo_voters_left = voters_left;
    s->mongo_majority = voters > 0 && voters_left * 2 > voters;
    s->needs_forced_recovery = !s->mongo_majority && voters_left > 0;
    s->workers_left = workers_left;
    s->minio_left = minio_left;
    s->swarm_managers = managers;
    s->swarm_managers_left = managers_left;
    s->swarm_quorum = managers_left * 2 > managers;
}

static int survivability(planner_ctx_t *c, const tally_t *t)
{
    planner_plan_t *p = c->plan;
    p->surv = planner_arena_alloc(c->a, (c->ndc + c->n + 1) * sizeof *p->surv);
    if (!p->surv)
        return QR_ENOMEM;
    for (size_t d = 0; d < c->ndc; d++) {
        planner_surv_t *s = &p->surv[p->nsurv++];
        s->lose = s->dc = c->dcname[d];
        fill_entry(s, t->n_members, t->n_members - t->members[d], t->n_workers - t->workers[d],
                   t->n_minio - t->minio[d], t->n_mgr, t->n_mgr_reach - t->mgr_reach[d]);
        long mgr = t->mgr_a >= 0 && c->w[t->mgr_a].dc != (int)d ? t->mgr_a : t->mgr_b;
        int rc = add_steps(c, s, c->dcname[d], mgr, t->members[d] > 0 || t->minio[d] > 0);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < c->n; i++) {
        const planner_work_t *w = &c->w[i];
        if (w->departing)
            continue;
        planner_surv_t *s = &p->surv[p->nsurv++];
        s->node = c->inv->nodes[i].hostname;
        if (!(s->lose = planner_arena_printf(c->a, "node:%s", s->node)))
            return QR_ENOMEM;
        bool mgr_here = is_manager(c, i) && w->healthy;
        fill_entry(s, t->n_members, t->n_members - (w->new_rep > 0),
                   t->n_workers - (w->healthy && w->new_worker),
                   t->n_minio - (w->healthy && w->new_minio), t->n_mgr, t->n_mgr_reach - mgr_here);
        long mgr = t->mgr_a != (long)i ? t->mgr_a : t->mgr_a2;
        int rc = add_steps(c, s, c->dcname[w->dc], mgr, w->new_rep > 0 || w->new_minio);
        if (rc)
            return rc;
    }
    return 0;
}

static int warn_members(planner_ctx_t *c, const tally_t *t)
{
    planner_plan_t *p = c->plan;
    planner_arena_t *a = c->a;
    int member_dcs = 0;
    for (size_t d = 0; d < c->ndc; d++)
        member_dcs += t->members[d] > 0;
    const char *maj = p->majority_dc;
    int in_maj = 0;
    for (size_t d = 0; maj && d < c->ndc; d++)
        if (strcmp(c->dcname[d], maj) == 0)
            in_maj = t->members[d];
    int rc = 0;
    if (maj && member_dcs == 1)
        rc = planner_strv_pushf(a, &p->warnings,
                                "all %d MongoDB members are in data centre %s: losing it loses "
                                "the replica set",
                                t->n_members, maj);
    else if (maj && member_dcs == 2)
        rc = planner_strv_pushf(a, &p->warnings,
                                "two data centres: %s holds the MongoDB majority (%d of %d "
                                "voters); losing %s needs forced recovery ('quoratectl recover "
                                "--confirm-down %s')",
                                maj, in_maj, t->n_members, maj, maj);
    else if (maj)
        rc = planner_strv_pushf(a, &p->warnings,
                                "data centre %s holds a majority of the MongoDB voters (%d of "
                                "%d): losing it needs forced recovery",
                                maj, in_maj, t->n_members);
    if (rc)
        return rc;
    for (size_t k = 0; k < p->nmembers; k++)
        if (!p->members[k].ssd &&
            planner_strv_pushf(a, &p->warnings,
                               "MongoDB member %s (replica %d) is on HDD: MongoDB wants SSD",
                               p->members[k].node, p->members[k].replica))
            return QR_ENOMEM;
    int before = 0;
    for (size_t i = 0; i < c->n; i++)
        before += c->w[i].has_rep_key;
    if (before && before != (int)p->nmembers &&
        planner_strv_pushf(a, &p->warnings,
                           "the replica set goes from %d to %zu members: after labelling, "
                           "reconfigure it (rs.add / rs.remove) to match",
                           before, p->nmembers))
        return QR_ENOMEM;
    return 0;
}

static int warn_services(planner_ctx_t *c, const tally_t *t)
{
    planner_plan_t *p = c->plan;
    planner_arena_t *a = c->a;
    long cand[2] = {-1, -1};
    int nc = 0;
    for (size_t i = 0; i < c->n && nc < 2; i++)
        if (c->w[i].healthy && c->w[i].new_minio)
            cand[nc++] = (long)i;
    if (nc < 2 && planner_strv_pushf(a, &p->warnings,
                                     "only %d MinIO candidate%s: losing %s stops S3 until MinIO "
                                     "is moved by hand",
                                     nc, nc == 1 ? "" : "s", nc ? "it" : "anything"))
        return QR_ENOMEM;
    if (nc == 2 && c->w[cand[0]].dc == c->w[cand[1]].dc &&
        planner_strv_pushf(a, &p->warnings,
                           "both MinIO candidates are in data centre %s: losing it stops S3",
                           c->dcname[c->w[cand[0]].dc]))
        return QR_ENOMEM;
    for (int k = 0; k < nc && c->inv->s3_host; k++) {
        const planner_node_t *nd = &c->inv->nodes[cand[k]];
        if (!c->w[cand[k]].s3_match &&
            planner_strv_pushf(a, &p->warnings,
                               "MinIO candidate %s (%s) is not the S3_ENDPOINT host %s (%s): when "
                               "MinIO runs there, S3_ENDPOINT must change",
                               nd->hostname, nd->addr ? nd->addr : "no address in inventory",
                               c->inv->s3_host, c->inv->s3_endpoint ? c->inv->s3_endpoint : ""))
            return QR_ENOMEM;
    }
    if (t->n_workers < 2 && planner_strv_pushf(a, &p->warnings, "only %d worker node%s",
                                               t->n_workers, t->n_workers == 1 ? "" : "s"))
        return QR_ENOMEM;
    return 0;
}

/* --remove: the label moves above first (the new member must exist before
 * the old one goes), then drain, demote (a manager cannot be removed),
 * leave, rm. */
static int decommission(planner_ctx_t *c, const tally_t *t)
{
    planner_plan_t *p = c->plan;
    planner_arena_t *a = c->a;
    size_t x = (size_t)c->remove_node;
    const planner_node_t *nd = &c->inv->nodes[x];
    const planner_work_t *w = &c->w[x];
    const char *h = nd->hostname;
    p->decommission_node = h;
    p->decommission_manager = nd->manager;
    planner_strv_t *st = &p->decommission_steps;
    if (p->commands.n && planner_strv_pushf(a, st,
                                            "labels: run the label commands above (removals, then "
                                            "additions) so %s's labels move to other nodes",
                                            h))
        return QR_ENOMEM;
    if (w->cur_rep > 0) {
        const char *to = NULL;
        for (size_t k = 0; k < p->nmembers; k++)
            if (p->members[k].replica == w->cur_rep)
                to = p->members[k].node;
        if (planner_strv_pushf(a, st,
                               "MongoDB: replica %d moves from %s to %s: the new member starts "
                               "empty and initial-syncs; wait until it is SECONDARY and remove "
                               "%s's old member from the replica set config before going on",
                               w->cur_rep, h, to ? to : "another node", h))
            return QR_ENOMEM;
    }
    if (planner_strv_pushf(a, st,
                           "docker node update --availability drain %s: wait until no task runs "
                           "on it",
                           h) ||
        (nd->manager &&
         planner_strv_pushf(a, st, "docker node demote %s: a manager cannot be removed", h)) ||
        planner_strv_pushf(a, st, "on %s: docker swarm leave (or shut it down)", h) ||
        planner_strv_pushf(a, st, "docker node rm %s", h))
        return QR_ENOMEM;
    if (planner_strv_pushf(a, &p->commands, "docker node update --availability drain %s", h) ||
        (nd->manager && planner_strv_pushf(a, &p->commands, "docker node demote %s", h)) ||
        planner_strv_pushf(a, &p->commands, "docker node rm %s", h))
        return QR_ENOMEM;
    if (!nd->manager || t->n_mgr % 2 == 1 || t->n_mgr == 0)
        return t->n_mgr == 0 && nd->manager
                   ? planner_strv_pushf(a, &p->warnings,
                                        "%s is the last swarm manager: promote another node "
                                        "('docker node promote') before removing it",
                                        h)
                   : 0;
    /* suggest a promotion in the DC with the fewest managers */
    long best = -1;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->w[i].healthy || c->inv->nodes[i].manager)
            continue;
        if (best < 0 || t->mgr_reach[c->w[i].dc] < t->mgr_reach[c->w[best].dc])
            best = (long)i;
    }
    return planner_strv_pushf(a, &p->warnings,
                              "after removing %s the swarm has %d managers, an even number: "
                              "promote one more ('docker node promote %s')",
                              h, t->n_mgr, best >= 0 ? c->inv->nodes[best].hostname : "NODE");
}

int planner_survive(planner_ctx_t *c)
{
    tally_t t = {0};
    int rc = tally(c, &t);
    if (!rc)
        rc = survivability(c, &t);
    if (!rc)
        rc = warn_members(c, &t);
    if (!rc)
        rc = warn_services(c, &t);
    if (!rc && c->remove_node >= 0)
        rc = decommission(c, &t);
    return rc;
}

int planner_rehearse(planner_ctx_t *c)
{
    planner_plan_t *p = c->plan;
    planner_surv_t *s = planner_arena_alloc(c->a, sizeof *s);
    if (!s)
        return QR_ENOMEM;
    int voters = 0, left = 0, workers = 0, minio = 0, mgr = 0, mgr_left = 0;
    long survivor = -1;
    for (size_t i = 0; i < c->n; i++) {
        const planner_node_t *nd = &c->inv->nodes[i];
        const planner_work_t *w = &c->w[i];
        /* the current layout as it stands, with today's health */
        bool alive = nd->healthy && w->dc != c->lose_dc;
        voters += w->cur_rep > 0;
        left += w->cur_rep > 0 && alive;
        workers += w->cur_worker && alive;
        minio += w->cur_minio && alive;
        mgr += nd->manager;
        if (nd->manager && alive) {
            mgr_left++;
            if (survivor < 0)
                survivor = (long)i;
        }
    }
    s->lose = s->dc = c->dcname[c->lose_dc];
    fill_entry(s, voters, left, workers, minio, mgr, mgr_left);
    int rc = add_steps(c, s, s->dc, survivor, false);
    if (rc)
        return rc;
    /* add_steps' generic "re-plan" becomes "run this plan" in planner_finish */
    if (s->steps.n && strncmp(s->steps.v[s->steps.n - 1], "labels:", 7) == 0)
        s->steps.n--;
    if (s->mongo_voters > 0 && s->mongo_majority &&
        planner_strv_pushf(c->a, &s->steps,
                           "MongoDB: %d of %d voters left, a majority: a new primary is "
                           "elected by itself if needed",
                           left, voters))
        return QR_ENOMEM;
    p->rehearsal = s;
    return 0;
}

int planner_finish(planner_ctx_t *c)
{
    planner_plan_t *p = c->plan;
    if (!p->rehearsal)
        return 0;
    planner_surv_t *s = p->rehearsal;
    if (!p->ok)
        return planner_strv_pushf(c->a, &s->steps,
                                  "labels: no valid plan for the survivors (see errors)");
    if (!p->commands.n)
        return planner_strv_pushf(c->a, &s->steps, "labels: nothing to change");
    return planner_strv_pushf(c->a, &s->steps,
                              "labels: run this plan's %zu command%s (removals first) to move "
                              "%s's labels to survivors",
                              p->commands.n, p->commands.n == 1 ? "" : "s", s->dc);
}

int planner_warn_inventory(planner_ctx_t *c)
{
    planner_plan_t *p = c->plan;
    planner_arena_t *a = c->a;
    for (size_t i = 0; i < c->n; i++)
        if (c->w[i].has_rep_key && c->w[i].cur_rep == 0 &&
            planner_strv_pushf(a, &p->warnings,
                               "%s: mongo.replica=\"%s\" is not a replica number (1, 2, ...)",
                               c->inv->nodes[i].hostname,
                               planner_node_label(&c->inv->nodes[i], PLANNER_LABEL_REPLICA)))
            return QR_ENOMEM;
    int *mgr = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *mgr);
    double *cpus = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *cpus);
    double *mem = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *mem);
    int *nodes = planner_arena_alloc(c->a, (c->ndc + 1) * sizeof *nodes);
    if (!mgr || !cpus || !mem || !nodes)
        return QR_ENOMEM;
    int nmgr = 0, dcs_with_nodes = 0;
    for (size_t i = 0; i < c->n; i++) {
        const planner_node_t *nd = &c->inv->nodes[i];
        int d = c->w[i].dc;
        if (is_manager(c, i))
            mgr[d]++, nmgr++;
        if (c->w[i].departing)
            continue;
        if (nodes[d]++ == 0)
            dcs_with_nodes++;
        cpus[d] += nd->cpus;
        mem[d] += nd->mem_gb;
    }
    if (c->healthy < 2 &&
        planner_strv_pushf(a, &p->warnings, "only %d healthy node%s: fewer than 2 MinIO candidates",
                           c->healthy, c->healthy == 1 ? "" : "s"))
        return QR_ENOMEM;
    if (nmgr == 0 && c->n > 0 &&
        planner_strv_pushf(a, &p->warnings,
                           "no swarm manager in the inventory: survivability cannot judge the "
                           "swarm's Raft quorum"))
        return QR_ENOMEM;
    if (nmgr == 1 && c->n > 1 &&
        planner_strv_pushf(a, &p->warnings,
                           "only one swarm manager: losing it freezes the swarm (no 'docker node "
                           "update') until 'docker swarm init --force-new-cluster'"))
        return QR_ENOMEM;
    /* a --remove of a manager says the same with a promotion to make */
    bool removing_mgr = c->remove_node >= 0 && c->inv->nodes[c->remove_node].manager;
    if (nmgr > 0 && nmgr % 2 == 0 && !removing_mgr &&
        planner_strv_pushf(a, &p->warnings,
                           "%d swarm managers, an even number: it survives no more losses than "
                           "%d would; use 3 or 5",
                           nmgr, nmgr - 1))
        return QR_ENOMEM;
    for (size_t d = 0; d < c->ndc && dcs_with_nodes > 1; d++)
        if (nmgr > 1 && mgr[d] * 2 > nmgr &&
            planner_strv_pushf(a, &p->warnings,
                               "data centre %s holds %d of %d swarm managers: losing it freezes "
                               "the swarm until a survivor runs 'docker swarm init "
                               "--force-new-cluster'",
                               c->dcname[d], mgr[d], nmgr))
            return QR_ENOMEM;
    /* capacity: CPUs when the inventory has them, else node counts */
    long lo = -1, hi = -1;
    bool have_cpus = true;
    for (size_t d = 0; d < c->ndc; d++)
        if (nodes[d] && cpus[d] <= 0)
            have_cpus = false;
    for (size_t d = 0; d < c->ndc; d++) {
        if (!nodes[d])
            continue;
        double v = have_cpus ? cpus[d] : nodes[d];
        if (lo < 0 || v < (have_cpus ? cpus[lo] : nodes[lo]))
            lo = (long)d;
        if (hi < 0 || v > (have_cpus ? cpus[hi] : nodes[hi]))
            hi = (long)d;
    }
    /* more than twice: a 2-1 split of equal servers is the normal
     * three-server layout, 4-2-1 is not */
    if (lo >= 0 && lo != hi && (have_cpus ? cpus[hi] > 2 * cpus[lo] : nodes[hi] > 2 * nodes[lo]) &&
        planner_strv_pushf(a, &p->warnings,
                           "data centres differ a lot in capacity: %s has %d node%s, %.0f CPUs, "
                           "%.0f GB; %s has %d node%s, %.0f CPUs, %.0f GB: the smaller cannot "
                           "carry the load of the larger",
                           c->dcname[hi], nodes[hi], nodes[hi] == 1 ? "" : "s", cpus[hi], mem[hi],
                           c->dcname[lo], nodes[lo], nodes[lo] == 1 ? "" : "s", cpus[lo], mem[lo]))
        return QR_ENOMEM;
    return 0;
}
