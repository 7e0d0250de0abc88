/* How planning time grows with the cluster: 100, 1,000 and 10,000 nodes in
 * 3 DCs (median of several runs), with the growth ratio between sizes.
 * Targets (Release build): <= 10 ms for 1,000 nodes, <= 200 ms for 10,000.
 * The controller re-plans on every inventory change, so this must be cheap.
 * Times are CPU time of this process (CLOCK_PROCESS_CPUTIME_ID): on a shared
 * machine wall time mostly measures the neighbours. Wall time is printed too.
 * Also prints the JSON rendering time, which quoratectl adds on top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planner.h"
#include "planner_json.h"

#define RUNS 9

static double ms(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return ms(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A lived-in cluster: workers everywhere, a few unhealthy or small-disk
 * nodes, MinIO on one node, a 5-member layout with one member down. */
static planner_inventory_t *make(int n)
{
    static const char *dcs[] = {"east", "west", "north"};
    planner_inventory_t *inv = planner_inventory_new();
    for (int i = 0; i < n; i++) {
        char host[32], rep[8];
        snprintf(host, sizeof host, "node%05d", i);
        planner_label_t labels[4];
        size_t nl = 0;
        labels[nl++] = (planner_label_t){"rack", "r1"};
        if (i % 3 != 2)
            labels[nl++] = (planner_label_t){"worker", "true"};
        if (i < 5) {
            snprintf(rep, sizeof rep, "%d", i + 1);
            labels[nl++] = (planner_label_t){"mongo.replica", rep};
        }
        if (i == 7)
            labels[nl++] = (planner_label_t){"minio", "true"};
        planner_node_t node = {.hostname = host,
                               .dc = dcs[(i * 7 + i / 3) % 3],
                               .manager = i < 5,
                               .healthy = i % 17 != 3,
                               .ssd = i % 4 != 0,
                               .cpus = 8 + (i % 5) * 8,
                               .mem_gb = 32 + (i % 7) * 32,
                               .datadir_gb = i % 11 == 5 ? 30 : 200,
                               .datadir_separate = true,
                               .root_free_gb = 80,
                               .labels = labels,
                               .nlabels = nl};
        if (planner_inventory_add_node(inv, &node, NULL) != 0) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    return inv;
}

int main(void)
{
    const int sizes[] = {100, 1000, 10000};
    const double target[] = {0, 10, 200};
    double med[3];
    printf("%8s %12s %12s %12s %12s %10s\n", "nodes", "plan cpu ms", "plan wall ms", "+json ms",
           "growth", "target");
    int rc = 0;
    for (int s = 0; s < 3; s++) {
        planner_inventory_t *inv = make(sizes[s]);
        double t[RUNS], tj[RUNS], tw[RUNS];
        for (int r = 0; r < RUNS; r++) {
            planner_plan_t *p = NULL;
            qr_err_t err;
            double w0 = ms(CLOCK_MONOTONIC), t0 = now_ms();
            if (planner_plan(inv, NULL, &p, &err) != 0 || !p->ok) {
                fprintf(stderr, "plan failed: %s\n", err.msg);
                return 1;
            }
            double t1 = now_ms();
            tw[r] = ms(CLOCK_MONOTONIC) - w0;
            json_t *j = planner_json_plan(p);
            char *out = json_dumps(j, JSON_COMPACT);
            double t2 = now_ms();
            t[r] = t1 - t0;
            tj[r] = t2 - t1;
            free(out);
            json_decref(j);
            planner_plan_destroy(&p);
        }
        qsort(t, RUNS, sizeof t[0], cmp_double);
        qsort(tj, RUNS, sizeof tj[0], cmp_double);
        qsort(tw, RUNS, sizeof tw[0], cmp_double);
        med[s] = t[RUNS / 2];
        char growth[32] = "-", tgt[32] = "-";
        if (s)
            snprintf(growth, sizeof growth, "x%.1f", med[s] / med[s - 1]);
        if (target[s] > 0)
            snprintf(tgt, sizeof tgt, "%s%.0f ms", med[s] <= target[s] ? "ok <= " : "MISSED ",
                     target[s]);
        if (target[s] > 0 && med[s] > target[s])
            rc = 1;
        printf("%8d %12.3f %12.3f %12.3f %12s %10s\n", sizes[s], med[s], tw[RUNS / 2], tj[RUNS / 2],
               growth, tgt);
        planner_inventory_destroy(&inv);
    }
    printf("growth per 10x nodes: x%.1f then x%.1f (10x = linear)\n", med[1] / med[0],
           med[2] / med[1]);
    return rc;
}
