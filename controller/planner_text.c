/* quoratectl plan's readable output: the same plan as the JSON, as tables. */
#include "planner_text.h"

#include <string.h>

static void write_labels(FILE *f, const planner_label_t *l, size_t n)
{
    if (!n)
        fputs("-", f);
    for (size_t k = 0; k < n; k++)
        fprintf(f, "%s%s=%s", k ? " " : "", l[k].key, l[k].value);
}

static const planner_node_labels_t *final_of(const planner_plan_t *p, size_t *hint,
                                             const char *host)
{
    /* final_labels follow inventory order, so a moving hint finds each
     * node in O(1); a removed node is simply absent */
    if (*hint < p->nfinal && strcmp(p->final_labels[*hint].node, host) == 0)
        return &p->final_labels[(*hint)++];
    return NULL;
}

static bool changed(const planner_plan_t *p, size_t *hint, const char *host)
{
    if (*hint < p->nchanges && strcmp(p->changes[*hint].node, host) == 0) {
        (*hint)++;
        return true;
    }
    return false;
}

static void write_strv(FILE *f, const char *title, const planner_strv_t *v, const char *bullet)
{
    if (!v->n)
        return;
    fprintf(f, "\n%s\n", title);
    for (size_t k = 0; k < v->n; k++)
        fprintf(f, "  %s%s\n", bullet, v->v[k]);
}

static void write_surv_row(FILE *f, const planner_surv_t *s)
{
    char voters[32], mgrs[32];
    snprintf(voters, sizeof voters, "%d/%d", s->mongo_voters_left, s->mongo_voters);
    snprintf(mgrs, sizeof mgrs, "%d/%d", s->swarm_managers_left, s->swarm_managers);
    fprintf(f, "  %-20s %-8s %-9s %-7s %-8s %-6s %-9s %s\n", s->lose, voters,
            s->mongo_majority ? "yes" : "NO", s->needs_forced_recovery ? "YES" : "no",
            s->workers_left ? "yes" : "NONE", s->minio_left ? "yes" : "NONE", mgrs,
            s->swarm_quorum ? "yes" : "NO");
}

static void write_surv_head(FILE *f)
{
    fprintf(f, "  %-20s %-8s %-9s %-7s %-8s %-6s %-9s %s\n", "LOSE", "VOTERS", "MAJORITY", "FORCED",
            "WORKERS", "MINIO", "MANAGERS", "SWARM-QUORUM");
}

int planner_text_write(FILE *f, const planner_inventory_t *inv, const planner_plan_t *p)
{
    if (p->ok)
        fprintf(f, "Plan: %d MongoDB members on %zu nodes%s%s%s\n", p->target_members, inv->nnodes,
                p->majority_dc ? " (majority in " : "", p->majority_dc ? p->majority_dc : "",
                p->majority_dc ? ")" : "");
    else
        fprintf(f, "No valid plan for %zu nodes\n", inv->nnodes);
    if (p->rehearsal) {
        fprintf(f, "\nREHEARSAL: data centre %s is lost now (current layout)\n", p->rehearsal->dc);
        write_surv_head(f);
        write_surv_row(f, p->rehearsal);
        write_strv(f, "Steps the operator would face, in order:", &p->rehearsal->steps, "- ");
    }
    fprintf(f, "\nNODES\n  %-16s %-10s %-8s %-8s %s\n", "HOST", "DC", "ROLE", "HEALTH",
            "LABELS BEFORE -> AFTER");
    size_t fh = 0, ch = 0;
    for (size_t i = 0; i < inv->nnodes; i++) {
        const planner_node_t *n = &inv->nodes[i];
        const planner_node_labels_t *fl = final_of(p, &fh, n->hostname);
        bool chg = changed(p, &ch, n->hostname);
        const char *health = !n->healthy ? "DOWN" : planner_node_eligible(n) ? "ok" : "no-mongo";
        fprintf(f, "  %-16s %-10s %-8s %-8s ", n->hostname, n->dc,
                n->manager ? "manager" : "worker", health);
        write_labels(f, n->labels, n->nlabels);
        if (!fl)
            fputs(" -> (removed from the swarm)", f);
        else if (chg) {
            fputs(" -> ", f);
            write_labels(f, fl->labels, fl->nlabels);
        } else {
            fputs("  (unchanged)", f);
        }
        fputc('\n', f);
    }
    if (p->nmembers) {
        fprintf(f, "\nMONGODB MEMBERS\n  %-8s %-16s %-10s %-6s %-9s %s\n", "REPLICA", "NODE", "DC",
                "VOTES", "PRIORITY", "TAGS");
        for (size_t k = 0; k < p->nmembers; k++) {
            const planner_member_t *m = &p->members[k];
            fprintf(f, "  %-8d %-16s %-10s %-6d %-9d {dc: %s}%s\n", m->replica, m->node, m->dc,
                    m->votes, m->priority, m->dc, m->ssd ? "" : "  (HDD)");
        }
    }
    if (p->ok && !p->commands.n)
        fputs("\nCOMMANDS\n  (none: the labels already match the plan)\n", f);
    write_strv(f, "COMMANDS (in this order, on a swarm manager)", &p->commands, "");
    if (p->decommission_node) {
        fprintf(f, "\nDECOMMISSION %s%s\n", p->decommission_node,
                p->decommission_manager ? " (manager)" : "");
        for (size_t k = 0; k < p->decommission_steps.n; k++)
            fprintf(f, "  %zu. %s\n", k + 1, p->decommission_steps.v[k]);
    }
    if (p->nsurv) {
        fputs("\nSURVIVABILITY (after the plan)\n", f);
        write_surv_head(f);
        for (size_t k = 0; k < p->nsurv; k++)
            write_surv_row(f, &p->surv[k]);
        for (size_t k = 0; k < p->nsurv; k++) {
            const planner_surv_t *s = &p->surv[k];
            /* a node whose loss only needs a re-plan is not worth a
             * paragraph in a 60-node table; the JSON has them all */
            bool serious = s->dc != NULL;
            for (size_t j = 0; j < s->steps.n && !serious; j++)
                serious = strncmp(s->steps.v[j], "labels:", 7) != 0;
            if (!s->steps.n || !serious)
                continue;
            fprintf(f, "\n  losing %s:\n", s->lose);
            for (size_t j = 0; j < s->steps.n; j++)
                fprintf(f, "    %zu. %s\n", j + 1, s->steps.v[j]);
        }
    }
    write_strv(f, "WARNINGS", &p->warnings, "! ");
    write_strv(f, "ERRORS", &p->errors, "x ");
    return ferror(f) ? QR_EIO : 0;
}
